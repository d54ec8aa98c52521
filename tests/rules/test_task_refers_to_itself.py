from __future__ import annotations

from pathlib import Path

import pytest
from celery.exceptions import Retry

from tests.eager import eager_app, load_tasks
from tests.helpers import assert_fixes, assert_unchanged, check_tree, fix_tree

CODE = "CEL201"


def test_bare_shared_task_gets_bind_self_and_references(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        from celery import current_task, shared_task


        @shared_task
        def sync(order_id):
            try:
                push(order_id)
            except ConnectionError as exc:
                raise sync.retry(exc=exc)
            current_task.update_state(state="PUSHED")
            return sync.request.id
        """,
        """\
        from celery import shared_task


        @shared_task(bind=True)
        def sync(self, order_id):
            try:
                push(order_id)
            except ConnectionError as exc:
                raise self.retry(exc=exc)
            self.update_state(state="PUSHED")
            return self.request.id
        """,
        CODE,
    )


def test_called_app_task_keeps_its_options_and_layout(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        from proj.celery import app


        @app.task(
            name="shop.sync",
            acks_late=True,
        )
        def sync(
            order_id,
            force=False,
        ):
            return sync.request.retries
        """,
        """\
        from proj.celery import app


        @app.task(
            name="shop.sync",
            acks_late=True,
            bind=True,
        )
        def sync(
            self,
            order_id,
            force=False,
        ):
            return self.request.retries
        """,
        CODE,
    )


def test_dotted_current_task_and_alias_are_rewritten(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        import celery
        from celery import shared_task as st


        @st()
        def report(*args, **kwargs):
            celery.current_task.update_state(state="STARTED", meta={"n": len(args)})
        """,
        """\
        import celery
        from celery import shared_task as st


        @st(bind=True)
        def report(self, *args, **kwargs):
            self.update_state(state="STARTED", meta={"n": len(args)})
        """,
        CODE,
    )


def test_already_bound_task_only_changes_references_to_its_first_parameter(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        from celery import shared_task


        @shared_task(bind=True)
        def sync(task, order_id):
            raise sync.retry(countdown=5)
        """,
        """\
        from celery import shared_task


        @shared_task(bind=True)
        def sync(task, order_id):
            raise task.retry(countdown=5)
        """,
        CODE,
    )


def test_rebound_registration_gets_bind(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        from celery import Celery

        app = Celery("shop")


        def sync(order_id):
            return sync.request.id


        sync = app.task(sync)
        """,
        """\
        from celery import Celery

        app = Celery("shop")


        def sync(self, order_id):
            return self.request.id


        sync = app.task(bind=True)(sync)
        """,
        CODE,
    )


def test_wrapper_that_forwards_kwargs_gets_the_keyword(tmp_path: Path) -> None:
    files = {
        "shop/__init__.py": "",
        "shop/decorators.py": """\
            from celery import shared_task


            def instrumented_task(name, **kwargs):
                def wrap(func):
                    return shared_task(name=name, **kwargs)(func)

                return wrap
            """,
        "shop/tasks.py": """\
            from shop.decorators import instrumented_task


            @instrumented_task(name="shop.sync")
            def sync(order_id):
                return sync.request.id
            """,
    }
    result = fix_tree(tmp_path, files, CODE)
    assert result["shop/tasks.py"] == (
        "from shop.decorators import instrumented_task\n\n\n"
        '@instrumented_task(name="shop.sync", bind=True)\n'
        "def sync(self, order_id):\n"
        "    return self.request.id\n"
    )


def test_other_tasks_and_plain_functions_are_left_alone(tmp_path: Path) -> None:
    assert_unchanged(
        tmp_path,
        """\
        from celery import shared_task


        def helper(order_id):
            return helper.request


        @shared_task
        def other(order_id):
            return order_id


        @shared_task
        def sync(order_id):
            other.delay(order_id)
            sync.delay(order_id + 1)
            return other.request.id, sync.name
        """,
        CODE,
    )


def test_shadowed_names_are_not_self_references(tmp_path: Path) -> None:
    assert_unchanged(
        tmp_path,
        """\
        from celery import shared_task


        @shared_task
        def sync(order_id, current_task=None):
            sync = load(order_id)
            return sync.request, current_task.request

        @shared_task
        def nested(order_id):
            def inner():
                return nested.request.id
            return inner
        """,
        CODE,
    )


def _reported_not_fixed(tmp_path: Path, source: str, reason: str) -> None:
    assert_unchanged(tmp_path, source, CODE)
    [finding] = check_tree(tmp_path, {}, CODE)
    assert finding.fix is None
    assert reason in finding.message


def test_parameter_named_self_is_reported_not_rewritten(tmp_path: Path) -> None:
    _reported_not_fixed(
        tmp_path,
        """\
        from celery import shared_task


        @shared_task
        def sync(self, order_id):
            return sync.request.id
        """,
        "already has a parameter or local named `self`",
    )


def test_decorator_under_the_task_decorator_is_reported(tmp_path: Path) -> None:
    _reported_not_fixed(
        tmp_path,
        """\
        from celery import shared_task
        from shop.utils import timed


        @shared_task
        @timed
        def sync(order_id):
            return sync.request.id
        """,
        "may not pass `self` through",
    )


def test_wrapper_without_kwargs_forwarding_is_reported(tmp_path: Path) -> None:
    files = {
        "shop/__init__.py": "",
        "shop/decorators.py": """\
            from celery import shared_task


            def instrumented_task(name):
                return shared_task(name=name)
            """,
        "shop/tasks.py": """\
            from shop.decorators import instrumented_task


            @instrumented_task(name="shop.sync")
            def sync(order_id):
                return sync.request.id
            """,
    }
    [finding] = check_tree(tmp_path, files, CODE)
    assert finding.fix is None
    assert "does not forward `**kwargs`" in finding.message


def test_star_options_bind_false_and_plain_registration_are_reported(tmp_path: Path) -> None:
    files = {
        "tasks.py": """\
            from celery import Celery, shared_task

            app = Celery("shop")
            OPTIONS = {"acks_late": True}


            @shared_task(**OPTIONS)
            def first(order_id):
                return first.request.id


            @shared_task(bind=False)
            def second(order_id):
                return second.request.id


            def third(order_id):
                return third_task.request.id


            third_task = app.task(third)
            """
    }
    findings = check_tree(tmp_path, files, CODE)
    assert [(f.line, f.fix) for f in findings] == [(8, None), (13, None), (17, None)]
    assert "`**options`" in findings[0].message
    assert "`bind=False` is set" in findings[1].message
    assert "stays importable and callable without `self`" in findings[2].message


def test_finding_names_the_task_and_each_reference(tmp_path: Path) -> None:
    [finding] = check_tree(
        tmp_path,
        {
            "tasks.py": """\
            from celery import current_task, shared_task


            @shared_task
            def sync(order_id):
                current_task.update_state(state="X")
                return sync.request.id, sync.request.retries
            """
        },
        CODE,
    )
    assert (finding.line, finding.col) == (5, 0)
    assert finding.message == (
        "task `sync` refers to itself as `current_task.update_state`, `sync.request`; bind it and use `self`"
    )


def test_suppression_on_the_decorator_line(tmp_path: Path) -> None:
    source = {
        "tasks.py": """\
            from celery import shared_task


            @shared_task  # noqa: CEL201
            def sync(order_id):
                return sync.request.id
            """
    }
    assert check_tree(tmp_path, source, CODE) == []


_RETRYING_TASK = """\
from celery import shared_task

attempts = []


@shared_task
def sync(order_id, fail_times=0):
    attempts.append(sync.request.retries)
    if sync.request.retries < fail_times:
        raise sync.retry(countdown=0)
    return order_id * 10
"""


def _fixed_retrying_task(tmp_path: Path) -> str:
    fixed = fix_tree(tmp_path, {"tasks.py": _RETRYING_TASK}, CODE)["tasks.py"]
    assert "def sync(self, order_id, fail_times=0):" in fixed
    return fixed


def test_fixed_task_still_works_called_directly_and_via_delay_and_apply(tmp_path: Path) -> None:
    app = eager_app()
    module = load_tasks(_fixed_retrying_task(tmp_path), app)
    assert module.sync(4) == 40
    assert module.sync.run(5) == 50
    assert module.sync.delay(6).get() == 60
    assert module.sync.apply(args=(7,)).get() == 70
    assert module.sync.apply_async(kwargs={"order_id": 8}).get() == 80


def test_fixed_task_retries_through_self_in_eager_mode(tmp_path: Path) -> None:
    app = eager_app()
    module = load_tasks(_fixed_retrying_task(tmp_path), app)
    result = module.sync.delay(3, fail_times=2)
    assert result.get() == 30
    assert module.attempts == [0, 1, 2]


def test_fixed_task_called_directly_raises_retry_like_before(tmp_path: Path) -> None:
    app = eager_app()
    before = load_tasks(_RETRYING_TASK, app)
    after = load_tasks(_fixed_retrying_task(tmp_path), app)
    for module in (before, after):
        with pytest.raises(Retry):
            module.sync(3, fail_times=1)


def test_current_task_import_stays_while_something_else_uses_it(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        from celery import current_task as ct, shared_task


        @shared_task
        def sync(order_id):
            return ct.request.id


        def helper():
            return ct.request.id
        """,
        """\
        from celery import current_task as ct, shared_task


        @shared_task(bind=True)
        def sync(self, order_id):
            return self.request.id


        def helper():
            return ct.request.id
        """,
        CODE,
    )


def test_aliased_current_task_import_goes_when_unused(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        from celery import current_task as ct, shared_task


        @shared_task
        def sync(order_id):
            return ct.request.id
        """,
        """\
        from celery import shared_task


        @shared_task(bind=True)
        def sync(self, order_id):
            return self.request.id
        """,
        CODE,
    )
