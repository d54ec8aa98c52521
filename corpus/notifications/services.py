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
