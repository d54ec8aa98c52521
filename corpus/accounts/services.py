from django.contrib.auth import get_user_model

from orders.models import Order
from orders.tasks import send_receipt as receipt_task

from .models import Profile
from .tasks import apply_referral_bonus, send_welcome_email, sync_profile_to_crm


def register_user(username, email, password, referrer=None):
    user = get_user_model().objects.create_user(
        username=username, email=email, password=password
    )
    # antipattern: model-arg-call (keyword argument .delay(user=user))
    send_welcome_email.delay(user=user)
    if referrer is not None:
        # look-alike: pk-call (ids already)
        apply_referral_bonus.delay(referrer.pk, user.pk)
    return user


def update_contact_details(user, phone="", device_token=""):
    profile = Profile.objects.get(user=user)
    profile.phone = phone
    profile.device_token = device_token
    profile.save(update_fields=["phone", "device_token"])
    # antipattern: model-arg-call (.delay(profile))
    sync_profile_to_crm.delay(profile)
    return profile


def merge_guest_orders(guest, user):
    """Move a guest checkout's orders to the account the guest just created."""
    moved = []
    for order in Order.objects.filter(customer=guest).order_by("pk"):
        order.customer = user
        order.save(update_fields=["customer"])
        moved.append(order.pk)
        if order.status == Order.Status.PAID:
            # antipattern: model-arg-call (task imported under an alias, cross-app)
            receipt_task.delay(order)
    return moved
