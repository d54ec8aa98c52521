"""The bundled corpus's beat schedule: each deliberate mistake found, nothing else."""

from __future__ import annotations

from pathlib import Path

from celery_codemods.api import analyze
from tests.helpers import settings_for

CORPUS = Path(__file__).resolve().parents[2] / "corpus"


def test_every_deliberate_beat_mistake_is_reported_and_nothing_else() -> None:
    findings = analyze([CORPUS], settings_for("CEL4")).findings
    found = [(Path(f.path).relative_to(CORPUS).as_posix(), f.line, f.code) for f in findings]
    assert found == [
        ("shop/settings.py", 89, "CEL401"),  # "orders.tasks.expire_stale_order"
        ("shop/settings.py", 96, "CEL403"),  # "args": (5)
        ("shop/settings.py", 102, "CEL402"),  # "option"
        ("shop/settings.py", 107, "CEL404"),  # "schedule": 300 among floats
    ]
    assert "did you mean 'orders.tasks.expire_stale_orders'?" in findings[0].message
