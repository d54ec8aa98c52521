import functools

from django.db import transaction

from .models import Notification
from .tasks import deliver_notification, mark_all_read, push_to_device, send_digest, send_sms


def notify(user, kind, subject, body, reference="", push=False):
    notification = Notification.objects.create(
        user=user, kind=kind, subject=subject, body=body, reference=reference
    )
    # antipattern: model-arg-call (Notification with a UUID pk)
    deliver_notification.delay(notification)
    if push:
        # look-alike: pk-call (already passes the UUID pk)
        push_to_device.delay(notification.pk)
    return notification


def text_customer(user, message):
    # look-alike: payload-dict (dict of plain values)
    return send_sms.delay({"user_id": user.pk, "body": message, "kind": "sms"})


def mark_read(user):
    # look-alike: pk-call
    mark_all_read.delay(user.pk)


def schedule_digest(user):
    # look-alike: on-commit-pk (functools.partial(task.delay, pk) on commit)
    transaction.on_commit(functools.partial(send_digest.delay, user.pk))


def notify_and_push(user, subject):
    """Record a notification and push it to the user's device, as one unit of work."""
    with transaction.atomic():
        notification = Notification.objects.create(user=user, kind="push", subject=subject)
        # antipattern: enqueue-in-atomic (push sent before the row is committed)
        push_to_device.delay(notification.pk)
    return notification


def notify_and_push_after_commit(user, subject):
    with transaction.atomic():
        notification = Notification.objects.create(user=user, kind="push", subject=subject)
        # look-alike: enqueue-on-commit (already deferred to the commit)
        transaction.on_commit(functools.partial(push_to_device.delay, notification.pk))
    return notification
