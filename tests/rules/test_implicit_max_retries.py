from __future__ import annotations

from pathlib import Path

from tests.eager import eager_app, load_tasks
from tests.helpers import assert_fixes, assert_unchanged, check_tree, fix_tree

CODE = "CEL303"


def test_autoretry_task_gets_the_configured_count(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        from celery import shared_task


        @shared_task(autoretry_for=(OSError,), retry_kwargs={"countdown": 5})
        def sync(order_id):
            push(order_id)
        """,
        """\
        from celery import shared_task


        @shared_task(autoretry_for=(OSError,), retry_kwargs={"countdown": 5}, max_retries=8)
        def sync(order_id):
            push(order_id)
        """,
        CODE,
        max_retries=8,
    )


def test_manual_retry_on_a_bare_decorator(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        from proj.celery import app


        @app.task(bind=True)
        def sync(self, order_id):
            raise self.retry(countdown=5)
        """,
        """\
        from proj.celery import app


        @app.task(bind=True, max_retries=5)
        def sync(self, order_id):
            raise self.retry(countdown=5)
        """,
        CODE,
    )


def test_composes_with_bind_self_on_a_bare_decorator(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        from celery import shared_task


        @shared_task
        def sync(order_id):
            raise sync.retry(countdown=5)
        """,
        """\
        from celery import shared_task


        @shared_task(bind=True, max_retries=5)
        def sync(self, order_id):
            raise self.retry(countdown=5)
        """,
        ("CEL201", "CEL303"),
    )


def test_explicit_counts_and_foreign_retries_are_left_alone(tmp_path: Path) -> None:
    assert_unchanged(
        tmp_path,
        """\
        from celery import shared_task


        @shared_task(autoretry_for=(OSError,), max_retries=3)
        def explicit(order_id):
            pass


        @shared_task(autoretry_for=(OSError,), retry_kwargs={"max_retries": 4})
        def in_retry_kwargs(order_id):
            pass


        @shared_task(bind=True)
        def on_the_call(self, order_id):
            raise self.retry(countdown=5, max_retries=2)


        @shared_task(bind=True)
        def foreign(self, session):
            session.retry()
            other_task.retry()


        @shared_task(bind=True, base=RetryingTask)
        def custom_base(self, order_id):
            raise self.retry(countdown=5)


        @shared_task
        def never_retries(order_id):
            pass
        """,
        CODE,
    )


def test_finding_says_how_the_task_retries(tmp_path: Path) -> None:
    findings = check_tree(
        tmp_path,
        {
            "tasks.py": """\
            from celery import shared_task


            @shared_task(autoretry_for=(OSError,))
            def auto(order_id):
                pass


            @shared_task(bind=True)
            def manual(self, order_id):
                raise self.retry(countdown=1)
            """
        },
        CODE,
    )
    assert [(f.line, f.message) for f in findings] == [
        (4, "task `auto` autoretries without `max_retries` (Celery's implicit 3)"),
        (9, "task `manual` retries without `max_retries` (Celery's implicit 3)"),
    ]


_ALWAYS_FAILS = """\
from celery import shared_task

runs = []


@shared_task(bind=True)
def sync(self, order_id):
    runs.append(self.request.retries)
    raise self.retry(exc=OSError("down"), countdown=0)
"""


def test_runtime_the_implicit_3_becomes_the_configured_5(tmp_path: Path) -> None:
    before = load_tasks(_ALWAYS_FAILS, eager_app())
    before.sync.apply(args=(1,))
    assert before.runs == [0, 1, 2, 3]
    fixed = fix_tree(tmp_path, {"tasks.py": _ALWAYS_FAILS}, CODE)["tasks.py"]
    after = load_tasks(fixed, eager_app())
    result = after.sync.apply(args=(1,))
    assert after.runs == [0, 1, 2, 3, 4, 5]
    assert isinstance(result.result, OSError)
