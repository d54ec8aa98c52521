"""# status-without-lock (CEL512, preview)

## What it does
Finds a task that reads a status field of an object, decides on it, and
writes the field back with `save()` after acting on it (a call between
the check and the write: the work the status guards), without holding the
row:
`if order.status == "pending": ... order.status = "paid"; order.save()`,
in a task with no `select_for_update()` inside `transaction.atomic()`.
A status field is `status`, `state`, `stage`, `phase`, or a name ending in
`_status` / `_state` (or starting with `status_` / `state_`).

On real projects (sentry, pretix, weblate, mayan-edms): no finding. A
first version without the "acts between" condition had one, in sentry's
`migrate_repo` (`if repo.status == DISABLED: repo.status = VISIBLE`): a
transition that two runs make the same way, so harmless: a false positive,
which the condition removes. Most tasks in these projects that move a
status already lock the row (`select_for_update()` in `atomic`). Too little
evidence to graduate from preview.

## Why is this bad?
Between the read and the write another run of the same task (a redelivery,
a retry, a second beat tick, a user clicking twice) reads the same old
status and takes the same decision: the payment is captured twice, the mail
goes out twice. The check only works when the row is locked from the read
to the write.

## Example
```python
@shared_task
def capture_payment(order_id):
    order = Order.objects.get(pk=order_id)
    if order.status != Order.Status.AUTHORIZED:
        return
    gateway.capture(order.payment_ref)
    order.status = Order.Status.PAID
    order.save(update_fields=["status"])
```

## Use instead
```python
@shared_task
def capture_payment(order_id):
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        if order.status != Order.Status.AUTHORIZED:
            return
        order.status = Order.Status.CAPTURING
        order.save(update_fields=["status"])
    gateway.capture(order.payment_ref)
    Order.objects.filter(pk=order_id).update(status=Order.Status.PAID)
```
or a conditional update that only one run can win:
`Order.objects.filter(pk=order_id, status=AUTHORIZED).update(status=CAPTURING)`
returns 1 for the winner and 0 for the others.

## Fix safety
No fix: where the transaction must end (before or after a call to the
outside world) is a design decision.

## References
- Django: `QuerySet.select_for_update`, `QuerySet.update` (returns the row count)
- Celery: "Tasks" - "Idempotence", `acks_late`
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from msgspec import Struct

from celery_codemods.findings import Finding
from celery_codemods.index.context import ModuleContext
from celery_codemods.index.project import Project
from celery_codemods.rules._ast_walk import walk_body
from celery_codemods.rules._atomic import atomic_node_ids
from celery_codemods.rules._task_body import (
    is_select_for_update,
    is_status_field,
    is_work,
    object_attribute,
    save_lines,
)
from celery_codemods.rules.base import Rule


class StatusWrite(Struct, frozen=True):
    line: int
    col: int
    name: str
    field: str
    read_line: int
    save_line: int


class StatusWithoutLock(Rule):
    code = "CEL512"
    name = "status-without-lock"
    summary = "Task checks a status and writes it back without select_for_update() inside atomic()"
    preview = True

    @classmethod
    def extract_function(
        cls, node: ast.FunctionDef | ast.AsyncFunctionDef, ctx: ModuleContext
    ) -> tuple[StatusWrite, ...] | None:
        if not ctx.mentions(node.lineno, node.end_lineno or node.lineno, ("save",)) or _locks_a_row(node, ctx):
            return None
        return tuple(_status_writes(node, ctx)) or None

    def check(self, project: Project) -> Iterator[Finding]:
        for task in project.tasks:
            for write in task.function.extras.get(self.code, ()):
                yield self.task_finding(
                    task,
                    (
                        f"task `{task.display_name}` checks `{write.name}.{write.field}` (line {write.read_line}) "
                        f"and writes it back (saved line {write.save_line}) without a row lock: two runs can both "
                        "pass the check; fetch it with `select_for_update()` inside `transaction.atomic()`, or "
                        "change it with a conditional `filter(..., "
                        f"{write.field}=old).update({write.field}=new)`"
                    ),
                    line=write.line,
                    col=write.col,
                )


def _locks_a_row(function: ast.FunctionDef | ast.AsyncFunctionDef, ctx: ModuleContext) -> bool:
    inside = atomic_node_ids(function, ctx)
    return any(is_select_for_update(node) and id(node) in inside for node in walk_body(function.body))


def _status_writes(function: ast.FunctionDef | ast.AsyncFunctionDef, ctx: ModuleContext) -> Iterator[StatusWrite]:
    reads = _status_reads(function)
    saves = save_lines(function)
    for node in walk_body(function.body):
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1):
            continue
        target = object_attribute(node.targets[0])
        if target is None or target not in reads:
            continue
        span = ctx.span(node)
        earlier = [line for line in reads[target] if line <= span.line]
        later = [line for line in saves.get(target[0], ()) if line >= span.line]
        if earlier and later and _acts_between(function, earlier[0], span.line):
            yield StatusWrite(span.line, span.col, target[0], target[1], earlier[0], later[0])


def _acts_between(function: ast.FunctionDef | ast.AsyncFunctionDef, first: int, last: int) -> bool:
    """Work done on the strength of the check: a call between the read and the write (not the save)."""
    return any(
        is_work(node)
        and first < getattr(node, "lineno", 0) <= last
        and not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "save")
        for node in walk_body(function.body)
    )


def _status_reads(function: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[tuple[str, str], list[int]]:
    """Lines where a status field is compared (``==``, ``!=``, ``in``, ``is``), per (object, field)."""
    reads: dict[tuple[str, str], list[int]] = {}
    for node in walk_body(function.body):
        if not isinstance(node, ast.Compare):
            continue
        for operand in (node.left, *node.comparators):
            pair = object_attribute(operand)
            if pair is not None and is_status_field(pair[1]):
                reads.setdefault(pair, []).append(node.lineno)
    return reads
