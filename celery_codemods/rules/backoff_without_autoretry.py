"""# backoff-without-autoretry (CEL305)

## What it does
Finds `retry_backoff`, `retry_backoff_max` or `retry_jitter` on a task
without `autoretry_for`: typically a task that retries only by hand with
`self.retry(...)`.

## Why is this bad?
These options act only through `autoretry_for`. A manual `self.retry()`
ignores them and, without `countdown`, waits `default_retry_delay`, a fixed
180 s, every time. The decorator promises exponential backoff and the task
does not get it. Common in real projects (mayan-edms has about 25 such
tasks).

## Example
```python
@shared_task(bind=True, retry_backoff=True, max_retries=5)
def refund(self, order_id):
    try:
        gateway.refund(order_id)
    except ConnectionError as exc:
        raise self.retry(exc=exc)
```

## Use instead
```python
from celery.utils.time import get_exponential_backoff_interval


@shared_task(bind=True, max_retries=5)
def refund(self, order_id):
    try:
        gateway.refund(order_id)
    except ConnectionError as exc:
        raise self.retry(
            exc=exc,
            countdown=get_exponential_backoff_interval(
                factor=1, retries=self.request.retries, maximum=600, full_jitter=True
            ),
        )
```
The fix moves the policy into the countdown of each manual retry that has
none (factor from `retry_backoff`, cap from `retry_backoff_max` or the
configured cap, jitter from `retry_jitter`; as CEL304 does) and removes the
options that did nothing. Retries that already pass `countdown` or `eta`
keep them.

## Fix safety
Safe, and it makes the task do what its decorator said: retries without a
countdown wait about 0-1 s the first time instead of 180 s, growing to the
cap. Removing the options changes nothing by itself. Not fixed when the
module already binds `get_exponential_backoff_interval` to something else.

## Options
- `retry-backoff-max` (default 600): the cap, unless the task sets
  `retry_backoff_max`.

## References
- Celery: Automatic retry for known exceptions; `Task.retry`
- `celery/app/autoretry.py`
"""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from celery_codemods.findings import Edit, Finding, Fix, Safety
from celery_codemods.index.project import Project, Task
from celery_codemods.rewrite import EditContext
from celery_codemods.rules._decorator_edit import KeywordEdit, apply_keyword_edit, decorator_edit
from celery_codemods.rules._retries import (
    BACKOFF_OPTIONS,
    CountdownEdit,
    RetryCall,
    RetryCallsRule,
    apply_countdown,
    backoff_policy,
    countdown_blocker,
    countdown_edits,
    options_hidden,
)


class BackoffWithoutAutoretry(RetryCallsRule):
    code = "CEL305"
    name = "backoff-without-autoretry"
    summary = "retry_backoff options on a task without autoretry_for do nothing"
    fix_availability = "sometimes"

    def check(self, project: Project) -> Iterator[Finding]:
        for task in project.tasks:
            present = tuple(name for name in BACKOFF_OPTIONS if task.option(name) is not None)
            if present and task.option("autoretry_for") is None and not options_hidden(task):
                calls = self.retry_calls(task)
                yield self._finding(task, present, calls)

    def _finding(self, task: Task, present: tuple[str, ...], calls: list[RetryCall]) -> Finding:
        spelled = ", ".join(f"`{name}`" for name in present)
        how = "retries only by hand" if calls else "has no `autoretry_for`"
        verb = "has" if len(present) == 1 else "have"
        message = f"{spelled} {verb} no effect on task `{task.display_name}`: it {how}"
        if any(not call.has_delay for call in calls) and task.option("default_retry_delay") is None:
            message += " and waits a fixed 180 s between tries"
        blocker = countdown_blocker(task) if calls else None
        fix = None
        if blocker is not None:
            message += f" (not rewritten: {blocker})"
        else:
            fix = Fix(
                description=f"move the backoff of task `{task.display_name}` into its retry countdowns",
                safety=Safety.SAFE,
                edits=tuple(self._edits(task, present, calls)),
            )
        return self.task_finding(task, message, fix=fix)

    def _edits(self, task: Task, present: tuple[str, ...], calls: list[RetryCall]) -> Iterator[Edit]:
        yield decorator_edit(task.path, task.decorator, self.code, remove=present)
        if task.option("default_retry_delay") is None:
            yield from countdown_edits(task, calls, self.code, backoff_policy(task, self.settings))

    def apply(self, node: cst.CSTNode, edit: Edit, ctx: EditContext) -> cst.CSTNode:
        payload = edit.payload
        if isinstance(payload, KeywordEdit):
            return apply_keyword_edit(node, payload)
        if isinstance(payload, CountdownEdit):
            return apply_countdown(node, payload, ctx.add_import)
        return node
