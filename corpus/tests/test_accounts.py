import json
from decimal import Decimal

import pytest
from django.core import mail
from django.test import RequestFactory
from django.utils.functional import SimpleLazyObject

from accounts import services
from accounts.models import Profile
from accounts.tasks import refresh_loyalty_tiers
from accounts.views import export_my_data
from notifications.models import Notification
from orders.models import Order

pytestmark = pytest.mark.django_db


def test_register_user_sends_welcome(db):
    user = services.register_user("carol", "carol@example.com", "pw")
    assert Profile.objects.get(user=user).welcome_sent is True
    assert [m.to for m in mail.outbox] == [["carol@example.com"]]
    assert "carol" in mail.outbox[0].body


def test_referral_bonus(customer):
    services.register_user("dave", "dave@example.com", "pw", referrer=customer)
    assert Profile.objects.get(user=customer).referral_credit == 5


def test_update_contact_details_syncs_crm(customer):
    services.update_contact_details(customer, phone="+4912345", device_token="dev-1")
    profile = Profile.objects.get(user=customer)
    assert profile.phone == "+4912345"
    assert profile.crm_id.startswith("crm_")


def test_merge_guest_orders(customer, other_customer, order, django_capture_on_commit_callbacks):
    from orders.services import place_order

    with django_capture_on_commit_callbacks(execute=True):
        paid = place_order(other_customer, [("TEE", 1)])
    Order.objects.filter(pk=paid.pk).update(status=Order.Status.PAID)
    moved = services.merge_guest_orders(other_customer, customer)
    assert moved == [paid.pk]
    paid.refresh_from_db()
    assert paid.customer_id == customer.pk
    assert paid.receipt_sent_at is not None
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]


def test_export_my_data_view(customer, order):
    request = RequestFactory().get("/account/export/")
    request.user = SimpleLazyObject(lambda: customer)
    response = export_my_data(request)
    assert response.status_code == 200
    task_id = json.loads(response.content)["task"]
    profile = Profile.objects.get(user=customer)
    assert profile.last_export_task_id == task_id
    note = Notification.objects.get(user=customer, kind="export")
    data = json.loads(note.body)
    assert data["orders"] == [order.reference]
    assert data["tier"] == "bronze"


def test_refresh_loyalty_tiers(customer, other_customer, products, django_capture_on_commit_callbacks):
    from orders.services import place_order

    with django_capture_on_commit_callbacks(execute=True):
        big = place_order(customer, [("TEE", 5)])
        place_order(other_customer, [("MUG", 1)])
    Order.objects.filter(pk=big.pk).update(status=Order.Status.PAID)
    assert big.total == Decimal("100.00")
    assert refresh_loyalty_tiers.delay().get() == 1
    assert Profile.objects.get(user=customer).loyalty_tier == Profile.Tier.SILVER
    assert Profile.objects.get(user=other_customer).loyalty_tier == Profile.Tier.BRONZE
