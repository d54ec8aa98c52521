"""The end-of-run summary: a rich table on a terminal, plain text in logs and pipes.

Both renderings carry the same facts: files scanned and changed, findings by
rule (found / fixed / remaining), change sets withheld with the reason, and
what to check before deploying.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

from msgspec import Struct
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from celery_codemods.findings import Finding, Safety, fix_allowed
from celery_codemods.settings import Settings

if TYPE_CHECKING:  # `check` answered from the result cache never loads the api
    from celery_codemods.api import Analysis, FixPlan
    from celery_codemods.results import CheckResult


class RuleCount(Struct, frozen=True):
    code: str
    name: str
    found: int
    fixable: int
    fixed: int
    remaining: int


class Summary(Struct, frozen=True):
    headline: str
    files_scanned: int
    files_changed: int | None
    """None for check, which changes nothing."""
    written: bool
    rules: tuple[RuleCount, ...]
    withheld: tuple[tuple[Finding, str], ...]
    errors: int
    hints: tuple[str, ...]
    notes: tuple[str, ...]


def for_check(result: CheckResult, error_count: int) -> Summary:
    findings = result.findings
    rules = _counts(findings, result.settings, fixed=())
    safe = sum(1 for f in findings if f.fix is not None and f.fix.safety is Safety.SAFE)
    unsafe = sum(1 for f in findings if f.fix is not None and f.fix.safety is Safety.UNSAFE)
    hints = []
    if safe:
        hints.append(f"{safe} fixable with `celery-codemod fix`.")
    if unsafe and not result.settings.unsafe_fixes:
        hints.append(f"{unsafe} more fixable with `celery-codemod fix --unsafe-fixes`.")
    scanned = result.files_discovered
    headline = (
        f"Found {plural(len(findings), 'finding')} in {scanned} files scanned."
        if findings
        else f"All checks passed ({scanned} files scanned)."
    )
    return Summary(headline, scanned, None, False, rules, (), error_count, tuple(hints), ())


def for_fix(analysis: Analysis, plan: FixPlan, written: bool, error_count: int) -> Summary:
    verb = "Fixed" if written else "Would fix"
    headline = f"{verb} {plural(len(plan.applied), 'finding')} in {plural(len(plan.changes), 'file')}."
    unsafe_left = sum(1 for f in plan.remaining if f.fix is not None and not fix_allowed(f, analysis.settings))
    hints = (f"{unsafe_left} more fixable with `--unsafe-fixes`.",) if unsafe_left else ()
    return Summary(
        headline=headline,
        files_scanned=analysis.files_discovered,
        files_changed=len(plan.changes),
        written=written,
        rules=_counts(analysis.findings, analysis.settings, fixed=plan.applied),
        withheld=plan.withheld,
        errors=error_count,
        hints=hints,
        notes=tuple(deploy_notes(analysis, plan)),
    )


def deploy_notes(analysis: Analysis, plan: FixPlan) -> list[str]:
    """Each applied rule's ``fix_note``: what to check before deploying."""
    codes = {finding.code for finding in plan.applied}
    return [rule.fix_note for code, rule in sorted(analysis.rules.items()) if code in codes and rule.fix_note]


def _counts(findings: Iterable[Finding], settings: Settings, fixed: Iterable[Finding]) -> tuple[RuleCount, ...]:
    findings = tuple(findings)
    found = Counter((f.code, f.name) for f in findings)
    fixable = Counter(f.code for f in findings if fix_allowed(f, settings))
    fixed_count = Counter(f.code for f in fixed)
    return tuple(
        RuleCount(code, name, count, fixable[code], fixed_count[code], count - fixed_count[code])
        for (code, name), count in sorted(found.items())
    )


def as_text(summary: Summary) -> str:
    lines = [summary.headline]
    if summary.files_changed is not None or summary.rules:
        lines.append(f"Files scanned: {summary.files_scanned}" + _changed_text(summary))
    for row in summary.rules:
        if summary.files_changed is None:
            lines.append(f"  {row.code} {row.name}: {row.found} ({row.fixable} fixable)")
        else:
            fixed = "fixed" if summary.written else "to fix"
            lines.append(f"  {row.code} {row.name}: {row.found} found, {row.fixed} {fixed}, {row.remaining} remaining")
    if summary.withheld:
        lines.append(f"Withheld {plural(len(summary.withheld), 'change set')}:")
        lines.extend(f"  {f.path}:{f.line}: {f.code} {reason}" for f, reason in summary.withheld)
    if summary.errors:
        lines.append(f"{plural(summary.errors, 'file')} could not be read or written (see the errors above).")
    lines.extend(summary.hints)
    lines.extend(f"Before deploying: {note}" for note in summary.notes)
    return "\n".join(lines)


def _changed_text(summary: Summary) -> str:
    if summary.files_changed is None:
        return ""
    return f", {'changed' if summary.written else 'would change'}: {summary.files_changed}"


def as_rich(summary: Summary) -> RenderableType:
    parts: list[RenderableType] = [Text(summary.headline, style="bold")]
    if summary.rules:
        parts.append(_rules_table(summary))
    else:
        parts.append(Text(f"Files scanned: {summary.files_scanned}{_changed_text(summary)}"))
    if summary.withheld:
        table = Table(title="Withheld change sets", title_justify="left", show_edge=False)
        table.add_column("Where", no_wrap=True)
        table.add_column("Code", no_wrap=True)
        table.add_column("Why", style="yellow")
        for finding, reason in summary.withheld:
            table.add_row(f"{finding.path}:{finding.line}", finding.code, reason)
        parts.append(table)
    if summary.errors:
        parts.append(Text(f"{plural(summary.errors, 'file')} could not be read or written (see above).", "red"))
    parts.extend(Text(hint) for hint in summary.hints)
    parts.extend(Text.assemble(("Before deploying: ", "bold yellow"), note) for note in summary.notes)
    return Group(*parts)


def _rules_table(summary: Summary) -> Table:
    caption = f"{summary.files_scanned} files scanned{_changed_text(summary).replace(', ', '; ', 1)}"
    table = Table(caption=caption, caption_justify="left", show_edge=False)
    table.add_column("Code", no_wrap=True)
    table.add_column("Rule")
    table.add_column("Found", justify="right")
    if summary.files_changed is None:
        table.add_column("Fixable", justify="right", style="green")
        for row in summary.rules:
            table.add_row(row.code, row.name, str(row.found), str(row.fixable))
        return table
    table.add_column("Fixed" if summary.written else "To fix", justify="right", style="green")
    table.add_column("Remaining", justify="right")
    for row in summary.rules:
        table.add_row(row.code, row.name, str(row.found), str(row.fixed), str(row.remaining))
    return table


def plural(count: int, word: str) -> str:
    if count == 1:
        return f"{count} {word}"
    return f"{count} {word}es" if word.endswith(("s", "x")) else f"{count} {word}s"
