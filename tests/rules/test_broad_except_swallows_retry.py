from __future__ import annotations

from pathlib import Path

from tests.helpers import assert_unchanged, check_tree

CODE = "CEL309"


def test_logging_handler_around_a_retry_is_reported(tmp_path: Path) -> None:
    findings = check_tree(
        tmp_path,
        {
            "tasks.py": """\
            from celery import shared_task


            @shared_task(bind=True)
            def ship(self, order_id):
                try:
                    if not label(order_id):
                        self.retry(countdown=600)
                except Exception as exc:
                    logger.warning("no label: %s", exc)


            @shared_task
            def other(order_id):
                try:
                    other.retry(countdown=5)
                except:
                    raise RuntimeError("gave up")
            """
        },
        CODE,
    )
    assert [(f.line, f.col, f.message, f.fix) for f in findings] == [
        (
            9,
            4,
            "`except Exception` in task `ship` catches the `Retry` raised by `self.retry()` in its try body; "
            "re-raise `Retry` first",
            None,
        ),
        (
            17,
            4,
            "`except:` in task `other` catches the `Retry` raised by `other.retry()` in its try body; "
            "re-raise `Retry` first",
            None,
        ),
    ]


def test_safe_handlers_and_silent_ones_left_to_cel001_are_not_reported(tmp_path: Path) -> None:
    source = """\
        from celery import shared_task
        from celery.exceptions import Retry


        @shared_task(bind=True)
        def reraises_retry_first(self, order_id):
            try:
                self.retry(countdown=5)
            except Retry:
                raise
            except Exception:
                logger.exception("failed")


        @shared_task(bind=True)
        def reraises_everything(self, order_id):
            try:
                self.retry(countdown=5)
            except Exception:
                logger.exception("failed")
                raise


        @shared_task(bind=True)
        def silent(self, order_id):
            try:
                self.retry(countdown=5)
            except Exception:
                pass


        @shared_task(bind=True)
        def retry_in_the_handler(self, order_id):
            try:
                push(order_id)
            except Exception as exc:
                raise self.retry(exc=exc, countdown=5)


        @shared_task(bind=True)
        def narrow(self, order_id):
            try:
                self.retry(countdown=5)
            except ConnectionError:
                logger.exception("failed")
        """
    assert_unchanged(tmp_path, source, CODE)
    assert check_tree(tmp_path, {}, CODE) == []


def test_silent_handler_is_reported_by_cel001_only(tmp_path: Path) -> None:
    findings = check_tree(
        tmp_path,
        {
            "tasks.py": """\
            from celery import shared_task


            @shared_task(bind=True)
            def sync(self, order_id):
                try:
                    self.retry(countdown=5)
                except Exception:
                    pass
            """
        },
        ("CEL001", "CEL309"),
    )
    assert [f.code for f in findings] == ["CEL001"]
