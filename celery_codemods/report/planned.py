"""Which planned file changes carry each finding's fix, for machine output.

Machine formats plan every applicable fix once, together, exactly as
``fix --diff`` does (no per-fix planning: that would cost a rewrite per
fix). A file's planned change carries every fix planned in that file, so a
finding's fix is described two ways: the changes of the files its own
change set touches, and its *group*: the change sets linked by sharing a
file. Applying a whole group is always consistent (no change set is left
half-applied); when a group holds one change set, its changes are exactly
that fix.
"""

from __future__ import annotations

import difflib

from msgspec import Struct

from celery_codemods.api import FileChange, FixPlan
from celery_codemods.findings import Finding


class Replacement(Struct, frozen=True):
    """Lines ``start_line`` .. ``end_line`` - 1 (1-based) of the old file become ``text``.

    ``start_line == end_line`` is an insertion before ``start_line``.
    """

    start_line: int
    end_line: int
    text: str


class PlannedFixes:
    def __init__(self, plan: FixPlan) -> None:
        self.plan = plan
        self.changes: tuple[FileChange, ...] = plan.changes
        self._change_index = {change.path: index for index, change in enumerate(self.changes)}
        self._group_of = _groups(self.changes)
        self.group_ids = _number_groups(self._group_of)
        self.withheld = {id(finding): reason for finding, reason in plan.withheld}

    def change_ids(self, finding: Finding) -> tuple[int, ...]:
        """Indexes into ``changes`` of the files the finding's own change set changes; () when not planned."""
        if id(finding) not in self._group_of or finding.fix is None:
            return ()
        return tuple(self._change_index[path] for path in finding.fix.paths if path in self._change_index)

    def group_change_ids(self, finding: Finding) -> tuple[int, ...]:
        """Indexes into ``changes`` of every file the finding's group changes; () when not planned."""
        return self._group_of.get(id(finding), ())

    def group_of_change(self, index: int) -> int:
        return self.group_ids[next(group for group in self.group_ids if index in group)]

    def group_id(self, finding: Finding) -> int | None:
        members = self.group_change_ids(finding)
        return self.group_ids[members] if members else None

    def group_changes(self, finding: Finding) -> tuple[FileChange, ...]:
        return tuple(self.changes[index] for index in self.group_change_ids(finding))

    def withheld_reason(self, finding: Finding) -> str | None:
        return self.withheld.get(id(finding))


def _groups(changes: tuple[FileChange, ...]) -> dict[int, tuple[int, ...]]:
    """Finding id -> the change indexes of its group (union of changes linked by a shared fix)."""
    parent = list(range(len(changes)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    first_change_of: dict[int, int] = {}
    for index, change in enumerate(changes):
        for finding in change.fixes:
            seen = first_change_of.setdefault(id(finding), index)
            parent[root(index)] = root(seen)
    members: dict[int, list[int]] = {}
    for index in range(len(changes)):
        members.setdefault(root(index), []).append(index)
    return {finding_id: tuple(members[root(index)]) for finding_id, index in first_change_of.items()}


def _number_groups(group_of: dict[int, tuple[int, ...]]) -> dict[tuple[int, ...], int]:
    """Groups numbered in the order of their first changed file."""
    return {members: number for number, members in enumerate(sorted(set(group_of.values())))}


def replacements(change: FileChange) -> list[Replacement]:
    """The change as line-range replacements of the old text (what SARIF's ``replacements`` need)."""
    old = change.source.text.splitlines(keepends=True)
    new = change.new_text.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    return [
        Replacement(i1 + 1, i2 + 1, "".join(new[j1:j2]))
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    ]
