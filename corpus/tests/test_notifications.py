from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import Profile
from notifications import services
from notifications.models import Notification
from notifications.tasks import (
    count_read,
    count_unread,
    deliver_notification,
    mark_delivered,
    purge_old_notifications,
    send_digests,
)

pytestmark = pytest.mark.django_db


def test_notify_delivers_by_email(customer):
    note = services.notify(customer, "promo", "Spring sale", "Everything -10%")
    note.refresh_from_db()
    assert note.sent_at is not None
    assert [m.subject for m in mail.outbox] == ["Spring sale"]


def test_delivering_twice_is_a_no_op(customer):
    note = services.notify(customer, "promo", "Once", "only once")
    note.refresh_from_db()
    assert deliver_notification.delay(note).get() is False
    assert len(mail.outbox) == 1


def test_notify_with_push(customer):
    Profile.objects.filter(user=customer).update(device_token="device-abc")
    note = services.notify(customer, "promo", "Pushed", "hello", push=True)
    note.refresh_from_db()
    assert note.external_id.startswith("push_")


def test_notify_with_push_but_no_device(customer):
    note = services.notify(customer, "promo", "Not pushed", "hello", push=True)
    note.refresh_from_db()
    assert note.external_id == ""
    assert note.sent_at is not None


def test_text_customer(customer):
    result = services.text_customer(customer, "Your parcel is at the door")
    note = Notification.objects.get(pk=result.get())
    assert note.channel == Notification.Channel.SMS
    assert note.body == "Your parcel is at the door"
    assert note.user_id == customer.pk


def test_mark_read(customer):
    services.notify(customer, "promo", "A", "a")
    services.notify(customer, "promo", "B", "b")
    services.mark_read(customer)
    assert not Notification.objects.filter(user=customer, read=False).exists()


def test_schedule_digest_on_commit(customer, django_capture_on_commit_callbacks):
    Notification.objects.create(user=customer, kind="promo", subject="Unread one")
    Notification.objects.create(user=customer, kind="promo", subject="Unread two")
    with django_capture_on_commit_callbacks(execute=True):
        services.schedule_digest(customer)
    assert [m.subject for m in mail.outbox] == ["You have 2 unread notifications"]


def test_send_digests_fans_out(customer, other_customer):
    Notification.objects.create(user=customer, kind="promo", subject="For alice")
    Notification.objects.create(user=other_customer, kind="promo", subject="For bob", read=True)
    assert send_digests.delay().get() == 1
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]


def test_purge_old_notifications(customer):
    old_read = Notification.objects.create(user=customer, kind="promo", read=True)
    old_unread = Notification.objects.create(user=customer, kind="promo")
    recent_read = Notification.objects.create(user=customer, kind="promo", read=True)
    Notification.objects.filter(pk__in=[old_read.pk, old_unread.pk]).update(
        created_at=timezone.now() - timedelta(days=40)
    )
    assert purge_old_notifications.delay(30).get() == 1
    remaining = set(Notification.objects.values_list("pk", flat=True))
    assert remaining == {old_unread.pk, recent_read.pk}


def test_notify_and_push_pushes_once_committed(customer, django_capture_on_commit_callbacks):
    Profile.objects.filter(user=customer).update(device_token="device-abc")
    with django_capture_on_commit_callbacks(execute=True):
        note = services.notify_and_push(customer, "Committed")
    note.refresh_from_db()
    assert note.external_id.startswith("push_")


def test_notify_and_push_after_commit(customer, django_capture_on_commit_callbacks):
    Profile.objects.filter(user=customer).update(device_token="device-abc")
    with django_capture_on_commit_callbacks(execute=True):
        note = services.notify_and_push_after_commit(customer, "Deferred")
    note.refresh_from_db()
    assert note.external_id.startswith("push_")


def test_counting_read_and_unread(customer):
    services.notify(customer, "promo", "One", "first")
    services.notify(customer, "promo", "Two", "second")
    Notification.objects.filter(subject="One").update(read=True)
    assert count_unread.delay(customer.pk).get() == 1
    assert count_read.delay(customer.pk).get() == 1


def test_mark_delivered_once(customer):
    note = Notification.objects.create(user=customer, kind="promo", subject="Later")
    assert mark_delivered.delay(note.pk).get() == 1
    assert mark_delivered.delay(note.pk).get() == 0
