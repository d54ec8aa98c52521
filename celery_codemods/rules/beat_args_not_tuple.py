"""# beat-args-not-tuple (CEL403)

## What it does
Finds beat schedule entries whose `args` is a single value instead of a
tuple or list: `"args": (5)` or `"args": ("daily")` (parentheses without the
trailing comma are only grouping), and bare values such as `"args": 5`.

## Why is this bad?
`(5)` is the integer 5. When beat sends the entry, Celery raises
`TypeError: task args must be a list or tuple` (or, with argument checking
on, "argument after * must be an iterable"); beat logs the error and the task
never runs. A string fails the same way, after first being split into one
argument per character by the argument check.

## Example
```python
CELERY_BEAT_SCHEDULE = {
    "expire-carts": {
        "task": "shop.tasks.expire_carts",
        "schedule": 600.0,
        "args": (30),
    },
}
```

## Use instead
```python
CELERY_BEAT_SCHEDULE = {
    "expire-carts": {
        "task": "shop.tasks.expire_carts",
        "schedule": 600.0,
        "args": (30,),
    },
}
```

## Fix safety
The fix adds the trailing comma to a parenthesized constant: `(30)` becomes
`(30,)`. It changes behaviour on purpose: an entry that failed on every run
now calls the task with the intended argument, so the job starts running on
the next beat after deploy. Safe, because the code it replaces never
worked. Unsafe for a falsy value (`(0)`, `("")`): Celery treats a falsy
`args` as "no arguments", so the task did run, without the argument, and the
fix changes what it receives.

A bare value without parentheses (`"args": 5`) is reported without a fix:
the intended tuple is likely but not certain. A parenthesized name or call
(`(ids)`) is not reported: it may hold a tuple.

## References
- Python: "Tuples and Sequences" (a one-item tuple needs a trailing comma)
- Celery: `celery.app.amqp.AMQP.as_task_v2` (the TypeError)
"""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from celery_codemods.findings import Edit, Finding, Fix, Safety
from celery_codemods.index.facts import ModuleFacts
from celery_codemods.index.project import Project
from celery_codemods.rewrite import EditContext
from celery_codemods.rules._beat import BeatEntry, Value, all_entries, replace_field
from celery_codemods.rules.base import Rule

_SCALARS = ("int", "float", "str", "bytes")  # Value.kind of a constant; "parenthesized-<kind>" inside ( )


class BeatArgsNotTuple(Rule):
    code = "CEL403"
    name = "beat-args-not-tuple"
    summary = "Beat entry `args` is a single value, not a tuple"
    fix_availability = "sometimes"

    def check(self, project: Project) -> Iterator[Finding]:
        for module, entry in all_entries(project):
            args = entry.field("args")
            if args is None or entry.periodic:
                continue
            parenthesized = args.kind.startswith("parenthesized-")
            if parenthesized or args.kind in _SCALARS:
                yield self._finding(module, entry, args, parenthesized)

    def _finding(self, module: ModuleFacts, entry: BeatEntry, args: Value, parenthesized: bool) -> Finding:
        fix = None
        if parenthesized:
            fix = Fix(
                description=f"make `args` of {entry.label} the one-item tuple `({args.source},)`",
                safety=Safety.SAFE if args.literal else Safety.UNSAFE,
                edits=(Edit(module.path, entry.node, entry.span.line, entry.span.col, self.code, "args"),),
            )
            message = (
                f"`args` of {entry.label} is `({args.source})`, a parenthesized value, not a tuple: "
                f"Celery raises TypeError when it sends the task; write `({args.source},)`"
            )
        else:
            message = (
                f"`args` of {entry.label} is `{args.source}`, not a tuple or list: "
                "Celery raises TypeError when it sends the task"
            )
        return Finding(
            path=module.path,
            line=args.span.line,
            col=args.span.col,
            end_line=args.span.end_line,
            end_col=args.span.end_col,
            code=self.code,
            name=self.name,
            message=message,
            fix=fix,
        )

    def apply(self, node: cst.CSTNode, edit: Edit, ctx: EditContext) -> cst.CSTNode:
        return replace_field(node, edit.payload, None, _one_item_tuple)


def _one_item_tuple(value: cst.BaseExpression) -> cst.BaseExpression:
    if isinstance(value, cst.Tuple) or not value.lpar:
        return value
    inner = value.with_changes(lpar=[], rpar=[])
    return cst.Tuple(elements=[cst.Element(value=inner, comma=cst.Comma())], lpar=value.lpar, rpar=value.rpar)
