from decimal import Decimal

from django.conf import settings
from django.db import models

from shop.basemodels import TimeStamped


class Product(models.Model):
    sku = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=120)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    stock = models.IntegerField(default=0)

    def __str__(self):
        return self.sku


class Order(TimeStamped):
    class Status(models.TextChoices):
        NEW = "new"
        PAID = "paid"
        SHIPPED = "shipped"
        CANCELLED = "cancelled"
        EXPIRED = "expired"

    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, related_name="orders", on_delete=models.CASCADE
    )
    reference = models.CharField(max_length=32, unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    total = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0.00"))
    payment_ref = models.CharField(max_length=64, blank=True)
    refund_ref = models.CharField(max_length=64, blank=True)
    tracking_number = models.CharField(max_length=64, blank=True)
    warehouse_ref = models.CharField(max_length=64, blank=True)
    receipt_sent_at = models.DateTimeField(null=True, blank=True)
    stock_reserved = models.BooleanField(default=False)
    search_indexed = models.BooleanField(default=False)
    hold_until = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return self.reference


class PaidOrder(Order):
    """Orders that went through the gateway; used by reports and loyalty."""

    class PaidManager(models.Manager):
        def get_queryset(self):
            return super().get_queryset().filter(
                status__in=[Order.Status.PAID, Order.Status.SHIPPED]
            )

    objects = PaidManager()

    class Meta:
        proxy = True


class OrderLine(models.Model):
    order = models.ForeignKey(Order, related_name="lines", on_delete=models.CASCADE)
    sku = models.CharField(max_length=32)
    quantity = models.PositiveIntegerField(default=1)
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)

    @property
    def line_total(self):
        return self.unit_price * self.quantity
