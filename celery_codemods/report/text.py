"""Plain text: one finding per line, unified diffs, counts by rule."""

from __future__ import annotations

import difflib
import io
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

from celery_codemods.findings import FileError, Finding, Safety

if TYPE_CHECKING:
    from celery_codemods.api import FileChange


def format_finding(finding: Finding, show_fix: bool = True) -> str:
    line = f"{finding.path}:{finding.line}:{finding.col + 1}: {finding.code} {finding.message}"
    if show_fix and finding.fix is not None:
        marker = "[*]" if finding.fix.safety is Safety.SAFE else "[unsafe fix]"
        line += f" {marker}"
    for blocker in finding.blockers:
        line += f"\n    blocked by {blocker}"
    return line


def format_error(error: FileError) -> str:
    return f"error: {error}"


def unified_diff(change: FileChange) -> str:
    # Lines as Python and patch count them: str.splitlines also splits at form feeds and U+2028.
    old = io.StringIO(change.source.text, newline="").readlines()
    new = io.StringIO(change.new_text, newline="").readlines()
    lines = difflib.unified_diff(old, new, fromfile=f"a/{change.path}", tofile=f"b/{change.path}")
    return "".join(line if line.endswith(("\n", "\r")) else line + "\n\\ No newline at end of file\n" for line in lines)


def statistics(findings: Iterable[Finding]) -> str:
    counts = Counter((f.code, f.name) for f in findings)
    return "\n".join(f"{count:5}  {code}  {name}" for (code, name), count in sorted(counts.items()))
