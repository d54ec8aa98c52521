"""# beat-int-seconds (CEL404)

## What it does
Finds a beat `schedule` written as whole seconds (`300`) where the project
writes its numeric schedules as floats (`300.0`), in schedule dicts and in
`add_periodic_task(300, ...)`.

The convention is read from the code, never assumed: it is "float" when float
literals outnumber int literals among the numeric schedules of the same
schedule (one dict, or one module's `add_periodic_task` calls). When that
schedule has no float at all, the count is taken over every numeric schedule
in the project instead. A tie is no convention, and nothing is reported.
Arithmetic on number literals counts by its result (`60.0 * 10` is a
float, `5 * 60` an int) but only a plain int literal is reported;
`timedelta`, `crontab` and other computed values are not counted.

## Why is this bad?
Celery treats both the same (`timedelta(seconds=n)`), so this is about
consistency: a schedule read as a list of intervals is easier to scan when
every number looks alike, and the float spelling is Celery's own in its
documentation examples. It is enabled by default because it only ever
reports against the project's own majority.

## Example
```python
app.conf.beat_schedule = {
    "refresh-rates": {"task": "fx.tasks.refresh_rates", "schedule": 60.0},
    "flush-metrics": {"task": "metrics.tasks.flush", "schedule": 30.0},
    "sync-stock": {"task": "shop.tasks.sync_stock", "schedule": 300},
}
```

## Use instead
```python
app.conf.beat_schedule = {
    "refresh-rates": {"task": "fx.tasks.refresh_rates", "schedule": 60.0},
    "flush-metrics": {"task": "metrics.tasks.flush", "schedule": 30.0},
    "sync-stock": {"task": "shop.tasks.sync_stock", "schedule": 300.0},
}
```

## Fix safety
Safe: `300` becomes `300.0`, and Celery turns both into the same
`timedelta(seconds=300)`. Only decimal literals are rewritten (`0x12c` is
reported but left alone).

## References
- Celery: "Periodic Tasks" (`schedule` as seconds), `celery.schedules.maybe_schedule`
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator

import libcst as cst

from celery_codemods.findings import Edit, Finding, Fix, Safety
from celery_codemods.index.facts import ModuleFacts
from celery_codemods.index.project import Project
from celery_codemods.rewrite import EditContext
from celery_codemods.rules._beat import BeatEntry, Value, all_entries, replace_field
from celery_codemods.rules.base import Rule

_DECIMAL = re.compile(r"^[0-9][0-9_]*$")


class BeatIntSeconds(Rule):
    code = "CEL404"
    name = "beat-int-seconds"
    summary = "Beat schedule in int seconds where the project writes floats"
    fix_availability = "sometimes"

    def check(self, project: Project) -> Iterator[Finding]:
        entries = list(all_entries(project))
        by_group: dict[tuple[str, int], Counter[str]] = {}
        everywhere: Counter[str] = Counter()
        for module, entry in entries:
            kind = _numeric_kind(entry)
            if kind is not None:
                by_group.setdefault((module.path, entry.group), Counter())[kind] += 1
                everywhere[kind] += 1
        for module, entry in entries:
            schedule = entry.field("schedule")
            if schedule is None or not _is_int_literal(entry):
                continue
            local = by_group[(module.path, entry.group)]
            counts = local if local["float"] else everywhere
            if counts["float"] > counts["int"]:
                yield self._finding(module, entry, schedule, counts)

    def _finding(self, module: ModuleFacts, entry: BeatEntry, schedule: Value, counts: Counter[str]) -> Finding:
        fix = None
        if _DECIMAL.match(schedule.source):
            fix = Fix(
                description=f"write the schedule of {entry.label} as `{schedule.source}.0`",
                safety=Safety.SAFE,
                edits=(Edit(module.path, entry.node, entry.span.line, entry.span.col, self.code, entry.periodic),),
            )
        return Finding(
            path=module.path,
            line=schedule.span.line,
            col=schedule.span.col,
            end_line=schedule.span.end_line,
            end_col=schedule.span.end_col,
            code=self.code,
            name=self.name,
            message=(
                f"schedule of {entry.label} is `{schedule.source}` int seconds, where the project writes "
                f"numeric schedules as floats ({counts['float']} float, {counts['int']} int)"
            ),
            fix=fix,
        )

    def apply(self, node: cst.CSTNode, edit: Edit, ctx: EditContext) -> cst.CSTNode:
        positional = 0 if edit.payload else None  # add_periodic_task(schedule, sig, ...)
        return replace_field(node, "schedule", positional, _as_float)


def _numeric_kind(entry: BeatEntry) -> str | None:
    """``int`` / ``float`` for a schedule in seconds, literal or arithmetic (``60.0 * 10`` is a float)."""
    schedule = entry.field("schedule")
    kind = schedule.kind.removeprefix("parenthesized-").removesuffix("-expression") if schedule else None
    return kind if kind in ("int", "float") else None


def _is_int_literal(entry: BeatEntry) -> bool:
    schedule = entry.field("schedule")
    return schedule is not None and schedule.kind in ("int", "parenthesized-int")


def _as_float(value: cst.BaseExpression) -> cst.BaseExpression:
    if not isinstance(value, cst.Integer) or not _DECIMAL.match(value.value):
        return value
    return cst.Float(value=f"{value.value}.0", lpar=value.lpar, rpar=value.rpar)
