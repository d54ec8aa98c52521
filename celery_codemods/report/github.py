"""``check --output-format github``: workflow commands GitHub Actions turns into annotations.

One ``::warning`` per finding and one ``::error`` per file that could not be
read, escaped the way the Actions runner unescapes them: ``%``, CR and LF
everywhere, and also ``:`` and ``,`` inside properties.
"""

from __future__ import annotations

from collections.abc import Iterable

from celery_codemods.findings import FileError, Finding


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _command(kind: str, properties: dict[str, object], message: str) -> str:
    rendered = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties.items())
    return f"::{kind} {rendered}::{escape_data(message)}"


def annotation(finding: Finding) -> str:
    properties: dict[str, object] = {"file": finding.path, "line": finding.line, "col": finding.col + 1}
    if finding.end_line is not None:
        properties["endLine"] = finding.end_line
    if finding.end_col is not None and finding.end_line == finding.line:
        properties["endColumn"] = finding.end_col + 1  # GitHub only honours it on a one-line annotation
    properties["title"] = f"{finding.code} {finding.name}"
    message = finding.message
    if finding.fix is not None:
        message += f"\nFix available ({finding.fix.safety.value}): {finding.fix.description}"
    for blocker in finding.blockers:
        message += f"\nblocked by {blocker}"
    return _command("warning", properties, message)


def error_annotation(error: FileError) -> str:
    properties: dict[str, object] = {"file": error.path}
    if error.line:
        properties["line"] = error.line
    properties["title"] = "celery-codemod could not read this file"
    return _command("error", properties, error.message)


def render(findings: Iterable[Finding], errors: Iterable[FileError]) -> str:
    lines = [annotation(finding) for finding in findings]
    lines.extend(error_annotation(error) for error in errors)
    return "".join(line + "\n" for line in lines)
