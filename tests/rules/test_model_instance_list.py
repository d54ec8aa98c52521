"""CEL101 for a list or queryset of instances: the task takes a list of pks when it iterates them."""

from __future__ import annotations

import textwrap
from pathlib import Path

from tests.helpers import check_tree, fix_tree
from tests.rules.test_model_instance_argument import MODELS

CODES = ("CEL101", "CEL102", "CEL103")

TASKS = textwrap.dedent(
    """\
    import logging

    from celery import shared_task

    logger = logging.getLogger(__name__)


    @shared_task
    def mark_paid(orders):
        for order in orders:
            order.total = 0
            order.save()
"""
)

CONVERTED = textwrap.dedent(
    """\
    import logging

    from celery import shared_task
    from shop.models import Order

    logger = logging.getLogger(__name__)


    @shared_task
    def mark_paid(order_ids: list[int]):
        orders_by_pk = Order._default_manager.in_bulk(order_ids)
        orders = [orders_by_pk[pk] for pk in order_ids if pk in orders_by_pk]
        if len(orders) < len(order_ids):
            logger.warning("mark_paid: %s Order rows do not exist; skipping them", len(order_ids) - len(orders))
        for order in orders:
            order.total = 0
            order.save()
"""
)


def project(caller: str, tasks: str = TASKS) -> dict[str, str]:
    return {
        "shop/__init__.py": "",
        "shop/models.py": MODELS,
        "shop/tasks.py": tasks,
        "shop/views.py": "from shop.models import Order, Ticket\nfrom shop.tasks import mark_paid\n\n\n" + caller,
    }


def caller_after(root: Path, caller: str) -> str:
    result = fix_tree(root, project(caller), CODES)
    assert result["shop/tasks.py"] == CONVERTED
    return result["shop/views.py"].split("\n\n\n", 1)[1]


def test_queryset_in_a_variable_becomes_a_list_of_pks(tmp_path: Path) -> None:
    caller = "def view():\n    orders = Order.objects.filter(total=0)\n    mark_paid.delay(orders)\n"
    expected = (
        "def view():\n    orders = Order.objects.filter(total=0)\n    mark_paid.delay([order.pk for order in orders])\n"
    )
    assert caller_after(tmp_path, caller) == expected


def test_inline_queryset_list_call_and_keyword(tmp_path: Path) -> None:
    caller = (
        "def view():\n"
        "    mark_paid.delay(Order.objects.filter(total=0))\n"
        "    mark_paid.apply_async(args=[list(Order.objects.exclude(total=0))])\n"
        "    mark_paid.delay(orders=Order.objects.all())\n"
    )
    expected = (
        "def view():\n"
        "    mark_paid.delay([order.pk for order in Order.objects.filter(total=0)])\n"
        "    mark_paid.apply_async(args=[[order.pk for order in list(Order.objects.exclude(total=0))]])\n"
        "    mark_paid.delay(order_ids=[order.pk for order in Order.objects.all()])\n"
    )
    assert caller_after(tmp_path, caller) == expected


def test_in_flight_option_normalises_each_item(tmp_path: Path) -> None:
    caller = "def view():\n    mark_paid.delay(Order.objects.filter(total=0))\n"
    result = fix_tree(tmp_path, project(caller), CODES, accept_instances_in_flight=True)
    assert (
        '    order_ids = [getattr(pk, "pk", pk) for pk in order_ids]\n'
        "    orders_by_pk = Order._default_manager.in_bulk(order_ids)\n"
    ) in result["shop/tasks.py"]


def _unchanged_with_finding(root: Path, caller: str, tasks: str = TASKS) -> list[str]:
    files = project(caller, tasks)
    result = fix_tree(root, files, CODES)
    assert result == {name: textwrap.dedent(text) for name, text in files.items()}
    return [f"{f.code} {f.message}" for f in check_tree(root, files, CODES)]


QS_CALLER = "def view():\n    mark_paid.delay(Order.objects.filter(total=0))\n"


def test_task_using_queryset_methods_is_a_finding(tmp_path: Path) -> None:
    tasks = TASKS.replace(
        "    for order in orders:\n        order.total = 0\n        order.save()\n", "    orders.update(total=0)\n"
    )
    findings = _unchanged_with_finding(tmp_path, QS_CALLER, tasks)
    assert len(findings) == 1
    assert findings[0].startswith("CEL103 task `mark_paid` parameter `orders` receives a queryset or list of models")
    assert "uses it other than in `for ... in orders`" in findings[0]


def test_task_iterating_and_also_calling_a_queryset_method_is_a_finding(tmp_path: Path) -> None:
    tasks = TASKS.replace("        order.save()\n", "        order.save()\n    orders.count()\n")
    assert tasks != TASKS
    assert [f[:6] for f in _unchanged_with_finding(tmp_path, QS_CALLER, tasks)] == ["CEL103"]


def test_task_passing_the_list_on_is_a_finding(tmp_path: Path) -> None:
    tasks = TASKS.replace(
        "    for order in orders:\n        order.total = 0\n        order.save()\n", "    helper(orders)\n"
    )
    assert [f[:6] for f in _unchanged_with_finding(tmp_path, QS_CALLER, tasks)] == ["CEL103"]


def test_items_not_used_as_instances_is_a_finding(tmp_path: Path) -> None:
    tasks = TASKS.replace("        order.total = 0\n        order.save()\n", '        print(order["total"])\n')
    findings = _unchanged_with_finding(tmp_path, QS_CALLER, tasks)
    assert len(findings) == 1
    assert "does not use each item as a `Order` instance" in findings[0]


def test_uuid_primary_keys_are_a_finding(tmp_path: Path) -> None:
    caller = "def view():\n    mark_paid.delay(Ticket.objects.filter(total=0))\n"
    findings = _unchanged_with_finding(tmp_path, caller, TASKS.replace("        order.total = 0\n", ""))
    assert len(findings) == 1
    assert "`Ticket` has UUID primary keys" in findings[0]


def test_callers_already_sending_pks_are_left_alone(tmp_path: Path) -> None:
    caller = (
        "def view():\n"
        "    mark_paid.delay([o.pk for o in Order.objects.all()])\n"
        '    mark_paid.delay(list(Order.objects.values_list("pk", flat=True)))\n'
    )
    assert _unchanged_with_finding(tmp_path, caller) == []


def test_queryset_and_instance_callers_conflict(tmp_path: Path) -> None:
    caller = QS_CALLER + "    mark_paid.delay(Order.objects.get(pk=1))\n"
    findings = _unchanged_with_finding(tmp_path, caller)
    assert len(findings) == 1
    assert "receives both model instances and other values" in findings[0]
