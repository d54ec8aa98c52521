"""How a task body uses each parameter (CEL101's facts), all parameters read in one walk."""

from __future__ import annotations

import ast

from celery_codemods.rules._pass_ids_facts import ParamUse, extract_function

_TASK = """
@shared_task
def sync(order, orders, payload, user_id, account, unused, *, shop=None, lookup=DEFAULT):
    order.refresh_from_db()
    order.save(update_fields=["state"])
    for each in orders:
        each.mark_sent()
        total = each["total"]
    names = [o.name for o in orders]
    payload.get("key")
    Invoice.objects.filter(owner_id=user_id)
    get_object_or_404(Account, account)
    def helper():
        return shop.domain
"""


def _uses() -> dict[str, ParamUse]:
    node = ast.parse(_TASK).body[0]
    assert isinstance(node, ast.FunctionDef)
    return {use.name: use for use in extract_function(node).params}


def test_each_parameter_gets_only_its_own_uses() -> None:
    uses = _uses()
    assert uses["order"].attributes == frozenset({"refresh_from_db", "save"})
    assert not (uses["order"].iterated or uses["order"].used_as_id or uses["order"].used_as_data)
    assert uses["payload"].attributes == frozenset({"get"}) and uses["payload"].used_as_data
    assert uses["user_id"].used_as_id and not uses["user_id"].attributes
    assert uses["account"].used_as_id
    assert uses["unused"] == ParamUse("unused")
    assert uses["shop"].attributes == frozenset({"domain"})  # nested functions count
    assert uses["shop"].default == "None" and uses["lookup"].default == "DEFAULT"


def test_a_parameter_only_looped_over_gets_its_items_uses() -> None:
    orders = _uses()["orders"]
    assert orders.iterated and orders.only_iterated
    assert orders.item_attributes == frozenset({"mark_sent", "name"})
    assert orders.item_used_as_data
    assert not _uses()["order"].only_iterated


def test_local_names_include_the_signature_and_the_decorators() -> None:
    node = ast.parse(_TASK).body[0]
    assert isinstance(node, ast.FunctionDef)
    local_names = extract_function(node).local_names
    assert {"shared_task", "DEFAULT", "total", "names", "each", "Invoice", "order", "unused"} <= local_names
    assert "refresh_from_db" not in local_names
