"""Interactive review: decide change set by change set, then write the accepted ones.

The unit of review is a change set (one ``Fix``: a task and all its call
sites, possibly across files), never a lone hunk. The loop knows nothing of
terminals: showing a set and reading a key are injected (``ReviewUI``), so it
runs the same under a test as in a pseudo-terminal.

Nothing is written while the person decides. The accepted sets are planned
together and written at the end, with interrupts held back until the last
file is replaced: Ctrl-C during the questions writes nothing, Ctrl-C during
the writing waits for it to finish, so no change set is ever half-applied.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from enum import StrEnum
from types import FrameType
from typing import Protocol

from msgspec import Struct

from celery_codemods.api import Analysis, FileChange, FixPlan, fix_allowed, plan_fixes, write_changes
from celery_codemods.findings import FileError, Finding, Fix, Safety


class Decision(StrEnum):
    YES = "y"
    NO = "n"
    ALL = "a"
    QUIT = "q"
    HELP = "?"


HELP_TEXT = """\
y - apply this change set
n - skip this change set
a - apply this change set and all remaining ones
q - quit; change sets accepted so far are applied
? - show this help"""


class ChangeSet(Struct, frozen=True):
    """One fix with the findings it resolves and the files it changes when planned alone."""

    fix: Fix
    findings: tuple[Finding, ...]
    changes: tuple[FileChange, ...]

    @property
    def code(self) -> str:
        return self.findings[0].code

    @property
    def name(self) -> str:
        return self.findings[0].name

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(change.path for change in self.changes)

    @property
    def safety(self) -> Safety:
        return self.fix.safety


class ReviewUI(Protocol):
    def show(self, change_set: ChangeSet, position: int, total: int) -> None: ...

    def ask(self) -> str:
        """One key press; raise EOFError when the terminal is gone."""
        ...

    def help(self) -> None: ...


class ReviewOutcome(Struct, frozen=True):
    accepted: tuple[ChangeSet, ...]
    declined: tuple[ChangeSet, ...]
    unreviewed: tuple[Finding, ...]
    """Findings of the change sets not shown because the person quit."""
    unplannable: tuple[tuple[Finding, str], ...]
    """Change sets that cannot be made even alone, with the reason; never offered."""

    @property
    def quit(self) -> bool:
        return bool(self.unreviewed)


Pending = tuple[Fix, tuple[Finding, ...]]


def pending_fixes(analysis: Analysis) -> list[Pending]:
    """Every change set ``fix`` may apply under the settings, in report order."""
    grouped: dict[object, tuple[Fix, list[Finding]]] = {}
    for finding in analysis.findings:
        if finding.fix is not None and fix_allowed(finding, analysis.settings):
            grouped.setdefault(_fix_key(finding.fix), (finding.fix, []))[1].append(finding)
    return [(fix, tuple(findings)) for fix, findings in grouped.values()]


def _fix_key(fix: Fix) -> object:
    """Equal fixes are one change set; a fix whose payload cannot be hashed stands alone."""
    try:
        hash(fix)
    except TypeError:
        return id(fix)
    return fix


def plan_alone(analysis: Analysis, fix: Fix, findings: tuple[Finding, ...]) -> ChangeSet | tuple[Finding, str]:
    """The set's own diff, or why it cannot be made."""
    key = _fix_key(fix)
    plan = plan_fixes(analysis, accept=lambda finding: finding.fix is not None and _fix_key(finding.fix) == key)
    if plan.withheld:
        return findings[0], plan.withheld[0][1]
    if not plan.changes:
        return findings[0], "the fix changes nothing"
    return ChangeSet(fix, findings, plan.changes)


def review(analysis: Analysis, ui: ReviewUI) -> ReviewOutcome:
    """Ask about every pending change set; write nothing.

    Each set is planned alone just before it is shown, so its diff is exactly
    what accepting it adds, and sets skipped by ``a`` or ``q`` cost nothing.
    """
    pending = pending_fixes(analysis)
    accepted: list[ChangeSet] = []
    declined: list[ChangeSet] = []
    unplannable: list[tuple[Finding, str]] = []
    accept_rest = False
    for index, (fix, findings) in enumerate(pending):
        planned = plan_alone(analysis, fix, findings)
        if not isinstance(planned, ChangeSet):
            unplannable.append(planned)
            continue
        if accept_rest:
            accepted.append(planned)
            continue
        ui.show(planned, index + 1, len(pending))
        decision = _decide(ui)
        if decision is Decision.QUIT:
            unreviewed = tuple(finding for _, rest in pending[index:] for finding in rest)
            return ReviewOutcome(tuple(accepted), tuple(declined), unreviewed, tuple(unplannable))
        if decision is Decision.NO:
            declined.append(planned)
        else:
            accepted.append(planned)
            accept_rest = decision is Decision.ALL
    return ReviewOutcome(tuple(accepted), tuple(declined), (), tuple(unplannable))


def _decide(ui: ReviewUI) -> Decision:
    while True:
        key = ui.ask()
        try:
            decision = Decision(key.lower())
        except ValueError:
            continue  # Enter, arrows and stray keys do nothing
        if decision is Decision.HELP:
            ui.help()
            continue
        return decision


def apply_review(analysis: Analysis, outcome: ReviewOutcome) -> tuple[FixPlan, list[FileChange], list[FileError]]:
    """Plan the accepted sets together and write them, uninterruptibly."""
    chosen = {_fix_key(change_set.fix) for change_set in outcome.accepted}
    plan = plan_fixes(analysis, accept=lambda finding: finding.fix is not None and _fix_key(finding.fix) in chosen)
    written, errors = write_together(plan.changes)
    return plan, written, errors


def write_together(changes: Sequence[FileChange]) -> tuple[list[FileChange], list[FileError]]:
    """Write every change, holding Ctrl-C, hang-up and termination until the last file is replaced.

    Each file is replaced atomically already; holding signals back between
    files keeps a change set spanning several files from being half-applied.
    """
    with _signals_held():
        return write_changes(changes)


_HELD_SIGNALS = tuple(
    sig for sig in (getattr(signal, name, None) for name in ("SIGINT", "SIGTERM", "SIGHUP")) if sig is not None
)


@contextmanager
def _signals_held() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield  # handlers can only be set from the main thread; the caller owns signals there
        return
    received: list[int] = []

    def remember(signum: int, frame: FrameType | None) -> None:
        received.append(signum)

    previous = {sig: signal.signal(sig, remember) for sig in _HELD_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for signum in dict.fromkeys(received):
            _deliver(signum)


def _deliver(signum: int) -> None:
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    os.kill(os.getpid(), signum)
