"""# autoretry-for-broad-exception (CEL306)

## What it does
Finds `autoretry_for` containing `Exception` or `BaseException`.

## Why is this bad?
Every error is then retried, including the ones a retry cannot fix: a
`TypeError` from a bad argument, a `ValidationError`, a missing row, a bug.
The task fails the same way `max_retries` more times, later, and the real
error reaches you only after the last try. Celery's own control exceptions
(`Reject`, `SoftTimeLimitExceeded`, ...) are `Exception`s too.

## Example
```python
@shared_task(autoretry_for=(Exception,), retry_backoff=True)
def sync(order_id):
    push(order_id)
```

## Use instead
```python
@shared_task(autoretry_for=(requests.ConnectionError, requests.Timeout), retry_backoff=True)
def sync(order_id):
    push(order_id)
```
List the transient errors the task can recover from; or keep the broad
class and exclude the permanent ones with `dont_autoretry_for=(TypeError,
ValueError, KeyError, ObjectDoesNotExist, ValidationError)` (Celery 5.3+).

## Fix safety
No fix: which errors are transient is the author's call.

## References
- Celery: `autoretry_for`, `dont_autoretry_for`
"""

from __future__ import annotations

from collections.abc import Iterator

from celery_codemods.findings import Finding
from celery_codemods.index.project import Project
from celery_codemods.rules._retries import BROAD, exception_names
from celery_codemods.rules.base import Rule


class AutoretryForBroadException(Rule):
    code = "CEL306"
    name = "autoretry-for-broad-exception"
    summary = "autoretry_for=(Exception,) retries errors no retry can fix"

    def check(self, project: Project) -> Iterator[Finding]:
        for task in project.tasks:
            broad = [name for name in exception_names(task.option("autoretry_for")) if name in BROAD]
            if not broad:
                continue
            excluded = task.option("dont_autoretry_for") is not None
            hint = (
                "" if excluded else "; list the transient errors, or exclude permanent ones with `dont_autoretry_for`"
            )
            yield self.task_finding(
                task,
                f"task `{task.display_name}` autoretries on `{broad[0].rpartition('.')[2]}`, "
                f"including errors a retry cannot fix{hint}",
            )
