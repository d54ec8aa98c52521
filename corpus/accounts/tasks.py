import json
import logging
from decimal import Decimal
from smtplib import SMTPException

from celery import current_task, shared_task
from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.core.mail import send_mail
from django.db.models import F, Sum

from notifications.models import Notification
from orders.models import PaidOrder
from shop.celery import app
from shop.clients import crm
from shop.taskutils import shop_task

from .models import Profile

logger = logging.getLogger(__name__)


def tier_for(spent):
    if spent >= Decimal(settings.LOYALTY_GOLD_FROM):
        return Profile.Tier.GOLD
    if spent >= Decimal(settings.LOYALTY_SILVER_FROM):
        return Profile.Tier.SILVER
    return Profile.Tier.BRONZE


# antipattern: model-arg (user)
# antipattern: no-logging
@shop_task()
def send_welcome_email(user):
    try:
        send_mail(
            "Welcome to the shop",
            f"Hello {user.get_username()}, thanks for signing up.",
            settings.DEFAULT_FROM_EMAIL,
            [user.email],
        )
    except SMTPException as exc:
        # antipattern: self-reference (send_welcome_email.retry inside itself, no bind=True)
        raise send_welcome_email.retry(exc=exc, countdown=60)
    Profile.objects.filter(user_id=user.pk).update(welcome_sent=True)
    return user.pk


# antipattern: model-arg (user, called with request.user)
# antipattern: no-logging
@shared_task
def export_user_data(user):
    # antipattern: self-reference (current_task.request.id instead of bind=True)
    task_id = current_task.request.id
    Profile.objects.filter(user_id=user.pk).update(last_export_task_id=task_id or "")
    data = {
        "username": user.get_username(),
        "email": user.email,
        "orders": list(user.orders.order_by("pk").values_list("reference", flat=True)),
    }
    try:
        data["tier"] = Profile.objects.get(user_id=user.pk).loyalty_tier
    # antipattern: silent-except (except Exception: pass)
    except Exception:
        pass
    Notification.objects.create(
        user_id=user.pk,
        kind="export",
        subject="Your data export is ready",
        body=json.dumps(data, sort_keys=True),
    )
    return data


# antipattern: no-logging
# antipattern: app-task-in-app (`app` only decorates here: fixed to shared_task)
@app.task
def refresh_loyalty_tiers():
    profiles = list(Profile.objects.order_by("pk"))
    changed = 0
    for done, profile in enumerate(profiles, start=1):
        try:
            spent = PaidOrder.objects.filter(customer_id=profile.user_id).aggregate(
                spent=Sum("total")
            )["spent"] or Decimal("0")
            tier = tier_for(spent)
            if tier != profile.loyalty_tier:
                profile.loyalty_tier = tier
                profile.save(update_fields=["loyalty_tier"])
                changed += 1
        # antipattern: silent-except (except Exception: ...)
        except Exception:
            ...
        # antipattern: self-reference (current_task.update_state instead of bind=True)
        current_task.update_state(
            state="PROGRESS", meta={"done": done, "total": len(profiles)}
        )
    return changed


# antipattern: model-arg (profile)
# antipattern: no-logging
@shop_task(bind=True)
def sync_profile_to_crm(self, profile):
    try:
        response = crm.upsert_contact(profile.user.email, profile.loyalty_tier)
        if response.get("status") == "busy":
            self.retry(countdown=30)
        Profile.objects.filter(pk=profile.pk).update(crm_id=response["id"])
    # antipattern: silent-except (except Exception: pass)
    # antipattern: swallowed-retry (the try body calls self.retry(); except Exception: pass eats Retry)
    except Exception:
        pass


@shared_task(bind=True, max_retries=3)
def apply_referral_bonus(self, referrer_id, new_user_id):
    logger.info("referral bonus: user %s referred user %s", referrer_id, new_user_id)
    try:
        referrer = Profile.objects.get(user_id=referrer_id)
    # antipattern: retry-permanent-error (retries on ObjectDoesNotExist)
    except ObjectDoesNotExist as exc:
        raise self.retry(exc=exc, countdown=30)
    Profile.objects.filter(pk=referrer.pk).update(referral_credit=F("referral_credit") + 5)
    logger.info("referral bonus credited to user %s", referrer_id)
    return referrer.pk
