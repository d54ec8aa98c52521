from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from celery_codemods.findings import Safety
from celery_codemods.rules import _celery_version
from celery_codemods.rules._celery_version import declared_celery_version, parse_version
from tests.helpers import assert_unchanged, check_tree, fix_tree

CODE = "CEL510"

TASKS = """\
from celery import shared_task


@shared_task
def send_receipt(order_id, copy=False):
    pass
"""

DJANGO_TASKS = """\
from celery import shared_task
from celery.contrib.django.task import DjangoTask


@shared_task(base=DjangoTask)
def send_receipt(order_id, copy=False):
    pass
"""


def fix_services(root: Path, before: str, tasks: str = TASKS) -> str:
    result = fix_tree(root, {"shop/__init__.py": "", "shop/tasks.py": tasks, "shop/services.py": before}, CODE)
    return result["shop/services.py"]


def check_services(root: Path, source: str, tasks: str = TASKS) -> list[tuple[int, str, Safety | None]]:
    files = {"shop/__init__.py": "", "shop/tasks.py": tasks, "shop/services.py": source}
    return [(f.line, f.message, f.fix.safety if f.fix else None) for f in check_tree(root, files, CODE)]


@pytest.fixture(autouse=True)
def celery_5_3(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests pin the Celery version; the ones about 5.4 set it themselves."""
    monkeypatch.setattr(_celery_version, "installed_celery_version", lambda: (5, 3))


# --- fixes ---------------------------------------------------------------------------------------


def test_delay_in_atomic_block_is_sent_on_commit(tmp_path: Path) -> None:
    after = fix_services(
        tmp_path,
        """\
        from django.db import transaction

        from shop.tasks import send_receipt


        def place(order):
            with transaction.atomic():
                order.save()
                send_receipt.delay(order.pk, copy=True)
        """,
    )
    assert after == textwrap.dedent(
        """\
        from django.db import transaction

        from shop.tasks import send_receipt
        from functools import partial


        def place(order):
            with transaction.atomic():
                order.save()
                transaction.on_commit(partial(send_receipt.delay, order.pk, copy=True))
        """
    )


def test_atomic_decorator_and_apply_async(tmp_path: Path) -> None:
    after = fix_services(
        tmp_path,
        """\
        import functools

        from django.db.transaction import atomic

        from shop import tasks


        @atomic
        def place(order):
            order.save()
            tasks.send_receipt.apply_async(args=(order.pk,), countdown=5)
        """,
    )
    assert after == textwrap.dedent(
        """\
        import functools

        from django.db.transaction import atomic

        from shop import tasks
        from django.db import transaction


        @atomic
        def place(order):
            order.save()
            transaction.on_commit(functools.partial(tasks.send_receipt.apply_async, args=(order.pk,), countdown=5))
        """
    )


def test_atomic_under_another_name_is_found_in_statements_that_do_not_spell_it(tmp_path: Path) -> None:
    findings = check_services(
        tmp_path,
        """\
        from django.db.transaction import atomic as in_transaction

        from shop.tasks import send_receipt


        def place(order):
            with in_transaction():
                send_receipt.delay(order.pk)


        @in_transaction
        def cancel(order):
            send_receipt.delay(order.pk)


        def unrelated(order):
            send_receipt.delay(order.pk)
        """,
    )
    assert [line for line, _, _ in findings] == [8, 13]


def test_multiline_call_keeps_one_argument_per_line(tmp_path: Path) -> None:
    after = fix_services(
        tmp_path,
        """\
        from functools import partial

        from django.db import transaction

        from shop.tasks import send_receipt


        def place(orders):
            with transaction.atomic():
                for order in orders:
                    send_receipt.delay(
                        order.pk,
                        copy=True,
                    )
        """,
    )
    assert after == textwrap.dedent(
        """\
        from functools import partial

        from django.db import transaction

        from shop.tasks import send_receipt


        def place(orders):
            with transaction.atomic():
                for order in orders:
                    transaction.on_commit(partial(
                        send_receipt.delay,
                        order.pk,
                        copy=True,
                    ))
        """
    )


def test_atomic_on_another_database_registers_there(tmp_path: Path) -> None:
    after = fix_services(
        tmp_path,
        """\
        from functools import partial

        from django.db import transaction

        from shop.tasks import send_receipt


        @transaction.atomic(using="billing")
        def place(order):
            send_receipt.delay(order.pk)
        """,
        tasks=DJANGO_TASKS,
    )
    assert after == textwrap.dedent(
        """\
        from functools import partial

        from django.db import transaction

        from shop.tasks import send_receipt


        @transaction.atomic(using="billing")
        def place(order):
            transaction.on_commit(partial(send_receipt.delay, order.pk), using="billing")
        """
    )


def test_django_task_on_celery_5_4_uses_delay_on_commit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_celery_version, "installed_celery_version", lambda: (5, 4))
    after = fix_services(
        tmp_path,
        """\
        from django.db import transaction

        from shop.tasks import send_receipt


        def place(order):
            with transaction.atomic():
                send_receipt.delay(order.pk)
                send_receipt.apply_async((order.pk,))
        """,
        tasks=DJANGO_TASKS,
    )
    assert after == textwrap.dedent(
        """\
        from django.db import transaction

        from shop.tasks import send_receipt


        def place(order):
            with transaction.atomic():
                send_receipt.delay_on_commit(order.pk)
                send_receipt.apply_async_on_commit((order.pk,))
        """
    )


def test_subclass_of_django_task_and_app_task_cls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_celery_version, "installed_celery_version", lambda: (5, 5))
    files = {
        "shop/__init__.py": "",
        "shop/celery.py": """\
            from celery import Celery

            app = Celery("shop", task_cls="celery.contrib.django.task:DjangoTask")
            """,
        "shop/base.py": """\
            from celery.contrib.django.task import DjangoTask


            class ShopTask(DjangoTask):
                pass
            """,
        "shop/tasks.py": """\
            from shop.base import ShopTask
            from shop.celery import app


            @app.task(base=ShopTask)
            def send_receipt(order_id):
                pass


            @app.task
            def notify(order_id):
                pass
            """,
        "shop/services.py": """\
            from django.db import transaction

            from shop.tasks import notify, send_receipt


            def place(order):
                with transaction.atomic():
                    send_receipt.delay(order.pk)
                    notify.delay(order.pk)
            """,
    }
    after = fix_tree(tmp_path, files, CODE)["shop/services.py"]
    assert "send_receipt.delay_on_commit(order.pk)" in after
    assert "notify.delay_on_commit(order.pk)" in after


def test_a_django_task_subclass_beside_the_models_counts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """shop/models.py can only define models (the index outlines it), yet its subclass of a DjangoTask
    subclass counts, though it never spells DjangoTask."""
    monkeypatch.setattr(_celery_version, "installed_celery_version", lambda: (5, 4))
    files = {
        "shop/__init__.py": "",
        "shop/base.py": "from celery.contrib.django.task import DjangoTask\n\n\nclass ShopTask(DjangoTask): ...\n",
        "shop/models.py": """\
            from django.db import models

            from shop.base import ShopTask


            class OrderTask(ShopTask):
                pass


            class Order(models.Model):
                total = models.IntegerField()
            """,
        "shop/tasks.py": """\
            from celery import shared_task

            from shop.models import OrderTask


            @shared_task(base=OrderTask)
            def notify(order_id):
                pass
            """,
        "shop/services.py": """\
            from django.db import transaction

            from shop.tasks import notify


            def place(order):
                with transaction.atomic():
                    notify.delay(order.pk)
            """,
    }
    after = fix_tree(tmp_path, files, CODE)["shop/services.py"]
    assert "notify.delay_on_commit(order.pk)" in after


def test_atomic_spelled_in_full_width_letters_still_opens_a_region(tmp_path: Path) -> None:
    # Python reads identifiers NFKC-normalised: `\uff41tomic` is `atomic`.
    findings = check_services(
        tmp_path,
        "from django.db import transaction\n\nfrom shop.tasks import send_receipt\n\n\n"
        "def place(order):\n    with transaction.\uff41tomic():\n        send_receipt.delay(order.pk)\n",
    )
    assert [line for line, _, _ in findings] == [8]


def test_delay_spelled_in_full_width_letters_is_still_a_send(tmp_path: Path) -> None:
    findings = check_services(
        tmp_path,
        "from django.db import transaction\n\nfrom shop.tasks import send_receipt\n\n\n"
        "def place(order):\n    with transaction.atomic():\n        send_receipt.\uff44elay(order.pk)\n",
    )
    assert [line for line, _, _ in findings] == [8]


@pytest.mark.parametrize(
    ("body", "lines"),
    [
        # Non-ASCII but spelled as read: the text searches still decide, and find the send.
        ("    with transaction.atomic():\n        send_receipt.delay(order.pk, note='€')\n", [8]),
        (
            "    note = '€'\n    with transaction.atomic():\n        order.save()\n    send_receipt.delay(order.pk)\n",
            [],
        ),
        ("    with transaction.atomic():\n        order.save()  # délai\n", []),
    ],
)
def test_sends_in_non_ascii_text_spelled_as_read(tmp_path: Path, body: str, lines: list[int]) -> None:
    source = "from django.db import transaction\n\nfrom shop.tasks import send_receipt\n\n\ndef place(order):\n" + body
    assert [line for line, _, _ in check_services(tmp_path, source)] == lines


def test_send_inside_try_in_atomic_is_an_unsafe_fix(tmp_path: Path) -> None:
    source = """\
        from django.db import transaction

        from shop.tasks import send_receipt


        def place(order):
            with transaction.atomic():
                try:
                    send_receipt.delay(order.pk)
                except OSError:
                    pass
        """
    findings = check_services(tmp_path, source)
    assert [(line, safety) for line, _, safety in findings] == [(9, Safety.UNSAFE)]


def test_message_names_the_call_and_the_block(tmp_path: Path) -> None:
    source = """\
        from django.db import transaction

        from shop.tasks import send_receipt


        def place(order):
            with transaction.atomic():
                send_receipt.delay(order.pk)
        """
    assert check_services(tmp_path, source) == [
        (
            8,
            "`send_receipt.delay()` inside `transaction.atomic()` (line 7) is sent before the commit: the worker "
            "may not see the rows yet, and the task runs even if the transaction rolls back",
            Safety.SAFE,
        )
    ]


# --- findings without a fix ----------------------------------------------------------------------


def test_used_result_is_reported_without_a_fix(tmp_path: Path) -> None:
    source = """\
        from django.db import transaction

        from shop.tasks import send_receipt


        def place(order):
            with transaction.atomic():
                result = send_receipt.delay(order.pk)
                return send_receipt.delay(order.pk).id
        """
    findings = check_services(tmp_path, source)
    assert [(line, safety) for line, _, safety in findings] == [(8, None), (9, None)]
    assert "its result is assigned" in findings[0][1]
    assert "its result is used (`.id`)" in findings[1][1]


def test_computed_using_and_clashing_names_are_not_rewritten(tmp_path: Path) -> None:
    source = """\
        from django.db import transaction

        from shop.tasks import send_receipt

        partial = None


        def place(order, db):
            with transaction.atomic(using=db):
                send_receipt.delay(order.pk)


        def other(order):
            with transaction.atomic():
                send_receipt.delay(order.pk)
        """
    findings = check_services(tmp_path, source)
    assert [(line, safety) for line, _, safety in findings] == [(10, None), (15, None)]
    assert "`atomic(using=...)` is computed" in findings[0][1]
    assert "`partial` means something else here" in findings[1][1]


# --- look-alikes ---------------------------------------------------------------------------------


def test_already_deferred_sends_are_left_alone(tmp_path: Path) -> None:
    source = """\
        from functools import partial

        from django.db import transaction

        from shop.tasks import send_receipt


        def place(order):
            with transaction.atomic():
                order.save()
                transaction.on_commit(lambda: send_receipt.delay(order.pk))
                transaction.on_commit(partial(send_receipt.delay, order.pk))

                def later():
                    send_receipt.delay(order.pk)

                transaction.on_commit(later)
        """
    assert_unchanged(tmp_path, source, CODE, name="shop/services.py")
    assert check_services(tmp_path, source) == []


def test_sends_outside_atomic_are_left_alone(tmp_path: Path) -> None:
    source = """\
        from django.db import transaction

        from shop.tasks import send_receipt


        def place(order):
            with transaction.atomic():
                order.save()
            send_receipt.delay(order.pk)
        """
    assert check_services(tmp_path, source) == []


def test_other_atomic_and_non_task_receivers_are_left_alone(tmp_path: Path) -> None:
    source = """\
        from django.db import transaction

        from shop import mailer
        from shop.locks import atomic
        from shop.tasks import send_receipt


        def place(order):
            with atomic():
                send_receipt.delay(order.pk)
            with transaction.atomic():
                mailer.delay(order.pk)
                send_receipt.delay_on_commit(order.pk)
        """
    assert check_services(tmp_path, source) == []


def test_the_fix_result_is_not_reported_again(tmp_path: Path) -> None:
    assert_unchanged(
        tmp_path,
        """\
        from functools import partial

        from django.db import transaction

        from shop.tasks import send_receipt


        def place(order):
            with transaction.atomic():
                transaction.on_commit(partial(send_receipt.delay, order.pk, copy=True))
        """,
        CODE,
        name="shop/services.py",
    )


def test_django_task_on_old_celery_uses_on_commit(tmp_path: Path) -> None:
    after = fix_services(
        tmp_path,
        """\
        from django.db import transaction

        from shop.tasks import send_receipt


        def place(order):
            with transaction.atomic():
                send_receipt.delay(order.pk)
        """,
        tasks=DJANGO_TASKS,
    )
    assert "transaction.on_commit(partial(send_receipt.delay, order.pk))" in after
    assert "delay_on_commit" not in after


def test_task_named_like_a_non_task_is_left_alone(tmp_path: Path) -> None:
    source = """\
        from django.db import transaction


        class Job:
            def delay(self, value):
                return value


        job = Job()


        def place(order):
            with transaction.atomic():
                job.delay(order.pk)
        """
    assert check_services(tmp_path, source) == []


def test_other_transaction_helpers_and_callers_of_atomic_code_are_left_alone(tmp_path: Path) -> None:
    source = """\
        from django.db import transaction

        from shop.tasks import send_receipt


        def notify(order):
            send_receipt.delay(order.pk)


        def place(order):
            with transaction.mark_for_rollback_on_error():
                send_receipt.delay(order.pk)
            with transaction.atomic():
                notify(order)
            transaction.atomic()
            send_receipt.delay(order.pk)
        """
    assert_unchanged(tmp_path, source, CODE, name="shop/services.py")


# --- the Celery version --------------------------------------------------------------------------


def test_declared_version_from_requirement_files(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("Django>=4.2\ncelery[redis]==5.4.0\n# celery==4.0\n")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "tasks.py").write_text("")
    assert declared_celery_version([str(tmp_path / "app" / "tasks.py")]) == (5, 4)


def test_declared_version_takes_the_lowest_allowed(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('dependencies = ["celery>=5.3,<6", "django-celery-beat"]\n')
    assert declared_celery_version([str(tmp_path)]) == (5, 3)


def test_no_declared_version(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("celery\ndjango-celery-results==2.5\n")
    assert declared_celery_version([str(tmp_path)]) is None
    assert declared_celery_version([]) is None


def test_parse_version() -> None:
    assert parse_version("5.4.0rc1") == (5, 4)
    assert parse_version("6") == (6, 0)
    assert parse_version("dev") is None
