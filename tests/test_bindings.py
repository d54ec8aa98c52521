"""Counting a module's bindings and reads of names, and what the rewrite settles with them."""

from __future__ import annotations

import ast
import textwrap

import pytest

from celery_codemods.bindings import bound_once_and_read, name_counts
from celery_codemods.imports import ImportRequest
from celery_codemods.rewrite import _removals_pending

EVERY_KIND_OF_BINDING = """\
    from celery.task import task
    import task.sub
    def f(task=1): return task
    class A:
        task = 2
    try: pass
    except E as task: pass
    match x:
        case {"a": task, **task}: pass
        case [*task]: pass
    def g():
        global task
    x.task
    f(task=1)
    lambda task: 0
    from x import *
    """


def test_every_kind_of_binding_is_counted_and_attributes_and_keywords_are_not_reads() -> None:
    bound, read = name_counts(ast.parse(textwrap.dedent(EVERY_KIND_OF_BINDING)), {"task", "A", "f"})
    # import, dotted import, parameter, class attribute, except, two match captures, star capture,
    # global, lambda parameter, star import
    assert bound == {"task": 11, "A": 2, "f": 2}
    assert read == {"task": 1, "f": 1}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from m import x\nx()\n", True),
        ("from m import x\n\n\ndef f():\n    return [x for _ in ()]\n", True),
        ("from m import x\n", False),  # never read
        ("from m import x\n\n\ndef f(x):\n    return x\n", False),  # the read is the parameter
        ("from m import x\nx = x()\n", False),
    ],
)
def test_bound_once_and_read(source: str, expected: bool) -> None:
    assert bound_once_and_read(ast.parse(source), "x") is expected


@pytest.mark.parametrize(
    ("source", "pending"),
    [
        ("from celery import current_task\ncurrent_task.retry()\n", False),  # still used: kept
        ("import os\n", False),  # nothing to remove
        ("from celery import current_task as ct\n", False),  # another alias: not the import asked for
        ("from celery import current_task\n", True),  # unused: the visitor removes it
        ("from celery import current_task\n\n\ndef f(current_task):\n    return current_task\n", True),
        ("from . import current_task\ncurrent_task.retry()\n", False),
    ],
)
def test_removal_requests_settled_without_scope_analysis(source: str, pending: bool) -> None:
    request = ImportRequest("celery", "current_task", None)
    assert _removals_pending(ast.parse(source), [request]) == ([request] if pending else [])


def test_a_module_import_removal_is_always_left_to_the_visitor() -> None:
    request = ImportRequest("os", None, None)
    assert _removals_pending(ast.parse("import os\nos.getcwd()\n"), [request]) == [request]
