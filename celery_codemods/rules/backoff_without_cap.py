"""# backoff-without-cap-or-jitter (CEL302)

## What it does
Finds an autoretrying task with `retry_backoff` but without an explicit
`retry_backoff_max` or `retry_jitter`.

## Why is this bad?
The cap and the jitter then come from fallbacks inside Celery's autoretry
wrapper (600 s and `True`); they are not task attributes, so reading
`self.retry_jitter` raises `AttributeError`, and nobody reading the task can
tell how long it may wait between tries or whether many tasks retrying
together are spread out. The cap decides the longest wait between tries and,
with `max_retries`, the total time a task may keep retrying: a choice to
write down, not to inherit.

## Example
```python
@shared_task(autoretry_for=(ConnectionError,), retry_backoff=True)
def sync(order_id):
    push(order_id)
```

## Use instead
```python
@shared_task(autoretry_for=(ConnectionError,), retry_backoff=True, retry_backoff_max=600, retry_jitter=True)
def sync(order_id):
    push(order_id)
```
The fix adds whichever of `retry_backoff_max` (the configured cap) and
`retry_jitter=True` is missing.

## Fix safety
Safe. With the default `retry-backoff-max = 600` nothing changes at run
time: the values written are Celery's own fallbacks. A different configured
cap changes the longest wait between tries to that cap.

## Options
- `retry-backoff-max` (default 600): the cap written as `retry_backoff_max`.

## References
- Celery: Automatic retry for known exceptions (`retry_backoff_max`,
  `retry_jitter`)
- `celery/app/autoretry.py`
"""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from celery_codemods.findings import Edit, Finding, Fix, Safety
from celery_codemods.index.project import Project, Task
from celery_codemods.rewrite import EditContext
from celery_codemods.rules._decorator_edit import KeywordEdit, apply_keyword_edit, decorator_edit
from celery_codemods.rules._retries import options_hidden
from celery_codemods.rules.base import Rule


class BackoffWithoutCap(Rule):
    code = "CEL302"
    name = "backoff-without-cap-or-jitter"
    summary = "retry_backoff without an explicit retry_backoff_max / retry_jitter"
    fix_availability = "always"

    def check(self, project: Project) -> Iterator[Finding]:
        for task in project.tasks:
            missing = _missing_options(task)
            if missing:
                yield self._finding(task, missing)

    def _finding(self, task: Task, missing: tuple[str, ...]) -> Finding:
        values = {"retry_backoff_max": str(self.settings.retry_backoff_max), "retry_jitter": "True"}
        add = tuple((name, values[name]) for name in missing)
        spelled = " and ".join(f"`{name}`" for name in missing)
        decorator = task.decorator
        return self.task_finding(
            task,
            f"task `{task.display_name}` backs off without an explicit {spelled}",
            fix=Fix(
                description=f"make {spelled} explicit for task `{task.display_name}`",
                safety=Safety.SAFE,
                edits=(decorator_edit(task.path, decorator, self.code, add=add),),
            ),
        )

    def apply(self, node: cst.CSTNode, edit: Edit, ctx: EditContext) -> cst.CSTNode:
        payload: KeywordEdit = edit.payload
        return apply_keyword_edit(node, payload)


def _missing_options(task: Task) -> tuple[str, ...]:
    backoff = task.option("retry_backoff")
    if backoff is None or (backoff.is_literal and not backoff.literal) or options_hidden(task):
        return ()
    if task.option("autoretry_for") is None:
        return ()  # without autoretry the option does nothing: CEL305
    return tuple(name for name in ("retry_backoff_max", "retry_jitter") if task.option(name) is None)
