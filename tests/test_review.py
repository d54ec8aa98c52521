"""The review loop, driven by a scripted UI on real projects in a temporary directory."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from msgspec import structs

from celery_codemods.api import Analysis, FileChange, analyze, plan_fixes
from celery_codemods.findings import Fix
from celery_codemods.review import ChangeSet, ReviewOutcome, apply_review, review, write_together
from tests.helpers import settings_for, write_tree

TASK = """\
import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task
def {name}(item_id):
    try:
        push(item_id)
    except Exception:
        pass
"""

BARE = """\
import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task
def loose(item_id):
    try:
        push(item_id)
    except:
        pass
"""


class ScriptedUI:
    """Answers from a script of keys; records what it was shown."""

    def __init__(self, keys: str | list[str]) -> None:
        self.keys: Iterator[str] = iter(keys)
        self.shown: list[tuple[ChangeSet, int, int]] = []
        self.helps = 0
        self.asked = 0

    def show(self, change_set: ChangeSet, position: int, total: int) -> None:
        self.shown.append((change_set, position, total))

    def ask(self) -> str:
        self.asked += 1
        return next(self.keys)

    def help(self) -> None:
        self.helps += 1


def three_tasks(root: Path) -> Analysis:
    write_tree(root, {f"{name}.py": TASK.format(name=name) for name in ("alpha", "beta", "gamma")})
    return analyze([root], settings_for("CEL001"))


def changed(root: Path) -> set[str]:
    return {path.stem for path in root.glob("*.py") if "logger.exception" in path.read_text()}


def run(analysis: Analysis, keys: str | list[str]) -> tuple[ScriptedUI, ReviewOutcome]:
    ui = ScriptedUI(keys)
    outcome = review(analysis, ui)
    apply_review(analysis, outcome)
    return ui, outcome


def test_yes_and_no_write_only_the_accepted_sets(tmp_path: Path) -> None:
    ui, outcome = run(three_tasks(tmp_path), "yny")
    assert changed(tmp_path) == {"alpha", "gamma"}
    assert [position for _, position, _ in ui.shown] == [1, 2, 3]
    assert {total for _, _, total in ui.shown} == {3}
    assert len(outcome.accepted) == 2
    assert len(outcome.declined) == 1


def test_each_set_shows_its_header_facts_and_its_own_diff(tmp_path: Path) -> None:
    ui, _ = run(three_tasks(tmp_path), "nnn")
    first = ui.shown[0][0]
    assert (first.code, first.name, first.safety.value) == ("CEL001", "silent-except", "safe")
    assert first.paths == (str(tmp_path / "alpha.py"),)
    assert 'logger.exception("alpha: exception ignored")' in first.changes[0].new_text
    assert changed(tmp_path) == set()


def test_all_accepts_this_and_every_remaining_set_without_asking(tmp_path: Path) -> None:
    ui, outcome = run(three_tasks(tmp_path), "na")
    assert changed(tmp_path) == {"beta", "gamma"}
    assert ui.asked == 2
    assert len(ui.shown) == 2
    assert len(outcome.accepted) == 2


def test_quit_keeps_what_was_accepted_so_far(tmp_path: Path) -> None:
    _, outcome = run(three_tasks(tmp_path), "yq")
    assert changed(tmp_path) == {"alpha"}
    assert outcome.quit
    assert [f.path for f in outcome.unreviewed] == [str(tmp_path / "beta.py"), str(tmp_path / "gamma.py")]


def test_enter_and_stray_keys_do_nothing_and_help_asks_again(tmp_path: Path) -> None:
    ui, _ = run(three_tasks(tmp_path), ["\n", "\r", "x", "\x1b[A", "?", "Y", "n", "N"])
    assert ui.helps == 1
    assert changed(tmp_path) == {"alpha"}


def test_interrupt_while_asking_writes_nothing(tmp_path: Path) -> None:
    analysis = three_tasks(tmp_path)

    class InterruptedUI(ScriptedUI):
        def ask(self) -> str:
            if self.asked == 1:
                raise KeyboardInterrupt
            return super().ask()

    with pytest.raises(KeyboardInterrupt):
        review(analysis, InterruptedUI("y"))
    assert changed(tmp_path) == set()


def test_unsafe_sets_are_offered_only_with_unsafe_fixes(tmp_path: Path) -> None:
    write_tree(tmp_path, {"loose.py": BARE})
    safe_only = review(analyze([tmp_path], settings_for("CEL001")), ScriptedUI(""))
    assert safe_only.accepted == () and safe_only.declined == ()
    ui = ScriptedUI("y")
    analysis = analyze([tmp_path], settings_for("CEL001", unsafe_fixes=True))
    apply_review(analysis, review(analysis, ui))
    assert ui.shown[0][0].safety.value == "unsafe"
    assert "except Exception:" in (tmp_path / "loose.py").read_text()


def joined_across_files(analysis: Analysis) -> Analysis:
    """One change set spanning two files, as a cross-file rule would plan it."""
    first, second, third = analysis.findings
    assert first.fix is not None and second.fix is not None
    joined = Fix("both", first.fix.safety, (*first.fix.edits, *second.fix.edits))
    findings = (structs.replace(first, fix=joined), structs.replace(second, fix=joined), third)
    return structs.replace(analysis, findings=findings)


def test_a_set_spanning_files_is_one_question_and_written_whole(tmp_path: Path) -> None:
    analysis = joined_across_files(three_tasks(tmp_path))
    ui, _ = run(analysis, "yn")
    assert len(ui.shown) == 2
    assert ui.shown[0][0].paths == (str(tmp_path / "alpha.py"), str(tmp_path / "beta.py"))
    assert len(ui.shown[0][0].findings) == 2
    assert changed(tmp_path) == {"alpha", "beta"}


def test_a_set_that_cannot_be_planned_is_reported_not_offered(tmp_path: Path) -> None:
    analysis = three_tasks(tmp_path)
    (tmp_path / "beta.py").write_text(TASK.format(name="beta") + "\n# edited meanwhile\n")
    ui, outcome = run(analysis, "yy")
    assert [cs.paths[0] for cs, _, _ in ui.shown] == [str(tmp_path / "alpha.py"), str(tmp_path / "gamma.py")]
    assert [(f.path, "changed on disk" in why) for f, why in outcome.unplannable] == [(str(tmp_path / "beta.py"), True)]
    assert changed(tmp_path) == {"alpha", "gamma"}


def test_ctrl_c_while_writing_waits_until_every_file_is_written(tmp_path: Path) -> None:
    analysis = joined_across_files(three_tasks(tmp_path))
    changes = plan_fixes(analysis).changes
    interrupting = [_InterruptAfterWrite(change) for change in changes]
    with pytest.raises(KeyboardInterrupt):
        write_together(interrupting)  # type: ignore[arg-type]
    assert changed(tmp_path) == {"alpha", "beta", "gamma"}


class _InterruptAfterWrite:
    """A FileChange whose reading by the writer sends SIGINT to this process."""

    def __init__(self, change: FileChange) -> None:
        self._change = change

    def __getattr__(self, name: str) -> object:
        if name == "new_text":
            os.kill(os.getpid(), signal.SIGINT)
        return getattr(self._change, name)
