from __future__ import annotations

from pathlib import Path

from tests.helpers import assert_fixes, assert_unchanged, check_tree

CODE = "CEL001"


def test_except_exception_pass_logs_with_traceback(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        import logging

        from celery import shared_task

        log = logging.getLogger(__name__)


        @shared_task
        def sync(item_id):
            try:
                push(item_id)
            except Exception:
                pass  # best effort
        """,
        """\
        import logging

        from celery import shared_task

        log = logging.getLogger(__name__)


        @shared_task
        def sync(item_id):
            try:
                push(item_id)
            except Exception:
                log.exception("sync: exception ignored")  # best effort
        """,
        CODE,
    )


def test_continue_is_kept_after_the_log(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        from celery import shared_task


        @shared_task
        def sync(ids):
            for item_id in ids:
                try:
                    push(item_id)
                except Exception:
                    continue
        """,
        """\
        from celery import shared_task
        import logging

        logger = logging.getLogger(__name__)


        @shared_task
        def sync(ids):
            for item_id in ids:
                try:
                    push(item_id)
                except Exception:
                    logger.exception("sync: exception ignored")
                    continue
        """,
        CODE,
    )


def test_bare_except_around_retry_is_narrowed_and_reraises_control_with_unsafe_fixes(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        import logging
        from celery import shared_task

        logger = logging.getLogger(__name__)


        @shared_task(bind=True)
        def sync(self, item_id):
            try:
                self.retry()
            except: return
        """,
        """\
        import logging
        from celery import shared_task
        from celery.exceptions import Ignore, Reject, Retry

        logger = logging.getLogger(__name__)


        @shared_task(bind=True)
        def sync(self, item_id):
            try:
                self.retry()
            except (Retry, Ignore, Reject):
                raise
            except Exception:
                logger.exception("sync: exception ignored")
                return
        """,
        CODE,
        unsafe_fixes=True,
    )


def test_bare_except_is_not_fixed_without_unsafe_fixes(tmp_path: Path) -> None:
    source = """\
        from celery import shared_task


        @shared_task
        def sync(item_id):
            try:
                push(item_id)
            except:
                pass
        """
    assert_unchanged(tmp_path, source, CODE)
    [finding] = check_tree(tmp_path, {}, CODE)
    assert finding.fix is not None and finding.fix.safety.value == "unsafe"


def test_reraise_mode_replaces_the_swallow(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        from celery import shared_task


        @shared_task
        def sync(item_id):
            try:
                push(item_id)
            except Exception:
                pass
        """,
        """\
        from celery import shared_task


        @shared_task
        def sync(item_id):
            try:
                push(item_id)
            except Exception:
                raise
        """,
        CODE,
        silent_except_mode="reraise",
        unsafe_fixes=True,
    )


def test_handler_outside_a_task_is_left_alone(tmp_path: Path) -> None:
    assert_unchanged(
        tmp_path,
        """\
        def sync(item_id):
            try:
                push(item_id)
            except Exception:
                pass
        """,
        CODE,
    )


def test_specific_exception_and_logging_handlers_are_left_alone(tmp_path: Path) -> None:
    assert_unchanged(
        tmp_path,
        """\
        import logging
        from celery import shared_task

        logger = logging.getLogger(__name__)


        @shared_task
        def sync(item_id):
            try:
                push(item_id)
            except KeyError:
                pass
            try:
                push(item_id)
            except Exception:
                logger.exception("push failed")
            try:
                push(item_id)
            except Exception:
                raise
        """,
        CODE,
    )


def test_suppression_comment_silences_the_finding(tmp_path: Path) -> None:
    findings = check_tree(
        tmp_path,
        {
            "tasks.py": """\
            from celery import shared_task


            @shared_task
            def sync(item_id):
                try:
                    push(item_id)
                except Exception:  # celery-codemod: ignore[CEL001]
                    pass
            """
        },
        CODE,
    )
    assert findings == []
