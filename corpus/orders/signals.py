from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .models import Order
from .tasks import archive_deleted_order, index_order


@receiver(post_save, sender=Order)
def order_saved(sender, instance, created, **kwargs):
    if created:
        # antipattern: model-arg-call (post_save receiver passes instance)
        index_order.delay(instance)


@receiver(post_delete, sender=Order)
def order_deleted(sender, instance, **kwargs):
    # look-alike: post-delete-instance (the row is gone: passing a pk would be wrong)
    archive_deleted_order(instance)
