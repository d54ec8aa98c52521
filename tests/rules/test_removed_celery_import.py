from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.helpers import assert_fixes, assert_unchanged, check_tree

CODE = "CEL501"


def test_celery_task_task_becomes_shared_task_and_uses_are_renamed(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        import os

        from celery.task import task  # old API


        @task(ignore_result=True)
        def rebuild(index_id):
            return index_id


        def run_all(task):
            return task.delay()


        cleanup = task(os.getcwd)
        """,
        """\
        import os

        from celery import shared_task  # old API


        @shared_task(ignore_result=True)
        def rebuild(index_id):
            return index_id


        def run_all(task):
            return task.delay()


        cleanup = shared_task(os.getcwd)
        """,
        CODE,
    )


def test_from_celery_import_task_keeps_the_other_names(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        from celery import group, task


        @task
        def ping():
            return group()
        """,
        """\
        from celery import group, shared_task


        @shared_task
        def ping():
            return group()
        """,
        CODE,
    )


def test_decorators_module_with_shared_task_already_imported(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        from celery import shared_task
        from celery.decorators import task


        @task()
        def old():
            pass


        @shared_task
        def new():
            pass
        """,
        """\
        from celery import shared_task


        @shared_task()
        def old():
            pass


        @shared_task
        def new():
            pass
        """,
        CODE,
    )


def test_alias_is_kept(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        from celery.task import task as celery_task


        @celery_task(bind=True)
        def sync(self):
            pass
        """,
        """\
        from celery import shared_task as celery_task


        @celery_task(bind=True)
        def sync(self):
            pass
        """,
        CODE,
    )


def test_current_becomes_current_task_and_periodic_task_stays_a_finding(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        from celery.task import current, periodic_task, task


        @task
        def job():
            return current.request.id
        """,
        """\
        from celery.task import periodic_task
        from celery import current_task, shared_task


        @shared_task
        def job():
            return current_task.request.id
        """,
        CODE,
    )
    findings = check_tree(tmp_path, {}, CODE)
    assert [(f.line, f.message, f.fix) for f in findings] == [
        (
            1,
            "`celery.task.periodic_task` was removed in Celery 5.0: has no drop-in replacement: make it a "
            "`shared_task` and add an entry to the beat schedule (`beat_schedule` or `add_periodic_task`)",
            None,
        )
    ]


def test_import_celery_task_uses_become_celery_attributes(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        import celery.task


        @celery.task.task(acks_late=True)
        def sync():
            return celery.task.current.request.id
        """,
        """\
        import celery


        @celery.shared_task(acks_late=True)
        def sync():
            return celery.current_task.request.id
        """,
        CODE,
    )


def test_composes_with_bind_self_on_the_same_decorator(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        from celery.task import current, task


        @task
        def sync(order_id):
            return current.request.id
        """,
        """\
        from celery import current_task, shared_task


        @shared_task(bind=True)
        def sync(self, order_id):
            return self.request.id
        """,
        ("CEL201", CODE),
    )


def test_messages_and_fixability(tmp_path: Path) -> None:
    findings = check_tree(
        tmp_path,
        {
            "tasks.py": """\
            from celery.task import Task, periodic_task
            from celery.task.control import discard_all
            import celery.task.control


            def purge():
                from celery.task import task
                return discard_all()
            """
        },
        CODE,
    )
    assert [(f.line, f.message, f.fix is not None) for f in findings] == [
        (
            1,
            "`celery.task.Task` was removed in Celery 5.0: use `celery.Task` (the old class made some methods "
            "classmethods)",
            False,
        ),
        (
            1,
            "`celery.task.periodic_task` was removed in Celery 5.0: has no drop-in replacement: make it a "
            "`shared_task` and add an entry to the beat schedule (`beat_schedule` or `add_periodic_task`)",
            False,
        ),
        (2, "`celery.task.control.discard_all` was removed in Celery 5.0: use the app's `app.control`", False),
        (
            3,
            "`celery.task.control` was removed in Celery 5.0: import `celery` and use `celery.shared_task` / "
            "`celery.current_task`",
            False,
        ),
        (7, "`celery.task.task` was removed in Celery 5.0: use `celery.shared_task`", False),
    ]


def test_shared_task_name_taken_by_something_else_is_not_fixed(tmp_path: Path) -> None:
    source = """\
        from celery.task import task
        from myproject.compat import shared_task


        @task
        def sync():
            pass
        """
    assert_unchanged(tmp_path, source, CODE)
    assert [f.fix for f in check_tree(tmp_path, {}, CODE)] == [None]


def test_import_shim_for_both_versions_is_left_alone(tmp_path: Path) -> None:
    source = """\
        try:
            from celery import shared_task
        except ImportError:
            from celery.task import task as shared_task


        @shared_task
        def sync():
            pass
        """
    assert_unchanged(tmp_path, source, CODE)
    assert check_tree(tmp_path, {}, CODE) == []


def test_import_inside_a_function_is_only_reported(tmp_path: Path) -> None:
    source = """\
        def register(app):
            from celery.task import task

            return task(print)
        """
    assert_unchanged(tmp_path, source, CODE)


def test_current_api_and_look_alike_modules_are_left_alone(tmp_path: Path) -> None:
    source = """\
        from celery import shared_task, current_task
        from celery.app.task import Task
        from myapp.task import task
        from celery_tasks import task as other


        @shared_task
        def sync():
            return current_task.request.id, Task, task, other
        """
    assert_unchanged(tmp_path, source, CODE)
    assert check_tree(tmp_path, {}, CODE) == []


def test_dotted_import_used_in_other_ways_is_only_reported(tmp_path: Path) -> None:
    source = """\
        import celery.task


        @celery.task.periodic_task(run_every=60)
        def tick():
            pass
        """
    assert_unchanged(tmp_path, source, CODE)
    assert [f.fix for f in check_tree(tmp_path, {}, CODE)] == [None]


READS_ONLY = """\
    from celery.task import current, task


    @task(name="x.task")
    def rebuild(index_id):
        log(current.request.id, f"{current.request.hostname}", task=1)
        return settings.task, [r for r in (current,)]


    class Job:
        runner = task
        retry = staticmethod(lambda: current.retry())

        def kind(self) -> type[task]:
            return task
    """


def test_uses_of_an_import_that_is_its_names_only_binding_are_renamed_without_scope_analysis(
    tmp_path: Path,
) -> None:
    assert_fixes(
        tmp_path,
        READS_ONLY,
        """\
        from celery import current_task, shared_task


        @shared_task(name="x.task")
        def rebuild(index_id):
            log(current_task.request.id, f"{current_task.request.hostname}", task=1)
            return settings.task, [r for r in (current_task,)]


        class Job:
            runner = shared_task
            retry = staticmethod(lambda: current_task.retry())

            def kind(self) -> type[shared_task]:
                return shared_task
        """,
        CODE,
    )


@pytest.mark.parametrize(
    ("source", "needs_scopes"),
    [
        (READS_ONLY, False),
        ("import x.task\nfrom celery.task import task\n\n\n@task\ndef f():\n    return x.task.y, task\n", False),
        ("from celery.task import task\n\n\ndef outer():\n    def inner(n=task):\n        return task(n)\n", False),
        ("from celery.task import task\n\n\ndef run(task):\n    return task.delay()\n\n\nx = task(len)\n", True),
        ("from celery.task import task\n\n\nclass A:\n    task = task(len)\n    y = task\n", True),
        ("from celery.task import task\n\ntry:\n    pass\nexcept ValueError as task:\n    pass\nz = task(len)\n", True),
        ("from celery.task import current\n\n\ndef f():\n    global current\n    current = 1\n", True),
        ("from celery.task import current\nfrom other import *\n\ncurrent.retry()\n", True),
    ],
)
def test_renaming_reads_agrees_with_scope_analysis_and_is_only_planned_when_it_can(
    source: str, needs_scopes: bool
) -> None:
    import ast

    import libcst as cst

    from celery_codemods.index.build import index_module
    from celery_codemods.rules import all_rules
    from celery_codemods.rules.removed_celery_import import RemovedImports, _plan, _reads_renamer, _rename_uses

    text = textwrap.dedent(source)
    facts = index_module("m.py", "m", False, text, "", ast.parse(text), all_rules())
    removed: RemovedImports = facts.extras[CODE]
    plan = _plan(list(removed.imports), removed.bound_once)
    assert plan.renames and plan.renames_need_scopes == needs_scopes
    if not needs_scopes:
        module = cst.parse_module(text)
        renames = dict(plan.renames)
        assert module.visit(_reads_renamer(renames)).code == _rename_uses(module, renames).code
