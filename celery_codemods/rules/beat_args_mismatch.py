"""# beat-args-mismatch (CEL405)

## What it does
Finds beat entries whose `args` / `kwargs` do not fit the parameters of the
task they run: too many positional arguments, a keyword the task has no
parameter for, a required parameter left out, or one parameter given twice.
Checked for schedule dicts (`"args": (...)`, `"kwargs": {...}`) and for
`add_periodic_task(schedule, task.s(...))`, when the entry's task resolves to
exactly one task of the project (by registered name, or by the object in
`task.s(...)`). `bind=True` tasks receive `self` first, which is accounted for.

## Why is this bad?
Beat checks nothing: on every run the call fails with `TypeError`, either
when beat sends it (Celery's argument check, logged by beat) or in the
worker. The job silently never does its work. The usual cause is a task
whose parameters changed (`order` renamed to `order_id`, a parameter added)
while the schedule in settings did not.

## Example
```python
@shared_task
def expire_carts(older_than_minutes):
    ...

CELERY_BEAT_SCHEDULE = {
    "expire-carts": {
        "task": "shop.tasks.expire_carts",
        "schedule": 600.0,
        "kwargs": {"minutes": 30},
    },
}
```

## Use instead
```python
CELERY_BEAT_SCHEDULE = {
    "expire-carts": {
        "task": "shop.tasks.expire_carts",
        "schedule": 600.0,
        "kwargs": {"older_than_minutes": 30},
    },
}
```

## Fix safety
No fix: which side is wrong (the schedule or the task) is for a person to
decide.

Only literal `args` (a tuple or list without `*`) and `kwargs` (a dict
literal or `dict(...)` with string keys) are checked, and only tasks whose
sole decorator is the task decorator: another decorator may change the
signature.

## References
- Celery: "Periodic Tasks" (`args`, `kwargs`), `Task.typing` (argument check at send time)
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence

from celery_codemods.findings import Finding
from celery_codemods.index.facts import ModuleFacts, Param, Span
from celery_codemods.index.project import Project, Task
from celery_codemods.rules._beat import BeatEntry, CallShape, all_entries, task_for
from celery_codemods.rules.base import Rule

_POSITIONAL = ("posonly", "positional")


class BeatArgsMismatch(Rule):
    code = "CEL405"
    name = "beat-args-mismatch"
    summary = "Beat entry passes arguments the task does not accept"

    def check(self, project: Project) -> Iterator[Finding]:
        for module, entry in all_entries(project):
            task = task_for(project, entry)
            if entry.shape is None or task is None or not _signature_is_known(task):
                continue
            params = task.function.params[1:] if task.is_bound else task.function.params
            problem = mismatch(params, entry.shape)
            if problem is not None:
                yield self._finding(module, entry, task, problem)

    def _finding(self, module: ModuleFacts, entry: BeatEntry, task: Task, problem: str) -> Finding:
        span = _where(entry)
        return Finding(
            path=module.path,
            line=span.line,
            col=span.col,
            end_line=span.end_line,
            end_col=span.end_col,
            code=self.code,
            name=self.name,
            message=(
                f"{entry.label} calls task `{task.display_name}` ({task.name}), which {problem}: "
                "the call raises TypeError on every run"
            ),
        )


def _signature_is_known(task: Task) -> bool:
    bind = task.option("bind")
    if bind is not None and not bind.is_literal:
        return False
    if "." in task.function.scope:
        return False
    return task.function.registration is not None or len(task.function.decorators) == 1


def _where(entry: BeatEntry) -> Span:
    for name in ("args", "kwargs", "task"):
        value = entry.field(name)
        if value is not None:
            return value.span
    return entry.span


def mismatch(params: Sequence[Param], shape: CallShape) -> str | None:
    """Why a call with ``shape`` does not fit ``params``, or None when it does."""
    positional = [p for p in params if p.kind in _POSITIONAL]
    takes_varargs = any(p.kind == "vararg" for p in params)
    takes_varkw = any(p.kind == "kwarg" for p in params)
    if shape.positional > len(positional) and not takes_varargs:
        return f"takes {_count(len(positional), 'positional argument')} but is given {shape.positional}"
    filled = {p.name for p in positional[: shape.positional]}
    by_keyword = {p.name for p in params if p.kind in ("positional", "kwonly")}
    for keyword in shape.keywords:
        if keyword in filled:
            return f"gets {keyword!r} both by position and by keyword"
        if keyword not in by_keyword and not takes_varkw:
            closest = difflib.get_close_matches(keyword, sorted(by_keyword), n=1, cutoff=0.6)
            hint = f" (did you mean {closest[0]!r}?)" if closest else ""
            return f"has no parameter {keyword!r}{hint}"
    missing = [
        p.name
        for p in params
        if p.kind in ("posonly", "positional", "kwonly")
        and not p.has_default
        and p.name not in filled
        and p.name not in shape.keywords
    ]
    if missing:
        return f"requires {', '.join(repr(name) for name in missing)}, not given"
    return None


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
