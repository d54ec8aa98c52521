"""# autoretry-without-backoff (CEL301)

## What it does
Finds a task with `autoretry_for` and no `retry_backoff`, no
`default_retry_delay` and no `countdown` in `retry_kwargs`: every retry
waits Celery's implicit fixed delay.

## Why is this bad?
Without `retry_backoff`, autoretry waits `default_retry_delay`, 180 s, before
every try (the Celery docs suggest otherwise; the code is what runs). When
the remote service is down, every task in the queue hammers it again at the
same steady pace; when it had a blip, the work is late by three minutes for
nothing. Exponential backoff with jitter retries a blip quickly and spreads
the load when the outage is real.

## Example
```python
@shared_task(autoretry_for=(requests.ConnectionError,))
def sync(order_id):
    push(order_id)
```

## Use instead
```python
@shared_task(
    autoretry_for=(requests.ConnectionError,),
    retry_backoff=True,
    retry_backoff_max=600,
    retry_jitter=True,
)
def sync(order_id):
    push(order_id)
```
The fix adds `retry_backoff=True`, `retry_backoff_max` (the configured cap)
and `retry_jitter=True`, keeping the options already there.

When every retried exception is a database or lock error
(`django.db.utils.OperationalError`, `InterfaceError`, driver deadlock /
serialization / lock-timeout errors, sqlite's "database is locked",
`redis.exceptions.LockError`), the fix adds `default_retry_delay=10`
instead: those recover within seconds (the other transaction commits, the
lock is released, the connection is re-opened), so a short fixed delay is
the right strategy; growing waits only delay work that could already run.
`DatabaseError` is not treated so: it also covers `IntegrityError`,
`DataError` and `ProgrammingError`, which no retry fixes.

## Fix safety
Safe, and it changes retry timing on purpose. Before: each retry waits
180 s. After (default settings): retry n waits a random 0 to
min(600, 2^n) s, so the first retry comes after about 0-1 s instead of
180 s, and five retries together wait at most 31 s instead of 900 s. Pair
it with CEL303 (explicit `max_retries`) and check that the total wait still
covers the outages the task must ride out; raise `retry_backoff` (a factor)
for longer waits. Database/lock errors: 180 s -> 10 s, fixed.

## Options
- `retry-backoff-max` (default 600): the cap written as `retry_backoff_max`.

## References
- Celery: Automatic retry for known exceptions (`autoretry_for`,
  `retry_backoff`, `retry_backoff_max`, `retry_jitter`)
- `celery/app/autoretry.py`
"""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from celery_codemods.findings import Edit, Finding, Fix, Safety
from celery_codemods.index.project import Project, Task
from celery_codemods.rewrite import EditContext
from celery_codemods.rules._decorator_edit import KeywordEdit, apply_keyword_edit, decorator_edit
from celery_codemods.rules._retries import DB_RETRY_DELAY, exception_names, is_db_or_lock, options_hidden
from celery_codemods.rules.base import Rule


class AutoretryWithoutBackoff(Rule):
    code = "CEL301"
    name = "autoretry-without-backoff"
    summary = "autoretry_for without retry_backoff: every retry waits a fixed 180 s"
    fix_availability = "always"

    def check(self, project: Project) -> Iterator[Finding]:
        for task in project.tasks:
            if _waits_fixed_default(task):
                yield self._finding(task)

    def _finding(self, task: Task) -> Finding:
        retried = exception_names(task.option("autoretry_for"))
        internal = bool(retried) and all(is_db_or_lock(name) for name in retried)
        add: tuple[tuple[str, str], ...]
        if internal:
            add = (("default_retry_delay", str(DB_RETRY_DELAY)),)
            change = f"a fixed {DB_RETRY_DELAY} s delay for database/lock errors"
        else:
            cap = self.settings.retry_backoff_max
            add = (("retry_backoff", "True"), ("retry_backoff_max", str(cap)), ("retry_jitter", "True"))
            change = f"exponential backoff capped at {cap} s, with jitter"
        decorator = task.decorator
        return self.task_finding(
            task,
            f"task `{task.display_name}` autoretries with a fixed 180 s between tries; use {change}",
            fix=Fix(
                description=f"{change} for task `{task.display_name}`",
                safety=Safety.SAFE,
                edits=(decorator_edit(task.path, decorator, self.code, add=add),),
            ),
        )

    def apply(self, node: cst.CSTNode, edit: Edit, ctx: EditContext) -> cst.CSTNode:
        payload: KeywordEdit = edit.payload
        return apply_keyword_edit(node, payload)


def _waits_fixed_default(task: Task) -> bool:
    autoretry_for = task.option("autoretry_for")
    if autoretry_for is None or (autoretry_for.is_literal and not autoretry_for.literal) or options_hidden(task):
        return False
    if task.option("retry_backoff") is not None or task.option("default_retry_delay") is not None:
        return False
    retry_kwargs = task.option("retry_kwargs")
    if retry_kwargs is None:
        return True
    return isinstance(retry_kwargs.literal, dict) and "countdown" not in retry_kwargs.literal
