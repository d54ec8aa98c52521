"""# retry-without-countdown (CEL304)

## What it does
Finds a manual retry of a task (`self.retry(...)`, also `mytask.retry` and
`current_task.retry`) without `countdown` or `eta`, in a task that sets no
`default_retry_delay`.

## Why is this bad?
A manual `retry()` ignores `retry_backoff` and friends (they act only
through `autoretry_for`): without `countdown` it waits
`default_retry_delay`, a fixed 180 s, every time. A blip costs three
minutes; an outage is hit again at the same steady pace by every waiting
task. Written without `raise`, the call also hides that it ends the task
(it raises `Retry`).

## Example
```python
@shared_task(bind=True, max_retries=5)
def refund(self, order_id):
    try:
        gateway.refund(order_id)
    except ConnectionError as exc:
        self.retry(exc=exc)
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
(The fix writes the countdown on one line.) It uses Celery's own backoff
helper, the one autoretry uses, with ints only (a float with
`full_jitter=True` raises on Python 3.12+): retry n waits a random
0..min(cap, factor * 2^n) s. The factor, cap and jitter come from the
task's own `retry_backoff`, `retry_backoff_max` and `retry_jitter` when it
has them (see CEL305), else factor 1, the configured cap and jitter on. A
retry call that is its own statement (or `return self.retry(...)`) becomes
`raise self.retry(...)`; with `throw=False` it stays a call.

A retry inside an `except` clause that catches only database or lock
errors (as CEL301 lists them, plus any class named `LockError`), in a task
that states no backoff of its own, gets `countdown=10` instead: those
recover within seconds, so a short fixed delay fits them better than
growing waits.

## Fix safety
Safe, and it changes retry timing on purpose: the first retry comes after
about 0-1 s instead of 180 s, the fifth after at most 16 s, and no wait
exceeds the cap (600 s by default). `raise` in front changes nothing:
`retry()` raises by itself.

## Options
- `retry-backoff-max` (default 600): the cap, unless the task sets
  `retry_backoff_max`.

## References
- Celery: `Task.retry` (`countdown`, `eta`), `Task.default_retry_delay`
- `celery.utils.time.get_exponential_backoff_interval`
"""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from celery_codemods.findings import Edit, Finding, Fix, Safety
from celery_codemods.index.project import Project, Task
from celery_codemods.rewrite import EditContext
from celery_codemods.rules._retries import (
    DB_RETRY_DELAY,
    CountdownEdit,
    RetryCall,
    RetryCallsRule,
    apply_countdown,
    backoff_policy,
    countdown_blocker,
    countdown_edits,
    retries_internal_error,
)


class RetryWithoutCountdown(RetryCallsRule):
    code = "CEL304"
    name = "retry-without-countdown"
    summary = "Manual retry without countdown waits a fixed 180 s"
    fix_availability = "sometimes"

    def check(self, project: Project) -> Iterator[Finding]:
        for task in project.tasks:
            if task.option("default_retry_delay") is not None or task.decorator.star_kwargs:
                continue
            for call in self.retry_calls(task):
                if not call.has_delay:
                    yield self._finding(task, call)

    def _finding(self, task: Task, call: RetryCall) -> Finding:
        policy = backoff_policy(task, self.settings)
        internal = retries_internal_error(task, call)
        wanted = f"a fixed {DB_RETRY_DELAY} s countdown for database/lock errors" if internal else "a backoff countdown"
        message = f"`{call.receiver}.retry()` in task `{task.display_name}` waits a fixed 180 s; add {wanted}"
        blocker = countdown_blocker(task)
        fix = None
        if blocker is not None:
            message += f" (not rewritten: {blocker})"
        else:
            fix = Fix(
                description=f"{wanted} for a retry in task `{task.display_name}`",
                safety=Safety.SAFE,
                edits=tuple(countdown_edits(task, [call], self.code, policy)),
            )
        return self.task_finding(
            task,
            message,
            line=call.line,
            col=call.col,
            fix=fix,
        )

    def apply(self, node: cst.CSTNode, edit: Edit, ctx: EditContext) -> cst.CSTNode:
        payload: CountdownEdit = edit.payload
        return apply_countdown(node, payload, ctx.add_import)
