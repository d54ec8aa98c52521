import functools
import logging
import secrets
from datetime import timedelta
from decimal import Decimal

from celery import chain, current_app, group
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from notifications.services import notify
from notifications.tasks import send_shipping_notice

from .models import Order, OrderLine, Product
from .pricing import ShippingQuote
from .tasks import (
    charge_order,
    estimate_shipping,
    recalculate_total,
    refund_order,
    reserve_stock,
    send_receipt,
    ship_order,
    sync_order_to_warehouse,
)

logger = logging.getLogger(__name__)


def new_reference():
    return "SO-" + secrets.token_hex(5).upper()


def place_order(customer, items):
    """Create an order from (sku, quantity) pairs and reserve its stock."""
    with transaction.atomic():
        order = Order.objects.create(customer=customer, reference=new_reference())
        for sku, quantity in items:
            product = Product.objects.get(sku=sku)
            OrderLine.objects.create(
                order=order, sku=sku, quantity=quantity, unit_price=product.price
            )
        # antipattern: model-arg-call (direct call of a task)
        recalculate_total(order)
        # antipattern: model-arg-call (lambda passed to transaction.on_commit)
        transaction.on_commit(lambda: reserve_stock.delay(order))
    order.refresh_from_db()
    return order


def pay_order(order):
    # antipattern: model-arg-call (.s() and .si() members of a chain)
    chain(charge_order.s(order), send_receipt.si(order)).apply_async()
    order.refresh_from_db()
    return order


def confirm_payment(order, payment_ref):
    """Called by the gateway webhook once the money is in."""
    with transaction.atomic():
        order.status = Order.Status.PAID
        order.payment_ref = payment_ref
        order.save(update_fields=["status", "payment_ref"])
        # antipattern: model-arg-call (functools.partial(task.delay, order) on commit)
        transaction.on_commit(functools.partial(send_receipt.delay, order))
    return order


def resend_receipt(order):
    # antipattern: model-arg-call (apply_async args tuple with countdown)
    return send_receipt.apply_async(args=(order,), countdown=10)


def sync_to_warehouse(order):
    # antipattern: model-arg-call (apply_async kwargs dict)
    return sync_order_to_warehouse.apply_async(kwargs={"order": order})


def request_warehouse_push(order):
    # look-alike: send-task-by-name (only a pk goes on the wire; the task is found by name)
    return current_app.send_task(
        "orders.tasks.push_order_to_warehouse", kwargs={"order": order.pk}
    )


def ship_orders(orders):
    orders = list(orders)
    # look-alike: pk-call (group members already take ids)
    group(ship_order.s(order.pk) for order in orders).apply_async()
    # antipattern: model-arg-call (.s() members of a group)
    group([send_shipping_notice.s(order) for order in orders]).apply_async()
    return [order.pk for order in orders]


def cancel_order(order):
    if order.status == Order.Status.PAID:
        # look-alike: pk-call (refund_order already takes an id)
        refund_order.delay(order.pk)
    else:
        Order.objects.filter(pk=order.pk).update(status=Order.Status.CANCELLED)
    order.refresh_from_db()
    return order


# look-alike: task-like-name (plain function, not a task: runs synchronously)
def send_receipt_now(order):
    logger.info("sending receipt for order %s synchronously", order.pk)
    send_mail(
        f"Your receipt for order {order.reference}",
        f"Total: {order.total}",
        settings.DEFAULT_FROM_EMAIL,
        [order.customer.email],
    )
    Order.objects.filter(pk=order.pk).update(receipt_sent_at=timezone.now())
    return order.reference


def parse_discount(code):
    """'SUMMER-15' -> 15; anything unparsable means no discount."""
    percent = 0
    try:
        percent = int(code.rsplit("-", 1)[-1])
    # look-alike: except-pass-outside-task (plain service function, the fallback is intended)
    except ValueError:
        pass
    return max(0, min(percent, 50))


def apply_discount(order, code):
    percent = parse_discount(code)
    if percent:
        factor = Decimal(100 - percent) / Decimal(100)
        order.total = (order.total * factor).quantize(Decimal("0.01"))
        order.save(update_fields=["total"])
    return order.total


def quote_shipping(order, destination, express=False):
    grams = sum(line.quantity for line in order.lines.all()) * 400
    quote = ShippingQuote(destination=destination, weight_grams=grams, express=express)
    # look-alike: dataclass-arg (direct call with a value object, not a model)
    return Decimal(estimate_shipping(quote))


class OrderHold:
    """Puts an order on hold for a while; not a Celery task."""

    def __init__(self, reason):
        self.reason = reason

    # look-alike: non-task-delay (a method called delay on a plain class)
    def delay(self, order, minutes=30):
        order.hold_until = timezone.now() + timedelta(minutes=minutes)
        order.save(update_fields=["hold_until"])
        return order.hold_until


def hold_order(order, reason, minutes=30):
    hold = OrderHold(reason)
    # look-alike: non-task-delay (OrderHold.delay is a plain method)
    until = hold.delay(order, minutes=minutes)
    notify(
        order.customer,
        "hold",
        f"Order {order.reference} is on hold",
        f"{reason}; we will get back to you before {until:%H:%M}.",
        reference=order.reference,
    )
    return until
