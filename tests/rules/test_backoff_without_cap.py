from __future__ import annotations

import textwrap
from pathlib import Path

from tests.eager import eager_app, load_tasks
from tests.helpers import assert_fixes, assert_unchanged, check_tree, fix_tree

CODE = "CEL302"


def test_adds_cap_and_jitter(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        from celery import shared_task


        @shared_task(autoretry_for=(OSError,), retry_backoff=True)
        def sync(order_id):
            push(order_id)
        """,
        """\
        from celery import shared_task


        @shared_task(
            autoretry_for=(OSError,),
            retry_backoff=True,
            retry_backoff_max=600,
            retry_jitter=True,
        )
        def sync(order_id):
            push(order_id)
        """,
        CODE,
    )


def test_adds_only_the_missing_one_with_the_configured_cap(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        from proj.celery import app


        @app.task(autoretry_for=(E,), retry_backoff=2, retry_jitter=False)
        def sync(order_id):
            push(order_id)


        @app.task(autoretry_for=(E,), retry_backoff=2, retry_backoff_max=30)
        def other(order_id):
            push(order_id)
        """,
        """\
        from proj.celery import app


        @app.task(autoretry_for=(E,), retry_backoff=2, retry_jitter=False, retry_backoff_max=90)
        def sync(order_id):
            push(order_id)


        @app.task(autoretry_for=(E,), retry_backoff=2, retry_backoff_max=30, retry_jitter=True)
        def other(order_id):
            push(order_id)
        """,
        CODE,
        retry_backoff_max=90,
    )


def test_explicit_or_inapplicable_backoff_is_left_alone(tmp_path: Path) -> None:
    assert_unchanged(
        tmp_path,
        """\
        from celery import shared_task


        @shared_task(autoretry_for=(OSError,), retry_backoff=True, retry_backoff_max=60, retry_jitter=True)
        def complete(order_id):
            pass


        @shared_task(autoretry_for=(OSError,), retry_backoff=False)
        def no_backoff(order_id):
            pass


        @shared_task(bind=True, retry_backoff=True)
        def manual_only(self, order_id):
            pass


        @shared_task(autoretry_for=(OSError,), retry_backoff=True, base=MyTask)
        def custom_base(order_id):
            pass
        """,
        CODE,
    )


def test_finding_message(tmp_path: Path) -> None:
    [finding] = check_tree(
        tmp_path,
        {
            "tasks.py": """\
            from celery import shared_task


            @shared_task(autoretry_for=(OSError,), retry_backoff=True, retry_jitter=True)
            def sync(order_id):
                pass
            """
        },
        CODE,
    )
    assert finding.message == "task `sync` backs off without an explicit `retry_backoff_max`"


def test_the_options_become_readable_task_attributes_with_celerys_fallback_values(tmp_path: Path) -> None:
    source = """\
        from celery import shared_task


        @shared_task(autoretry_for=(OSError,), retry_backoff=True)
        def sync(order_id):
            pass
        """
    before = load_tasks(textwrap.dedent(source), eager_app()).sync
    assert not hasattr(before, "retry_jitter")
    fixed = fix_tree(tmp_path, {"tasks.py": source}, CODE)["tasks.py"]
    after = load_tasks(fixed, eager_app()).sync
    assert (after.retry_backoff_max, after.retry_jitter) == (600, True)
