"""imports.add_imports gives exactly what LibCST's AddImportsVisitor gives, or leaves the case to it."""

from __future__ import annotations

import libcst as cst
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor

from celery_codemods.imports import ImportRequest, add_imports

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
    ImportRequest("logging"),
    ImportRequest("uuid"),
    ImportRequest("functools"),
    ImportRequest("celery.exceptions"),
    ImportRequest("functools", "partial"),
    ImportRequest("celery", "shared_task"),
    ImportRequest("celery", "group"),
    ImportRequest("celery.exceptions", "Retry"),
    ImportRequest("celery.exceptions", "Ignore"),
    ImportRequest("django.db", "transaction"),
    ImportRequest("celery.utils.log", "get_task_logger"),
    ImportRequest("pkg.models", "Order"),
    ImportRequest("logging", None, "log"),
    ImportRequest("os", None, "operating_system"),
    ImportRequest("celery", "shared_task", "st"),
    ImportRequest("celery.exceptions", "Retry", "R"),
    ImportRequest("celery.exceptions", "Reject", "R"),
]


def _visitor_code(module: cst.Module, requests: list[ImportRequest], package: str | None) -> str:
    context = CodemodContext(full_module_name=package, full_package_name=package)
    for request in requests:
        AddImportsVisitor.add_needed_import(context, *request)
    return AddImportsVisitor(context).transform_module(module).code


def _assert_same_as_the_visitor(source: str, requests: list[ImportRequest], package: str | None) -> bool:
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
    lines: list[str], requests: list[ImportRequest], package: str | None, newline: str
) -> None:
    source = "".join(f"{line}\n" for line in lines).replace("\n", newline)
    _assert_same_as_the_visitor(source, requests, package)


@pytest.mark.parametrize(
    ("source", "requests"),
    [
        ('"""Doc."""\nimport os\n\nX = 1\n', [ImportRequest("logging")]),
        ("import os\n# about X\nX = 1\n", [ImportRequest("logging")]),
        ("import os\n\n# about X\nX = 1\n", [ImportRequest("celery", "shared_task")]),
        ("from celery import group\nfrom celery import chain\n", [ImportRequest("celery", "shared_task")]),
        (
            "from celery import (\n    group,\n)\n",
            [ImportRequest("celery", "shared_task"), ImportRequest("celery", "a", "b")],
        ),
        ("import logging\nX = 1\nimport uuid\n", [ImportRequest("logging"), ImportRequest("uuid")]),
        ("from celery.exceptions import *\n", [ImportRequest("celery.exceptions", "Retry")]),
        ("X = 1\n", [ImportRequest("b"), ImportRequest("a"), ImportRequest("z", "y"), ImportRequest("c", None, "d")]),
        ("", [ImportRequest("logging")]),
        ("import logging as log\n", [ImportRequest("logging", None, "log")]),
        ("from .models import Order\n", [ImportRequest("pkg.models", "Order")]),
    ],
)
def test_handled_shapes_match_the_visitor(source: str, requests: list[ImportRequest]) -> None:
    assert _assert_same_as_the_visitor(source, requests, "pkg.tasks")


@pytest.mark.parametrize(
    "requests",
    [
        [ImportRequest("..models", "Order")],
        [ImportRequest("__future__", "annotations")],
        [ImportRequest("celery", "shared_task"), ImportRequest("celery", "shared_task", "st")],
    ],
    ids=["relative", "future", "one-name-with-and-without-alias"],
)
def test_what_it_does_not_handle_is_left_to_the_visitor(requests: list[ImportRequest]) -> None:
    assert add_imports(cst.parse_module("import os\n"), requests, "pkg.tasks") is None
