"""What the retry rules (CEL3xx) share: retry calls in a task body, exception
classes by kind, the task's backoff options, and the countdown rewrite.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Iterator
from typing import Literal

import libcst as cst
from msgspec import Struct
from msgspec.structs import replace

from celery_codemods.findings import Edit, NodeKind
from celery_codemods.index.context import ModuleContext
from celery_codemods.index.facts import Option
from celery_codemods.index.project import Task
from celery_codemods.rules._ast_walk import remember, walk_body, walk_function
from celery_codemods.rules._decorator_edit import KeywordEdit, apply_keyword_edit, is_one_line, one_argument_a_line
from celery_codemods.rules.base import Rule
from celery_codemods.rules.task_refers_to_itself import CURRENT_TASK, local_names
from celery_codemods.settings import Settings

BACKOFF_HELPER_MODULE = "celery.utils.time"
BACKOFF_HELPER = "get_exponential_backoff_interval"
BACKOFF_OPTIONS = ("retry_backoff", "retry_backoff_max", "retry_jitter")

BROAD = frozenset({"Exception", "BaseException", "builtins.Exception", "builtins.BaseException"})
PERMANENT = frozenset(
    {
        "TypeError",
        "ValueError",
        "KeyError",
        "builtins.TypeError",
        "builtins.ValueError",
        "builtins.KeyError",
        "django.core.exceptions.ValidationError",
        "django.core.exceptions.ObjectDoesNotExist",
        "rest_framework.exceptions.ValidationError",
    }
)
# Errors a database or a lock recovers from by itself within seconds (deadlock,
# lock timeout, serialization failure, dropped connection): retried after a
# short fixed delay. DatabaseError is not here: it is also the base of
# IntegrityError, DataError and ProgrammingError, which no retry fixes.
DB_OR_LOCK = frozenset(
    {
        "django.db.OperationalError",
        "django.db.utils.OperationalError",
        "django.db.InterfaceError",
        "django.db.utils.InterfaceError",
        "psycopg2.OperationalError",
        "psycopg2.errors.DeadlockDetected",
        "psycopg2.errors.SerializationFailure",
        "psycopg2.errors.LockNotAvailable",
        "psycopg2.extensions.TransactionRollbackError",
        "psycopg.OperationalError",
        "psycopg.errors.DeadlockDetected",
        "psycopg.errors.SerializationFailure",
        "psycopg.errors.LockNotAvailable",
        "MySQLdb.OperationalError",
        "pymysql.err.OperationalError",
        "sqlite3.OperationalError",
        "redis.exceptions.LockError",
        "redis.exceptions.LockNotOwnedError",
        "redis.lock.LockError",
    }
)
DB_RETRY_DELAY = 10


def is_db_or_lock(qualname: str) -> bool:
    """A database/lock error; any class named ``LockError`` counts (lock managers' own, like mayan's)."""
    return qualname in DB_OR_LOCK or qualname.rpartition(".")[2] == "LockError"


"""Seconds between retries of database/lock errors."""

StatementKind = Literal["Expr", "Return", "Raise", "other"]


class RetryCall(Struct, frozen=True):
    """A ``<receiver>.retry(...)`` call in a task body (nested functions excluded)."""

    line: int
    col: int
    statement: StatementKind
    """``Expr``: the call is the whole statement; ``Return``/``Raise``: it is the returned/raised value."""
    statement_line: int
    statement_col: int
    receiver: str
    receiver_qualname: str | None
    receiver_is_local: bool
    has_delay: bool
    """``countdown`` or ``eta`` given (by keyword or position), or unknowable (``**kwargs``)."""
    throws: bool
    max_retries: Literal["absent", "none", "set"]
    handler_catches: tuple[str, ...] = ()
    """What the innermost ``except`` clause around the call catches (``()``: none, or bare)."""


def extract_retry_calls(function: ast.FunctionDef | ast.AsyncFunctionDef, ctx: ModuleContext) -> tuple[RetryCall, ...]:
    """The ``retry`` calls of ``function``'s own body (several rules ask; computed once per module)."""
    return remember("retry_calls", function, ctx, _extract_retry_calls)


def _extract_retry_calls(function: ast.FunctionDef | ast.AsyncFunctionDef, ctx: ModuleContext) -> tuple[RetryCall, ...]:
    statements: dict[int, tuple[StatementKind, ast.stmt]] = {}
    handlers: list[ast.ExceptHandler] = []
    calls: list[ast.Call] = []
    for node in walk_function(function):
        if isinstance(node, ast.ExceptHandler):
            handlers.append(node)
        if isinstance(node, ast.Expr):
            statements[id(node.value)] = ("Expr", node)
        elif isinstance(node, ast.Return) and node.value is not None:
            statements[id(node.value)] = ("Return", node)
        elif isinstance(node, ast.Raise) and node.exc is not None:
            statements[id(node.exc)] = ("Raise", node)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "retry":
            calls.append(node)
    if not calls:
        return ()
    catches: dict[int, tuple[str, ...]] = {}
    for handler in handlers:  # outer first, so the innermost handler around a call wins
        types = handler_types(handler, ctx)
        catches.update((id(inner), types) for inner in walk_body(list(handler.body)))
    locals_ = frozenset(local_names(function))
    return tuple(
        replace(_retry_call(call, statements.get(id(call)), locals_, ctx), handler_catches=catches.get(id(call), ()))
        for call in calls
    )


def retry_calls_under(
    nodes: list[ast.stmt], function: ast.FunctionDef | ast.AsyncFunctionDef, ctx: ModuleContext
) -> tuple[RetryCall, ...]:
    """Retry calls anywhere under ``nodes`` (nested functions excluded), without statement context."""
    calls = [
        node
        for node in walk_body(list(nodes))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "retry"
    ]
    if not calls:
        return ()
    locals_ = frozenset(local_names(function))
    return tuple(_retry_call(call, None, locals_, ctx) for call in calls)


def handler_types(handler: ast.ExceptHandler, ctx: ModuleContext) -> tuple[str, ...]:
    """Qualified names of the classes an ``except`` clause catches; ``()`` for a bare ``except:``."""
    if handler.type is None:
        return ()
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return tuple(
        qualname for kind in types if isinstance(kind, ast.Name | ast.Attribute) and (qualname := ctx.qualname(kind))
    )


def _retry_call(
    call: ast.Call,
    statement: tuple[StatementKind, ast.stmt] | None,
    locals_: frozenset[str],
    ctx: ModuleContext,
) -> RetryCall:
    assert isinstance(call.func, ast.Attribute)
    receiver = call.func.value
    head = receiver
    while isinstance(head, ast.Attribute):
        head = head.value
    keywords = {keyword.arg: keyword.value for keyword in call.keywords}
    kind: StatementKind = "other"
    node: ast.AST = call
    if statement is not None:
        kind, node = statement
    span, statement_span = ctx.span(call), ctx.span(node)
    return RetryCall(
        line=span.line,
        col=span.col,
        statement=kind,
        statement_line=statement_span.line,
        statement_col=statement_span.col,
        receiver=ctx.segment(receiver),
        receiver_qualname=ctx.qualname(receiver) if isinstance(receiver, ast.Name | ast.Attribute) else None,
        receiver_is_local=isinstance(head, ast.Name) and head.id in locals_,
        has_delay=bool({"countdown", "eta", None} & set(keywords)) or len(call.args) >= 5,
        throws=not _is_false(keywords.get("throw", call.args[3] if len(call.args) > 3 else None)),
        max_retries=_max_retries(keywords.get("max_retries", call.args[6] if len(call.args) > 6 else None)),
    )


def _is_false(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is False


def _max_retries(node: ast.expr | None) -> Literal["absent", "none", "set"]:
    if node is None:
        return "absent"
    return "none" if isinstance(node, ast.Constant) and node.value is None else "set"


def own_retry_calls(task: Task, calls: Iterable[RetryCall]) -> list[RetryCall]:
    """The calls that retry ``task`` itself: through its bound parameter, its name or ``current_task``."""
    bound_name = first_positional(task) if task.is_bound else None
    by_name = (task.qualname, *CURRENT_TASK)
    return [
        call
        for call in calls
        if (bound_name is not None and call.receiver == bound_name)
        or (not call.receiver_is_local and call.receiver_qualname in by_name)
    ]


def first_positional(task: Task) -> str | None:
    return next((p.name for p in task.function.params if p.kind in ("posonly", "positional")), None)


def options_hidden(task: Task) -> bool:
    """Options may come from somewhere not visible here: ``base=``, or ``**options``."""
    return task.decorator.star_kwargs or task.option("base") is not None


def exception_names(option: Option | None) -> tuple[str, ...]:
    """The exception classes an option like ``autoretry_for=(A, m.B)`` names, qualified."""
    if option is None:
        return ()
    return tuple(name for name in option.names if not any(other.startswith(f"{name}.") for other in option.names))


def is_does_not_exist(qualname: str) -> bool:
    return qualname.endswith(".DoesNotExist")


class BackoffPolicy(Struct, frozen=True):
    factor: int
    cap: int
    jitter: bool


def backoff_policy(task: Task, settings: Settings) -> BackoffPolicy:
    """The exponential policy the task's own options ask for, else the configured defaults."""
    factor = _int_option(task.option("retry_backoff"))
    cap = _int_option(task.option("retry_backoff_max"))
    jitter = task.option("retry_jitter")
    return BackoffPolicy(
        factor=max(1, factor or 1),
        cap=cap if cap is not None else settings.retry_backoff_max,
        jitter=not (jitter is not None and jitter.is_literal and jitter.literal is False),
    )


def _int_option(option: Option | None) -> int | None:
    if option is None or not option.is_literal or isinstance(option.literal, str):
        return None
    if isinstance(option.literal, bool | int | float):
        return int(option.literal)
    return None


class CountdownEdit(Struct, frozen=True):
    policy: BackoffPolicy
    raise_it: bool
    fixed: int | None = None
    """A fixed countdown instead of the backoff (retries of database/lock errors)."""


def countdown_blocker(task: Task) -> str | None:
    facts = task.module
    if BACKOFF_HELPER in facts.module_names and facts.import_map().get(BACKOFF_HELPER) != (
        f"{BACKOFF_HELPER_MODULE}.{BACKOFF_HELPER}"
    ):
        return f"the module already binds `{BACKOFF_HELPER}` to something else"
    return None


def retries_internal_error(task: Task, call: RetryCall) -> bool:
    """The call retries only database/lock errors, and the task states no backoff of its own."""
    if any(task.option(name) is not None for name in BACKOFF_OPTIONS):
        return False
    return bool(call.handler_catches) and all(is_db_or_lock(name) for name in call.handler_catches)


def countdown_edits(task: Task, calls: Iterable[RetryCall], rule: str, policy: BackoffPolicy) -> Iterator[Edit]:
    for call in calls:
        if call.has_delay:
            continue
        fixed = DB_RETRY_DELAY if retries_internal_error(task, call) else None
        kind: NodeKind
        if call.throws and (call.statement == "Expr" or call.statement == "Return"):  # noqa: PLR1714 - narrows for mypy
            kind = call.statement
            line, col, raise_it = call.statement_line, call.statement_col, True
        else:
            kind, line, col, raise_it = "Call", call.line, call.col, False
        yield Edit(task.path, kind, line, col, rule, CountdownEdit(policy, raise_it, fixed))


def apply_countdown(node: cst.CSTNode, payload: CountdownEdit, add_import: Callable[[str, str], None]) -> cst.CSTNode:
    """Add the countdown to the retry call in ``node``; make the statement ``raise`` when asked.

    Idempotent: a node already carrying ``countdown`` (another rule's edit of
    the same call ran first) is only turned into ``raise`` if still needed.
    """
    call = _retry_call_in(node)
    if call is None:
        return node
    if payload.fixed is not None:
        new_call = _with_fixed_countdown(call, payload.fixed)
    else:
        new_call = _with_countdown(call, payload.policy)
        if new_call is not call:
            add_import(BACKOFF_HELPER_MODULE, BACKOFF_HELPER)
    if isinstance(node, cst.Call):
        return new_call
    if isinstance(node, cst.Raise):
        return node.with_changes(exc=new_call)
    if isinstance(node, cst.Expr | cst.Return) and payload.raise_it:
        return cst.Raise(exc=new_call, whitespace_after_raise=cst.SimpleWhitespace(" "), semicolon=node.semicolon)
    return node


def _retry_call_in(node: cst.CSTNode) -> cst.Call | None:
    value: cst.CSTNode | None = node
    if isinstance(node, cst.Expr | cst.Return):
        value = node.value
    elif isinstance(node, cst.Raise):
        value = node.exc
    if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and value.func.attr.value == "retry":
        return value
    return None


def _has_delay(call: cst.Call) -> bool:
    return any(arg.keyword is not None and arg.keyword.value in ("countdown", "eta") for arg in call.args)


def _with_fixed_countdown(call: cst.Call, seconds: int) -> cst.Call:
    if _has_delay(call):
        return call
    edited = apply_keyword_edit(call, KeywordEdit(callee_attr="retry", add=(("countdown", str(seconds)),)))
    assert isinstance(edited, cst.Call)
    return edited


def _with_countdown(call: cst.Call, policy: BackoffPolicy) -> cst.Call:
    if _has_delay(call):
        return call
    assert isinstance(call.func, cst.Attribute)
    receiver = cst.Module([]).code_for_node(call.func.value)
    expression = (
        f"{BACKOFF_HELPER}(factor={policy.factor}, retries={receiver}.request.retries, "
        f"maximum={policy.cap}, full_jitter={policy.jitter})"
    )
    one_line = is_one_line(call)
    edited = apply_keyword_edit(call, KeywordEdit(callee_attr="retry", add=(("countdown", expression),)))
    assert isinstance(edited, cst.Call)
    if one_line:
        edited = one_argument_a_line(edited)
    indent = _argument_indent(edited)
    if indent is None:
        return edited
    return edited.with_changes(args=[*edited.args[:-1], _helper_arguments_on_their_own_line(edited.args[-1], indent)])


def _argument_indent(call: cst.Call) -> str | None:
    """The extra indentation of a call's arguments when they sit one a line; None otherwise."""
    opening = call.whitespace_before_args
    if isinstance(opening, cst.ParenthesizedWhitespace) and opening.indent:
        return opening.last_line.value
    return None


def _helper_arguments_on_their_own_line(arg: cst.Arg, indent: str) -> cst.Arg:
    """``countdown=helper(\\n    factor=..., ...\\n)``: the helper's arguments one level deeper."""
    helper = arg.value
    if not isinstance(helper, cst.Call) or not helper.args:
        return arg
    deeper = cst.ParenthesizedWhitespace(indent=True, last_line=cst.SimpleWhitespace(indent + "    "))
    closing = cst.ParenthesizedWhitespace(indent=True, last_line=cst.SimpleWhitespace(indent))
    inner = [a.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))) for a in helper.args]
    inner[-1] = inner[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT, whitespace_after_arg=closing)
    return arg.with_changes(value=helper.with_changes(whitespace_before_args=deeper, args=inner))


class RetryCallsRule(Rule):
    """Base of the rules that read a task's own ``self.retry(...)`` calls (computed once per function)."""

    @classmethod
    def extract_function(
        cls, node: ast.FunctionDef | ast.AsyncFunctionDef, ctx: ModuleContext
    ) -> tuple[RetryCall, ...] | None:
        return extract_retry_calls(node, ctx) or None

    def retry_calls(self, task: Task) -> list[RetryCall]:
        return own_retry_calls(task, task.function.extras.get(self.code, ()))
