"""# retry-on-permanent-error (CEL308)

## What it does
Finds a task that retries on an error a retry cannot fix: `autoretry_for`
naming it, or an `except` clause catching it whose body calls
`self.retry(...)`. Permanent errors: `TypeError`, `ValueError`, `KeyError`,
Django's `ValidationError` and `ObjectDoesNotExist` (with every
`Model.DoesNotExist`), DRF's `ValidationError`, and the project's own
subclasses of these where the class is visible in the scanned code.

## Why is this bad?
The task runs again with the same arguments against the same data and fails
the same way, `max_retries` more times, each after a delay: the error is
reported late, workers are busy for nothing, and a bug looks like a flaky
service. The one transient case is a row not committed yet when the task
starts (`DoesNotExist` right after `.delay()` inside a transaction): the
cure there is enqueueing with `transaction.on_commit`, not retrying.

## Example
```python
@shared_task(bind=True)
def apply_bonus(self, user_id):
    try:
        profile = Profile.objects.get(user_id=user_id)
    except Profile.DoesNotExist as exc:
        raise self.retry(exc=exc, countdown=30)
```

## Use instead
```python
@shared_task
def apply_bonus(user_id):
    profile = Profile.objects.filter(user_id=user_id).first()
    if profile is None:
        logger.warning("apply_bonus: no profile for user %s", user_id)
        return
```
and enqueue with `transaction.on_commit(lambda: apply_bonus.delay(user.pk))`
when the row is created in the same transaction. For `autoretry_for`, drop
the permanent class or exclude it with `dont_autoretry_for`.

## Fix safety
No fix: what should happen instead (skip, fail, log) is the author's call.

## References
- Celery: `autoretry_for`, `dont_autoretry_for`, `Task.retry`
- Django: `transaction.on_commit`, `Model.DoesNotExist`
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping

from msgspec import Struct

from celery_codemods.findings import Finding
from celery_codemods.index.context import ModuleContext
from celery_codemods.index.project import Project, Task
from celery_codemods.rules._ast_walk import walk_function
from celery_codemods.rules._retries import (
    PERMANENT,
    RetryCall,
    exception_names,
    handler_types,
    is_does_not_exist,
    own_retry_calls,
    retry_calls_under,
)
from celery_codemods.rules.base import Rule


class RetryingHandler(Struct, frozen=True):
    line: int
    col: int
    catches: tuple[str, ...]
    retries: tuple[RetryCall, ...]


class ClassBases(Struct, frozen=True):
    classes: tuple[tuple[str, tuple[str, ...]], ...]
    """(qualified class name, qualified base names) for every module-level class."""


class RetryOnPermanentError(Rule):
    code = "CEL308"
    name = "retry-on-permanent-error"
    summary = "Task retries on an error that cannot succeed on retry"

    @classmethod
    def extract_function(
        cls, node: ast.FunctionDef | ast.AsyncFunctionDef, ctx: ModuleContext
    ) -> tuple[RetryingHandler, ...] | None:
        return tuple(_retrying_handlers(node, ctx)) or None

    @classmethod
    def extract_module(cls, tree: ast.Module, ctx: ModuleContext) -> ClassBases | None:
        classes = tuple(
            (f"{ctx.module}.{node.name}", tuple(q for base in node.bases if (q := ctx.qualname(base))))
            for node in tree.body
            if isinstance(node, ast.ClassDef) and node.bases
        )
        return ClassBases(classes) if classes else None

    @classmethod
    def extract_outline(cls, tree: ast.Module, ctx: ModuleContext) -> ClassBases | None:
        return cls.extract_module(tree, ctx)  # exception hierarchies are read across modules

    def check(self, project: Project) -> Iterator[Finding]:
        bases = {
            name: parents
            for module in project.modules.values()
            if (facts := module.extras.get(self.code)) is not None
            for name, parents in facts.classes
        }
        for task in project.tasks:
            yield from self._autoretry_findings(task, bases)
            for handler in task.function.extras.get(self.code, ()):
                yield from self._handler_findings(task, handler, bases)

    def _autoretry_findings(self, task: Task, bases: Mapping[str, tuple[str, ...]]) -> Iterator[Finding]:
        excluded = exception_names(task.option("dont_autoretry_for"))
        for name in exception_names(task.option("autoretry_for")):
            permanent = permanent_ancestor(name, bases)
            if permanent is not None and not any(permanent_ancestor(name, bases, {e}) for e in excluded):
                span = task.decorator.span
                yield self._finding(task, span.line, span.col, "autoretries on", name, permanent)

    def _handler_findings(
        self, task: Task, handler: RetryingHandler, bases: Mapping[str, tuple[str, ...]]
    ) -> Iterator[Finding]:
        if not own_retry_calls(task, handler.retries):
            return
        for name in handler.catches:
            permanent = permanent_ancestor(name, bases)
            if permanent is not None:
                yield self._finding(task, handler.line, handler.col, "retries on", name, permanent)

    def _finding(self, task: Task, line: int, col: int, verb: str, name: str, permanent: str) -> Finding:
        short = _short(name)
        kind = "" if permanent == name else f" (a `{_short(permanent)}`)"
        advice = "the same input fails again; fail, skip or log instead"
        if is_does_not_exist(permanent) or permanent.endswith("ObjectDoesNotExist"):
            advice += " (a row not committed yet needs `transaction.on_commit`, not a retry)"
        return self.task_finding(
            task,
            f"task `{task.display_name}` {verb} `{short}`{kind}, which a retry cannot fix: {advice}",
            line=line,
            col=col,
        )


def permanent_ancestor(
    name: str, bases: Mapping[str, tuple[str, ...]], targets: frozenset[str] | set[str] | None = None
) -> str | None:
    """``name`` or the first of its visible ancestors that is permanent (or in ``targets``)."""
    seen: set[str] = set()
    stack = [name]
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        if targets is not None:
            if current in targets:
                return current
        elif current in PERMANENT or is_does_not_exist(current):
            return current
        stack.extend(bases.get(current, ()))
    return None


def _short(name: str) -> str:
    if is_does_not_exist(name):
        return ".".join(name.split(".")[-2:])
    return name.rpartition(".")[2]


def _retrying_handlers(
    function: ast.FunctionDef | ast.AsyncFunctionDef, ctx: ModuleContext
) -> Iterator[RetryingHandler]:
    for node in walk_function(function):
        if not isinstance(node, ast.Try | ast.TryStar):
            continue
        for handler in node.handlers:
            retries = retry_calls_under(handler.body, function, ctx)
            catches = handler_types(handler, ctx)
            if retries and catches:
                span = ctx.span(handler)
                yield RetryingHandler(span.line, span.col, catches, retries)
