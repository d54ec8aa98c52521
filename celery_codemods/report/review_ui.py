"""The terminal side of ``fix --interactive``: show a change set, read one key."""

from __future__ import annotations

import contextlib
import os
import termios
import tty
from typing import Any

from rich.console import Console
from rich.syntax import Syntax
from rich.text import Text

from celery_codemods.findings import Safety
from celery_codemods.report.text import unified_diff
from celery_codemods.review import HELP_TEXT, ChangeSet, Decision

PROMPT = "Apply this change set? [y,n,a,q,?] "
_KEYS = {decision.value for decision in Decision}


def read_keys(fd: int) -> str:
    """The keys pressed (usually one) on a terminal in cbreak mode. EOFError when it is gone."""
    try:
        data = os.read(fd, 64)
    except OSError as exc:
        raise EOFError(str(exc)) from None
    if not data:
        raise EOFError("end of input")
    return data.decode("utf-8", errors="replace")


class TerminalReview:
    """Renders change sets with rich and reads answers from a terminal file descriptor.

    Used as a context manager: the terminal is in cbreak mode (each key is
    read as it is pressed, not echoed; Ctrl-C still interrupts) for the whole
    review, so keys typed ahead are never held in a half-typed line, and the
    saved mode is restored whatever happens.
    """

    def __init__(self, console: Console, fd: int) -> None:
        self.console = console
        self.fd = fd
        self._prompting = False
        self._typed: list[str] = []
        self._saved: list[Any] | None = None

    def __enter__(self) -> TerminalReview:
        self._saved = termios.tcgetattr(self.fd)
        tty.setcbreak(self.fd, termios.TCSANOW)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._saved is not None:
            with contextlib.suppress(termios.error):  # the terminal is gone; nothing to restore
                termios.tcsetattr(self.fd, termios.TCSADRAIN, self._saved)

    def show(self, change_set: ChangeSet, position: int, total: int) -> None:
        self.console.print()
        self.console.print(_header(change_set, position, total))
        for finding in change_set.findings:
            self.console.print(f"  {finding.path}:{finding.line}:{finding.col + 1}: {finding.message}", markup=False)
        for change in change_set.changes:
            self._print_diff(unified_diff(change))

    def ask(self) -> str:
        if not self._prompting:
            self.console.print(PROMPT, end="", markup=False)
            self._prompting = True
        key = self._next_key()
        if key.lower() in _KEYS:
            self.console.print(key, markup=False)
            self._prompting = False
        return key

    def _next_key(self) -> str:
        """Keys typed ahead are answered in turn; an escape sequence (an arrow key) counts as one key."""
        while not self._typed:
            chunk = read_keys(self.fd)
            self._typed = [chunk] if chunk.startswith("\x1b") else list(chunk)
        return self._typed.pop(0)

    def help(self) -> None:
        self.console.print(HELP_TEXT, markup=False)

    def _print_diff(self, text: str) -> None:
        if self.console.no_color or not self.console.is_terminal:
            self.console.print(text, end="", markup=False, highlight=False)
        else:
            self.console.print(Syntax(text, "diff", theme="ansi_dark", background_color="default"))


def _header(change_set: ChangeSet, position: int, total: int) -> Text:
    safety = "safe fix" if change_set.safety is Safety.SAFE else "unsafe fix"
    files = ", ".join(change_set.paths)
    text = Text()
    text.append(f"[{position}/{total}] ", style="dim")
    text.append(change_set.code, style="bold red")
    text.append(f" {change_set.name}", style="bold")
    text.append(f" ({safety})", style="green" if change_set.safety is Safety.SAFE else "yellow")
    text.append(f"\n{change_set.fix.description}\nfiles: {files}")
    return text
