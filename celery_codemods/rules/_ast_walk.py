"""Walking a function body without entering nested scopes."""

from __future__ import annotations

import ast
from collections.abc import Iterator

_NESTED_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


def walk_body(nodes: list[ast.stmt] | list[ast.AST]) -> Iterator[ast.AST]:
    """Every node under ``nodes``, stopping at nested functions, classes and lambdas."""
    stack: list[ast.AST] = list(reversed(nodes))
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, _NESTED_SCOPES):
            continue
        stack.extend(reversed(list(ast.iter_child_nodes(node))))


def walk_function(node: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterator[ast.AST]:
    return walk_body(node.body)
