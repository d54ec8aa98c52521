"""# broad-except-swallows-retry (CEL309)

## What it does
Finds a broad handler (`except Exception`, `except BaseException`, bare
`except:`) whose `try` body retries the task (`self.retry(...)`), when the
handler does something (logs, returns a value, raises another error) and
does not end with a bare `raise`. Handlers that only `pass`/`continue` are
CEL001's (silent-except), which fixes them.

## Why is this bad?
`self.retry()` schedules the retry message first, then raises
`celery.exceptions.Retry` to end the current run. `Retry` is an
`Exception`: the broad handler catches it, so the run goes on as if the
retry had not happened and finishes as a success (or a different failure),
while the queued retry runs the task again anyway. A handler that calls
`self.retry(exc=exc)` itself schedules a second retry on top.

## Example
```python
@shared_task(bind=True)
def ship(self, order_id):
    try:
        label = warehouse.label(order_id)
        if not label:
            self.retry(countdown=600)
    except Exception as exc:
        logger.warning("no label for %s: %s", order_id, exc)
```

## Use instead
```python
@shared_task(bind=True)
def ship(self, order_id):
    try:
        label = warehouse.label(order_id)
        if not label:
            raise self.retry(countdown=600)
    except Retry:
        raise
    except Exception as exc:
        logger.warning("no label for %s: %s", order_id, exc)
```
(`from celery.exceptions import Retry`), or move the retry out of the
`try`.

## Fix safety
No fix: whether the handler's work should also happen on a retry is the
author's call.

## References
- Celery: `Task.retry`, `celery.exceptions.Retry`
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from msgspec import Struct

from celery_codemods.findings import Finding
from celery_codemods.index.context import ModuleContext
from celery_codemods.index.project import Project
from celery_codemods.rules._ast_walk import walk_function
from celery_codemods.rules._retries import BROAD, RetryCall, handler_types, own_retry_calls, retry_calls_under
from celery_codemods.rules.base import Rule

_CATCH_RETRY = frozenset(
    {"celery.exceptions.Retry", "celery.exceptions.TaskPredicate", "celery.exceptions.CeleryError"}
)


class SwallowingHandler(Struct, frozen=True):
    line: int
    col: int
    catches: str
    retries: tuple[RetryCall, ...]
    """The retry calls in the try body."""


class BroadExceptSwallowsRetry(Rule):
    code = "CEL309"
    name = "broad-except-swallows-retry"
    summary = "Broad except around self.retry() catches Celery's Retry"

    @classmethod
    def extract_function(
        cls, node: ast.FunctionDef | ast.AsyncFunctionDef, ctx: ModuleContext
    ) -> tuple[SwallowingHandler, ...] | None:
        return tuple(_swallowing_handlers(node, ctx)) or None

    def check(self, project: Project) -> Iterator[Finding]:
        for task in project.tasks:
            for handler in task.function.extras.get(self.code, ()):
                calls = own_retry_calls(task, handler.retries)
                if not calls:
                    continue
                yield self.task_finding(
                    task,
                    (
                        f"`{handler.catches}` in task `{task.display_name}` catches the `Retry` raised by "
                        f"`{calls[0].receiver}.retry()` in its try body; re-raise `Retry` first"
                    ),
                    line=handler.line,
                    col=handler.col,
                )


def _swallowing_handlers(
    function: ast.FunctionDef | ast.AsyncFunctionDef, ctx: ModuleContext
) -> Iterator[SwallowingHandler]:
    for node in walk_function(function):
        if not isinstance(node, ast.Try | ast.TryStar):
            continue
        retries = retry_calls_under(node.body, function, ctx)
        if not retries:
            continue
        for handler in node.handlers:
            catches = handler_types(handler, ctx)
            if _catches_retry(catches):
                break
            broad = "except:" if handler.type is None else _broad_spelling(catches)
            if broad is None:
                continue
            if not _is_silent(handler.body) and not _ends_with_bare_raise(handler.body):
                span = ctx.span(handler)
                yield SwallowingHandler(span.line, span.col, broad, retries)
            break  # later handlers never see Retry


def _catches_retry(catches: tuple[str, ...]) -> bool:
    return bool(_CATCH_RETRY & set(catches))


def _broad_spelling(catches: tuple[str, ...]) -> str | None:
    broad = next((name for name in catches if name in BROAD), None)
    return None if broad is None else f"except {broad.rpartition('.')[2]}"


def _is_silent(body: list[ast.stmt]) -> bool:
    """What CEL001 (silent-except) handles: a lone pass, ..., continue or bare return."""
    if len(body) != 1:
        return False
    statement = body[0]
    if isinstance(statement, ast.Pass | ast.Continue):
        return True
    if isinstance(statement, ast.Return):
        return statement.value is None
    return (
        isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant) and statement.value.value is ...
    )


def _ends_with_bare_raise(body: list[ast.stmt]) -> bool:
    return bool(body) and isinstance(body[-1], ast.Raise) and body[-1].exc is None
