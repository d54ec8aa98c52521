"""# non-idempotent-update (CEL511, preview)

## What it does
Finds a task that adds to a field and saves the object, with nothing that
would stop a second run from adding again: `obj.counter += 1` (or `-=`, or
`obj.x = obj.x + ...`) followed by `obj.save()`, in a task with no early
exit guarded by a check of that object (`if obj.done: return`), no
`select_for_update()` and no lock (`with cache.lock(...)`, any context
manager whose expression says `lock`).

On real projects (sentry, pretix, weblate, mayan-edms): no finding. The
pattern does occur in them (`usages += 1`, `failed_attempts += 1`,
`error_counter += 1`), but in services, views and nested helpers, not in a
task's own body, which is all this rule reads. No false positive seen, and
no true one either: not enough evidence to graduate from preview.

## Why is this bad?
Celery delivers a message at least once: a retry after a timeout, a worker
killed with `acks_late`, a broker redelivering after its visibility
timeout all run the task again. A task whose effect is "add one" is then
counted twice. And two runs at once both read the old value, so one
increment is lost: a read-modify-write race.

## Example
```python
@shared_task
def record_delivery(message_id):
    message = Message.objects.get(pk=message_id)
    message.attempts += 1
    message.save()
```

## Use instead
Check before processing, and move the state under a row lock:
```python
@shared_task
def record_delivery(message_id):
    with transaction.atomic():
        message = Message.objects.select_for_update().get(pk=message_id)
        if message.status == Message.Status.DELIVERED:
            return
        message.attempts += 1
        message.status = Message.Status.DELIVERED
        message.save(update_fields=["attempts", "status"])
```
or record each event once under a unique constraint (a `Delivery` row
per message id) and count the rows; `F("attempts") + 1` in an `update()`
fixes the lost update but not the double count.

## Fix safety
No fix: which check makes the task idempotent depends on what it does.

## References
- Celery: "Tasks" - "Idempotence", `acks_late`
- Django: `QuerySet.select_for_update`, `F()` expressions, `UniqueConstraint`
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from msgspec import Struct

from celery_codemods.findings import Finding
from celery_codemods.index.context import ModuleContext
from celery_codemods.index.project import Project
from celery_codemods.rules._ast_walk import walk_body
from celery_codemods.rules._task_body import object_attribute, save_lines, shorten, uses_lock
from celery_codemods.rules.base import Rule


class Increment(Struct, frozen=True):
    line: int
    col: int
    source: str
    name: str
    save_line: int


class NonIdempotentUpdate(Rule):
    code = "CEL511"
    name = "non-idempotent-update"
    summary = "Task adds to a field and saves with no check or lock: a second delivery counts twice"
    preview = True

    @classmethod
    def extract_function(
        cls, node: ast.FunctionDef | ast.AsyncFunctionDef, ctx: ModuleContext
    ) -> tuple[Increment, ...] | None:
        if not ctx.mentions(node.lineno, node.end_lineno or node.lineno, ("save",)) or uses_lock(node, ctx):
            return None
        return tuple(_unguarded_increments(node, ctx)) or None

    def check(self, project: Project) -> Iterator[Finding]:
        for task in project.tasks:
            for increment in task.function.extras.get(self.code, ()):
                yield self.task_finding(
                    task,
                    (
                        f"task `{task.display_name}` does `{increment.source}` and saves `{increment.name}` "
                        f"(line {increment.save_line}) with no status check or lock: a redelivered or retried "
                        "message adds again, and two runs at once lose an update; check before processing, "
                        "move a status with `select_for_update()` inside `transaction.atomic()`, or let a "
                        "unique constraint reject the duplicate"
                    ),
                    line=increment.line,
                    col=increment.col,
                )


def _unguarded_increments(function: ast.FunctionDef | ast.AsyncFunctionDef, ctx: ModuleContext) -> Iterator[Increment]:
    saves = save_lines(function)
    guards = _guard_lines(function)
    for node in walk_body(function.body):
        target = _incremented(node)
        if target is None:
            continue
        name = target[0]
        span = ctx.span(node)
        later = [line for line in saves.get(name, ()) if line >= span.line]
        if later and not any(line < span.line for line in guards.get(name, ())):
            yield Increment(span.line, span.col, shorten(ctx.segment(node)), name, later[0])


def _incremented(node: ast.AST) -> tuple[str, str] | None:
    """``(obj, field)`` for ``obj.field += ...`` / ``obj.field = obj.field + ...`` (or ``-``)."""
    if isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add | ast.Sub):
        return object_attribute(node.target)
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target = object_attribute(node.targets[0])
        value = node.value
        is_sum = isinstance(value, ast.BinOp) and isinstance(value.op, ast.Add | ast.Sub)
        if target is not None and is_sum and target in _operands(value):
            return target
    return None


def _operands(value: ast.expr) -> tuple[tuple[str, str] | None, ...]:
    return (object_attribute(value.left), object_attribute(value.right)) if isinstance(value, ast.BinOp) else ()


def _guard_lines(function: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[str, list[int]]:
    """Per object name, lines of ``if`` tests that read it and leave early (return, raise, continue, break)."""
    guards: dict[str, list[int]] = {}
    for node in walk_body(function.body):
        if not isinstance(node, ast.If) or not _leaves(node.body + node.orelse):
            continue
        for sub in ast.walk(node.test):
            pair = object_attribute(sub)
            if pair is not None:
                guards.setdefault(pair[0], []).append(node.lineno)
    return guards


def _leaves(body: list[ast.stmt]) -> bool:
    return any(isinstance(node, ast.Return | ast.Raise | ast.Continue | ast.Break) for node in walk_body(body))
