from __future__ import annotations

from pathlib import Path

import pytest

from tests.eager import RetrySpy, eager_app, load_tasks
from tests.helpers import assert_fixes, assert_unchanged, check_tree, fix_tree

CODE = "CEL301"


def test_adds_capped_backoff_with_jitter(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        from celery import shared_task


        @shared_task(autoretry_for=(ConnectionError,))
        def sync(order_id):
            push(order_id)
        """,
        """\
        from celery import shared_task


        @shared_task(
            autoretry_for=(ConnectionError,),
            retry_backoff=True,
            retry_backoff_max=600,
            retry_jitter=True,
        )
        def sync(order_id):
            push(order_id)
        """,
        CODE,
    )


def test_long_decorator_gets_one_option_a_line_and_the_configured_cap(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        import requests
        from proj.celery import app


        @app.task(name="shop.sync_order", autoretry_for=(requests.ConnectionError, requests.Timeout))
        def sync(order_id):
            push(order_id)
        """,
        """\
        import requests
        from proj.celery import app


        @app.task(
            name="shop.sync_order",
            autoretry_for=(requests.ConnectionError, requests.Timeout),
            retry_backoff=True,
            retry_backoff_max=120,
            retry_jitter=True,
        )
        def sync(order_id):
            push(order_id)
        """,
        CODE,
        retry_backoff_max=120,
    )


def test_existing_multiline_layout_is_kept_and_present_options_not_repeated(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        from celery import shared_task


        @shared_task(
            autoretry_for=(ConnectionError,),
            retry_jitter=False,
        )
        def sync(order_id):
            push(order_id)
        """,
        """\
        from celery import shared_task


        @shared_task(
            autoretry_for=(ConnectionError,),
            retry_jitter=False,
            retry_backoff=True,
            retry_backoff_max=600,
        )
        def sync(order_id):
            push(order_id)
        """,
        CODE,
    )


def test_database_and_lock_errors_get_a_short_fixed_delay(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        from celery import shared_task
        from django.db import OperationalError
        from django.db.utils import InterfaceError
        from redis.exceptions import LockError


        @shared_task(autoretry_for=(OperationalError, InterfaceError, LockError))
        def reserve(order_id):
            lock(order_id)
        """,
        """\
        from celery import shared_task
        from django.db import OperationalError
        from django.db.utils import InterfaceError
        from redis.exceptions import LockError


        @shared_task(
            autoretry_for=(OperationalError, InterfaceError, LockError),
            default_retry_delay=10,
        )
        def reserve(order_id):
            lock(order_id)
        """,
        CODE,
    )


def test_database_error_base_class_and_mixed_tuples_get_backoff(tmp_path: Path) -> None:
    findings = check_tree(
        tmp_path,
        {
            "tasks.py": """\
            from celery import shared_task
            from django.db import DatabaseError, OperationalError


            @shared_task(autoretry_for=(DatabaseError,))
            def first(order_id):
                pass


            @shared_task(autoretry_for=(OperationalError, ConnectionError))
            def second(order_id):
                pass
            """
        },
        CODE,
    )
    assert [f.line for f in findings] == [5, 10]
    assert all("exponential backoff capped at 600 s" in f.message for f in findings)


def test_chosen_delays_and_hidden_options_are_left_alone(tmp_path: Path) -> None:
    assert_unchanged(
        tmp_path,
        """\
        from celery import shared_task
        from proj.tasks import BaseTask

        OPTIONS = {"acks_late": True}


        @shared_task(autoretry_for=(ConnectionError,), retry_backoff=True)
        def has_backoff(order_id):
            pass


        @shared_task(autoretry_for=(ConnectionError,), retry_backoff=False)
        def says_no_backoff(order_id):
            pass


        @shared_task(autoretry_for=(ConnectionError,), default_retry_delay=30)
        def fixed_delay(order_id):
            pass


        @shared_task(autoretry_for=(ConnectionError,), retry_kwargs={"countdown": 5})
        def fixed_countdown(order_id):
            pass


        @shared_task(autoretry_for=(ConnectionError,), base=BaseTask)
        def custom_base(order_id):
            pass


        @shared_task(autoretry_for=(ConnectionError,), **OPTIONS)
        def star_options(order_id):
            pass


        @shared_task(autoretry_for=())
        def retries_nothing(order_id):
            pass


        @shared_task
        def no_autoretry(order_id):
            pass
        """,
        CODE,
    )


def test_finding_names_the_task_and_the_change(tmp_path: Path) -> None:
    [finding] = check_tree(
        tmp_path,
        {
            "tasks.py": """\
            from celery import shared_task


            @shared_task(autoretry_for=(ConnectionError,))
            def sync(order_id):
                pass
            """
        },
        CODE,
    )
    assert (finding.line, finding.col) == (4, 1)
    assert finding.message == (
        "task `sync` autoretries with a fixed 180 s between tries; use exponential backoff capped at 600 s, with jitter"
    )


_FLAKY = """\
from celery import shared_task


@shared_task(autoretry_for=(ConnectionError,))
def sync(order_id):
    raise ConnectionError("gateway down")
"""


def test_before_the_fix_autoretry_passes_no_countdown_so_celery_waits_180_s(tmp_path: Path) -> None:
    module = load_tasks(_FLAKY, eager_app())
    spy = RetrySpy()
    module.sync.retry = spy
    module.sync.apply(args=(1,), retries=0)
    assert spy.calls[0].get("countdown") is None
    assert module.sync.default_retry_delay == 180


@pytest.mark.parametrize("retries", [0, 1, 3, 9, 10, 30])
def test_after_the_fix_the_countdown_is_an_int_within_backoff_and_cap(tmp_path: Path, retries: int) -> None:
    fixed = fix_tree(tmp_path, {"tasks.py": _FLAKY}, CODE, retry_backoff_max=300)["tasks.py"]
    module = load_tasks(fixed, eager_app())
    spy = RetrySpy()
    module.sync.retry = spy
    for _ in range(20):
        module.sync.apply(args=(1,), retries=retries)
    countdowns = [call["countdown"] for call in spy.calls]
    assert all(isinstance(c, int) and 0 <= c <= min(300, 2**retries) for c in countdowns)
