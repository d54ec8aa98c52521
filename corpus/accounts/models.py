from django.conf import settings
from django.db import models

from shop.basemodels import TimeStamped


class Profile(TimeStamped):
    class Tier(models.TextChoices):
        BRONZE = "bronze"
        SILVER = "silver"
        GOLD = "gold"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, related_name="profile", on_delete=models.CASCADE
    )
    phone = models.CharField(max_length=32, blank=True)
    device_token = models.CharField(max_length=64, blank=True)
    loyalty_tier = models.CharField(max_length=8, choices=Tier.choices, default=Tier.BRONZE)
    referral_credit = models.IntegerField(default=0)
    welcome_sent = models.BooleanField(default=False)
    crm_id = models.CharField(max_length=64, blank=True)
    last_export_task_id = models.CharField(max_length=64, blank=True)

    def __str__(self):
        return f"profile of {self.user_id}"
