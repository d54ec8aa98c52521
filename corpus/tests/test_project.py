import os

from celery.schedules import crontab
from django.conf import settings

from shop import celery_app


def test_serializer_follows_environment():
    wanted = os.environ.get("CORPUS_SERIALIZER", "pickle")
    assert celery_app.conf.task_serializer == wanted
    assert celery_app.conf.result_serializer == wanted
    assert wanted in celery_app.conf.accept_content


def test_celery_runs_eagerly_on_the_memory_broker():
    assert celery_app.conf.task_always_eager is True
    assert celery_app.conf.task_eager_propagates is True
    assert celery_app.conf.broker_url == "memory://"


def test_tasks_are_discovered():
    celery_app.loader.import_default_modules()
    names = set(celery_app.tasks)
    for name in (
        "orders.tasks.send_receipt",
        "orders.tasks.expire_stale_orders",
        "accounts.tasks.refresh_loyalty_tiers",
        "accounts.tasks.send_welcome_email",
        "notifications.tasks.mark_all_read",
        "notifications.tasks.purge_old_notifications",
    ):
        assert name in names


def test_nightly_purge_entry_is_valid():
    celery_app.loader.import_default_modules()
    entry = settings.CELERY_BEAT_SCHEDULE["purge-old-notifications"]
    assert entry["task"] in celery_app.tasks
    assert isinstance(entry["schedule"], crontab)
    assert entry["args"] == (30,)
