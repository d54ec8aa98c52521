"""imports.add_imports gives exactly what LibCST's AddImportsVisitor gives, or leaves the case to it."""

from __future__ import annotations

import libcst as cst
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor, ImportItem

from celery_codemods.imports import add_imports

STATEMENTS = [
    '"""Doc."""',
    "__strict__ = True",
    "import logging",
    "import os, sys",
    "import celery.exceptions",
    "import logging as log",
    "import functools; import uuid",
    "from celery import shared_task",
    "from celery import (\n    group,\n    shared_task as st,\n)",
    "from celery import group  # trailing",
    "from celery.exceptions import *",
    "from celery.exceptions import Retry",
    "from celery.exceptions import Reject as R, Ignore",
    "from . import sibling",
    "from .models import Order",
    "from ..pkg import thing",
    "from django.db import transaction as tx",
    "# a comment",
    "",
    "X = 1",
    "if TYPE_CHECKING:\n    import typing",
    "def f():\n    pass",
]

REQUESTS = [
    ImportItem("logging"),
    ImportItem("uuid"),
    ImportItem("functools"),
    ImportItem("celery.exceptions"),
    ImportItem("functools", "partial"),
    ImportItem("celery", "shared_task"),
    ImportItem("celery", "group"),
    ImportItem("celery.exceptions", "Retry"),
    ImportItem("celery.exceptions", "Ignore"),
    ImportItem("django.db", "transaction"),
    ImportItem("celery.utils.log", "get_task_logger"),
    ImportItem("pkg.models", "Order"),
    ImportItem("logging", None, "log"),
    ImportItem("os", None, "operating_system"),
    ImportItem("celery", "shared_task", "st"),
    ImportItem("celery.exceptions", "Retry", "R"),
    ImportItem("celery.exceptions", "Reject", "R"),
]


def _visitor_code(module: cst.Module, requests: list[ImportItem], package: str | None) -> str:
    context = CodemodContext(full_module_name=package, full_package_name=package)
    context.scratch[AddImportsVisitor.CONTEXT_KEY] = list(requests)
    return AddImportsVisitor(context).transform_module(module).code


def _assert_same_as_the_visitor(source: str, requests: list[ImportItem], package: str | None) -> bool:
    """True when add_imports handled the case itself."""
    module = cst.parse_module(source)
    try:
        expected = _visitor_code(module, requests, package)
    except (TypeError, ValueError):
        assert add_imports(module, requests, package) is None
        return False
    result = add_imports(module, requests, package)
    if result is None:
        return False
    assert result.code == expected
    return True


@settings(max_examples=300, deadline=None)
@given(
    lines=st.lists(st.sampled_from(STATEMENTS), max_size=8),
    requests=st.lists(st.sampled_from(REQUESTS), min_size=1, max_size=4),
    package=st.sampled_from(["pkg.tasks", "tasks", None]),
    newline=st.sampled_from(["\n", "\r\n"]),
)
def test_the_same_result_as_add_imports_visitor(
    lines: list[str], requests: list[ImportItem], package: str | None, newline: str
) -> None:
    source = "".join(f"{line}\n" for line in lines).replace("\n", newline)
    _assert_same_as_the_visitor(source, requests, package)


@pytest.mark.parametrize(
    ("source", "requests"),
    [
        ('"""Doc."""\nimport os\n\nX = 1\n', [ImportItem("logging")]),
        ("import os\n# about X\nX = 1\n", [ImportItem("logging")]),
        ("import os\n\n# about X\nX = 1\n", [ImportItem("celery", "shared_task")]),
        ("from celery import group\nfrom celery import chain\n", [ImportItem("celery", "shared_task")]),
        (
            "from celery import (\n    group,\n)\n",
            [ImportItem("celery", "shared_task"), ImportItem("celery", "a", "b")],
        ),
        ("import logging\nX = 1\nimport uuid\n", [ImportItem("logging"), ImportItem("uuid")]),
        ("from celery.exceptions import *\n", [ImportItem("celery.exceptions", "Retry")]),
        ("X = 1\n", [ImportItem("b"), ImportItem("a"), ImportItem("z", "y"), ImportItem("c", None, "d")]),
        ("", [ImportItem("logging")]),
        ("import logging as log\n", [ImportItem("logging", None, "log")]),
        ("from .models import Order\n", [ImportItem("pkg.models", "Order")]),
    ],
)
def test_handled_shapes_match_the_visitor(source: str, requests: list[ImportItem]) -> None:
    assert _assert_same_as_the_visitor(source, requests, "pkg.tasks")


@pytest.mark.parametrize(
    "requests",
    [
        [ImportItem("..models", "Order")],
        [ImportItem("__future__", "annotations")],
        [ImportItem("celery", "shared_task"), ImportItem("celery", "shared_task", "st")],
    ],
    ids=["relative", "future", "one-name-with-and-without-alias"],
)
def test_what_it_does_not_handle_is_left_to_the_visitor(requests: list[ImportItem]) -> None:
    assert add_imports(cst.parse_module("import os\n"), requests, "pkg.tasks") is None
