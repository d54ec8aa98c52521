from __future__ import annotations

from pathlib import Path

from tests.helpers import assert_unchanged, check_tree

CODE = "CEL308"


def test_autoretry_on_permanent_classes_and_visible_subclasses(tmp_path: Path) -> None:
    files = {
        "shop/__init__.py": "",
        "shop/errors.py": """\
            # shop task errors: indexed, since it mentions tasks (only indexed modules show their classes)
            class PaymentDeclined(ValueError):
                pass
            """,
        "shop/tasks.py": """\
            from celery import shared_task
            from django.core.exceptions import ValidationError
            from shop.errors import PaymentDeclined


            class CardExpired(PaymentDeclined):
                pass


            @shared_task(autoretry_for=(ConnectionError, CardExpired, ValidationError))
            def charge(order_id):
                pass
            """,
    }
    findings = check_tree(tmp_path, files, CODE)
    assert [(f.line, f.message) for f in findings] == [
        (
            10,
            "task `charge` autoretries on `CardExpired` (a `ValueError`), which a retry cannot fix: "
            "the same input fails again; fail, skip or log instead",
        ),
        (
            10,
            "task `charge` autoretries on `ValidationError`, which a retry cannot fix: "
            "the same input fails again; fail, skip or log instead",
        ),
    ]


def test_manual_retry_in_a_handler_for_does_not_exist(tmp_path: Path) -> None:
    findings = check_tree(
        tmp_path,
        {
            "tasks.py": """\
            from celery import shared_task
            from shop.models import Profile


            @shared_task(bind=True)
            def bonus(self, user_id):
                try:
                    Profile.objects.get(user_id=user_id)
                except (KeyError, Profile.DoesNotExist) as exc:
                    raise self.retry(exc=exc, countdown=30)
            """
        },
        CODE,
    )
    assert [(f.line, f.col) for f in findings] == [(9, 4), (9, 4)]
    assert findings[0].message.startswith("task `bonus` retries on `KeyError`, which a retry cannot fix")
    assert findings[1].message == (
        "task `bonus` retries on `Profile.DoesNotExist`, which a retry cannot fix: the same input fails again; "
        "fail, skip or log instead (a row not committed yet needs `transaction.on_commit`, not a retry)"
    )


def test_transient_errors_exclusions_and_other_handlers_are_not_reported(tmp_path: Path) -> None:
    source = """\
        from celery import shared_task


        @shared_task(autoretry_for=(ConnectionError, TimeoutError))
        def transient(order_id):
            pass


        @shared_task(autoretry_for=(Exception,), dont_autoretry_for=(ValueError, KeyError))
        def excluded(order_id):
            pass


        @shared_task(bind=True)
        def handled(self, data):
            try:
                parse(data)
            except ValueError:
                return None
            except ConnectionError as exc:
                raise self.retry(exc=exc, countdown=5)
            try:
                parse(data)
            except KeyError:
                session.retry()


        def plain(data):
            try:
                parse(data)
            except ValueError:
                helper.retry()
        """
    assert_unchanged(tmp_path, source, CODE)
    assert check_tree(tmp_path, {}, CODE) == []
