from __future__ import annotations

from pathlib import Path

from tests.helpers import assert_unchanged, check_tree

CODE = "CEL511"


def findings(root: Path, source: str) -> list[tuple[int, str]]:
    return [(f.line, f.message) for f in check_tree(root, {"tasks.py": source}, CODE, preview=True)]


def test_increment_then_save(tmp_path: Path) -> None:
    source = """\
        from celery import shared_task


        @shared_task
        def record_delivery(message_id):
            message = Message.objects.get(pk=message_id)
            message.attempts += 1
            message.save()
        """
    assert findings(tmp_path, source) == [
        (
            7,
            "task `record_delivery` does `message.attempts += 1` and saves `message` (line 8) with no status "
            "check or lock: a redelivered or retried message adds again, and two runs at once lose an update; "
            "check before processing, move a status with `select_for_update()` inside `transaction.atomic()`, "
            "or let a unique constraint reject the duplicate",
        )
    ]


def test_reassigned_sum_and_decrement_in_a_loop(tmp_path: Path) -> None:
    source = """\
        from celery import shared_task


        @shared_task
        def charge(account_id, amounts):
            account = Account.objects.get(pk=account_id)
            for amount in amounts:
                account.balance = account.balance - amount
            account.save(update_fields=["balance"])
            stock = Stock.objects.get(pk=1)
            stock.count -= 1
            stock.save()
        """
    assert [line for line, _ in findings(tmp_path, source)] == [8, 11]


def test_not_preview_no_finding(tmp_path: Path) -> None:
    source = """\
        from celery import shared_task


        @shared_task
        def record_delivery(message_id):
            message = Message.objects.get(pk=message_id)
            message.attempts += 1
            message.save()
        """
    assert check_tree(tmp_path, {"tasks.py": source}, CODE) == []


# --- look-alikes ---------------------------------------------------------------------------------


def test_guarded_by_a_check_before_processing(tmp_path: Path) -> None:
    source = """\
        from celery import shared_task


        @shared_task
        def record_delivery(message_id):
            message = Message.objects.get(pk=message_id)
            if message.delivered:
                return
            message.attempts += 1
            message.delivered = True
            message.save()
        """
    assert findings(tmp_path, source) == []


def test_locked_row_or_lock_context(tmp_path: Path) -> None:
    source = """\
        from celery import shared_task
        from django.core.cache import cache
        from django.db import transaction


        @shared_task
        def record_delivery(message_id):
            with transaction.atomic():
                message = Message.objects.select_for_update().get(pk=message_id)
                message.attempts += 1
                message.save()


        @shared_task
        def record_visit(page_id):
            with cache.lock(f"page-{page_id}"):
                page = Page.objects.get(pk=page_id)
                page.visits += 1
                page.save()
        """
    assert findings(tmp_path, source) == []


def test_no_save_or_save_before_or_other_object(tmp_path: Path) -> None:
    source = """\
        from celery import shared_task


        @shared_task
        def summarise(report_id, rows):
            report = Report.objects.get(pk=report_id)
            report.save()
            report.total += sum(rows)
            summary = Summary()
            summary.count += 1
            other = Report()
            other.save()
            report.name = report.prefix + "-total"
            return report.total
        """
    assert findings(tmp_path, source) == []


def test_not_a_task_or_nested_function(tmp_path: Path) -> None:
    source = """\
        from celery import shared_task


        def bump(message):
            message.attempts += 1
            message.save()


        @shared_task
        def deliver(message_id):
            def on_error(message):
                message.attempts += 1
                message.save()

            return on_error
        """
    assert findings(tmp_path, source) == []
    assert_unchanged(tmp_path, source, CODE, preview=True)
