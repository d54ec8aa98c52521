import warnings
from datetime import timedelta
from decimal import Decimal

import pytest
from celery.exceptions import AlwaysEagerIgnored
from django.core import mail
from django.test import RequestFactory
from django.utils import timezone

from notifications.models import Notification
from orders import services
from orders.models import Order, OrderLine, PaidOrder, Product
from orders.tasks import (
    expire_stale_orders,
    push_order_to_warehouse,
    recalculate_total,
    remind_abandoned_orders,
)
from orders.views import order_paid_webhook, resend_receipt_view, retry_payment_view
from shop.celery import app
from shop.clients import WarehouseError, search

pytestmark = pytest.mark.django_db


def stock(sku):
    return Product.objects.get(sku=sku).stock


def test_place_order_totals_reserves_and_indexes(order):
    assert order.total == Decimal("45.00")
    assert order.lines.count() == 2
    assert order.stock_reserved is True
    assert order.search_indexed is True
    assert search.documents[("orders", order.reference)]["customer"] == order.customer_id
    assert stock("MUG") == 8
    assert stock("TEE") == 4


def test_place_order_without_lines(customer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        empty = services.place_order(customer, [])
    assert empty.total == Decimal("0.00")
    empty.refresh_from_db()
    assert empty.stock_reserved is True


def test_stock_is_reserved_only_after_commit(customer, products, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        placed = services.place_order(customer, [("MUG", 1)])
    assert len(callbacks) == 1
    assert stock("MUG") == 10
    callbacks[0]()
    placed.refresh_from_db()
    assert placed.stock_reserved is True
    assert stock("MUG") == 9


def test_recalculate_total_leaves_paid_orders_alone(order):
    Order.objects.filter(pk=order.pk).update(status=Order.Status.PAID, total=Decimal("1.00"))
    order.refresh_from_db()
    assert recalculate_total.delay(order).get() is None
    order.refresh_from_db()
    assert order.total == Decimal("1.00")


def test_pay_order_charges_then_sends_receipt(order):
    paid = services.pay_order(order)
    assert paid.status == Order.Status.PAID
    assert paid.payment_ref.startswith("ch_")
    assert paid.receipt_sent_at is not None
    assert len(mail.outbox) == 1
    assert order.reference in mail.outbox[0].subject
    assert "Total: 45.00" in mail.outbox[0].body
    assert list(PaidOrder.objects.values_list("pk", flat=True)) == [order.pk]


def test_confirm_payment_sends_receipt_after_commit(order, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        services.confirm_payment(order, "ch_webhook")
    assert mail.outbox == []
    for callback in callbacks:
        callback()
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.payment_ref == "ch_webhook"
    assert order.receipt_sent_at is not None
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]


def test_resend_receipt(order):
    result = services.resend_receipt(order)
    assert result.get() == order.reference
    assert len(mail.outbox) == 1
    order.refresh_from_db()
    assert order.receipt_sent_at is not None


def test_sync_to_warehouse(order):
    ref = services.sync_to_warehouse(order).get()
    assert ref.startswith("wh_")
    order.refresh_from_db()
    assert order.warehouse_ref == ref


def _take_message(task_id):
    found = None
    with app.connection_for_read() as conn:
        queue = conn.SimpleQueue("celery", no_ack=True, accept=app.conf.accept_content)
        try:
            while True:
                try:
                    message = queue.get(timeout=0.2)
                except queue.Empty:
                    break
                if message.headers["id"] == task_id:
                    found = message
        finally:
            queue.close()
    return found


def test_request_warehouse_push_goes_out_by_name(order):
    with warnings.catch_warnings():
        # send_task always goes to the broker, eager mode or not.
        warnings.simplefilter("ignore", AlwaysEagerIgnored)
        result = services.request_warehouse_push(order)
    message = _take_message(result.id)
    assert message is not None
    assert message.headers["task"] == "orders.tasks.push_order_to_warehouse"
    args, kwargs, _embed = message.decode()
    # What a worker would do with the message.
    ref = push_order_to_warehouse.apply(args=args, kwargs=kwargs).get()
    order.refresh_from_db()
    assert order.warehouse_ref == ref
    assert ref.startswith("wh_")


def test_push_order_to_warehouse_reraises(customer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        empty = services.place_order(customer, [])
    with pytest.raises(WarehouseError):
        push_order_to_warehouse(empty.pk)


def test_ship_orders_ships_and_notifies(customer, products, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = services.place_order(customer, [("MUG", 1)])
        second = services.place_order(customer, [("TEE", 2)])
    shipped = services.ship_orders(Order.objects.filter(pk__in=[first.pk, second.pk]))
    assert sorted(shipped) == sorted([first.pk, second.pk])
    for placed in (first, second):
        placed.refresh_from_db()
        assert placed.status == Order.Status.SHIPPED
        assert placed.tracking_number.startswith("TRK_")
        note = Notification.objects.get(kind="shipped", reference=placed.reference)
        assert placed.tracking_number in note.body


def test_cancel_unpaid_order(order):
    cancelled = services.cancel_order(order)
    assert cancelled.status == Order.Status.CANCELLED
    assert cancelled.refund_ref == ""


def test_cancel_paid_order_refunds(order):
    services.pay_order(order)
    cancelled = services.cancel_order(order)
    assert cancelled.status == Order.Status.CANCELLED
    assert cancelled.refund_ref.startswith("re_")


def test_send_receipt_now_is_synchronous(order):
    assert services.send_receipt_now(order) == order.reference
    assert len(mail.outbox) == 1
    order.refresh_from_db()
    assert order.receipt_sent_at is not None


@pytest.mark.parametrize(
    "code,percent", [("SUMMER-15", 15), ("bogus", 0), ("", 0), ("VIP-90", 50)]
)
def test_parse_discount(code, percent):
    assert services.parse_discount(code) == percent


def test_apply_discount(order):
    assert services.apply_discount(order, "SUMMER-10") == Decimal("40.50")
    order.refresh_from_db()
    assert order.total == Decimal("40.50")


def test_quote_shipping(order):
    assert services.quote_shipping(order, "DE") == Decimal("6.40")
    assert services.quote_shipping(order, "FR", express=True) == Decimal("22.80")


def test_hold_order_sets_hold_and_notifies(order):
    until = services.hold_order(order, "address check", minutes=45)
    order.refresh_from_db()
    assert order.hold_until == until
    assert until > timezone.now() + timedelta(minutes=44)
    note = Notification.objects.get(kind="hold", reference=order.reference)
    assert note.sent_at is not None
    assert len(mail.outbox) == 1


def test_deleting_an_order_archives_it(order):
    reference, customer_id = order.reference, order.customer_id
    order.delete()
    note = Notification.objects.get(kind="order_deleted", reference=reference)
    assert note.user_id == customer_id
    assert "45.00" in note.body
    assert not OrderLine.objects.filter(order_id=order.pk).exists()


def _backdate(order, hours):
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(hours=hours))


def test_expire_stale_orders_releases_stock(order, customer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        fresh = services.place_order(customer, [("MUG", 1)])
    _backdate(order, 72)
    assert expire_stale_orders.delay().get() == 1
    order.refresh_from_db()
    fresh.refresh_from_db()
    assert order.status == Order.Status.EXPIRED
    assert order.stock_reserved is False
    assert fresh.status == Order.Status.NEW
    assert stock("MUG") == 9
    assert stock("TEE") == 5


def test_remind_abandoned_orders(order):
    _backdate(order, 6)
    assert remind_abandoned_orders.delay(5).get() == 1
    assert Notification.objects.filter(kind="reminder", reference=order.reference).count() == 1


def test_paid_webhook_view(order):
    request = RequestFactory().post("/", {"charge": "ch_hook"})
    response = order_paid_webhook(request, order.pk)
    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.receipt_sent_at is not None
    assert len(mail.outbox) == 1


def test_resend_receipt_view(order, customer):
    request = RequestFactory().post("/")
    request.user = customer
    response = resend_receipt_view(request, order.pk)
    assert response.status_code == 200
    assert len(mail.outbox) == 1


def test_retry_payment_view(order, customer):
    request = RequestFactory().post("/")
    request.user = customer
    response = retry_payment_view(request, order.pk)
    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.payment_ref.startswith("ch_")
