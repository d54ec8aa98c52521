from django.conf import settings
from django.db.models.signals import post_save
from django.dispatch import receiver

from .models import Profile


# look-alike: receiver-without-task (uses instance in-process, queues nothing)
@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def ensure_profile(sender, instance, created, **kwargs):
    if created:
        Profile.objects.get_or_create(user=instance)
