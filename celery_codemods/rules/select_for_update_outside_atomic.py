"""# select-for-update-outside-atomic (CEL513)

## What it does
Finds `select_for_update()` in a task, evaluated outside
`transaction.atomic()`: the queryset is fetched on the spot
(`.get()`, `.first()`, `list(...)`, a `for` loop...) or bound to a name
that no atomic block of the task uses. `atomic` is a `with
transaction.atomic():` block or the `@transaction.atomic` decorator, by
qualified name.

Only tasks are checked: nothing wraps a task in a transaction (Django's
`ATOMIC_REQUESTS` covers views, not workers), while a plain function may
be called from inside its caller's `atomic` block.

On real projects (sentry, pretix, weblate, mayan-edms): no finding; the
nine `select_for_update()` calls in their tasks (pretix 5, weblate 4) all
run inside `atomic` (blocks, or `@transaction.atomic` on the task), and
each was checked by hand to be left alone. Not in preview: when it fires,
the code raises on PostgreSQL.

## Why is this bad?
A row lock lives as long as the transaction that took it. In autocommit,
Django refuses: evaluating the queryset raises `TransactionManagementError:
select_for_update cannot be used outside of a transaction` on PostgreSQL,
MySQL and Oracle. On SQLite, which has no `SELECT ... FOR UPDATE`, Django
drops the clause silently, so a test suite on SQLite passes and the error
(or, with an outer transaction added later, a lock that is released too
early) appears only in production.

## Example
```python
@shared_task
def capture_payment(order_id):
    order = Order.objects.select_for_update().get(pk=order_id)
    if order.status == Order.Status.AUTHORIZED:
        order.status = Order.Status.CAPTURING
        order.save(update_fields=["status"])
```

## Use instead
```python
@shared_task
def capture_payment(order_id):
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        if order.status == Order.Status.AUTHORIZED:
            order.status = Order.Status.CAPTURING
            order.save(update_fields=["status"])
```

## Fix safety
No fix: the atomic block must cover the work that needs the lock, and
where that ends (before a call to the outside world, say) is for a person
to decide.

## References
- Django: `QuerySet.select_for_update` ("Evaluating a queryset with
  select_for_update() in autocommit mode on backends which support
  SELECT ... FOR UPDATE is a TransactionManagementError error")
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
from celery_codemods.rules._task_body import is_select_for_update, parents_of, shorten
from celery_codemods.rules.base import Rule

# Queryset methods that run the query (and so need the transaction now).
_EVALUATING = frozenset(
    {
        "get",
        "first",
        "last",
        "earliest",
        "latest",
        "count",
        "exists",
        "get_or_create",
        "update_or_create",
        "in_bulk",
        "aggregate",
        "aget",
        "afirst",
        "alast",
        "acount",
        "aexists",
    }
)
_EVALUATING_CALLS = frozenset({"list", "tuple", "len", "bool", "next", "sorted", "set"})


class UnlockedSelect(Struct, frozen=True):
    line: int
    col: int
    source: str
    how: str
    """How it is evaluated: ``.get()``, ``a for loop``, ``name `orders```..."""


class SelectForUpdateOutsideAtomic(Rule):
    code = "CEL513"
    name = "select-for-update-outside-atomic"
    summary = "select_for_update() in a task outside transaction.atomic(): raises on PostgreSQL, ignored on SQLite"

    @classmethod
    def extract_function(
        cls, node: ast.FunctionDef | ast.AsyncFunctionDef, ctx: ModuleContext
    ) -> tuple[UnlockedSelect, ...] | None:
        if not ctx.mentions(node.lineno, node.end_lineno or node.lineno, ("select_for_update",)):
            return None
        return tuple(_unlocked(node, ctx)) or None

    def check(self, project: Project) -> Iterator[Finding]:
        for task in project.tasks:
            for select in task.function.extras.get(self.code, ()):
                yield self.task_finding(
                    task,
                    (
                        f"task `{task.display_name}` evaluates `{select.source}` ({select.how}) outside "
                        "`transaction.atomic()`: PostgreSQL raises TransactionManagementError, SQLite ignores "
                        "the lock (so tests pass); wrap the read and the writes it protects in "
                        "`with transaction.atomic():`"
                    ),
                    line=select.line,
                    col=select.col,
                )


def _unlocked(function: ast.FunctionDef | ast.AsyncFunctionDef, ctx: ModuleContext) -> Iterator[UnlockedSelect]:
    inside = atomic_node_ids(function, ctx)
    parents = parents_of(function)
    for node in walk_body(function.body):
        if not is_select_for_update(node) or id(node) in inside:
            continue
        top = _chain_top(node, parents)
        how = _evaluated_here(top, parents) or _bound_name_unused_in_atomic(top, parents, function, inside)
        if how is not None:
            span = ctx.span(node)
            yield UnlockedSelect(span.line, span.col, shorten(ctx.segment(top)), how)


def _chain_top(node: ast.Call, parents: dict[int, ast.AST]) -> ast.Call:
    """The queryset expression ``select_for_update()`` is part of, up to the call that runs it (``.get()``)."""
    current = node
    while not (isinstance(current.func, ast.Attribute) and current.func.attr in _EVALUATING):
        parent = parents.get(id(current))
        if isinstance(parent, ast.Attribute) and parent.value is current:
            call = parents.get(id(parent))
            if isinstance(call, ast.Call) and call.func is parent:
                current = call
                continue
        break
    return current


def _evaluated_here(top: ast.expr, parents: dict[int, ast.AST]) -> str | None:
    if isinstance(top, ast.Call) and isinstance(top.func, ast.Attribute) and top.func.attr in _EVALUATING:
        return f"`.{top.func.attr}()`"
    parent = parents.get(id(top))
    if isinstance(parent, ast.For | ast.AsyncFor | ast.comprehension) and parent.iter is top:
        return "a loop over it"
    if (
        isinstance(parent, ast.Call)
        and isinstance(parent.func, ast.Name)
        and parent.func.id in _EVALUATING_CALLS
        and top in parent.args
    ):
        return f"`{parent.func.id}()`"
    return None


def _bound_name_unused_in_atomic(
    top: ast.expr, parents: dict[int, ast.AST], function: ast.FunctionDef | ast.AsyncFunctionDef, inside: frozenset[int]
) -> str | None:
    """``orders = X.objects.select_for_update()...`` whose name no atomic block reads (and is not returned)."""
    parent = parents.get(id(top))
    if not (isinstance(parent, ast.Assign) and len(parent.targets) == 1 and isinstance(parent.targets[0], ast.Name)):
        return None
    name = parent.targets[0].id
    uses = [
        node
        for node in walk_body(function.body)
        if isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Load)
    ]
    if not uses or any(id(use) in inside or isinstance(parents.get(id(use)), ast.Return) for use in uses):
        return None
    return f"through `{name}`"
