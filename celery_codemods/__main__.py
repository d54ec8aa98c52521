from __future__ import annotations

from celery_codemods.cli import main

main()
