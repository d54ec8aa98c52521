"""The index recognises tasks by what their decorator resolves to, not by spelling."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from celery_codemods.api import analyze
from celery_codemods.index.build import iter_statements
from celery_codemods.index.context import source_lines, spelled_as_read
from celery_codemods.index.facts import ModuleFacts
from celery_codemods.index.reader import index_source
from celery_codemods.settings import Settings
from celery_codemods.sourcefile import read_source
from tests.helpers import write_tree


def task_names(root: Path, files: dict[str, str], **options: object) -> set[str]:
    write_tree(root, files)
    analysis = analyze([root], Settings(jobs=1, cache=False, **options))  # type: ignore[arg-type]
    return {task.qualname for task in analysis.project.tasks}


def test_every_decorator_form_is_a_task(tmp_path: Path) -> None:
    files = {
        "proj/__init__.py": "",
        "proj/celery.py": "from celery import Celery\napp = Celery('proj')\n",
        "proj/tasks.py": """\
            from celery import shared_task
            from celery import shared_task as st
            from proj.celery import app
            import celery


            @shared_task
            def plain(x): ...


            @shared_task(bind=True, max_retries=3)
            def called(self, x): ...


            @st
            def aliased(x): ...


            @celery.shared_task
            def by_module(x): ...


            @app.task
            def app_plain(x): ...


            @app.task(name="custom.name")
            def app_called(x): ...


            def registered(x): ...


            registered_task = app.task(registered)
            """,
    }
    assert task_names(tmp_path, files) == {
        f"proj.tasks.{name}"
        for name in ("plain", "called", "aliased", "by_module", "app_plain", "app_called", "registered_task")
    }


def test_relative_import_of_the_app_resolves(tmp_path: Path) -> None:
    files = {
        "proj/__init__.py": "",
        "proj/worker.py": "from celery import Celery\nqueue = Celery('proj')\n",
        "proj/tasks.py": "from .worker import queue\n\n@queue.task\ndef job(x): ...\n",
    }
    assert task_names(tmp_path, files) == {"proj.tasks.job"}


def test_project_wrapper_decorators_are_followed(tmp_path: Path) -> None:
    files = {
        "proj/__init__.py": "",
        "proj/celery.py": "from celery import Celery\napp = Celery('proj')\n",
        "proj/base.py": """\
            from functools import wraps
            from proj.celery import app


            def instrumented_task(name, **kwargs):
                def wrapped(func):
                    @wraps(func)
                    def _wrapped(*args, **kw):
                        return func(*args, **kw)
                    return app.task(name=name, **kwargs)(_wrapped)
                return wrapped


            def outer_task(**kwargs):
                return instrumented_task("x", **kwargs)
            """,
        "proj/jobs.py": """\
            from proj.base import instrumented_task, outer_task


            @instrumented_task(name="proj.jobs.one", queue="q")
            def one(x): ...


            @outer_task()
            def two(x): ...
            """,
    }
    assert task_names(tmp_path, files) == {"proj.jobs.one", "proj.jobs.two"}


def test_only_decorators_that_look_like_a_tasks_get_the_rules_facts_at_once(tmp_path: Path) -> None:
    """A view's or receiver's rules' facts are deferred; a task made by a wrapper named otherwise gets them later."""
    files = {
        "proj/__init__.py": "",
        "proj/celery.py": "from celery import Celery\napp = Celery('proj')\n",
        "proj/wrappers.py": """\
            from proj.celery import app


            def job(**options):
                return app.task(**options)
            """,
        "proj/tasks.py": """\
            from django.dispatch import receiver
            from rest_framework.decorators import action
            from proj.celery import app
            from proj.wrappers import job
            from vendor.queue import enqueue


            @app.task
            def by_app(order):
                order.save()


            @job()
            def by_wrapper(order):
                order.save()


            @enqueue
            def configured(order):
                order.save()


            @action(detail=True)
            @receiver(object())
            def view(request):
                request.save()
            """,
    }
    write_tree(tmp_path, files)
    path = str(tmp_path / "proj" / "tasks.py")
    source = read_source(Path(path))
    indexed = index_source(path, source, ("vendor.queue.enqueue",))
    assert isinstance(indexed, ModuleFacts)
    deferred = {function.name: (function.deferred, bool(function.extras)) for function in indexed.functions}
    assert deferred == {
        "by_app": (False, True),
        "by_wrapper": (True, False),
        "configured": (False, True),
        "view": (True, False),
    }
    eager = index_source(path, source, ("vendor.queue.enqueue",), eager=True)
    assert isinstance(eager, ModuleFacts)
    assert all(not function.deferred and function.extras for function in eager.functions)

    settings = Settings(jobs=1, cache=False, task_decorators=("vendor.queue.enqueue",))
    project = analyze([tmp_path], settings).project
    tasks = {task.function.name: task.function for task in project.tasks}
    assert sorted(tasks) == ["by_app", "by_wrapper", "configured"]
    assert all(not function.deferred and function.extras for function in tasks.values())


def test_configured_decorator_names_count(tmp_path: Path) -> None:
    files = {"jobs.py": "from vendor.queue import job\n\n@job\ndef one(x): ...\n"}
    assert task_names(tmp_path, files) == set()
    assert task_names(tmp_path, files, task_decorators=("vendor.queue.job",)) == {"jobs.one"}


def test_look_alikes_are_not_tasks(tmp_path: Path) -> None:
    files = {
        "proj/__init__.py": "",
        "proj/other.py": """\
            import functools
            from mylib import shared_task  # not celery's


            def task(func):
                return func


            @task
            def decorated_by_local_task(x): ...


            @shared_task
            def not_celery(x): ...


            @functools.lru_cache
            def cached(x): ...


            class Thing:
                @property
                def task(self): ...


            def send_receipt(order): ...
            """,
    }
    assert task_names(tmp_path, files) == set()


def test_registered_name_is_module_and_function_unless_named(tmp_path: Path) -> None:
    files = {
        "shop/__init__.py": "",
        "shop/orders/__init__.py": "",
        "shop/orders/tasks.py": """\
            from celery import shared_task


            @shared_task
            def a(x): ...


            @shared_task(name="billing.charge")
            def b(x): ...
            """,
    }
    write_tree(tmp_path, files)
    analysis = analyze([tmp_path], Settings(jobs=1, cache=False))
    assert {task.name for task in analysis.project.tasks} == {"shop.orders.tasks.a", "billing.charge"}


def test_a_task_that_calls_another_task_is_not_a_wrapper(tmp_path: Path) -> None:
    files = {
        "proj/__init__.py": "",
        "proj/tasks.py": """\
            from celery import shared_task


            @shared_task
            def notify_task(x): ...


            @shared_task
            def parent(x):
                notify_task.delay(x)


            @parent
            def decorated_by_a_task(x): ...
            """,
    }
    assert task_names(tmp_path, files) == {"proj.tasks.notify_task", "proj.tasks.parent"}


def test_line_numbers_match_ast_with_form_feeds_and_carriage_returns() -> None:
    source = 'a = 1  # \x0c comment\r\nc = "\u00e9"; d = f(1)\rend = 3\n'
    lines = source_lines(source)
    call = next(node for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Call))
    assert lines[call.lineno - 1] == 'c = "\u00e9"; d = f(1)'
    assert source.splitlines()[call.lineno - 1] != lines[call.lineno - 1]  # the trap this avoids


def test_text_output_keeps_line_100_as_a_number(tmp_path: Path) -> None:
    """rich reads ``:100:`` as an emoji code unless told not to."""
    from typer.testing import CliRunner

    from celery_codemods.cli import app

    body = "\n" * 94 + "@shared_task\ndef job(x):\n    try:\n        x()\n    except Exception:\n        pass\n"
    (tmp_path / "tasks.py").write_text("from celery import shared_task\n" + body)
    result = CliRunner().invoke(app, ["check", "--no-cache", "--select", "CEL001", str(tmp_path)])
    assert f"{tmp_path / 'tasks.py'}:100:5: CEL001" in result.output


def _statements_recursively(body: list[ast.stmt]) -> list[ast.stmt]:
    """The plain recursive walk: each block in field order, a try's handlers last."""
    found: list[ast.stmt] = []
    for statement in body:
        found.append(statement)
        for field in ("body", "orelse", "finalbody"):
            inner = getattr(statement, field, None)
            if isinstance(inner, list):
                found.extend(_statements_recursively(inner))
        for handler in getattr(statement, "handlers", ()):
            found.extend(_statements_recursively(handler.body))
        for case in getattr(statement, "cases", ()):
            found.extend(_statements_recursively(case.body))
    return found


@pytest.mark.parametrize(
    "source",
    [
        "import a\ntry:\n    import b\nexcept ImportError:\n    import c\nelse:\n    import d\nfinally:\n    pass\n",
        "try:\n    import p\nexcept* ValueError:\n    import q\nelse:\n    import r\nfinally:\n    import s\n",
        "while x:\n    import f\nelse:\n    import g\n",
        "match y:\n    case 1:\n        import h\n    case _:\n        import i\n",
        """\
class K:
    def m(self):
        async def n():
            async with z:
                import j
            async for q in r:
                import k
            else:
                import l
        if p:
            import m
        elif s:
            import n
        else:
            import o
    x = 1
""",
    ],
)
def test_iter_statements_yields_every_statement_once_as_the_recursive_walk_does(source: str) -> None:
    module = ast.parse(source)
    yielded = list(iter_statements(module.body))
    assert yielded == _statements_recursively(module.body)
    assert len(yielded) == sum(1 for node in ast.walk(module) if isinstance(node, ast.stmt))


@pytest.mark.parametrize(
    ("text", "as_read"),
    [
        ("app = Celery()\n", True),
        ("note = '€ and é'\n", True),
        ("\uff41pp = Celery()\n", False),  # full-width: Python reads `app`
        ("x = 'e\u0301'\n", False),  # a decomposed accent: NFKC composes it
    ],
)
def test_spelled_as_read_only_where_nfkc_changes_nothing(text: str, as_read: bool) -> None:
    assert spelled_as_read(text) is as_read
