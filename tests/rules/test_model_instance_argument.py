from __future__ import annotations

import textwrap
from pathlib import Path

from tests.helpers import check_tree, fix_tree

CODES = ("CEL101", "CEL102", "CEL103")

MODELS = textwrap.dedent(
    """\
    import uuid

    from django.db import models


    class Order(models.Model):
        total = models.IntegerField()


    class Ticket(models.Model):
        id = models.UUIDField(primary_key=True, default=uuid.uuid4)
"""
)

TASKS = textwrap.dedent(
    """\
    import logging

    from celery import shared_task

    logger = logging.getLogger(__name__)


    @shared_task
    def send_receipt(order):
        \"\"\"Mail the receipt.\"\"\"
        return order.total
"""
)

CONVERTED_TASKS = textwrap.dedent(
    """\
    import logging

    from celery import shared_task
    from shop.models import Order

    logger = logging.getLogger(__name__)


    @shared_task
    def send_receipt(order_id: int):
        \"\"\"Mail the receipt.\"\"\"
        try:
            order = Order._default_manager.get(pk=order_id)
        except Order.DoesNotExist:
            logger.warning("send_receipt: Order %s does not exist; skipping", order_id)
            return None
        return order.total
"""
)


def project(caller: str, tasks: str = TASKS, **more: str) -> dict[str, str]:
    files = {
        "shop/__init__.py": "",
        "shop/models.py": MODELS,
        "shop/tasks.py": tasks,
        "shop/views.py": "from shop.models import Order\nfrom shop.tasks import send_receipt\n\n\n" + caller,
    }
    files.update(more)
    return files


def caller_after(root: Path, caller: str, **more: str) -> str:
    result = fix_tree(root, project(caller, **more), CODES)
    assert result["shop/tasks.py"] == textwrap.dedent(CONVERTED_TASKS)
    return result["shop/views.py"].split("\n\n\n", 1)[1]


def unchanged(root: Path, caller: str, tasks: str = TASKS, **more: str) -> None:
    files = project(caller, tasks, **more)
    result = fix_tree(root, files, CODES)
    assert result == {name: textwrap.dedent(text) for name, text in files.items()}


def test_delay_with_an_instance_from_get(tmp_path: Path) -> None:
    caller = "def view(pk):\n    order = Order.objects.get(pk=pk)\n    send_receipt.delay(order)\n"
    assert caller_after(tmp_path, caller) == caller.replace("delay(order)", "delay(order.pk)")


def test_keyword_argument_is_renamed(tmp_path: Path) -> None:
    caller = "def view(pk):\n    send_receipt.delay(order=Order.objects.create(total=1))\n"
    after = caller_after(tmp_path, caller)
    assert after == "def view(pk):\n    send_receipt.delay(order_id=Order.objects.create(total=1).pk)\n"


def test_apply_async_args_list_tuple_and_kwargs_dict(tmp_path: Path) -> None:
    caller = (
        "def view(pk):\n"
        "    order = Order.objects.filter(pk=pk).first()\n"
        "    send_receipt.apply_async(args=[order], countdown=3)\n"
        "    send_receipt.apply_async((order,))\n"
        "    send_receipt.apply_async(kwargs={'order': order})\n"
    )
    assert caller_after(tmp_path, caller) == (
        "def view(pk):\n"
        "    order = Order.objects.filter(pk=pk).first()\n"
        "    send_receipt.apply_async(args=[order.pk], countdown=3)\n"
        "    send_receipt.apply_async((order.pk,))\n"
        "    send_receipt.apply_async(kwargs={'order_id': order.pk})\n"
    )


def test_signatures_chains_partial_on_commit_direct_and_apply(tmp_path: Path) -> None:
    caller = (
        "from functools import partial\n\n"
        "from celery import chain, group\n"
        "from django.db import transaction\n"
        "from django.shortcuts import get_object_or_404\n\n"
        "from shop import tasks\n"
        "from shop.tasks import send_receipt as receipt\n\n\n"
        "def view(request, pk):\n"
        "    order = get_object_or_404(Order, pk=pk)\n"
        "    chain(receipt.s(order), send_receipt.si(order))()\n"
        "    group(tasks.send_receipt.s(order) for _ in range(2))()\n"
        "    send_receipt.signature((order,)).set(queue='x').delay()\n"
        "    transaction.on_commit(partial(send_receipt.delay, order))\n"
        "    transaction.on_commit(lambda: send_receipt.delay_on_commit(order))\n"
        "    send_receipt(order)\n"
        "    send_receipt.apply(args=(order,))\n"
    )
    after = caller_after(tmp_path, caller)
    assert after.count("order.pk") == 8
    assert "chain(receipt.s(order.pk), send_receipt.si(order.pk))()" in after
    assert "send_receipt.signature((order.pk,)).set(queue='x').delay()" in after
    assert "partial(send_receipt.delay, order.pk)" in after


def test_callers_in_three_modules(tmp_path: Path) -> None:
    other = (
        "from shop.models import Order\nfrom shop import tasks\n\n\n"
        "def run(order: Order):\n    tasks.send_receipt.delay(order)\n"
    )
    files = project(
        "def view(request):\n    send_receipt.delay(order=Order.objects.get(pk=1))\n",
        **{"billing/__init__.py": "", "billing/jobs.py": other, "api/__init__.py": "", "api/hooks.py": other},
    )
    result = fix_tree(tmp_path, files, CODES)
    assert result["shop/tasks.py"] == textwrap.dedent(CONVERTED_TASKS)
    assert "send_receipt.delay(order_id=Order.objects.get(pk=1).pk)" in result["shop/views.py"]
    assert "tasks.send_receipt.delay(order.pk)" in result["billing/jobs.py"]
    assert "tasks.send_receipt.delay(order.pk)" in result["api/hooks.py"]


def test_post_save_receiver_instance(tmp_path: Path) -> None:
    caller = (
        "from django.db.models.signals import post_save\n"
        "from django.dispatch import receiver\n\n\n"
        "@receiver(post_save, sender=Order)\n"
        "def saved(sender, instance, **kwargs):\n"
        "    send_receipt.delay(instance)\n"
    )
    assert "send_receipt.delay(instance.pk)" in caller_after(tmp_path, caller)


def test_request_user_converts_with_get_user_model(tmp_path: Path) -> None:
    result = fix_tree(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/tasks.py": (
                "from celery import shared_task\n\n\n@shared_task\ndef welcome(user):\n    return user.email\n"
            ),
            "app/views.py": "from app.tasks import welcome\n\n\ndef view(request):\n    welcome.delay(request.user)\n",
        },
        CODES,
    )
    assert result["app/tasks.py"] == textwrap.dedent(
        """\
        from celery import shared_task
        import logging
        from django.contrib.auth import get_user_model

        logger = logging.getLogger(__name__)


        @shared_task
        def welcome(user_id: int):
            try:
                user = get_user_model()._default_manager.get(pk=user_id)
            except get_user_model().DoesNotExist:
                logger.warning("welcome: User %s does not exist; skipping", user_id)
                return None
            return user.email
        """
    )
    assert "welcome.delay(request.user.pk)" in result["app/views.py"]


def test_uuid_primary_key_annotation_and_bound_task(tmp_path: Path) -> None:
    tasks = (
        "from celery import shared_task\n\nfrom shop.models import Ticket\n\n\n"
        "@shared_task(bind=True)\ndef issue(self, ticket, note=None):\n    return ticket\n"
    )
    result = fix_tree(
        tmp_path,
        {
            "shop/__init__.py": "",
            "shop/models.py": MODELS,
            "shop/tasks.py": tasks,
            "shop/views.py": (
                "from shop.models import Ticket\nfrom shop.tasks import issue\n\n\n"
                "def v():\n    issue.delay(Ticket.objects.get(pk=1), note='x')\n"
            ),
        },
        CODES,
    )
    assert "def issue(self, ticket_id: uuid.UUID, note=None):" in result["shop/tasks.py"]
    assert "import uuid" in result["shop/tasks.py"]
    assert "issue.delay(Ticket.objects.get(pk=1).pk, note='x')" in result["shop/views.py"]


def test_annotation_alone_converts_and_default_none_is_kept(tmp_path: Path) -> None:
    tasks = TASKS.replace("def send_receipt(order):", "def send_receipt(order: Order | None = None):").replace(
        "from celery import shared_task\n", "from celery import shared_task\n\nfrom shop.models import Order\n"
    )
    result = fix_tree(tmp_path, project("def view():\n    send_receipt.delay()\n", tasks), CODES)
    assert "def send_receipt(order_id: int | None = None):" in result["shop/tasks.py"]
    assert "    order = None\n    if order_id is not None:\n        try:\n" in result["shop/tasks.py"]


def test_in_flight_option_normalises_first(tmp_path: Path) -> None:
    files = project("def view(pk):\n    send_receipt.delay(Order.objects.get(pk=pk))\n")
    result = fix_tree(tmp_path, files, CODES, accept_instances_in_flight=True)
    assert '    order_id = getattr(order_id, "pk", order_id)\n    try:\n' in result["shop/tasks.py"]


def test_model_module_that_imports_the_tasks_gets_a_local_import(tmp_path: Path) -> None:
    models = MODELS + "\n\nfrom shop import tasks  # noqa: E402\n"
    files = project("def view(pk):\n    send_receipt.delay(Order.objects.get(pk=pk))\n", **{"shop/models.py": models})
    result = fix_tree(tmp_path, files, CODES)
    assert "        from shop.models import Order\n" not in result["shop/tasks.py"]
    assert "    from shop.models import Order\n    try:\n" in result["shop/tasks.py"]


# --- look-alikes -------------------------------------------------------------------------------


def test_caller_passing_pk_is_left_alone(tmp_path: Path) -> None:
    unchanged(tmp_path, "def view(order):\n    send_receipt.delay(order.pk)\n")


def test_a_variable_named_like_a_key_is_a_key(tmp_path: Path) -> None:
    unchanged(tmp_path, "def view(order_id, pk):\n    send_receipt.delay(order_id)\n    send_receipt.delay(pk)\n")


def test_name_like_a_model_but_callers_send_ids(tmp_path: Path) -> None:
    unchanged(tmp_path, "def view(order: Order):\n    send_receipt.delay(order.id)\n    send_receipt.delay(3)\n")


def test_task_that_fetches_by_its_parameter_is_left_alone(tmp_path: Path) -> None:
    tasks = TASKS.replace("return order.total", "return Order.objects.get(pk=order)")
    unchanged(tmp_path, "def view(x):\n    send_receipt.delay(x)\n", tasks)


def test_payload_dict_and_dataclass_are_left_alone(tmp_path: Path) -> None:
    tasks = TASKS.replace("return order.total", 'return order["total"]')
    unchanged(tmp_path, "def view():\n    send_receipt.delay({'total': 3})\n", tasks)
    unchanged(
        tmp_path,
        "from dataclasses import dataclass\n\n\n@dataclass\nclass Quote:\n    total: int\n\n\n"
        "def view():\n    send_receipt.delay(Quote(3))\n",
    )


def test_plain_function_named_like_a_task_is_left_alone(tmp_path: Path) -> None:
    tasks = TASKS.replace("@shared_task\n", "")
    unchanged(tmp_path, "def view(pk):\n    send_receipt(Order.objects.get(pk=pk))\n", tasks)


def test_plain_method_named_delay_is_not_a_call_site(tmp_path: Path) -> None:
    unchanged(
        tmp_path,
        "class Hold:\n    def delay(self, order):\n        return order\n\n\n"
        "def view(pk):\n    Hold().delay(Order.objects.get(pk=pk))\n    send_receipt.delay(7)\n",
    )


# --- withheld and unclear ------------------------------------------------------------------------


def blockers_for(root: Path, caller: str, **more: str) -> tuple[str, ...]:
    findings = check_tree(root, project(caller, **more), CODES)
    assert [f.code for f in findings] == ["CEL102"], findings
    assert findings[0].fix is None
    return findings[0].blockers


def test_post_delete_receiver_withholds_the_change_set(tmp_path: Path) -> None:
    caller = (
        "from django.db.models.signals import post_delete\n"
        "from django.dispatch import receiver\n\n\n"
        "@receiver(post_delete, sender=Order)\n"
        "def gone(sender, instance, **kwargs):\n"
        "    send_receipt.delay(instance)\n"
    )
    (blocker,) = blockers_for(tmp_path, caller)
    assert blocker.startswith(f"{tmp_path}/shop/views.py:11: sends `instance` after its row is deleted")


def test_each_blocking_site_is_named(tmp_path: Path) -> None:
    caller = (
        "from celery import chain\n\nfrom shop.celery import app\n\n\n"
        "def view(pk, rest, options):\n"
        "    order = Order.objects.get(pk=pk)\n"
        "    send_receipt.delay(order)\n"
        "    send_receipt.delay(*rest)\n"
        "    send_receipt.apply_async(kwargs=options)\n"
        "    app.send_task('shop.tasks.send_receipt', args=[order])\n"
        "    chain(send_receipt.s(order), send_receipt.s())()\n"
        "    job = send_receipt\n"
    )
    views = f"{tmp_path}/shop/views.py"
    assert blockers_for(tmp_path, caller) == (
        f"{views}:13: `*args` may carry `order`",
        f"{views}:14: kwargs=options may carry `order`",
        f"{views}:16: in a chain, the previous task's return value feeds `order`",
        f"{views}:15: sends the task by name (`send_task`) with arguments for `order`; "
        "callers by name cannot be rewritten",
        f"{views}:17: `send_receipt` is used as a value; where it is called cannot be seen",
    )


def test_beat_entry_with_args_withholds(tmp_path: Path) -> None:
    settings = 'CELERY_BEAT_SCHEDULE = {"r": {"task": "shop.tasks.send_receipt", "schedule": 60, "args": (1,)}}\n'
    blockers = blockers_for(
        tmp_path, "def view(pk):\n    send_receipt.delay(Order.objects.get(pk=pk))\n", **{"settings.py": settings}
    )
    assert blockers == (f"{tmp_path}/settings.py:1: a beat entry passes arguments to `order`",)


def test_conflicting_call_sites_are_reported_without_a_fix(tmp_path: Path) -> None:
    caller = "def view(pk):\n    send_receipt.delay(Order.objects.get(pk=pk))\n    send_receipt.delay(pk)\n"
    caller = caller.replace("send_receipt.delay(pk)", "send_receipt.delay(7)")
    findings = check_tree(tmp_path, project(caller), CODES)
    assert [(f.code, f.fix) for f in findings] == [("CEL103", None)]
    assert "receives both model instances and other values" in findings[0].message


def test_weak_evidence_is_reported_without_a_fix(tmp_path: Path) -> None:
    tasks = TASKS.replace("return order.total", "return order.shipping_label")
    findings = check_tree(tmp_path, project("def view(x):\n    send_receipt.delay(x)\n", tasks), CODES)
    assert [f.code for f in findings] == ["CEL103"]
    assert "`.shipping_label`, which the model does not declare" in findings[0].message


def test_task_base_overriding_call_is_left_alone_with_a_note(tmp_path: Path) -> None:
    base = (
        "from celery import Task\n\n\nclass Loading(Task):\n"
        "    def __call__(self, *args):\n        return super().__call__(*args)\n"
    )
    tasks = TASKS.replace("@shared_task\n", "@shared_task(base=Loading)\n").replace(
        "from celery import shared_task\n", "from celery import shared_task\n\nfrom shop.base import Loading\n"
    )
    files = project(
        "def view(pk):\n    send_receipt.delay(Order.objects.get(pk=pk))\n", tasks, **{"shop/base.py": base}
    )
    findings = check_tree(tmp_path, files, CODES)
    assert [f.code for f in findings] == ["CEL103"]
    assert "overrides `__call__`/`run`" in findings[0].message


# --- found on real projects (weblate, sentry) ------------------------------------------------------

OPTIONAL_INSTANCE_TASKS = (
    TASKS.replace("def send_receipt(order):", "def send_receipt(pk, order=None):")
    .replace(
        "    return order.total\n",
        "    if order is None:\n        order = Order.objects.get(pk=pk)\n    return order.total\n",
    )
    .replace("from celery import shared_task\n", "from celery import shared_task\n\nfrom shop.models import Order\n")
)


def test_instance_given_only_to_direct_calls_is_left_alone(tmp_path: Path) -> None:
    # weblate: eager callers hand the instance they hold; messages carry only the pk
    caller = (
        "def save(order):\n"
        "    send_receipt(order.pk, order=Order.objects.get(pk=order.pk))\n"
        "    send_receipt.apply(args=[order.pk, Order.objects.get(pk=1)])\n"
        "    send_receipt.delay_on_commit(order.pk)\n"
    )
    unchanged(tmp_path, caller, OPTIONAL_INSTANCE_TASKS)
    assert check_tree(tmp_path, project(caller, OPTIONAL_INSTANCE_TASKS), CODES) == []


def test_instance_in_a_message_still_converts_the_direct_calls_too(tmp_path: Path) -> None:
    caller = (
        "def view(pk):\n    send_receipt(Order.objects.get(pk=pk))\n    send_receipt.delay(Order.objects.get(pk=pk))\n"
    )
    assert caller_after(tmp_path, caller) == caller.replace("pk=pk))", "pk=pk).pk)")


def test_container_annotations_are_not_one_instance(tmp_path: Path) -> None:
    # sentry: `actions: Sequence[AlertRuleTriggerAction]` was read as one instance
    for annotation in ("list[Order]", "Sequence[Order]", "'QuerySet[Order]'"):
        tasks = TASKS.replace("def send_receipt(order):", f"def send_receipt(order: {annotation}):").replace(
            "    return order.total\n", "    return len(order)\n"
        )
        tasks = tasks.replace(
            "from celery import shared_task\n",
            "from collections.abc import Sequence\n\nfrom celery import shared_task\n\nfrom shop.models import Order\n",
        )
        caller = "def view(orders: list[Order]):\n    send_receipt.delay(orders)\n"
        unchanged(tmp_path, caller, tasks)
        assert check_tree(tmp_path, project(caller, tasks), CODES) == []


def test_optional_annotation_is_still_one_instance(tmp_path: Path) -> None:
    tasks = TASKS.replace("def send_receipt(order):", "def send_receipt(order: Optional[Order]):").replace(
        "from celery import shared_task\n",
        "from typing import Optional\n\nfrom celery import shared_task\n\nfrom shop.models import Order\n",
    )
    findings = check_tree(tmp_path, project("def view(x):\n    send_receipt.delay(x)\n", tasks), CODES)
    assert [f.code for f in findings] == ["CEL101"]
