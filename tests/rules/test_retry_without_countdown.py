from __future__ import annotations

from pathlib import Path

import pytest

from tests.eager import RetrySpy, eager_app, load_tasks
from tests.helpers import assert_fixes, assert_unchanged, check_tree, fix_tree

CODE = "CEL304"


def test_statement_retry_becomes_raise_with_a_capped_jittered_countdown(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        from celery import shared_task


        @shared_task(bind=True, max_retries=5)
        def refund(self, order_id):
            try:
                gateway.refund(order_id)
            except ConnectionError as exc:
                self.retry(exc=exc)  # gateway blip
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
                        factor=1, retries=self.request.retries, maximum=600, full_jitter=True
                    ),
                )  # gateway blip
        """,
        CODE,
    )


def test_return_and_raise_forms_and_the_tasks_own_backoff_options(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        from celery import shared_task
        from celery.utils.time import get_exponential_backoff_interval


        @shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=3, retry_backoff_max=90, retry_jitter=False)
        def sync(task, order_id, busy):
            if busy:
                return task.retry()
            raise task.retry(
                args=(order_id, False),
            )
        """,
        """\
        from celery import shared_task
        from celery.utils.time import get_exponential_backoff_interval


        @shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=3, retry_backoff_max=90, retry_jitter=False)
        def sync(task, order_id, busy):
            if busy:
                raise task.retry(
                    countdown=get_exponential_backoff_interval(
                        factor=3, retries=task.request.retries, maximum=90, full_jitter=False
                    ),
                )
            raise task.retry(
                args=(order_id, False),
                countdown=get_exponential_backoff_interval(
                    factor=3, retries=task.request.retries, maximum=90, full_jitter=False
                ),
            )
        """,
        CODE,
    )


def test_throw_false_stays_a_call_and_current_task_keeps_its_receiver(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        from celery import current_task, shared_task


        @shared_task
        def sync(order_id):
            current_task.retry(throw=False)
        """,
        """\
        from celery import current_task, shared_task
        from celery.utils.time import get_exponential_backoff_interval


        @shared_task
        def sync(order_id):
            current_task.retry(
                throw=False,
                countdown=get_exponential_backoff_interval(
                    factor=1, retries=current_task.request.retries, maximum=600, full_jitter=True
                ),
            )
        """,
        CODE,
    )


def test_bind_self_and_retry_rules_compose_in_one_run(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        from celery import shared_task


        @shared_task(retry_backoff=True)
        def sync(order_id):
            try:
                push(order_id)
            except ConnectionError as exc:
                sync.retry(exc=exc)
        """,
        """\
        from celery import shared_task
        from celery.utils.time import get_exponential_backoff_interval


        @shared_task(bind=True, max_retries=5)
        def sync(self, order_id):
            try:
                push(order_id)
            except ConnectionError as exc:
                raise self.retry(
                    exc=exc,
                    countdown=get_exponential_backoff_interval(
                        factor=1, retries=self.request.retries, maximum=600, full_jitter=True
                    ),
                )
        """,
        ("CEL2", "CEL3"),
    )


def test_retries_with_a_delay_and_foreign_retries_are_left_alone(tmp_path: Path) -> None:
    assert_unchanged(
        tmp_path,
        """\
        from celery import shared_task


        @shared_task(bind=True)
        def sync(self, order_id, options):
            if order_id == 1:
                raise self.retry(countdown=60)
            if order_id == 2:
                raise self.retry(eta=tomorrow())
            if order_id == 3:
                raise self.retry(**options)
            if order_id == 4:
                raise self.retry(None, None, None, True, tomorrow())
            session.retry()
            other_task.retry()

            def later():
                self.retry()

            return later


        @shared_task(bind=True, default_retry_delay=30)
        def chose_a_fixed_delay(self, order_id):
            raise self.retry()


        def not_a_task(self):
            self.retry()
        """,
        CODE,
    )


def test_a_clashing_helper_name_is_reported_not_rewritten(tmp_path: Path) -> None:
    source = """\
        from celery import shared_task


        def get_exponential_backoff_interval():
            return 5


        @shared_task(bind=True)
        def sync(self, order_id):
            raise self.retry()
        """
    assert_unchanged(tmp_path, source, CODE)
    [finding] = check_tree(tmp_path, {}, CODE)
    assert finding.fix is None
    assert finding.message == (
        "`self.retry()` in task `sync` waits a fixed 180 s; add a backoff countdown "
        "(not rewritten: the module already binds `get_exponential_backoff_interval` to something else)"
    )
    assert (finding.line, finding.col) == (10, 10)


_BUSY = """\
from celery import shared_task


@shared_task(bind=True, max_retries=5)
def sync(self, order_id):
    if order_id < 0:
        self.retry()
    return order_id
"""


def test_before_the_fix_the_retry_waits_default_retry_delay(tmp_path: Path) -> None:
    module = load_tasks(_BUSY, eager_app())
    spy = RetrySpy()
    module.sync.retry = spy
    module.sync.apply(args=(-1,))
    assert "countdown" not in spy.calls[0]
    assert module.sync.default_retry_delay == 180


@pytest.mark.parametrize("retries", [0, 1, 4, 9, 10, 40])
def test_after_the_fix_the_countdown_is_an_int_bounded_by_the_cap(tmp_path: Path, retries: int) -> None:
    fixed = fix_tree(tmp_path, {"tasks.py": _BUSY}, CODE, retry_backoff_max=500)["tasks.py"]
    module = load_tasks(fixed, eager_app())
    spy = RetrySpy()
    module.sync.retry = spy
    for _ in range(30):
        module.sync.apply(args=(-1,), retries=retries)
    countdowns = [call["countdown"] for call in spy.calls]
    assert len(countdowns) == 30
    assert all(isinstance(c, int) and 0 <= c <= min(500, 2**retries) for c in countdowns)


def test_after_the_fix_eager_retries_still_run_and_direct_calls_still_work(tmp_path: Path) -> None:
    source = """\
        from celery import shared_task

        runs = []


        @shared_task(bind=True, max_retries=5)
        def sync(self, order_id):
            runs.append(self.request.retries)
            if self.request.retries < 2:
                self.retry()
            return order_id
        """
    fixed = fix_tree(tmp_path, {"tasks.py": source}, CODE)["tasks.py"]
    module = load_tasks(fixed, eager_app())
    assert module.sync.delay(7).get() == 7
    assert module.runs == [0, 1, 2]


def test_retry_of_database_or_lock_errors_gets_a_short_fixed_countdown(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        from celery import shared_task
        from django.db.utils import OperationalError
        from shop.locks import LockError


        @shared_task(bind=True, max_retries=5)
        def reindex(self, document_id):
            try:
                rebuild(document_id)
            except (OperationalError, LockError) as exc:
                raise self.retry(exc=exc)
            except ConnectionError as exc:
                raise self.retry(exc=exc)
        """,
        """\
        from celery import shared_task
        from django.db.utils import OperationalError
        from shop.locks import LockError
        from celery.utils.time import get_exponential_backoff_interval


        @shared_task(bind=True, max_retries=5)
        def reindex(self, document_id):
            try:
                rebuild(document_id)
            except (OperationalError, LockError) as exc:
                raise self.retry(exc=exc, countdown=10)
            except ConnectionError as exc:
                raise self.retry(
                    exc=exc,
                    countdown=get_exponential_backoff_interval(
                        factor=1, retries=self.request.retries, maximum=600, full_jitter=True
                    ),
                )
        """,
        CODE,
    )


def test_a_task_that_states_its_backoff_keeps_it_for_database_errors(tmp_path: Path) -> None:
    fixed = fix_tree(
        tmp_path,
        {
            "tasks.py": """\
            from celery import shared_task
            from django.db.utils import OperationalError


            @shared_task(bind=True, retry_backoff=2, max_retries=5)
            def reindex(self, document_id):
                try:
                    rebuild(document_id)
                except OperationalError as exc:
                    raise self.retry(exc=exc)
            """
        },
        CODE,
    )["tasks.py"]
    assert "factor=2, retries=self.request.retries, maximum=600, full_jitter=True" in fixed
    assert "countdown=10" not in fixed
