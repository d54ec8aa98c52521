"""Settings for the shop project (legacy, one file for every environment)."""
import os
from pathlib import Path

from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("SHOP_SECRET_KEY", "legacy-insecure-key-change-me")
DEBUG = os.environ.get("SHOP_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "accounts.apps.AccountsConfig",
    "orders.apps.OrdersConfig",
    "notifications.apps.NotificationsConfig",
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]

ROOT_URLCONF = "shop.urls"
TEMPLATES = []

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("SHOP_DB", str(BASE_DIR / "db.sqlite3")),
    }
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_TZ = True

EMAIL_BACKEND = os.environ.get(
    "SHOP_EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend"
)
DEFAULT_FROM_EMAIL = "shop@example.com"

ORDER_EXPIRY_HOURS = 48
LOYALTY_SILVER_FROM = 100
LOYALTY_GOLD_FROM = 500

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "orders": {"level": "INFO"},
        "accounts": {"level": "INFO"},
        "notifications": {"level": "INFO"},
    },
}

# --- Celery -----------------------------------------------------------------
# The project started on pickle and never moved.  CORPUS_SERIALIZER lets the
# test-suite run the same code with json, where kombu refuses model instances.
CORPUS_SERIALIZER = os.environ.get("CORPUS_SERIALIZER", "pickle")

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "memory://")
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", "cache+memory://")
CELERY_TASK_SERIALIZER = CORPUS_SERIALIZER
CELERY_RESULT_SERIALIZER = CORPUS_SERIALIZER
CELERY_ACCEPT_CONTENT = (
    ["pickle", "json"] if CORPUS_SERIALIZER == "pickle" else [CORPUS_SERIALIZER]
)
CELERY_TASK_ALWAYS_EAGER = os.environ.get("CELERY_TASK_ALWAYS_EAGER", "1") == "1"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE

CELERY_BEAT_SCHEDULE = {
    # look-alike: beat-entry-ok (crontab, registered task name, 1-tuple args)
    "purge-old-notifications": {
        "task": "notifications.tasks.purge_old_notifications",
        "schedule": crontab(hour=3, minute=15),
        "args": (30,),
    },
    # antipattern: beat-unknown-task (typo of orders.tasks.expire_stale_orders)
    "expire-stale-orders": {
        "task": "orders.tasks.expire_stale_order",
        "schedule": 60.0 * 10,
    },
    # antipattern: beat-args-not-tuple ((5) is the int 5, not a 1-tuple)
    "remind-abandoned-orders": {
        "task": "orders.tasks.remind_abandoned_orders",
        "schedule": 3600.0,
        "args": (5),
    },
    # antipattern: beat-unknown-key ("option" instead of "options")
    "refresh-loyalty-tiers": {
        "task": "accounts.tasks.refresh_loyalty_tiers",
        "schedule": 60.0 * 60 * 6,
        "option": {"queue": "shop"},
    },
    # antipattern: beat-int-schedule (300 while the other entries use floats)
    "send-digests": {
        "task": "notifications.tasks.send_digests",
        "schedule": 300,
    },
}
