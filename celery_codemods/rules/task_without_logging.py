"""# task-without-logging (CEL002)

## What it does
Finds tasks that log nothing at all, and adds an INFO record when the task
starts and one when it completes, each naming the task. The start record
carries the arguments whose name says they are identifiers (`id`, `pk`,
`*_id`, `*_ids`, `*_pk`, `*_uuid`), never the values of other arguments.

## Why is this bad?
Celery's worker already logs each task as received, succeeded (with its
runtime) or failed (with the traceback), so this rule is not about failures:
those are covered by the worker log and by silent-except (CEL001). It is
about what the worker log cannot show:
- direct calls (`send_receipt(order_id)`) and eager mode
  (`task_always_eager`, common in tests and management commands) bypass the
  worker, so nothing at all records that the work ran;
- the worker's lines carry the task id and a truncated repr of the
  arguments, not the business context: which order, which user;
- a start/finish pair per task with the ids in it is what you grep for when
  a customer asks "did my receipt go out?", across every process that may
  have run the code.

## Example
```python
@shared_task
def send_receipt(order_id, template):
    order = Order.objects.get(pk=order_id)
    return mail_receipt(order, template)
```

## Use instead
```python
@shared_task
def send_receipt(order_id, template):
    logger.info("send_receipt started (order_id=%s)", order_id)
    order = Order.objects.get(pk=order_id)
    result = mail_receipt(order, template)
    logger.info("send_receipt completed")
    return result
```
The start record goes after the docstring. Every return path of the task's
own body (not of nested functions or classes) logs completion: the returned
value is computed into a new local first (named so that it clashes with no
name the function uses), so the record comes after the work it reports; a
bare `return` or a constant return gets the record just before it. A
function that can reach its end gets the record appended there. The
returned value is never logged, and arguments are logged with %-style lazy
arguments, so nothing is formatted unless the record is emitted.

The module's existing logger is used whatever its name; without one,
`logger = logging.getLogger(__name__)` is added after the imports
(`logger-factory = "get_task_logger"` chooses Celery's instead).

A task counts as logging when it calls anything that looks like a logger
method (`.debug`, `.info`, `.warning`, `.warn`, `.error`, `.exception`,
`.critical`, `.fatal`, `.log`) on any object, or a function of that name
(`from logging import info`); such tasks are left alone. `print` does not
count. Left alone as well: generator and `async def` tasks (when they
"complete" depends on the consumer), tasks whose body is only a docstring,
`pass` or `...`, and tasks whose own locals shadow the logger's name.

## Fix safety
Safe: the fix only adds log records. Return values are computed exactly as
before, once and in the same order, and the control flow is unchanged; the
only new binding is a local that no other code in the function reads.

## Options
- `logger-factory`: `getLogger` (default) or `get_task_logger`, for the
  logger added to a module that has none.

## References
- Celery: "Logging" in the user guide (`get_task_logger`, the worker's
  received / succeeded / failed records), `task_always_eager`
- Python: `logging.Logger.info`, "Optimization" in the logging HOWTO
  (lazy %-style arguments)
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Sequence

import libcst as cst
from msgspec import Struct

from celery_codemods.findings import Edit, Finding, Fix, Safety
from celery_codemods.index.context import ModuleContext
from celery_codemods.index.project import Project, Task
from celery_codemods.rewrite import EditContext
from celery_codemods.rules._ast_walk import walk_all, walk_body, walk_function
from celery_codemods.rules.base import Rule

_LOG_METHODS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical", "fatal", "log"})
_MATH_MODULES = frozenset({"math", "cmath", "numpy"})
"""Their ``log`` is a logarithm, not a logger."""
_ID_NAME = re.compile(r"(?:id|pk|.+_(?:id|ids|pk|uuid))")
_RESULT_NAME = "result"


class Unlogged(Struct, frozen=True):
    """Index facts of a task candidate that logs nothing and could be fixed."""

    falls_off_end: bool
    names: frozenset[str]
    """Every name the function binds or reads, nested scopes included."""
    locals: frozenset[str]
    """Names bound in the function's own scope."""


class Payload(Struct, frozen=True):
    task: str
    ids: tuple[str, ...]
    result_name: str
    falls_off_end: bool


class TaskWithoutLogging(Rule):
    code = "CEL002"
    name = "task-without-logging"
    summary = "Task that logs nothing: no record of when it starts or completes"
    fix_availability = "sometimes"

    @classmethod
    def extract_function(cls, node: ast.FunctionDef | ast.AsyncFunctionDef, ctx: ModuleContext) -> Unlogged | None:
        if isinstance(node, ast.AsyncFunctionDef) or _is_placeholder(node.body):
            return None
        if _is_generator(node) or _logs(node, ctx):
            return None
        return Unlogged(
            falls_off_end=not _never_completes(node.body),
            names=frozenset(_names(node)),
            locals=frozenset(_locals(node)),
        )

    def check(self, project: Project) -> Iterator[Finding]:
        for task in project.tasks:
            facts = task.function.extras.get(self.code)
            if isinstance(facts, Unlogged):
                yield self._finding(task, facts)

    def _finding(self, task: Task, facts: Unlogged) -> Finding:
        function = task.function
        logger = EditContext(task.module, self.settings).logger_name()
        message = f"task `{task.display_name}` logs nothing: no record of when it starts or completes"
        fix = None
        if logger in facts.locals:
            message += f" (not fixed: a local named `{logger}` shadows the module's logger)"
        else:
            payload = Payload(
                task=task.display_name,
                ids=_id_params(task),
                result_name=_free_name(facts.names | {logger}),
                falls_off_end=facts.falls_off_end,
            )
            fix = Fix(
                description=f"log the start and completion of task `{task.display_name}`",
                safety=Safety.SAFE,
                edits=(Edit(task.path, "FunctionDef", function.span.line, function.span.col, self.code, payload),),
            )
        return Finding(
            path=task.path,
            line=function.span.line,
            col=function.span.col,
            code=self.code,
            name=self.name,
            message=message,
            fix=fix,
            suppress_lines=tuple(decorator.span.line for decorator in function.decorators),
        )

    def apply(self, node: cst.CSTNode, edit: Edit, ctx: EditContext) -> cst.CSTNode:
        if not isinstance(node, cst.FunctionDef):
            return node
        payload: Payload = edit.payload
        logger = ctx.logger_name()
        completed = _log_line(logger, f"{payload.task} completed", ())
        block = _as_block(node.body).visit(_return_logger(completed, payload.result_name))
        assert isinstance(block, cst.IndentedBlock)
        statements = list(block.body)
        statements.insert(_after_docstring(statements), _log_line(logger, _start_message(payload), payload.ids))
        if payload.falls_off_end:
            statements.append(completed)
        return node.with_changes(body=block.with_changes(body=statements))


# Index pass: what the function does.


def _is_placeholder(body: list[ast.stmt]) -> bool:
    """Only a docstring, ``pass`` or ``...``: an abstract-ish task."""
    return all(
        isinstance(statement, ast.Pass)
        or (
            isinstance(statement, ast.Expr)
            and isinstance(statement.value, ast.Constant)
            and (statement.value.value is Ellipsis or isinstance(statement.value.value, str))
        )
        for statement in body
    )


def _is_generator(node: ast.FunctionDef) -> bool:
    return any(isinstance(sub, ast.Yield | ast.YieldFrom) for sub in walk_function(node))


def _logs(node: ast.FunctionDef, ctx: ModuleContext) -> bool:
    """Calls anything that looks like logging, nested scopes included (when in doubt, it logs)."""
    for sub in walk_all(node):
        if not isinstance(sub, ast.Call):
            continue
        func = sub.func
        if isinstance(func, ast.Attribute) and func.attr in _LOG_METHODS:
            receiver = ctx.qualname(func.value) if isinstance(func.value, ast.Name | ast.Attribute) else None
            if receiver not in _MATH_MODULES:
                return True
        elif isinstance(func, ast.Name):
            module, _, last = (ctx.qualname(func) or func.id).rpartition(".")
            if (func.id in _LOG_METHODS or last in _LOG_METHODS) and module not in _MATH_MODULES:
                return True
    return False


def _never_completes(body: Sequence[ast.stmt]) -> bool:
    """Control never reaches the end of ``body`` (every path returns, raises or loops forever)."""
    return any(_statement_never_completes(statement) for statement in body)


def _statement_never_completes(statement: ast.stmt) -> bool:
    if isinstance(statement, ast.Return | ast.Raise):
        return True
    if isinstance(statement, ast.If):
        return _never_completes(statement.body) and _never_completes(statement.orelse)
    if isinstance(statement, ast.With):
        return _never_completes(statement.body)
    if isinstance(statement, ast.Try | ast.TryStar):
        if _never_completes(statement.finalbody):
            return True
        body_exits = _never_completes(statement.body) or _never_completes(statement.orelse)
        return body_exits and all(_never_completes(handler.body) for handler in statement.handlers)
    if isinstance(statement, ast.Match):
        last = statement.cases[-1]
        catch_all = isinstance(last.pattern, ast.MatchAs) and last.pattern.pattern is None and last.guard is None
        return catch_all and all(_never_completes(case.body) for case in statement.cases)
    if isinstance(statement, ast.While):
        forever = isinstance(statement.test, ast.Constant) and bool(statement.test.value)
        return forever and not _breaks(statement.body)
    return False


def _breaks(loop_body: list[ast.stmt]) -> bool:
    """A ``break`` that leaves this loop (not one of an inner loop)."""
    stack: list[ast.AST] = list(loop_body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Break):
            return True
        if isinstance(node, ast.For | ast.AsyncFor | ast.While):
            stack.extend(node.orelse)  # a break in a loop's else leaves the outer loop
            continue
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            stack.extend(ast.iter_child_nodes(node))
    return False


def _names(node: ast.FunctionDef) -> Iterator[str]:
    for sub in walk_all(node):
        yield from _bound_or_read(sub)


def _locals(node: ast.FunctionDef) -> Iterator[str]:
    declared = {name for sub in walk_function(node) if isinstance(sub, ast.Global | ast.Nonlocal) for name in sub.names}
    for arg in ast.walk(node.args):
        if isinstance(arg, ast.arg):
            yield arg.arg
    for sub in walk_body(list(node.body)):
        if isinstance(sub, ast.Name) and not isinstance(sub.ctx, ast.Load) and sub.id not in declared:
            yield sub.id
        elif not isinstance(sub, ast.Name | ast.Global | ast.Nonlocal):
            yield from (name for name in _bound_or_read(sub) if name not in declared)


def _bound_or_read(node: ast.AST) -> Iterator[str]:
    if isinstance(node, ast.Name):
        yield node.id
    elif isinstance(node, ast.arg):
        yield node.arg
    elif isinstance(node, ast.alias):
        yield (node.asname or node.name).partition(".")[0]
    elif isinstance(node, ast.Global | ast.Nonlocal):
        yield from node.names
    elif isinstance(node, ast.MatchMapping) and node.rest:
        yield node.rest
    elif isinstance(name := getattr(node, "name", None), str):
        yield name  # def, class, except ... as, match capture, type parameter


# Plan pass.


def _id_params(task: Task) -> tuple[str, ...]:
    params = list(task.function.params)
    if task.is_bound and params and params[0].kind in ("posonly", "positional"):
        params = params[1:]  # the task itself
    return tuple(param.name for param in params if param.kind != "kwarg" and _ID_NAME.fullmatch(param.name))


def _free_name(taken: frozenset[str]) -> str:
    if _RESULT_NAME not in taken:
        return _RESULT_NAME
    suffix = 1
    while f"{_RESULT_NAME}_{suffix}" in taken:
        suffix += 1
    return f"{_RESULT_NAME}_{suffix}"


def _start_message(payload: Payload) -> str:
    if not payload.ids:
        return f"{payload.task} started"
    return f"{payload.task} started ({', '.join(f'{name}=%s' for name in payload.ids)})"


# Rewrite pass.


def _log_line(logger: str, message: str, args: tuple[str, ...]) -> cst.SimpleStatementLine:
    arguments = "".join(f", {arg}" for arg in args)
    line = cst.parse_statement(f'{logger}.info("{message}"{arguments})\n')
    assert isinstance(line, cst.SimpleStatementLine)
    return line


def _as_block(suite: cst.BaseSuite) -> cst.IndentedBlock:
    if isinstance(suite, cst.IndentedBlock):
        return suite
    assert isinstance(suite, cst.SimpleStatementSuite)
    return cst.IndentedBlock(header=suite.trailing_whitespace, body=[_suite_line(suite)])


def _suite_line(suite: cst.SimpleStatementSuite) -> cst.SimpleStatementLine:
    *rest, last = suite.body
    return cst.SimpleStatementLine(body=[*rest, last.with_changes(semicolon=cst.MaybeSentinel.DEFAULT)])


def _after_docstring(statements: Sequence[cst.BaseStatement]) -> int:
    if not statements or not isinstance(statements[0], cst.SimpleStatementLine):
        return 0
    first = statements[0].body[0]
    is_docstring = isinstance(first, cst.Expr) and isinstance(first.value, cst.SimpleString | cst.ConcatenatedString)
    return 1 if is_docstring else 0


def _return_logger(completed: cst.SimpleStatementLine, result_name: str) -> cst.CSTTransformer:
    # A class made on call: subclassing at import would load LibCST for every `check`.
    class _ReturnLogger(cst.CSTTransformer):
        """Puts the completion record before every ``return`` of the function's own scope."""

        def __init__(self, completed: cst.SimpleStatementLine, result_name: str) -> None:
            super().__init__()
            self.completed = completed
            self.result_name = result_name

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return False

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            return False

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            return False

        def leave_SimpleStatementLine(
            self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
        ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
            lines = self._split(updated_node)
            return lines[0] if len(lines) == 1 else cst.FlattenSentinel(lines)

        def leave_SimpleStatementSuite(
            self, original_node: cst.SimpleStatementSuite, updated_node: cst.SimpleStatementSuite
        ) -> cst.BaseSuite:
            if not any(isinstance(small, cst.Return) for small in updated_node.body):
                return updated_node
            lines = self._split(_suite_line(updated_node))
            return cst.IndentedBlock(header=updated_node.trailing_whitespace, body=lines)

        def _split(self, line: cst.SimpleStatementLine) -> list[cst.SimpleStatementLine]:
            """``a; return f(x)`` -> ``a`` / ``result = f(x)`` / log / ``return result``."""
            position = next((i for i, small in enumerate(line.body) if isinstance(small, cst.Return)), None)
            if position is None:
                return [line]
            before, returned, after = line.body[:position], line.body[position], line.body[position + 1 :]
            assert isinstance(returned, cst.Return)
            lines: list[cst.SimpleStatementLine] = []
            leading = line.leading_lines
            if before:
                *rest, last = before
                lines.append(line.with_changes(body=[*rest, last.with_changes(semicolon=cst.MaybeSentinel.DEFAULT)]))
                lines[-1] = lines[-1].with_changes(trailing_whitespace=cst.TrailingWhitespace())
                leading = ()
            value = returned.value
            if value is not None and not _is_constant(value):
                target = cst.AssignTarget(target=cst.Name(self.result_name))
                lines.append(cst.SimpleStatementLine(body=[cst.Assign(targets=[target], value=value)]))
                returned = returned.with_changes(
                    value=cst.Name(self.result_name), whitespace_after_return=cst.MaybeSentinel.DEFAULT
                )
            lines.append(self.completed)
            lines.append(line.with_changes(body=[returned, *after], leading_lines=()))
            lines[0] = lines[0].with_changes(leading_lines=leading)
            return lines

    return _ReturnLogger(completed, result_name)


def _is_constant(value: cst.BaseExpression) -> bool:
    """Evaluating it cannot fail or change anything, so it may come after the record."""
    if isinstance(value, cst.Name):
        return value.value in ("None", "True", "False")
    return isinstance(value, cst.SimpleString | cst.Integer | cst.Float | cst.Imaginary) and not value.lpar
