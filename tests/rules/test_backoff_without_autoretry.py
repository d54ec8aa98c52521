from __future__ import annotations

from pathlib import Path

from tests.eager import RetrySpy, eager_app, load_tasks
from tests.helpers import assert_fixes, assert_unchanged, check_tree, fix_tree

CODE = "CEL305"


def test_policy_moves_from_the_decorator_into_the_countdown(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        from celery import shared_task


        @shared_task(bind=True, retry_backoff=4, retry_backoff_max=120, max_retries=5)
        def refund(self, order_id):
            try:
                gateway.refund(order_id)
            except ConnectionError as exc:
                raise self.retry(exc=exc)
        """,
        """\
        from celery import shared_task
        from celery.utils.time import get_exponential_backoff_interval


        @shared_task(bind=True, max_retries=5)
        def refund(self, order_id):
            try:
                gateway.refund(order_id)
            except ConnectionError as exc:
                raise self.retry(
                    exc=exc,
                    countdown=get_exponential_backoff_interval(
                        factor=4, retries=self.request.retries, maximum=120, full_jitter=True
                    ),
                )
        """,
        CODE,
    )


def test_options_that_do_nothing_are_removed_keeping_the_layout(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        from celery import shared_task


        @shared_task(
            bind=True,
            retry_backoff=True,
            retry_jitter=False,
        )
        def refund(self, order_id):
            raise self.retry(countdown=30)


        @shared_task(retry_backoff=True)
        def never_retries(order_id):
            pass
        """,
        """\
        from celery import shared_task


        @shared_task(
            bind=True,
        )
        def refund(self, order_id):
            raise self.retry(countdown=30)


        @shared_task()
        def never_retries(order_id):
            pass
        """,
        CODE,
    )


def test_autoretrying_and_hidden_option_tasks_are_left_alone(tmp_path: Path) -> None:
    assert_unchanged(
        tmp_path,
        """\
        from celery import shared_task


        @shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True)
        def autoretries(self, order_id):
            raise self.retry()


        @shared_task(bind=True, retry_backoff=True, base=AutoRetryTask)
        def custom_base(self, order_id):
            raise self.retry()


        @shared_task(bind=True, max_retries=5)
        def no_backoff_options(self, order_id):
            raise self.retry(countdown=5)
        """,
        CODE,
    )


def test_finding_says_the_option_does_nothing_and_what_the_task_waits(tmp_path: Path) -> None:
    findings = check_tree(
        tmp_path,
        {
            "tasks.py": """\
            from celery import shared_task


            @shared_task(bind=True, retry_backoff=True)
            def manual(self, order_id):
                raise self.retry()


            @shared_task(retry_backoff=True, retry_backoff_max=60)
            def never_retries(order_id):
                pass
            """
        },
        CODE,
    )
    assert [(f.line, f.message) for f in findings] == [
        (
            4,
            "`retry_backoff` has no effect on task `manual`: it retries only by hand "
            "and waits a fixed 180 s between tries",
        ),
        (9, "`retry_backoff`, `retry_backoff_max` have no effect on task `never_retries`: it has no `autoretry_for`"),
    ]


_MANUAL = """\
from celery import shared_task


@shared_task(bind=True, retry_backoff=True, retry_backoff_max=60)
def sync(self, order_id):
    raise self.retry()
"""


def test_runtime_before_the_option_is_ignored_after_the_countdown_follows_it(tmp_path: Path) -> None:
    before = load_tasks(_MANUAL, eager_app())
    spy = RetrySpy()
    before.sync.retry = spy
    before.sync.apply(args=(1,), retries=8)
    assert "countdown" not in spy.calls[0]

    fixed = fix_tree(tmp_path, {"tasks.py": _MANUAL}, CODE)["tasks.py"]
    after = load_tasks(fixed, eager_app())
    spy = RetrySpy()
    after.sync.retry = spy
    for _ in range(30):
        after.sync.apply(args=(1,), retries=8)
    assert all(0 <= call["countdown"] <= 60 for call in spy.calls)
    assert len({call["countdown"] for call in spy.calls}) > 1


def test_a_closing_parenthesis_on_its_own_line_stays_there(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        from proj.celery import app


        @app.task(
            bind=True, ignore_result=True, retry_backoff=True
        )
        def rebuild(self, index_id):
            raise self.retry(countdown=5)


        @app.task(
            bind=True, ignore_result=True
        )
        def keep(self, index_id):
            raise self.retry(countdown=5)
        """,
        """\
        from proj.celery import app


        @app.task(
            bind=True, ignore_result=True, max_retries=5
        )
        def rebuild(self, index_id):
            raise self.retry(countdown=5)


        @app.task(
            bind=True, ignore_result=True, max_retries=5
        )
        def keep(self, index_id):
            raise self.retry(countdown=5)
        """,
        ("CEL303", "CEL305"),
        max_retries=5,
    )
