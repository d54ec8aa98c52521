"""Plain text: one finding per line, unified diffs, the end-of-run summary."""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Iterable

from celery_codemods.api import Analysis, FileChange, FixPlan
from celery_codemods.findings import Finding, Safety
from celery_codemods.index.reader import FileError


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
    old = change.source.text.splitlines(keepends=True)
    new = change.new_text.splitlines(keepends=True)
    lines = difflib.unified_diff(old, new, fromfile=f"a/{change.path}", tofile=f"b/{change.path}")
    return "".join(line if line.endswith(("\n", "\r")) else line + "\n\\ No newline at end of file\n" for line in lines)


def check_summary(analysis: Analysis) -> str:
    findings = analysis.findings
    if not findings:
        return f"All checks passed ({analysis.files_discovered} files scanned)."
    fixable = sum(1 for f in findings if f.fix is not None and f.fix.safety is Safety.SAFE)
    unsafe = sum(1 for f in findings if f.fix is not None and f.fix.safety is Safety.UNSAFE)
    text = f"Found {_plural(len(findings), 'finding')} in {analysis.files_discovered} files scanned."
    if fixable:
        text += f"\n{fixable} fixable with `celery-codemod fix`."
    if unsafe:
        text += f"\n{unsafe} more fixable with `celery-codemod fix --unsafe-fixes`."
    return text


def fix_summary(plan: FixPlan, written: bool, notes: Iterable[str] = ()) -> str:
    verb = "Fixed" if written else "Would fix"
    files = len(plan.changes)
    lines = [f"{verb} {_plural(len(plan.applied), 'finding')} in {_plural(files, 'file')}."]
    if plan.withheld:
        lines.append(f"Withheld {_plural(len(plan.withheld), 'change set')}:")
        lines.extend(f"  {f.path}:{f.line}: {f.code} {reason}" for f, reason in plan.withheld)
    if plan.remaining:
        lines.append(f"{_plural(len(plan.remaining), 'finding')} remaining ({_by_code(plan.remaining)}).")
    lines.extend(notes)
    return "\n".join(lines)


def statistics(findings: Iterable[Finding]) -> str:
    counts = Counter((f.code, f.name) for f in findings)
    return "\n".join(f"{count:5}  {code}  {name}" for (code, name), count in sorted(counts.items()))


def _by_code(findings: Iterable[Finding]) -> str:
    counts = Counter(f.code for f in findings)
    return ", ".join(f"{code}: {count}" for code, count in sorted(counts.items()))


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"
