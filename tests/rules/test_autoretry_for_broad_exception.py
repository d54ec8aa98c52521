from __future__ import annotations

from pathlib import Path

from tests.helpers import assert_unchanged, check_tree

CODE = "CEL306"


def test_exception_and_base_exception_are_reported(tmp_path: Path) -> None:
    findings = check_tree(
        tmp_path,
        {
            "tasks.py": """\
            import builtins
            from celery import shared_task


            @shared_task(autoretry_for=(Exception,), retry_backoff=True)
            def first(order_id):
                pass


            @shared_task(autoretry_for=(OSError, builtins.BaseException), dont_autoretry_for=(TypeError,))
            def second(order_id):
                pass
            """
        },
        CODE,
    )
    assert [(f.line, f.message, f.fix) for f in findings] == [
        (
            5,
            "task `first` autoretries on `Exception`, including errors a retry cannot fix; "
            "list the transient errors, or exclude permanent ones with `dont_autoretry_for`",
            None,
        ),
        (10, "task `second` autoretries on `BaseException`, including errors a retry cannot fix", None),
    ]


def test_narrow_classes_and_shadowing_names_are_not_reported(tmp_path: Path) -> None:
    source = """\
        from celery import shared_task
        from shop.errors import Exception as ShopException


        @shared_task(autoretry_for=(ConnectionError, TimeoutError))
        def narrow(order_id):
            pass


        @shared_task(autoretry_for=(ShopException,))
        def shadowed(order_id):
            pass


        def not_a_task():
            retry_on = (Exception,)
            return retry_on
        """
    assert_unchanged(tmp_path, source, CODE)
    assert check_tree(tmp_path, {}, CODE) == []
