"""# silent-except (CEL001)

## What it does
Finds exception handlers inside a task that swallow every error without a
trace: `except: pass`, `except Exception: pass`, and the same with `...`,
`continue` or a bare `return` as the whole body.

## Why is this bad?
A task runs in a worker, far from anyone watching. An error swallowed there
leaves no log record and no failed task state: the work silently did not
happen. Worse, Celery's own control flow travels as exceptions: `self.retry()`
raises `Retry` *after* it has already queued the retry, `Ignore` and `Reject`
tell the worker what to do with the message. A broad handler around them
swallows the signal, so the task reports success while a retry runs anyway.

## Example
```python
@shared_task
def sync_inventory(product_ids):
    for product_id in product_ids:
        try:
            push_stock(product_id)
        except Exception:
            continue
```

## Use instead
```python
@shared_task
def sync_inventory(product_ids):
    for product_id in product_ids:
        try:
            push_stock(product_id)
        except Exception:
            logger.exception("sync_inventory: exception ignored")
            continue
```
The handler logs with the traceback (`logger.exception`) and keeps the same
control flow: `pass` is replaced by the log call, `continue` and `return`
stay after it. The module's existing logger is used whatever its name;
without one, `logger = logging.getLogger(__name__)` is added after the
imports (`logger-factory = "get_task_logger"` chooses Celery's instead).
When the `try` body can raise Celery's control exceptions (it calls
`.retry(...)` or raises `Retry`, `Ignore` or `Reject`), a handler
`except (Retry, Ignore, Reject): raise` is put before the broad one.

## Fix safety
Safe for `except Exception` / `except BaseException`: the same exceptions
are caught and the same path follows, with a log record added. Re-raising
the control exceptions changes behaviour on purpose: a retry that was
already queued no longer also reports success.

Unsafe for a bare `except:`, because the fix narrows it to
`except Exception:`: `SystemExit`, `KeyboardInterrupt` and Celery's worker
shutdown (`WorkerShutdown`, a `SystemExit`) then propagate instead of being
swallowed, which is what you want in a worker but is a change in behaviour.
Applied with `--unsafe-fixes`.

## Options
- `silent-except-mode = "reraise"`: the handler re-raises instead of
  logging (Celery's worker then logs the failure with its traceback and
  marks the task failed). This changes control flow, so the fix is unsafe.
- `logger-factory`: `getLogger` (default) or `get_task_logger`.

## References
- Celery: `Task.retry`, `celery.exceptions.Retry`, `Ignore`, `Reject`
- Python: `logging.Logger.exception`
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import TYPE_CHECKING, Literal

import libcst as cst
from msgspec import Struct

from celery_codemods.findings import Edit, Finding, Fix, Safety
from celery_codemods.index.context import ModuleContext
from celery_codemods.index.project import Project, Task
from celery_codemods.rules._ast_walk import walk_body, walk_function
from celery_codemods.rules.base import Rule

if TYPE_CHECKING:
    from celery_codemods.rewrite import EditContext

Catches = Literal["bare", "Exception", "BaseException"]
Action = Literal["pass", "ellipsis", "continue", "return"]

_BROAD = {
    "Exception": "Exception",
    "BaseException": "BaseException",
    "builtins.Exception": "Exception",
    "builtins.BaseException": "BaseException",
}
_CONTROL = ("Retry", "Ignore", "Reject")
_CONTROL_QUALNAMES = {f"celery.exceptions.{name}" for name in _CONTROL}


class SilentHandler(Struct, frozen=True):
    line: int
    col: int
    end_line: int
    end_col: int
    catches: Catches
    action: Action
    control_risk: bool
    """The try body can raise Retry / Ignore / Reject, and no earlier handler catches them."""


class Payload(Struct, frozen=True):
    task: str
    action: Action
    narrow: bool
    reraise_control: bool
    mode: Literal["log", "reraise"]


class SilentExcept(Rule):
    code = "CEL001"
    name = "silent-except"
    summary = "Exception swallowed without a trace inside a task"
    fix_availability = "always"

    @classmethod
    def extract_function(
        cls, node: ast.FunctionDef | ast.AsyncFunctionDef, ctx: ModuleContext
    ) -> tuple[SilentHandler, ...] | None:
        handlers = tuple(_silent_handlers(node, ctx))
        return handlers or None

    def check(self, project: Project) -> Iterator[Finding]:
        for task in project.tasks:
            for handler in task.function.extras.get(self.code, ()):
                yield self._finding(task, handler)

    def _finding(self, task: Task, handler: SilentHandler) -> Finding:
        spelled = "except:" if handler.catches == "bare" else f"except {handler.catches}:"
        mode = self.settings.silent_except_mode
        payload = Payload(
            task=task.display_name,
            action=handler.action,
            narrow=handler.catches == "bare",
            reraise_control=handler.control_risk and mode == "log",
            mode=mode,
        )
        safe = handler.catches != "bare" and mode == "log"
        what = "re-raise" if mode == "reraise" else "log it with its traceback"
        fix = Fix(
            description=f"{what} in `{spelled}` of task `{task.display_name}`",
            safety=Safety.SAFE if safe else Safety.UNSAFE,
            edits=(Edit(task.path, "ExceptHandler", handler.line, handler.col, self.code, payload),),
        )
        message = (
            f"`{spelled} {_ACTION_TEXT[handler.action]}` in task `{task.display_name}` swallows errors without a trace"
        )
        if handler.control_risk:
            message += "; it also swallows Celery's Retry/Ignore/Reject raised in the try body"
        return Finding(
            path=task.path,
            line=handler.line,
            col=handler.col,
            end_line=handler.end_line,
            end_col=handler.end_col,
            code=self.code,
            name=self.name,
            message=message,
            fix=fix,
        )

    def apply(self, node: cst.CSTNode, edit: Edit, ctx: EditContext) -> cst.CSTNode:
        if not isinstance(node, cst.ExceptHandler):
            return node
        payload: Payload = edit.payload
        handler = node.with_changes(body=_new_body(node.body, payload, ctx))
        if payload.narrow:
            handler = handler.with_changes(
                type=cst.Name("Exception"),
                whitespace_after_except=cst.SimpleWhitespace(" "),
            )
        if not payload.reraise_control:
            return handler
        control = _control_handler(ctx).with_changes(leading_lines=handler.leading_lines)
        return cst.FlattenSentinel([control, handler.with_changes(leading_lines=())])  # type: ignore[return-value]


_ACTION_TEXT: dict[Action, str] = {"pass": "pass", "ellipsis": "...", "continue": "continue", "return": "return"}


def _silent_handlers(function: ast.FunctionDef | ast.AsyncFunctionDef, ctx: ModuleContext) -> Iterator[SilentHandler]:
    for node in walk_function(function):
        if not isinstance(node, ast.Try | ast.TryStar):
            continue
        risk = _can_raise_control(node.body, ctx)
        for handler in node.handlers:
            catches = _catches(handler, ctx)
            action = _silent_action(handler.body)
            if catches is not None and action is not None:
                span = ctx.span(handler)
                yield SilentHandler(span.line, span.col, span.end_line, span.end_col, catches, action, risk)
            if catches is not None or _catches_control(handler, ctx):
                risk = False  # later handlers never see the control exceptions


def _catches(handler: ast.ExceptHandler, ctx: ModuleContext) -> Catches | None:
    if handler.type is None:
        return "bare"
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    for kind in types:
        if isinstance(kind, ast.Name | ast.Attribute):
            broad = _BROAD.get(ctx.qualname(kind) or "")
            if broad is not None:
                return broad  # type: ignore[return-value]
    return None


def _catches_control(handler: ast.ExceptHandler, ctx: ModuleContext) -> bool:
    if handler.type is None:
        return False
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(ctx.qualname(kind) in _CONTROL_QUALNAMES for kind in types if isinstance(kind, ast.Name | ast.Attribute))


def _silent_action(body: list[ast.stmt]) -> Action | None:
    if len(body) != 1:
        return None
    statement = body[0]
    if isinstance(statement, ast.Pass):
        return "pass"
    if isinstance(statement, ast.Continue):
        return "continue"
    if isinstance(statement, ast.Return) and statement.value is None:
        return "return"
    if (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and statement.value.value is Ellipsis
    ):
        return "ellipsis"
    return None


def _can_raise_control(body: list[ast.stmt], ctx: ModuleContext) -> bool:
    for node in walk_body(list(body)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "retry":
            return True
        if isinstance(node, ast.Raise) and node.exc is not None:
            raised = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            qualname = ctx.qualname(raised) if isinstance(raised, ast.Name | ast.Attribute) else None
            if qualname in _CONTROL_QUALNAMES:
                return True
    return False


def _new_body(body: cst.BaseSuite, payload: Payload, ctx: EditContext) -> cst.BaseSuite:
    old = _statement_lines(body)
    kept = old[0] if payload.action in ("continue", "return") else None
    if payload.mode == "reraise":
        first = _replace_small(old[0], cst.Raise())
        return (
            cst.IndentedBlock(body=[first])
            if isinstance(body, cst.SimpleStatementSuite)
            else body.with_changes(body=[first])
        )
    logger = ctx.logger_name()
    call = cst.parse_statement(f'{logger}.exception("{payload.task}: exception ignored")')
    assert isinstance(call, cst.SimpleStatementLine)
    if kept is None:
        statements = [_replace_small(old[0], call.body[0])]
    else:
        statements = [call.with_changes(leading_lines=old[0].leading_lines), kept.with_changes(leading_lines=())]
    if isinstance(body, cst.IndentedBlock):
        return body.with_changes(body=statements)
    return cst.IndentedBlock(body=statements)


def _statement_lines(body: cst.BaseSuite) -> list[cst.SimpleStatementLine]:
    if isinstance(body, cst.IndentedBlock):
        return [line for line in body.body if isinstance(line, cst.SimpleStatementLine)]
    assert isinstance(body, cst.SimpleStatementSuite)
    return [
        cst.SimpleStatementLine(
            body=[small.with_changes(semicolon=cst.MaybeSentinel.DEFAULT) for small in body.body],
            trailing_whitespace=body.trailing_whitespace,
        )
    ]


def _replace_small(line: cst.SimpleStatementLine, small: cst.BaseSmallStatement) -> cst.SimpleStatementLine:
    return line.with_changes(body=[small])


def _control_handler(ctx: EditContext) -> cst.ExceptHandler:
    imported = dict(ctx.facts.imports)
    clashes = any(
        name in ctx.facts.module_names and imported.get(name) != f"celery.exceptions.{name}" for name in _CONTROL
    )
    if clashes:
        ctx.add_import("celery.exceptions")
        names = ", ".join(f"celery.exceptions.{name}" for name in _CONTROL)
    else:
        for name in _CONTROL:
            ctx.add_import("celery.exceptions", name)
        names = ", ".join(_CONTROL)
    parsed = cst.parse_statement(f"try:\n    pass\nexcept ({names}):\n    raise\n")
    assert isinstance(parsed, cst.Try)
    return parsed.handlers[0]
