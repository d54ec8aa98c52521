"""The index runner: prefilter passes, process pool and cache agree with each other."""

from __future__ import annotations

from pathlib import Path

import pytest

from celery_codemods.api import analyze
from celery_codemods.rules._pass_ids_facts import ModulePassIds
from celery_codemods.settings import Settings
from tests.helpers import fix_tree, write_tree

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


MODELS_ONLY = {
    # Can only define models: outlined, unless it calls a task by name.
    "proj/models.py": """\
        from django.db import models


        class Order(models.Model):
            def ship(self):
                from proj.reports import build_report

                build_report.delay(self)
        """,
    "proj/other_models.py": """\
        from django.db import models


        class Invoice(models.Model):
            def total(self):
                return sum(line.amount for line in self.lines.all())
        """,
    # Names the task's name only as its own method: it cannot reach the task.
    "proj/report_models.py": """\
        from django.db import models


        class Report(models.Model):
            def build_report(self):
                return self.build_report_later()
        """,
    # Reaches the task as a module attribute.
    "proj/dashboards.py": """\
        from django.db import models

        from proj import reports


        class Dashboard(models.Model):
            def refresh(self):
                reports.build_report.delay(self.pk)
        """,
}


def _outlines(root: Path, **options: object) -> dict[str, tuple[bool, int, bool]]:
    """Per module: outlined?, how many task candidates, has call facts?"""
    analysis = analyze([root], Settings(**options))  # type: ignore[arg-type]
    summary = {}
    for path, module in analysis.project.modules.items():
        extra = module.extras.get("CEL101")
        calls = isinstance(extra, ModulePassIds) and extra.calls is not None
        summary[Path(path).relative_to(root).as_posix()] = (module.outline, len(module.functions), calls)
    return summary


def test_model_only_files_are_outlined_unless_they_name_a_task(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CELERY_CODEMOD_CACHE_DIR", str(tmp_path / "cache"))
    write_tree(tmp_path / "src", {**PROJECT, **MODELS_ONLY})
    cold = _outlines(tmp_path / "src", jobs=1, cache=False)
    assert cold["proj/models.py"] == (False, 0, True)  # calls build_report: indexed in full
    assert cold["proj/other_models.py"] == (True, 0, False)
    assert cold["proj/report_models.py"] == (True, 0, False)
    assert cold["proj/dashboards.py"] == (False, 0, True)
    assert _outlines(tmp_path / "src", jobs=1, cache=True) == cold
    assert _outlines(tmp_path / "src", jobs=1, cache=True) == cold  # from the cache

    reports = tmp_path / "src" / "proj" / "reports.py"
    reports.write_text(reports.read_text().replace("build_report", "render_report"))
    renamed = _outlines(tmp_path / "src", jobs=1, cache=False)
    assert renamed["proj/models.py"] == (True, 0, False)  # names no task any more
    assert _outlines(tmp_path / "src", jobs=1, cache=True) == renamed


def test_an_outline_still_gives_the_models_to_the_pass_ids_rule(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            **PROJECT,
            "proj/other_models.py": MODELS_ONLY["proj/other_models.py"],
            "proj/tasks.py": """\
                from celery import shared_task


                @shared_task
                def send_invoice(invoice):
                    invoice.refresh_from_db()
                """,
            "proj/views.py": """\
                from proj.other_models import Invoice
                from proj.tasks import send_invoice


                def view(pk):
                    send_invoice.delay(Invoice.objects.get(pk=pk))
                """,
        },
    )
    analysis = analyze([tmp_path], Settings(jobs=1, cache=False))
    assert analysis.project.modules[str(tmp_path / "proj" / "other_models.py")].outline
    (finding,) = [f for f in analysis.findings if f.code == "CEL101"]
    assert "receives a `Invoice` instance" in finding.message
    assert finding.fix is not None


@pytest.mark.parametrize("jobs", [1, 2])
def test_errors_come_in_the_order_of_the_files_whichever_ran_first(tmp_path: Path, jobs: int) -> None:
    # Larger files are indexed first; the report still follows the files' order.
    broken = {
        f"proj/broken{i:02}.py": "from celery import shared_task\n" + "x = 1\n" * (i * 40) + "def (\n"
        for i in range(60)
    }
    write_tree(tmp_path, {**PROJECT, **broken})
    analysis = analyze([tmp_path], Settings(jobs=jobs, cache=False))
    reported = [Path(error.path).name for error in analysis.errors]
    assert reported == sorted(Path(name).name for name in broken)


def test_a_call_through_a_renaming_re_export_in_a_model_file_changes_with_its_task(tmp_path: Path) -> None:
    """shop/models.py names the task only as `clean`, imported from a module that re-exports it."""
    files = {
        "shop/__init__.py": "",
        "shop/jobs.py": "from celery import shared_task\n\n\n@shared_task\ndef cleanup(order):\n    order.save()\n",
        "shop/api.py": "from shop.jobs import cleanup as clean\n",
        "shop/models.py": """\
            from django.db import models

            from shop.api import clean


            class Order(models.Model):
                total = models.IntegerField()

                def finish(self):
                    clean.delay(self)
            """,
    }
    after = fix_tree(tmp_path, files, "CEL101")
    assert "def cleanup(order_id: int):" in after["shop/jobs.py"]
    assert "clean.delay(self.pk)" in after["shop/models.py"]


def test_a_chain_of_task_wrappers_beside_models_is_followed(tmp_path: Path) -> None:
    """Each wrapper lives in a file that can only define models; the task is found all the same."""
    files = {
        "shop/__init__.py": "",
        "shop/base.py": "from celery import shared_task\n\n\ndef T0Task(func):\n    return shared_task(func)\n",
    }
    for level in range(1, 6):
        previous = "shop.base" if level == 1 else f"shop.m{level - 1}"
        files[f"shop/m{level}.py"] = (
            f"from django.db import models\n\nfrom {previous} import T{level - 1}Task\n\n\n"
            f"def T{level}Task(func):\n    return T{level - 1}Task(func)\n"
        )
    files["shop/models.py"] = (
        "from django.db import models\n\nfrom shop.m5 import T5Task\n\n\n@T5Task\ndef job(order_id):\n    return 1\n"
    )
    analysis = (
        analyze([tmp_path / "shop"], Settings(jobs=1, cache=False)) if write_tree(tmp_path, files) is None else None
    )
    assert analysis is not None
    assert [task.qualname for task in analysis.project.tasks] == ["shop.models.job"]


def test_facts_pickled_by_workers_are_cached_as_they_are_and_loaded_once_needed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from celery_codemods.cache import read_pickle

    monkeypatch.setenv("CELERY_CODEMOD_CACHE_DIR", str(tmp_path / "cache"))
    files = {f"proj/many{i}.py": "from proj.reports import build_report\nbuild_report.delay(1)\n" for i in range(100)}
    write_tree(tmp_path / "src", {**PROJECT, **files})
    cold = _summary(tmp_path / "src", jobs=2, cache=True)
    (cache_file,) = (tmp_path / "cache").glob("index-*.pickle")
    entries = read_pickle(cache_file)
    assert isinstance(entries, dict)
    assert any(isinstance(entry.facts, bytes) for entry in entries.values())  # not pickled twice
    assert _summary(tmp_path / "src", jobs=2, cache=True) == cold


def test_an_unreadable_cached_fact_makes_the_file_indexed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from msgspec.structs import replace

    from celery_codemods.cache import read_pickle, write_pickle

    monkeypatch.setenv("CELERY_CODEMOD_CACHE_DIR", str(tmp_path / "cache"))
    write_tree(tmp_path / "src", PROJECT)
    cold = _summary(tmp_path / "src", jobs=1, cache=True)
    (cache_file,) = (tmp_path / "cache").glob("index-*.pickle")
    entries = read_pickle(cache_file)
    assert isinstance(entries, dict)
    broken = {
        path: replace(entry, facts=b"not a pickle") if entry.facts is not None else entry
        for path, entry in entries.items()
    }
    write_pickle(cache_file, broken)
    assert _summary(tmp_path / "src", jobs=1, cache=True) == cold


def test_a_caller_of_a_task_named_with_a_non_ascii_letter_is_indexed(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "shop/__init__.py": "",
            "shop/jobs.py": "from celery import shared_task\n\n\n@shared_task\ndef sync_ÿ(order_id):\n    return 1\n",
            "shop/views.py": "from shop.jobs import sync_ÿ\n\n\ndef view(pk):\n    sync_ÿ.delay(pk)\n",
            "shop/other.py": "def sync_ÿx():\n    return 1\n",
        },
    )
    modules = analyze([tmp_path], Settings(jobs=1, cache=False)).project.modules
    assert sorted(Path(path).name for path in modules) == ["jobs.py", "views.py"]
