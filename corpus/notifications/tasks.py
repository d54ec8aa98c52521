import logging
from datetime import timedelta
from smtplib import SMTPException

from celery import shared_task
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db.utils import OperationalError
from django.utils import timezone

from shop.celery import app
from shop.clients import GatewayConnectionError, push, warehouse

from .models import Notification

logger = logging.getLogger(__name__)


# antipattern: model-arg (notification, UUID primary key)
# antipattern: no-logging (several return paths)
# antipattern: app-task-in-app (finding only: `app.task(func)` also uses `app`)
@app.task
def deliver_notification(notification):
    if notification.sent_at is not None:
        return False
    try:
        send_mail(
            notification.subject,
            notification.body,
            settings.DEFAULT_FROM_EMAIL,
            [notification.user.email],
        )
    # antipattern: silent-except (except SMTPException: return)
    except SMTPException:
        return
    Notification.objects.filter(pk=notification.pk).update(sent_at=timezone.now())
    return True


# antipattern: model-arg (order)
@shared_task(bind=True)
def send_shipping_notice(self, order):
    tracking = ""
    try:
        tracking = warehouse.tracking_number(order.reference)
        if not tracking:
            # the label is not printed yet: ask again in ten minutes
            self.retry(countdown=600)
    # antipattern: swallowed-retry (broad except around self.retry(): Retry is an Exception)
    except Exception as exc:
        logger.warning("no tracking number for order %s: %s", order.pk, exc)
    Notification.objects.create(
        user_id=order.customer_id,
        kind="shipped",
        reference=order.reference,
        subject=f"Order {order.reference} is on its way",
        body=f"Tracking number: {tracking}",
        sent_at=timezone.now(),
    )
    return tracking


# look-alike: bound-retry-with-countdown (takes an id, narrow except, logs)
@shared_task(bind=True, max_retries=3)
def send_digest(self, user_id):
    logger.info("sending digest to user %s", user_id)
    user = get_user_model().objects.get(pk=user_id)
    unread = list(Notification.objects.filter(user=user, read=False).values_list("subject", flat=True))
    if not unread:
        logger.info("user %s has nothing unread, no digest", user_id)
        return 0
    try:
        send_mail(
            f"You have {len(unread)} unread notifications",
            "\n".join(unread),
            settings.DEFAULT_FROM_EMAIL,
            [user.email],
        )
    except SMTPException as exc:
        logger.warning("digest for user %s failed, retrying", user_id)
        raise self.retry(exc=exc, countdown=300)
    logger.info("digest with %d items sent to user %s", len(unread), user_id)
    return len(unread)


# look-alike: logs-start-finish (fans out by id; logs before and after)
@shared_task
def send_digests():
    user_ids = sorted(
        set(Notification.objects.filter(read=False).values_list("user_id", flat=True))
    )
    logger.info("queueing %d digests", len(user_ids))
    queued = 0
    for user_id in user_ids:
        try:
            # look-alike: calls-other-task (send_digest, not itself)
            send_digest.delay(user_id)
        # look-alike: except-continue-logs (the loop goes on, but the failure is logged)
        except Exception:
            logger.exception("could not queue the digest for user %s", user_id)
            continue
        queued += 1
    logger.info("queued %d of %d digests", queued, len(user_ids))
    return queued


# look-alike: payload-dict (plain dict argument)
@shared_task
def send_sms(payload):
    logger.info("sending sms to user %s", payload["user_id"])
    note = Notification.objects.create(
        user_id=payload["user_id"],
        kind=payload.get("kind", "sms"),
        channel=Notification.Channel.SMS,
        body=payload["body"],
        sent_at=timezone.now(),
    )
    logger.info("sms %s sent to user %s", note.pk, payload["user_id"])
    return str(note.pk)


# look-alike: logs-start-finish (beat task, already logs)
@shared_task
def purge_old_notifications(days):
    logger.info("purging read notifications older than %s days", days)
    cutoff = timezone.now() - timedelta(days=days)
    deleted, _ = Notification.objects.filter(read=True, created_at__lt=cutoff).delete()
    logger.info("purged %d notifications", deleted)
    return deleted


# antipattern: app-task-in-app (finding only, like deliver_notification)
# look-alike: proper-retry (backoff with max, jitter and max_retries; takes an id)
@app.task(
    autoretry_for=(GatewayConnectionError,),
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=5,
)
def push_to_device(notification_id):
    logger.info("pushing notification %s", notification_id)
    note = Notification.objects.select_related("user__profile").get(pk=notification_id)
    token = note.user.profile.device_token
    if not token:
        logger.info("user %s has no device, skipping push", note.user_id)
        return None
    external_id = push.send(token, note.subject)
    Notification.objects.filter(pk=note.pk).update(external_id=external_id)
    logger.info("notification %s pushed as %s", notification_id, external_id)
    return external_id


# antipattern: no-logging (no return)
def mark_all_read(user_id):
    Notification.objects.filter(user_id=user_id, read=False).update(read=True)


# antipattern: app-task-in-app (`app.task(func)` form: finding only)
mark_all_read = app.task(mark_all_read)


# antipattern: retry-db-no-delay (autoretry on OperationalError waits the implicit fixed 180 s)
@shared_task(autoretry_for=(OperationalError,))
def count_unread(user_id):
    logger.info("counting unread notifications of user %s", user_id)
    unread = Notification.objects.filter(user_id=user_id, read=False).count()
    logger.info("user %s has %d unread notifications", user_id, unread)
    return unread


# antipattern: retry-db-no-countdown (self.retry on a database error waits the implicit fixed 180 s)
@shared_task(bind=True)
def mark_delivered(self, notification_id):
    logger.info("marking notification %s delivered", notification_id)
    try:
        updated = Notification.objects.filter(pk=notification_id, sent_at__isnull=True).update(
            sent_at=timezone.now()
        )
    except OperationalError as exc:
        raise self.retry(exc=exc)
    logger.info("notification %s marked delivered: %d row(s)", notification_id, updated)
    return updated


# look-alike: db-retry-fixed-delay (explicit short delay and count for a database error)
@shared_task(autoretry_for=(OperationalError,), default_retry_delay=5, max_retries=5)
def count_read(user_id):
    logger.info("counting read notifications of user %s", user_id)
    read = Notification.objects.filter(user_id=user_id, read=True).count()
    logger.info("user %s has %d read notifications", user_id, read)
    return read
