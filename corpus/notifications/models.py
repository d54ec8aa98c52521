import uuid

from django.conf import settings
from django.db import models

from shop.basemodels import TimeStamped


class Notification(TimeStamped):
    class Channel(models.TextChoices):
        EMAIL = "email"
        SMS = "sms"
        PUSH = "push"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, related_name="notifications", on_delete=models.CASCADE
    )
    kind = models.CharField(max_length=32)
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.EMAIL)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)
    reference = models.CharField(max_length=32, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    read = models.BooleanField(default=False)
    external_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at"]
