"""plan_fixes rewrites files in worker processes when there are enough: the same plan as in one process."""

from __future__ import annotations

import multiprocessing
import shutil
from pathlib import Path

import pytest

from celery_codemods import api, rewrite
from celery_codemods.api import FixPlan, analyze, plan_fixes
from celery_codemods.findings import Edit
from celery_codemods.index.facts import ModuleFacts
from celery_codemods.rules.base import Rule
from celery_codemods.settings import Settings

CORPUS = Path(__file__).parent.parent / "corpus"
FORKS = multiprocessing.get_start_method() == "fork"


def _plan(root: Path, jobs: int) -> FixPlan:
    return plan_fixes(analyze([root], Settings(jobs=jobs, cache=False, unsafe_fixes=True)))


def _summary(plan: FixPlan) -> tuple[object, ...]:
    return (
        [(change.path, change.new_text, [f.sort_key for f in change.fixes]) for change in plan.changes],
        [f.sort_key for f in plan.applied],
        [(f.sort_key, reason) for f, reason in plan.withheld],
        [f.sort_key for f in plan.remaining],
        plan.errors,
    )


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS, target)
    return target


def test_workers_plan_what_one_process_plans(corpus: Path) -> None:
    serial = _plan(corpus, jobs=1)
    assert len(serial.changes) >= api._MIN_FILES_FOR_POOL
    assert _summary(_plan(corpus, jobs=2)) == _summary(serial)


def test_without_workers_the_plan_is_made_in_this_process(corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_processes(*args: object, **kwargs: object) -> None:
        raise OSError("no processes here")

    serial = _plan(corpus, jobs=1)
    monkeypatch.setattr(api, "ProcessPoolExecutor", no_processes)
    assert _summary(_plan(corpus, jobs=2)) == _summary(serial)


MORE_TO_FIX = "\n\n@shared_task\ndef added(x):\n    try:\n        x()\n    except Exception:\n        pass\n"


def _rewrite_that_adds_a_silent_except(
    text: str, facts: ModuleFacts, edits: list[Edit], rules: dict[str, Rule], settings: Settings
) -> rewrite.RewriteOutcome:
    return rewrite.RewriteOutcome(new_text=text + MORE_TO_FIX)


@pytest.mark.parametrize(
    "jobs", [1, pytest.param(2, marks=pytest.mark.skipif(not FORKS, reason="workers see the patch only when forked"))]
)
def test_a_rewrite_a_second_run_would_change_is_withheld(
    corpus: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    monkeypatch.setattr(rewrite, "rewrite_source", _rewrite_that_adds_a_silent_except)
    plan = _plan(corpus, jobs)
    assert not plan.changes and not plan.applied
    assert plan.withheld
    assert all("a second run would change it again" in reason for _, reason in plan.withheld)


WRAPPED = {
    "proj/__init__.py": "",
    "proj/celery.py": "from celery import Celery\napp = Celery('proj')\n",
    "proj/wrappers.py": "from proj.celery import app\n\n\ndef job(**options):\n    return app.task(**options)\n",
    "proj/reports.py": (
        "from proj.wrappers import job\n\n\n@job()\ndef build_report(report_id):\n"
        "    try:\n        render(report_id)\n    except Exception:\n        pass\n"
    ),
}
SECOND_SILENT_EXCEPT = "    try:\n        render(report_id)\n    except Exception:\n        pass\n"


def _rewrite_that_adds_a_silent_except_to_the_task(
    text: str, facts: ModuleFacts, edits: list[Edit], rules: dict[str, Rule], settings: Settings
) -> rewrite.RewriteOutcome:
    return rewrite.RewriteOutcome(new_text=text + SECOND_SILENT_EXCEPT)


def test_the_second_run_check_sees_a_task_that_only_a_project_wrapper_makes_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`@job()` does not look like a task decorator: the rewritten module is indexed again as the run did, eagerly."""
    for name, text in WRAPPED.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    monkeypatch.setattr(rewrite, "rewrite_source", _rewrite_that_adds_a_silent_except_to_the_task)
    plan = _plan(tmp_path, jobs=1)
    assert not plan.changes
    assert plan.withheld
    assert all(
        reason.endswith("a second run would change it again (a bug in celery-codemod; please report it); not written")
        for _, reason in plan.withheld
    )
