"""What the plan produces: findings, and the change sets that fix them."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

from msgspec import Struct

if TYPE_CHECKING:
    from celery_codemods.settings import Settings

NodeKind = Literal[
    "Module",
    "FunctionDef",
    "ClassDef",
    "Call",
    "ExceptHandler",
    "Assign",
    "Dict",
    "Return",
    "Name",
    "Attribute",
    "Expr",
    "Raise",
]


class Safety(StrEnum):
    SAFE = "safe"
    UNSAFE = "unsafe"


class Edit(Struct, frozen=True):
    """One node to change: found by kind and start position in the original file.

    ``payload`` is the rule's own description of the change; the rule that
    planned the edit is the one that applies it.
    """

    path: str
    node: NodeKind
    line: int
    col: int
    rule: str
    payload: Any = None


class Fix(Struct, frozen=True):
    """A change set: applied whole or not at all, possibly across files."""

    description: str
    safety: Safety
    edits: tuple[Edit, ...]

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(edit.path for edit in self.edits))


class Finding(Struct, frozen=True):
    path: str
    line: int
    col: int
    code: str
    name: str
    message: str
    end_line: int | None = None
    end_col: int | None = None
    fix: Fix | None = None
    blockers: tuple[str, ...] = ()
    """For a change set that was withheld: each site that blocks it, as ``path:line: why``."""
    suppress_lines: tuple[int, ...] = ()
    """Other lines whose suppression comment also silences this finding (a task's decorators)."""

    @property
    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.line, self.col, self.code)


class FileError(Struct, frozen=True):
    """A file that could not be read, analysed or written, and why."""

    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"


def fix_allowed(finding: Finding, settings: Settings) -> bool:
    return finding.fix is not None and (finding.fix.safety is Safety.SAFE or settings.unsafe_fixes)
