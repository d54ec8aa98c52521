from __future__ import annotations

from pathlib import Path

from tests.helpers import check_tree

CODE = "CEL512"


def findings(root: Path, source: str) -> list[tuple[int, str]]:
    return [(f.line, f.message) for f in check_tree(root, {"tasks.py": source}, CODE, preview=True)]


def test_check_act_write_back_without_lock(tmp_path: Path) -> None:
    source = """\
        from celery import shared_task


        @shared_task
        def capture_payment(order_id):
            order = Order.objects.get(pk=order_id)
            if order.status != "authorized":
                return
            gateway.capture(order.payment_ref)
            order.status = "paid"
            order.save(update_fields=["status"])
        """
    assert findings(tmp_path, source) == [
        (
            10,
            "task `capture_payment` checks `order.status` (line 7) and writes it back (saved line 11) without "
            "a row lock: two runs can both pass the check; fetch it with `select_for_update()` inside "
            "`transaction.atomic()`, or change it with a conditional `filter(..., status=old).update(status=new)`",
        )
    ]


def test_state_suffix_inside_the_if_and_lock_outside_atomic(tmp_path: Path) -> None:
    source = """\
        from celery import shared_task


        @shared_task
        def send_invoice(invoice_id):
            invoice = Invoice.objects.select_for_update().get(pk=invoice_id)
            if invoice.delivery_state in ("new", "failed"):
                mailer.send(invoice)
                invoice.delivery_state = "sent"
                invoice.save()
        """
    assert [line for line, _ in findings(tmp_path, source)] == [9]


def test_not_in_preview_mode_nothing(tmp_path: Path) -> None:
    source = """\
        from celery import shared_task


        @shared_task
        def capture_payment(order_id):
            order = Order.objects.get(pk=order_id)
            if order.status == "authorized":
                gateway.capture(order.payment_ref)
                order.status = "paid"
                order.save()
        """
    assert check_tree(tmp_path, {"tasks.py": source}, CODE) == []


# --- look-alikes ---------------------------------------------------------------------------------


def test_row_locked_inside_atomic(tmp_path: Path) -> None:
    source = """\
        from celery import shared_task
        from django.db import transaction


        @shared_task
        def capture_payment(order_id):
            with transaction.atomic():
                order = Order.objects.select_for_update().get(pk=order_id)
                if order.status != "authorized":
                    return
                gateway.capture(order.payment_ref)
                order.status = "paid"
                order.save()


        @shared_task
        @transaction.atomic
        def refund(order_id):
            order = Order.objects.select_for_update().get(pk=order_id)
            if order.status == "paid":
                gateway.refund(order.payment_ref)
                order.status = "refunded"
                order.save()
        """
    assert findings(tmp_path, source) == []


def test_conditional_update_and_idempotent_transition(tmp_path: Path) -> None:
    source = """\
        from celery import shared_task


        @shared_task
        def capture_payment(order_id):
            won = Order.objects.filter(pk=order_id, status="authorized").update(status="capturing")
            if won:
                gateway.capture(order_id)


        @shared_task
        def restore(repo_id):
            repo = Repository.objects.get(pk=repo_id)
            if repo.status == "disabled":
                repo.status = "visible"
            repo.save()
        """
    assert findings(tmp_path, source) == []


def test_other_field_other_object_or_no_save(tmp_path: Path) -> None:
    source = """\
        from celery import shared_task


        @shared_task
        def sync(order_id, other_id):
            order = Order.objects.get(pk=order_id)
            other = Order.objects.get(pk=other_id)
            if order.status == "new":
                push(order)
                other.status = "seen"
                order.total = compute(order)
                order.save()


        def not_a_task(order):
            if order.status == "new":
                push(order)
                order.status = "sent"
                order.save()
        """
    assert findings(tmp_path, source) == []
