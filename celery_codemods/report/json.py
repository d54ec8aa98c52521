"""``check --output-format json``: one JSON document on stdout, schema documented in the README.

Stable: fields are only ever added (``schema_version`` changes if one is
removed or changes meaning). Lines and columns are 1-based; ``end_column``
is the column just after the last character, as in SARIF.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING, Any

from celery_codemods import __version__
from celery_codemods.findings import Finding, fix_allowed
from celery_codemods.report.text import unified_diff

if TYPE_CHECKING:  # `check --statistics` answered from the result cache never loads the api
    from celery_codemods.api import Analysis
    from celery_codemods.report.planned import PlannedFixes
    from celery_codemods.results import CheckResult

SCHEMA_VERSION = 1


def render(analysis: Analysis, planned: PlannedFixes) -> str:
    findings = analysis.findings
    index_of = {id(finding): index for index, finding in enumerate(findings)}
    document = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "celery-codemod", "version": __version__},
        "findings": [_finding(analysis, planned, finding) for finding in findings],
        "changes": [
            {
                "path": change.path,
                "diff": unified_diff(change),
                "findings": sorted(index_of[id(f)] for f in change.fixes if id(f) in index_of),
                "group": planned.group_of_change(number),
            }
            for number, change in enumerate(planned.changes)
        ],
        "errors": [
            {"path": e.path, "line": e.line, "message": e.message} for e in (*analysis.errors, *planned.plan.errors)
        ],
        "summary": _summary(analysis),
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _finding(analysis: Analysis, planned: PlannedFixes, finding: Finding) -> dict[str, Any]:
    fix = finding.fix
    return {
        "path": finding.path,
        "line": finding.line,
        "column": finding.col + 1,
        "end_line": finding.end_line if finding.end_line is not None else finding.line,
        "end_column": (finding.end_col if finding.end_col is not None else finding.col) + 1,
        "code": finding.code,
        "name": finding.name,
        "message": finding.message,
        "fixable": fix is not None,
        "safety": fix.safety.value if fix is not None else None,
        "fix": None
        if fix is None
        else {
            "description": fix.description,
            "safety": fix.safety.value,
            "applicable": fix_allowed(finding, analysis.settings),
            "withheld": planned.withheld_reason(finding),
            "changes": list(planned.change_ids(finding)),
            "group": planned.group_id(finding),
        },
        "blockers": list(finding.blockers),
    }


def _summary(analysis: Analysis) -> dict[str, Any]:
    by_code = Counter(finding.code for finding in analysis.findings)
    return {
        "files_scanned": analysis.files_discovered,
        "findings": len(analysis.findings),
        "fixable": sum(1 for finding in analysis.findings if fix_allowed(finding, analysis.settings)),
        "by_code": dict(sorted(by_code.items())),
    }


def statistics(analysis: CheckResult | Analysis) -> str:
    counts = Counter((finding.code, finding.name) for finding in analysis.findings)
    fixable = Counter(finding.code for finding in analysis.findings if fix_allowed(finding, analysis.settings))
    rows = [
        {"code": code, "name": name, "count": count, "fixable": fixable[code]}
        for (code, name), count in sorted(counts.items())
    ]
    return json.dumps(rows, indent=2) + "\n"
