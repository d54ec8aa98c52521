"""celery-codemod: rewrite Django + Celery code toward safe task-queue practice."""

from __future__ import annotations

__version__ = "0.1.0"
