from __future__ import annotations

from pathlib import Path

from tests.helpers import check_tree

CODE = "CEL515"

SETTINGS = """\
from celery.schedules import crontab

CELERY_BEAT_SCHEDULE = {
    "send-reminders": {"task": "shop.tasks.send_reminders", "schedule": crontab(hour=6, minute=0)},
    "sweep": {"task": "shop.tasks.sweep", "schedule": 600.0},
}
"""


def findings(root: Path, tasks: str) -> list[tuple[int, str]]:
    files = {"shop/__init__.py": "", "shop/settings.py": SETTINGS, "shop/tasks.py": tasks}
    return [(f.line, f.message) for f in check_tree(root, files, CODE, preview=True)]


def test_scheduled_task_does_per_item_work_inline(tmp_path: Path) -> None:
    tasks = """\
        from celery import shared_task


        @shared_task
        def send_reminders():
            for invoice in Invoice.objects.filter(status="overdue"):
                mail_reminder(invoice)
        """
    assert findings(tmp_path, tasks) == [
        (
            6,
            "periodic task `send_reminders` (beat entry 'send-reminders') does the work for each item of "
            '`Invoice.objects.filter(status="overdue")` inline: one slow or failing item holds up the rest and '
            "the run grows with the table; send a subtask per item (`item_task.delay(pk)`) or per chunk "
            "(`chunks`, `group`)",
        )
    ]


def test_add_periodic_task_and_logged_loops_count(tmp_path: Path) -> None:
    tasks = """\
        import logging

        from celery import shared_task
        from shop.celery import app

        logger = logging.getLogger(__name__)


        @shared_task
        def refresh_rates():
            for currency in Currency.objects.iterator():
                currency.refresh()
                logger.info("refreshed %s", currency.code)


        @app.on_after_configure.connect
        def setup(sender, **kwargs):
            sender.add_periodic_task(3600.0, refresh_rates.s())
        """
    assert [line for line, _ in findings(tmp_path, tasks)] == [11]


# --- look-alikes ---------------------------------------------------------------------------------


def test_scheduled_task_that_fans_out(tmp_path: Path) -> None:
    tasks = """\
        from celery import shared_task


        @shared_task
        def send_reminders():
            for invoice_id in Invoice.objects.filter(status="overdue").values_list("pk", flat=True):
                send_reminder.delay(invoice_id)


        @shared_task
        def send_reminder(invoice_id):
            mail_reminder(Invoice.objects.get(pk=invoice_id))
        """
    assert findings(tmp_path, tasks) == []


def test_locked_rows_in_one_transaction(tmp_path: Path) -> None:
    tasks = """\
        from celery import shared_task
        from django.db import transaction


        @shared_task
        @transaction.atomic
        def sweep():
            for hold in Hold.objects.filter(expired=True).select_for_update():
                hold.release()
        """
    assert findings(tmp_path, tasks) == []


def test_unscheduled_task_loops_are_not_this_rule(tmp_path: Path) -> None:
    tasks = """\
        from celery import shared_task


        @shared_task
        def send_all_reminders():
            for invoice in Invoice.objects.filter(status="overdue"):
                mail_reminder(invoice)


        @shared_task
        def sweep():
            total = 0
            for hold in Hold.objects.filter(expired=True):
                total += hold.amount
            return total
        """
    assert findings(tmp_path, tasks) == []
