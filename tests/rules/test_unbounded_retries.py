from __future__ import annotations

from pathlib import Path

from tests.helpers import assert_unchanged, check_tree

CODE = "CEL307"


def test_none_in_options_retry_kwargs_and_calls_is_reported(tmp_path: Path) -> None:
    findings = check_tree(
        tmp_path,
        {
            "tasks.py": """\
            from celery import shared_task


            @shared_task(autoretry_for=(OSError,), max_retries=None)
            def first(order_id):
                pass


            @shared_task(autoretry_for=(OSError,), retry_kwargs={"max_retries": None})
            def second(order_id):
                pass


            @shared_task(bind=True)
            def third(self, order_id):
                raise self.retry(countdown=5, max_retries=None)
            """
        },
        CODE,
    )
    assert [(f.line, f.col, f.message) for f in findings] == [
        (4, 1, "task `first` retries forever (`max_retries=None` in its options); set a limit"),
        (9, 1, "task `second` retries forever (`max_retries=None` in its options); set a limit"),
        (16, 10, "task `third` retries forever (`max_retries=None` in `self.retry()`); set a limit"),
    ]


def test_limits_and_foreign_calls_are_not_reported(tmp_path: Path) -> None:
    source = """\
        from celery import shared_task

        LIMIT = None


        @shared_task(autoretry_for=(OSError,), max_retries=10)
        def limited(order_id):
            pass


        @shared_task(bind=True, max_retries=LIMIT)
        def from_a_constant(self, order_id):
            session.retry(max_retries=None)


        @shared_task(bind=True)
        def explicit_on_call(self, order_id):
            raise self.retry(countdown=5, max_retries=3)
        """
    assert_unchanged(tmp_path, source, CODE)
    assert check_tree(tmp_path, {}, CODE) == []
