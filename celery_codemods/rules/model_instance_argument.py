"""# model-instance-argument (CEL101)

## What it does
Finds tasks that receive a Django model instance as an argument, and
rewrites the task to take the primary key and fetch the row itself, together
with every call site in every file: one change set, applied whole or not at
all.

A parameter receives an instance when a call site sends one (the value came
from `X.objects.get/create(...)`, `.filter(...).first()`,
`get_object_or_404(X, ...)`, a signal receiver's `instance`, `request.user`,
a ModelForm's `.save()`, `self` in a model method, a loop over a queryset,
a parameter annotated with a model), when the task's parameter is annotated
with a model, or when it is named like exactly one model and the body only
uses that model's fields and methods. Call sites outrank names and
annotations: a parameter named `order` that callers fill with `order.pk` is
left alone. So is a parameter that only callers in the same process fill
(`task(order.pk, order)`, `.run`, `.apply`: no message carries it, as when a
model hands itself to an eager call and sends only the key with `.delay`).
An annotation counts when it names a model (`Order`, `Order | None`,
`Optional[Order]`); `list[Order]` or `Sequence[Order]` is not one instance.

## Why is this bad?
Celery's default serializer is JSON: `.delay(order)` raises
`kombu.exceptions.EncodeError` at call time. Under pickle it "works", but
the worker gets a snapshot taken when the message was sent: by the time the
task runs the row may have changed (the task overwrites newer data with
`save()`) or be gone. Eager test suites, direct calls and `.apply()` do not
serialize at all, so the bug survives tests and appears in production.

## Example
```python
@shared_task
def send_receipt(order):
    mail(order.customer.email, order.total)

send_receipt.delay(Order.objects.get(pk=pk))
```

## Use instead
```python
@shared_task
def send_receipt(order_id: int):
    try:
        order = Order._default_manager.get(pk=order_id)
    except Order.DoesNotExist:
        logger.warning("send_receipt: Order %s does not exist; skipping", order_id)
        return None
    mail(order.customer.email, order.total)

send_receipt.delay(Order.objects.get(pk=pk).pk)
```
The parameter becomes `<name>_id`, annotated with the primary key's type
(`int`, `uuid.UUID`, `str`), at the same position and with the same default
(a `None` default is kept and skips the fetch). The old name is rebound to
the fetched row, so the rest of the body is untouched. The row is fetched
with the model's `_default_manager`, not `objects`: a model may rename
`objects` or have none, and `_default_manager` is the manager Django itself
uses for the model (the first declared, or `Meta.default_manager_name`).
The model is imported when the module does not already import it; when the
model's module imports the task's module (directly or through other project
modules), the import goes inside the task to avoid an import cycle.

Every call site sends `.pk` instead: `.delay`, `.apply_async(args=...,
kwargs=...)` (lists and tuples), `.s`, `.si`, `.signature`, members of
`chain`/`group`/`chord` and `|`, `.delay_on_commit`, direct calls, `.apply`,
`.run`, `functools.partial(task.delay, x)`, lambdas given to `on_commit`,
`self.retry(args=..., kwargs=...)`, keyword arguments (`order=` becomes
`order_id=`), through `module.task` and import aliases.

A parameter that receives a queryset or a list of instances
(`X.objects.filter(...)`, `list(X.objects.all())`, a name bound to one)
becomes a list of primary keys only when the task does nothing with it but
iterate it (`for order in orders:` or a comprehension) and uses each item as
an instance of that model; anything else (`orders.update(...)`,
`orders.count()`, passing it on, items used as dicts, UUID primary keys, which
arrive as strings under JSON and would miss `in_bulk`'s keys) is a CEL103
finding. The task becomes:
```python
@shared_task
def mark_paid(order_ids: list[int]):
    orders_by_pk = Order._default_manager.in_bulk(order_ids)
    orders = [orders_by_pk[pk] for pk in order_ids if pk in orders_by_pk]
    if len(orders) < len(order_ids):
        logger.warning("mark_paid: %s Order rows do not exist; skipping them", len(order_ids) - len(orders))
    for order in orders:
        ...
```
`in_bulk` is one query (batched on databases with a parameter limit); the
comprehension keeps the caller's order and duplicates, as the list or
queryset had them, and skips rows deleted since the call (with one WARNING),
as the single-instance fetch does. Each caller sends `[order.pk for order in
<argument>]`: for a queryset this evaluates it where it is sent, which the
instance-sending code did anyway (pickling a queryset evaluates it);
`values_list("pk", flat=True)` would save loading the rows but would run a
second query when the caller also uses the queryset, and is not equivalent
for sliced or `union()` querysets.

When any call site cannot be rewritten, nothing is: CEL102 reports the
task with each blocking site. When the evidence is weak or conflicting,
CEL103 says what was seen.

## Fix safety
Safe: a plain `fix` applies it, because this is the rewrite the tool exists
for and a change set is only made when every call site in the scanned paths
is rewritten with it. What the tool cannot see is reported after the run:
messages already queued (and ETA/countdown messages, scheduled retries,
beat `kwargs`, django-celery-beat rows) still carry the old argument. Deploy
with `accept-instances-in-flight = true` first when the queue may hold
instances (pickle), or drain it.

## Options
- `accept-instances-in-flight = true`: the task also accepts an instance
  still queued from before the deploy (`x_id = getattr(x_id, "pk", x_id)`),
  for one release.
- `logger-factory`: the logger added when the module has none.
- `django-settings = "shop.settings"` (`--django-settings`): take the models
  and their primary-key types from `django.setup()` + `apps.get_models()`
  instead of reading them statically; imports the project (see the README).

## References
- Celery: "Avoid passing model instances", task serializers
- Django: `Model._default_manager`, `Model.DoesNotExist`, `Model.pk`
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

import libcst as cst

from celery_codemods.findings import Edit, Finding, Fix, Safety
from celery_codemods.index.context import ModuleContext
from celery_codemods.index.project import Project
from celery_codemods.rewrite import EditContext
from celery_codemods.rules import _pass_ids_facts
from celery_codemods.rules._pass_ids import CallPayload, Conversion, TaskPayload, plan_for
from celery_codemods.rules._pass_ids_apply import apply_call, apply_task
from celery_codemods.rules.base import Rule

IN_FLIGHT_NOTE = (
    "pass-ids (CEL101) changed task signatures: messages already queued, ETA/countdown messages, "
    "scheduled retries, beat kwargs and django-celery-beat rows still carry the old arguments "
    "(keyword `order=` fails with TypeError on the worker; pickled instances fail the fetch). "
    "Drain the queues before deploying, or fix with accept-instances-in-flight = true for one release."
)


class ModelInstanceArgument(Rule):
    code = "CEL101"
    name = "model-instance-argument"
    summary = "Task receives a model instance; pass its primary key and fetch the row in the task"
    fix_availability = "sometimes"
    fix_note = IN_FLIGHT_NOTE

    @classmethod
    def extract_module(cls, tree: ast.Module, ctx: ModuleContext) -> _pass_ids_facts.ModulePassIds | None:
        return _pass_ids_facts.extract_module(tree, ctx)

    @classmethod
    def extract_outline(cls, tree: ast.Module, ctx: ModuleContext) -> _pass_ids_facts.ModulePassIds | None:
        return _pass_ids_facts.extract_outline(tree, ctx)

    @classmethod
    def extract_function(
        cls, node: ast.FunctionDef | ast.AsyncFunctionDef, ctx: ModuleContext
    ) -> _pass_ids_facts.TaskBody:
        return _pass_ids_facts.extract_function(node)

    def check(self, project: Project) -> Iterator[Finding]:
        for conversion in plan_for(project, self.settings).conversions:
            if not conversion.blockers:
                yield self._finding(conversion)

    def _finding(self, conversion: Conversion) -> Finding:
        task = conversion.task
        files = {edit.path for edit in conversion.edits}
        sites = len(conversion.edits) - 1
        fix = Fix(
            description=(
                f"pass primary keys to `{task.display_name}` "
                f"({_plural(sites, 'call site')} in {_plural(len(files), 'file')})"
            ),
            safety=Safety.SAFE,
            edits=tuple(conversion.edits),
        )
        return self.task_finding(
            task,
            f"task `{task.display_name}` receives {describe_params(conversion)}; pass primary keys instead",
            line=task.function.span.line,
            col=task.function.span.col,
            fix=fix,
        )

    def apply(self, node: cst.CSTNode, edit: Edit, ctx: EditContext) -> cst.CSTNode:
        if isinstance(node, cst.FunctionDef) and isinstance(edit.payload, TaskPayload):
            return apply_task(node, edit.payload, ctx)
        if isinstance(node, cst.Call) and isinstance(edit.payload, CallPayload):
            return apply_call(node, edit.payload)
        return node


def describe_params(conversion: Conversion) -> str:
    parts = []
    for param, model, evidence in conversion.params:
        name = model.name if model is not None else "user"
        what = f"`{name}` instances" if param.name in conversion.many else f"a `{name}` instance"
        parts.append(f"{what} in `{param.name}` ({evidence})")
    return "; ".join(parts)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"
