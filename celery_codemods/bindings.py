"""How often a module binds and reads names, from the stdlib ``ast``.

When a module binds a name exactly once (its import, say), every read of that
name anywhere in the module reads that binding: Python looks it up as a
global from every scope that does not bind it, and no scope does. The rewrite
uses this to skip LibCST's scope analysis, which costs more than parsing the
module, and asks that analysis only when a name is bound more than once.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Collection, Iterator

_NAMED = (
    ast.ExceptHandler,
    ast.MatchAs,
    ast.MatchStar,
    *(getattr(ast, kind) for kind in ("TypeVar", "ParamSpec", "TypeVarTuple") if hasattr(ast, kind)),
)
"""Nodes whose ``name`` (a string, maybe None) is a binding."""


def name_counts(tree: ast.AST, names: Collection[str]) -> tuple[Counter[str], Counter[str]]:
    """(bindings, reads) of each of ``names`` anywhere in ``tree``; a star import binds every name."""
    bound: Counter[str] = Counter()
    read: Counter[str] = Counter()
    for node in ast.walk(tree):
        if type(node) is ast.Name:
            if node.id in names:
                (read if type(node.ctx) is ast.Load else bound)[node.id] += 1
            continue
        for name in _bound_names(node):
            if name == "*":
                bound.update(names)
            elif name in names:
                bound[name] += 1
    return bound, read


def _bound_names(node: ast.AST) -> Iterator[str]:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        yield node.name
    elif isinstance(node, ast.arg):
        yield node.arg
    elif isinstance(node, ast.alias):
        yield node.asname or node.name.partition(".")[0]
    elif isinstance(node, ast.Global | ast.Nonlocal):
        yield from node.names
    elif isinstance(node, _NAMED):
        name = getattr(node, "name", None)
        if name:
            yield name
    elif isinstance(node, ast.MatchMapping) and node.rest:
        yield node.rest


def bound_once_and_read(tree: ast.AST, name: str) -> bool:
    """``name`` has one binding in the module, and something reads it."""
    bound, read = name_counts(tree, (name,))
    return bound[name] == 1 and read[name] > 0
