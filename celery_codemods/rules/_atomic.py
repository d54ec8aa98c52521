"""``transaction.atomic()`` regions: with-blocks and decorated functions, by qualified name."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from msgspec import Struct

from celery_codemods.index.context import ModuleContext
from celery_codemods.rules._ast_walk import walk_body

ATOMIC = "django.db.transaction.atomic"

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


class Region(Struct, frozen=True):
    """The body of one atomic block or atomic-decorated function."""

    owner: ast.AST
    body: list[ast.stmt]
    line: int
    using: str | None
    """A literal alias as written, None for the default database, "?" when computed."""
    function: FunctionNode | None


def decorated_region(node: FunctionNode, ctx: ModuleContext) -> Region | None:
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(target, ast.Name | ast.Attribute) and ctx.qualname(target) == ATOMIC:
            using = _using(decorator, ctx) if isinstance(decorator, ast.Call) else None
            return Region(node, node.body, node.lineno, using, node)
    return None


def with_regions(node: ast.With | ast.AsyncWith, function: FunctionNode | None, ctx: ModuleContext) -> Iterator[Region]:
    for item in node.items:
        manager = item.context_expr
        if (
            isinstance(manager, ast.Call)
            and isinstance(manager.func, ast.Name | ast.Attribute)
            and ctx.qualname(manager.func) == ATOMIC
        ):
            yield Region(node, node.body, node.lineno, _using(manager, ctx), function)


def atomic_node_ids(function: FunctionNode, ctx: ModuleContext) -> frozenset[int]:
    """Ids of the nodes of ``function``'s own scope that run inside an atomic region."""
    if decorated_region(function, ctx) is not None:
        return frozenset(id(node) for node in walk_body(function.body))
    inside: set[int] = set()
    for node in walk_body(function.body):
        if isinstance(node, ast.With | ast.AsyncWith) and any(with_regions(node, function, ctx)):
            inside.update(id(sub) for sub in walk_body(node.body))
    return frozenset(inside)


def _using(call: ast.Call, ctx: ModuleContext) -> str | None:
    value = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "using"), None)
    if value is None or (isinstance(value, ast.Constant) and value.value is None):
        return None
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        return ctx.segment(value)
    return "?"
