import logging
from datetime import timedelta
from decimal import Decimal

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.db.utils import OperationalError
from django.utils import timezone

from notifications.models import Notification
from shop.celery import app
from shop.clients import GatewayConnectionError, WarehouseError, gateway, search, warehouse
from shop.taskutils import shop_task

from .models import Order, Product

logger = logging.getLogger(__name__)


# antipattern: model-arg (order)
# antipattern: no-logging
@shared_task
def send_receipt(order):
    lines = "\n".join(
        f"{line.quantity} x {line.sku} @ {line.unit_price}" for line in order.lines.all()
    )
    send_mail(
        f"Your receipt for order {order.reference}",
        f"Thank you for shopping with us.\n\n{lines}\n\nTotal: {order.total}",
        settings.DEFAULT_FROM_EMAIL,
        [order.customer.email],
    )
    order.receipt_sent_at = timezone.now()
    order.save(update_fields=["receipt_sent_at"])
    return order.reference


# antipattern: model-arg (order)
# antipattern: no-logging
# antipattern: retry-no-backoff (autoretry_for a ConnectionError, fixed 180 s between tries)
# antipattern: retry-permanent-error (PaymentDeclined is a ValueError: retrying cannot help)
@shared_task(bind=True, autoretry_for=(GatewayConnectionError, ValueError))
def charge_order(self, order):
    charge_id = gateway.charge(order.reference, order.total)
    Order.objects.filter(pk=order.pk).update(status=Order.Status.PAID, payment_ref=charge_id)
    return charge_id


# antipattern: model-arg (order)
# antipattern: retry-db-error (autoretry on OperationalError, a lock/DB error)
# antipattern: retry-forever (max_retries=None)
# antipattern: app-task-in-app (`app` only decorates here: fixed to shared_task)
@app.task(
    bind=True,
    autoretry_for=(OperationalError,),
    max_retries=None,
    retry_backoff=True,
    retry_backoff_max=60,
    retry_jitter=True,
)
def reserve_stock(self, order):
    logger.info("reserving stock for order %s", order.pk)
    with transaction.atomic():
        for line in order.lines.all():
            Product.objects.filter(sku=line.sku).update(stock=F("stock") - line.quantity)
        Order.objects.filter(pk=order.pk).update(stock_reserved=True)
    logger.info("stock reserved for order %s", order.pk)
    return order.pk


# look-alike: plain-helper (not a task: takes an instance and runs in-process)
def release_stock(order):
    if not order.stock_reserved:
        return
    for line in order.lines.all():
        Product.objects.filter(sku=line.sku).update(stock=F("stock") + line.quantity)
    order.stock_reserved = False
    order.save(update_fields=["stock_reserved"])


# antipattern: model-arg (order)
# antipattern: no-logging
# antipattern: retry-broad (autoretry_for=(Exception,))
# antipattern: retry-backoff-unbounded (retry_backoff=True without retry_backoff_max/retry_jitter)
@shared_task(autoretry_for=(Exception,), retry_backoff=True)
def sync_order_to_warehouse(order):
    lines = [{"sku": line.sku, "qty": line.quantity} for line in order.lines.all()]
    ref = warehouse.push(order.reference, lines)
    Order.objects.filter(pk=order.pk).update(warehouse_ref=ref)
    return ref


# antipattern: no-logging
# antipattern: retry-backoff-ignored (retry_backoff only acts through autoretry_for)
@shared_task(bind=True, retry_backoff=True, max_retries=5)
def refund_order(self, order_id):
    order = Order.objects.get(pk=order_id)
    try:
        refund_id = gateway.refund(order.payment_ref, order.total)
    except GatewayConnectionError as exc:
        # antipattern: retry-no-countdown (self.retry(exc=exc) waits a fixed 180 s)
        raise self.retry(exc=exc)
    Order.objects.filter(pk=order.pk).update(
        status=Order.Status.CANCELLED, refund_ref=refund_id
    )
    return refund_id


# antipattern: model-arg (order)
# antipattern: no-logging (several return paths)
@shared_task
def recalculate_total(order):
    if order.status != Order.Status.NEW:
        return None
    lines = list(order.lines.all())
    if not lines:
        Order.objects.filter(pk=order.pk).update(total=Decimal("0.00"))
        return "0.00"
    total = sum((line.line_total for line in lines), Decimal("0.00"))
    order.total = total
    order.save(update_fields=["total"])
    return str(total)


# antipattern: model-arg (order)
# antipattern: no-logging
@shared_task
def index_order(order):
    document = {
        "reference": order.reference,
        "customer": order.customer_id,
        "status": order.status,
    }
    try:
        search.index("orders", order.reference, document)
    # antipattern: silent-except (bare except: pass)
    except:
        pass
    order.search_indexed = True
    order.save(update_fields=["search_indexed"])


# antipattern: no-logging
@shop_task()
def expire_stale_orders():
    cutoff = timezone.now() - timedelta(hours=settings.ORDER_EXPIRY_HOURS)
    expired = 0
    for order in Order.objects.filter(status=Order.Status.NEW, created_at__lt=cutoff):
        try:
            release_stock(order)
            order.status = Order.Status.EXPIRED
            order.save(update_fields=["status"])
        # antipattern: silent-except (except Exception: continue in a loop)
        except Exception:
            continue
        expired += 1
    return expired


# antipattern: no-logging
@shared_task
def remind_abandoned_orders(hours):
    cutoff = timezone.now() - timedelta(hours=hours)
    stale = (
        Order.objects.filter(status=Order.Status.NEW, created_at__lt=cutoff)
        .select_related("customer")
        .order_by("pk")
    )
    reminded = 0
    for order in stale:
        Notification.objects.create(
            user=order.customer,
            kind="reminder",
            reference=order.reference,
            subject=f"Your order {order.reference} is waiting",
        )
        reminded += 1
    return reminded


# look-alike: takes-id (fetches the order itself and logs start/finish)
@shared_task
def ship_order(order_id):
    logger.info("shipping order %s", order_id)
    order = Order.objects.get(pk=order_id)
    try:
        label = warehouse.create_label(order.reference)
    # look-alike: except-logs-exception (already logs with logger.exception)
    except WarehouseError:
        logger.exception("could not create a shipping label for order %s", order_id)
        return None
    order.status = Order.Status.SHIPPED
    order.tracking_number = warehouse.tracking_number(order.reference)
    order.save(update_fields=["status", "tracking_number"])
    logger.info("order %s shipped with label %s", order_id, label)
    return label


# look-alike: send-task-only (reached by name from orders.services.request_warehouse_push; `order` holds a pk)
@shared_task
def push_order_to_warehouse(order):
    logger.info("pushing order %s to the warehouse", order)
    instance = Order.objects.get(pk=order)
    lines = [{"sku": line.sku, "qty": line.quantity} for line in instance.lines.all()]
    try:
        ref = warehouse.push(instance.reference, lines)
    # look-alike: except-reraises
    except WarehouseError:
        Order.objects.filter(pk=instance.pk).update(warehouse_ref="")
        raise
    Order.objects.filter(pk=instance.pk).update(warehouse_ref=ref)
    logger.info("order %s pushed to the warehouse as %s", order, ref)
    return ref


# look-alike: post-delete-instance (called from orders.signals.order_deleted: the row is gone, a pk would find nothing)
@shared_task
def archive_deleted_order(order):
    logger.info("archiving deleted order %s", order.reference)
    Notification.objects.create(
        user_id=order.customer_id,
        kind="order_deleted",
        reference=order.reference,
        subject=f"Order {order.reference} was removed",
        body=f"The order totalled {order.total}.",
    )
    logger.info("archived deleted order %s", order.reference)
    return order.reference


# look-alike: dataclass-arg (a value object, not a model instance)
@shared_task
def estimate_shipping(quote):
    logger.info("estimating shipping to %s", quote.destination)
    cost = quote.base_rate + Decimal(quote.weight_grams // 1000) * Decimal("1.50")
    if quote.express:
        cost = cost * 2
    logger.info("shipping to %s costs %s", quote.destination, cost)
    return str(cost)
