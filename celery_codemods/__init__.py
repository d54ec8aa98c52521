"""celery-codemod: rewrite Django + Celery code toward safe task-queue practice."""

from __future__ import annotations

from celery_codemods._lazy import defer_import

defer_import("libcst")  # only rewrites need it; `check` never pays for it (see _lazy.py)

__version__ = "0.1.0"
