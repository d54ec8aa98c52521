"""The index runner: prefilter passes, process pool and cache agree with each other."""

from __future__ import annotations

from pathlib import Path

import pytest

from celery_codemods.api import analyze
from celery_codemods.rules._pass_ids_facts import ModulePassIds
from celery_codemods.settings import Settings
from tests.helpers import write_tree

PROJECT = {
    "proj/__init__.py": "",
    "proj/celery.py": "from celery import Celery\napp = Celery('proj')\n",
    "proj/wrappers.py": """\
        from proj.celery import app


        def job(**options):
            def wrap(func):
                return app.task(**options)(func)
            return wrap
        """,
    # Mentions neither "task" nor celery: found only because it uses the wrapper by name.
    "proj/reports.py": """\
        from proj.wrappers import job


        @job()
        def build_report(report_id):
            try:
                render(report_id)
            except Exception:
                pass
        """,
    # Calls a task defined in a file only the second pass finds: a third round.
    "proj/views.py": """\
        from proj.reports import build_report


        def view(request):
            build_report.delay(request.GET["id"])
        """,
    "proj/unrelated.py": "def helper():\n    return 1\n",
}


def _summary(root: Path, **options: object) -> tuple[list[str], list[tuple[str, int, str]]]:
    analysis = analyze([root], Settings(**options))  # type: ignore[arg-type]
    modules = sorted(Path(path).relative_to(root).as_posix() for path in analysis.project.modules)
    findings = [(Path(f.path).relative_to(root).as_posix(), f.line, f.code) for f in analysis.findings]
    return modules, findings


def test_wrapper_users_and_their_callers_are_indexed(tmp_path: Path) -> None:
    write_tree(tmp_path, PROJECT)
    modules, findings = _summary(tmp_path, jobs=1, cache=False)
    assert modules == ["proj/celery.py", "proj/reports.py", "proj/views.py", "proj/wrappers.py"]
    assert ("proj/reports.py", 8, "CEL001") in findings


@pytest.mark.parametrize("jobs", [1, 2])
def test_same_results_with_any_jobs_and_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    monkeypatch.setenv("CELERY_CODEMOD_CACHE_DIR", str(tmp_path / "cache"))
    files = {f"proj/many{i}.py": "from proj.reports import build_report\nbuild_report.delay(1)\n" for i in range(60)}
    write_tree(tmp_path / "src", {**PROJECT, **files})
    cold = _summary(tmp_path / "src", jobs=1, cache=False)
    first = _summary(tmp_path / "src", jobs=jobs, cache=True)
    warm = _summary(tmp_path / "src", jobs=jobs, cache=True)
    assert first == cold
    assert warm == cold
    assert list((tmp_path / "cache").glob("index-*.pickle"))


def test_cache_notices_an_edited_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CELERY_CODEMOD_CACHE_DIR", str(tmp_path / "cache"))
    write_tree(tmp_path / "src", PROJECT)
    _, before = _summary(tmp_path / "src", jobs=1, cache=True)
    reports = tmp_path / "src" / "proj" / "reports.py"
    reports.write_text(reports.read_text().replace("pass", "raise"))
    _, after = _summary(tmp_path / "src", jobs=1, cache=True)
    assert [f for f in before if f[2] == "CEL001"] and not [f for f in after if f[2] == "CEL001"]


def _call_facts(root: Path, **options: object) -> dict[str, object]:
    analysis = analyze([root], Settings(**options))  # type: ignore[arg-type]
    return {
        Path(path).relative_to(root).as_posix(): module.extras.get("CEL101")
        for path, module in analysis.project.modules.items()
    }


@pytest.mark.parametrize("jobs", [1, 2])
def test_call_sites_are_the_same_from_workers_and_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    monkeypatch.setenv("CELERY_CODEMOD_CACHE_DIR", str(tmp_path / "cache"))
    callers = {
        f"proj/caller{i}.py": (
            "from proj.models import Order\nfrom proj.reports import build_report\n\n\n"
            "def view(pk):\n    order = Order.objects.get(pk=pk)\n    build_report.delay(order, note=str(pk))\n"
        )
        for i in range(60)
    }
    models = {"proj/models.py": "from django.db import models\n\n\nclass Order(models.Model):\n    pass\n"}
    write_tree(tmp_path / "src", {**PROJECT, **models, **callers})
    cold = _call_facts(tmp_path / "src", jobs=1, cache=False)
    first = _call_facts(tmp_path / "src", jobs=jobs, cache=True)
    warm = _call_facts(tmp_path / "src", jobs=jobs, cache=True)
    sites = [
        site
        for extra in cold.values()
        if isinstance(extra, ModulePassIds) and extra.calls is not None
        for site in extra.calls.sites
    ]
    assert any(site.form == "delay" and site.args[0].origin.kind == "instance" for site in sites)
    assert first == cold
    assert warm == cold
