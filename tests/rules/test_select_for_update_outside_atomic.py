from __future__ import annotations

from pathlib import Path

from tests.helpers import assert_unchanged, check_tree

CODE = "CEL513"


def findings(root: Path, source: str) -> list[tuple[int, str]]:
    return [(f.line, f.message) for f in check_tree(root, {"tasks.py": source}, CODE)]


def test_get_outside_atomic(tmp_path: Path) -> None:
    source = """\
        from celery import shared_task


        @shared_task
        def capture_payment(order_id):
            order = Order.objects.select_for_update().get(pk=order_id)
            order.status = "capturing"
            order.save()
            Order.objects.select_for_update().get(pk=order_id).delete()
        """
    assert findings(tmp_path, source)[1][0] == 9
    assert findings(tmp_path, source)[:1] == [
        (
            6,
            "task `capture_payment` evaluates `Order.objects.select_for_update().get(pk=order_id)` (`.get()`) "
            "outside `transaction.atomic()`: PostgreSQL raises TransactionManagementError, SQLite ignores the "
            "lock (so tests pass); wrap the read and the writes it protects in `with transaction.atomic():`",
        )
    ]


def test_loop_list_and_bound_name(tmp_path: Path) -> None:
    source = """\
        from celery import shared_task
        from django.db import transaction


        @shared_task
        def expire(ids):
            for order in Order.objects.filter(pk__in=ids).select_for_update():
                order.expire()
            rows = list(Order.objects.select_for_update(skip_locked=True))
            pending = Order.objects.filter(status="new").select_for_update()
            with transaction.atomic():
                log(rows)
            for order in pending:
                order.expire()
        """
    found = findings(tmp_path, source)
    assert [line for line, _ in found] == [7, 9, 10]
    assert "(a loop over it)" in found[0][1]
    assert "(`list()`)" in found[1][1]
    assert "(through `pending`)" in found[2][1]


# --- look-alikes ---------------------------------------------------------------------------------


def test_inside_atomic_block_or_decorator(tmp_path: Path) -> None:
    source = """\
        from celery import shared_task
        from django.db import transaction
        from django.db.transaction import atomic


        @shared_task
        def capture_payment(order_id):
            with transaction.atomic():
                order = Order.objects.select_for_update().get(pk=order_id)
                order.save()


        @shared_task
        @atomic
        def refund(order_id):
            for order in Order.objects.select_for_update().filter(pk=order_id):
                order.save()
        """
    assert findings(tmp_path, source) == []


def test_queryset_built_outside_and_evaluated_inside(tmp_path: Path) -> None:
    source = """\
        from celery import shared_task
        from django.db import transaction


        @shared_task
        def expire(ids):
            pending = Order.objects.filter(pk__in=ids).select_for_update()
            with transaction.atomic():
                for order in pending:
                    order.expire()
        """
    assert findings(tmp_path, source) == []


def test_returned_or_passed_on_and_plain_functions(tmp_path: Path) -> None:
    source = """\
        from celery import shared_task


        def locked(order_id):
            return Order.objects.select_for_update().get(pk=order_id)


        @shared_task
        def queryset_for(ids):
            pending = Order.objects.filter(pk__in=ids).select_for_update()
            return pending


        @shared_task
        def hand_over(ids):
            process(Order.objects.filter(pk__in=ids).select_for_update())
        """
    assert findings(tmp_path, source) == []
    assert_unchanged(tmp_path, source, CODE)


def test_lock_with_nowait_inside_nested_atomic_function(tmp_path: Path) -> None:
    source = """\
        from celery import shared_task
        from django.db import transaction


        @shared_task
        def sweep(ids):
            @transaction.atomic
            def one(pk):
                Order.objects.select_for_update(nowait=True).get(pk=pk).expire()

            for pk in ids:
                one(pk)
        """
    assert findings(tmp_path, source) == []
