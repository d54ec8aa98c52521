"""``check --output-format sarif``: SARIF 2.1.0, with fixes as text replacements.

Paths relative to the working directory are URIs relative to
``%SRCROOT%`` (the working directory, given in ``originalUriBaseIds``), as
code-scanning uploads expect. Regions use 1-based lines and Unicode code
point columns (``columnKind``); a fix's replacements delete ``charOffset`` /
``charLength`` of the file's text and insert the new lines.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePath
from typing import Any
from urllib.parse import quote

from celery_codemods import __version__
from celery_codemods.api import Analysis, FileChange, fix_allowed
from celery_codemods.findings import FileError, Finding
from celery_codemods.report.planned import PlannedFixes, replacements

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SRCROOT = "%SRCROOT%"


def render(analysis: Analysis, planned: PlannedFixes) -> str:
    rules = sorted(analysis.rules.values(), key=lambda rule: rule.code)
    rule_index = {rule.code: index for index, rule in enumerate(rules)}
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "celery-codemod",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": [_rule(rule) for rule in rules],
            }
        },
        "originalUriBaseIds": {SRCROOT: {"uri": Path.cwd().as_uri() + "/"}},
        "columnKind": "unicodeCodePoints",
        "invocations": [
            {
                "executionSuccessful": True,
                "toolExecutionNotifications": [_notification(e) for e in (*analysis.errors, *planned.plan.errors)],
            }
        ],
        "results": [_result(analysis, planned, finding, rule_index) for finding in analysis.findings],
    }
    document = {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _rule(rule: Any) -> dict[str, Any]:
    docs = rule.docs()
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "help": {"text": docs or rule.summary, "markdown": docs or rule.summary},
        "defaultConfiguration": {"level": "warning"},
        "properties": {"fixAvailability": rule.fix_availability, "preview": rule.preview},
    }


def artifact_location(path: str) -> dict[str, str]:
    pure = PurePath(path)
    if pure.is_absolute():
        return {"uri": Path(path).as_uri()}
    return {"uri": quote(pure.as_posix()), "uriBaseId": SRCROOT}


def _region(finding: Finding) -> dict[str, int]:
    region = {"startLine": finding.line, "startColumn": finding.col + 1}
    if finding.end_line is not None and finding.end_col is not None:
        region |= {"endLine": finding.end_line, "endColumn": finding.end_col + 1}
    return region


def _result(analysis: Analysis, planned: PlannedFixes, finding: Finding, rule_index: dict[str, int]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": finding.code,
        "level": "warning",
        "message": {"text": finding.message},
        "locations": [
            {"physicalLocation": {"artifactLocation": artifact_location(finding.path), "region": _region(finding)}}
        ],
    }
    if finding.code in rule_index:
        result["ruleIndex"] = rule_index[finding.code]
    changes = planned.group_changes(finding)
    if finding.fix is not None and changes:
        result["fixes"] = [_fix(finding, changes)]
    properties: dict[str, Any] = {}
    if finding.fix is not None:
        properties = {"fixSafety": finding.fix.safety.value, "fixApplicable": fix_allowed(finding, analysis.settings)}
        withheld = planned.withheld_reason(finding)
        if withheld is not None:
            properties["fixWithheld"] = withheld
    if finding.blockers:
        properties["blockers"] = list(finding.blockers)
    if properties:
        result["properties"] = properties
    return result


def _fix(finding: Finding, changes: tuple[FileChange, ...]) -> dict[str, Any]:
    assert finding.fix is not None
    description = finding.fix.description
    if any(other.fix != finding.fix for change in changes for other in change.fixes):
        description += " (with the other change sets planned in the same files, so that none is half-applied)"
    return {
        "description": {"text": description},
        "artifactChanges": [
            {"artifactLocation": artifact_location(change.path), "replacements": _replacements(change)}
            for change in changes
        ],
    }


def _replacements(change: FileChange) -> list[dict[str, Any]]:
    lines = change.source.text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    return [
        {
            "deletedRegion": {
                "charOffset": offsets[item.start_line - 1],
                "charLength": offsets[item.end_line - 1] - offsets[item.start_line - 1],
            },
            "insertedContent": {"text": item.text},
        }
        for item in replacements(change)
    ]


def _notification(error: FileError) -> dict[str, Any]:
    region = {"region": {"startLine": error.line}} if error.line else {}
    return {
        "level": "error",
        "message": {"text": error.message},
        "locations": [{"physicalLocation": {"artifactLocation": artifact_location(error.path), **region}}],
    }
