"""The contract every rule follows.

A rule is a class in its own module under ``rules/``; it is registered by
being there. Its module docstring is its documentation, in the sections
``What it does`` / ``Why is this bad?`` / ``Example`` / ``Use instead`` /
``Fix safety`` / ``Options`` / ``References``.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import libcst as cst

from celery_codemods.findings import Edit, Finding, Fix

if TYPE_CHECKING:
    from celery_codemods.index.context import ModuleContext
    from celery_codemods.index.project import Project, Task
    from celery_codemods.rewrite import EditContext
    from celery_codemods.settings import Settings

FixAvailability = Literal["always", "sometimes", "never"]


class Rule:
    code: ClassVar[str]
    name: ClassVar[str]
    summary: ClassVar[str]
    fix_availability: ClassVar[FixAvailability] = "never"
    preview: ClassVar[bool] = False
    enabled_by_default: ClassVar[bool] = True
    fix_note: ClassVar[str] = ""
    """Printed after a `fix` that applied this rule (what to check before deploying)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @classmethod
    def docs(cls) -> str:
        module = sys.modules[cls.__module__]
        return (module.__doc__ or "").strip()

    # Index pass (worker processes): facts this rule needs, picklable, or None.
    @classmethod
    def extract_function(cls, node: ast.FunctionDef | ast.AsyncFunctionDef, ctx: ModuleContext) -> Any:
        return None

    @classmethod
    def extract_module(cls, tree: ast.Module, ctx: ModuleContext) -> Any:
        return None

    @classmethod
    def extract_outline(cls, tree: ast.Module, ctx: ModuleContext) -> Any:
        """Facts this rule needs from a module that defines and calls no task (one that only
        defines models, say): only those read across modules, such as class hierarchies."""
        return None

    # Plan pass (one process, merged index).
    def check(self, project: Project) -> Iterable[Finding]:
        return ()

    def task_finding(
        self, task: Task, message: str, *, line: int | None = None, col: int | None = None, fix: Fix | None = None
    ) -> Finding:
        """A finding about ``task``: at its task decorator unless told where, silenced on any decorator line."""
        span = task.decorator.span
        return Finding(
            path=task.path,
            line=span.line if line is None else line,
            col=span.col if col is None else col,
            code=self.code,
            name=self.name,
            message=message,
            fix=fix,
            suppress_lines=tuple(decorator.span.line for decorator in task.function.decorators),
        )

    # Rewrite pass: apply one of this rule's edits to the node it targets.
    def apply(self, node: cst.CSTNode, edit: Edit, ctx: EditContext) -> cst.CSTNode:
        return node
