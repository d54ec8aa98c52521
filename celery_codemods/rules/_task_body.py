"""What a task body does, read with the stdlib ``ast``: loops over querysets, locks, logging, fan-out.

Shared by the idempotency and long-task rules (CEL511-CEL515). Everything
here looks at one function's own scope (not nested functions or lambdas).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from typing import TypeGuard

from msgspec import Struct

from celery_codemods.index.context import ModuleContext
from celery_codemods.rules._ast_walk import walk_body

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef

LOG_METHODS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical", "fatal", "log"})
# Sending work to other tasks: per item, or in chunks.
SPAWN_METHODS = frozenset(
    {"delay", "apply_async", "s", "si", "signature", "map", "starmap", "chunks", "send_task", "delay_on_commit"}
)
SPAWN_CALLABLES = frozenset(
    {"celery.group", "celery.chord", "celery.chain", "celery.canvas.group", "celery.canvas.chord"}
)
_MANAGERS = frozenset({"objects", "_default_manager", "_base_manager"})
_QUERYSET_METHODS = frozenset(
    {
        "all",
        "filter",
        "exclude",
        "order_by",
        "select_related",
        "prefetch_related",
        "only",
        "defer",
        "distinct",
        "annotate",
        "select_for_update",
        "using",
        "iterator",
        "values",
        "values_list",
        "extra",
        "reverse",
    }
)
# Calls that do no work of their own in a loop body: collecting, formatting, converting.
_TRIVIAL_CALLS = frozenset(
    {
        "append",
        "add",
        "extend",
        "appendleft",
        "insert",
        "setdefault",
        "get",
        "items",
        "keys",
        "values",
        "format",
        "join",
        "strip",
        "lower",
        "upper",
        "split",
        "startswith",
        "endswith",
        "len",
        "str",
        "int",
        "float",
        "bool",
        "isinstance",
        "getattr",
        "hasattr",
        "min",
        "max",
        "sum",
        "sorted",
        "list",
        "set",
        "dict",
        "tuple",
        "range",
        "enumerate",
        "zip",
        "now",
        "gettext",
        "_",
    }
)
_STATUS_FIELD = re.compile(r"^(?:status|state|stage|phase)$|_(?:status|state)$|^(?:status|state)_")
_SOURCE_LIMIT = 60


class QuerysetLoop(Struct, frozen=True):
    """``for item in <queryset>:`` in a task's own scope."""

    line: int
    col: int
    iterable: str
    """The iterated expression, shortened for messages."""
    logs: bool
    """The loop body logs (a progress record)."""
    spawns: bool
    """The loop body sends other tasks (fan-out)."""
    works: bool
    """The loop body calls something beyond logging and collecting (per-item work)."""
    locked: bool = False
    """The queryset is ``select_for_update()``: the rows are processed under one lock on purpose."""


class LoopFacts(Struct, frozen=True):
    loops: tuple[QuerysetLoop, ...]
    reports_progress: bool
    """The task calls ``update_state`` (``self.update_state``, ``current_task.update_state``)."""


def loop_facts(function: FunctionNode, ctx: ModuleContext) -> LoopFacts | None:
    loops = tuple(_queryset_loops(function, ctx))
    if not loops:
        return None
    reports = any(
        isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "update_state"
        for node in ast.walk(function)
    )
    return LoopFacts(loops, reports)


def _queryset_loops(function: FunctionNode, ctx: ModuleContext) -> Iterator[QuerysetLoop]:
    for node in walk_body(function.body):
        if isinstance(node, ast.For | ast.AsyncFor) and is_large_queryset(node.iter):
            span = ctx.span(node)
            body = list(walk_body(node.body))
            yield QuerysetLoop(
                line=span.line,
                col=span.col,
                iterable=shorten(ctx.segment(node.iter)),
                logs=any(is_log_call(sub) for sub in body),
                spawns=any(is_spawn(sub, ctx) for sub in body),
                works=any(is_work(sub) for sub in body),
                locked=any(is_select_for_update(sub) for sub in ast.walk(node.iter)),
            )


def is_large_queryset(node: ast.expr) -> bool:
    """A queryset from a model's manager (``Order.objects.filter(...)``), ``.iterator()``, or a wrapper
    named after querysets (``RangeQuerySetWrapper(qs)``); a related manager (``order.lines.all()``) is
    usually small and does not count."""
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Name | ast.Attribute):
            name = func.id if isinstance(func, ast.Name) else func.attr
            if "QuerySet" in name or "queryset" in name:
                return True
        if isinstance(func, ast.Attribute) and func.attr == "iterator":
            return True
    while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if node.func.attr not in _QUERYSET_METHODS:
            return False
        node = node.func.value
    return isinstance(node, ast.Attribute) and node.attr in _MANAGERS


def is_log_call(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr in LOG_METHODS or func.attr == "update_state"
    return isinstance(func, ast.Name) and func.id in {"print", *LOG_METHODS}


def is_spawn(node: ast.AST, ctx: ModuleContext) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    if isinstance(func, ast.Attribute) and (func.attr in SPAWN_METHODS or _names_a_spawn(func.attr)):
        return True
    if isinstance(func, ast.Name) and _names_a_spawn(func.id):
        return True
    return isinstance(func, ast.Name | ast.Attribute) and ctx.qualname(func) in SPAWN_CALLABLES


def _names_a_spawn(name: str) -> bool:
    """Project helpers that send a task: ``component.schedule_update()``, ``enqueue_export(...)``."""
    return name.startswith(("schedule_", "enqueue", "queue_", "spawn_", "dispatch_")) or name.endswith("_async")


def is_work(node: ast.AST) -> bool:
    """A call beyond logging, collecting and converting."""
    if not isinstance(node, ast.Call) or is_log_call(node):
        return False
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    return name not in _TRIVIAL_CALLS


def is_status_field(attr: str) -> bool:
    return bool(_STATUS_FIELD.search(attr))


def shorten(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _SOURCE_LIMIT else flat[: _SOURCE_LIMIT - 3] + "..."


def parents_of(function: FunctionNode) -> dict[int, ast.AST]:
    return {id(child): node for node in ast.walk(function) for child in ast.iter_child_nodes(node)}


def uses_lock(function: FunctionNode, ctx: ModuleContext) -> bool:
    """``select_for_update()`` anywhere, or a ``with`` whose manager is some lock (``cache.lock(...)``)."""
    for node in walk_body(function.body):
        if is_select_for_update(node):
            return True
        if isinstance(node, ast.With | ast.AsyncWith) and any(
            "lock" in ctx.segment(item.context_expr).lower() for item in node.items
        ):
            return True
    return False


def object_attribute(node: ast.AST) -> tuple[str, str] | None:
    """``("order", "status")`` for ``order.status``."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return node.value.id, node.attr
    return None


def save_lines(function: FunctionNode) -> dict[str, list[int]]:
    """Lines of ``name.save(...)`` per object name."""
    saves: dict[str, list[int]] = {}
    for node in walk_body(function.body):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in {"save", "asave"}
            and isinstance(node.func.value, ast.Name)
        ):
            saves.setdefault(node.func.value.id, []).append(node.lineno)
    return saves


def is_select_for_update(node: ast.AST) -> TypeGuard[ast.Call]:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "select_for_update"
