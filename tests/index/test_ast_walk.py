"""The index's own AST walk must see exactly the nodes ``ast`` itself does."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from celery_codemods.rules._ast_walk import (
    HOLDS_STATEMENTS,
    children_in_reverse,
    children_reversed,
    forget_walks,
    remember,
    walk_once,
    walk_statements,
)

_EVERY_FORM = """
from . import a as b, c
import x.y
global_name: int = 1
def f(p, /, q=1, *args, r, s=2, **kw) -> "T":
    global g
    nonlocal_ = lambda z: z
    async def inner():
        async with w as (v, u):
            await v
        async for i in u:
            yield i
    with open(p) as fh, x:
        pass
    try:
        del q
    except (ValueError, TypeError) as exc:
        raise RuntimeError("x") from exc
    else:
        pass
    finally:
        pass
    match q:
        case {"k": 1, **rest}:
            pass
        case Point(x=0, y=[1, *others]) | None:
            pass
        case str() as s if s:
            pass
        case True:
            pass
    return {**kw, "a": [i async for i in u if i]}, f"{q!r:>{s}}", q[1:2, ...], (y := 3), not q, -q, q if s else r
class C(Base, metaclass=M):
    x: int
    def m(self): nonlocal_ = 1
assert f, "msg"
"""


def _expected(node: ast.AST) -> list[ast.AST]:
    return [child for child in ast.iter_child_nodes(node) if not isinstance(child, ast.expr_context)]


def test_children_are_the_ast_modules_own_for_every_statement_and_expression_form() -> None:
    tree = ast.parse(_EVERY_FORM)
    checked = 0
    for node in ast.walk(tree):
        assert children_in_reverse(node)[::-1] == _expected(node), ast.dump(node)[:80]
        checked += 1
    assert checked > 150


@pytest.mark.parametrize("source_file", sorted(Path("celery_codemods/index").glob("*.py"))[:6])
def test_remembered_children_match_fresh_ones_on_real_sources(source_file: Path) -> None:
    tree = ast.parse(source_file.read_text())
    for node in ast.walk(tree):
        assert children_reversed(node) == children_in_reverse(node)
        assert children_reversed(node)[::-1] == _expected(node)
    forget_walks()


def test_walk_statements_finds_every_statement_in_source_order() -> None:
    tree = ast.parse(_EVERY_FORM)
    found = list(walk_statements(tree))
    assert found[0] is tree
    expected = [node for node in ast.walk(tree) if isinstance(node, HOLDS_STATEMENTS)]
    assert sorted(map(id, found[1:])) == sorted(map(id, expected))
    lines = [node.lineno for node in found[1:] if isinstance(node, ast.stmt)]
    assert lines == sorted(lines)  # pre-order: a statement before the ones it holds and the next ones


def test_remember_computes_once_per_node_and_context_until_forgotten() -> None:
    calls: list[tuple[int, str]] = []

    def compute(node: ast.AST, ctx: str) -> tuple[int, str]:
        calls.append((id(node), ctx))
        return len(calls), ctx

    tree = ast.parse("x = 1")
    first = remember("test", tree, "ctx", compute)
    assert remember("test", tree, "ctx", compute) is first
    assert remember("test", tree, "other", compute) == (2, "other")
    assert remember("test", ast.parse("x = 1"), "ctx", compute)[0] == 3
    forget_walks()
    assert remember("test", tree, "ctx", compute) == (4, "ctx")
    forget_walks()


def test_walk_once_yields_every_node_ast_walk_does_but_the_context_markers() -> None:
    tree = ast.parse(
        "import os\n@app.task(bind=True, **options)\ndef f(self, *a, k=1, **kw):\n"
        "    with open(x) as y, z:\n        match q:\n            case [1, *rest] if rest:\n"
        "                return [i async for i in y if i] + {**kw}\n"
        "    try:\n        del a[0]\n    except* E as e:\n        raise\n"
    )
    for module in (tree, ast.parse(_EVERY_FORM)):
        expected = [node for node in ast.walk(module) if not isinstance(node, ast.expr_context)]
        found = list(walk_once(module))
        assert len(found) == len(expected)
        assert {id(node) for node in found} == {id(node) for node in expected}
