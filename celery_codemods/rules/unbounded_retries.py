"""# unbounded-retries (CEL307)

## What it does
Finds `max_retries=None` on a task, in its `retry_kwargs`, or on a
`self.retry(...)` call.

## Why is this bad?
`None` means retry forever. A task whose error never clears keeps coming
back, holds its message (and with `acks_late`, a worker slot) and never
reaches a failed state that anyone would notice; with a short countdown it
hammers the failing service indefinitely.

## Example
```python
@shared_task(autoretry_for=(ConnectionError,), max_retries=None)
def sync(order_id):
    push(order_id)
```

## Use instead
```python
@shared_task(autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=8)
def sync(order_id):
    push(order_id)
```
Choose the count from the total time the task may keep retrying (with
backoff, retry n waits up to min(cap, 2^n) s).

## Fix safety
No fix: how long to keep trying is the author's call.

## References
- Celery: `Task.max_retries`, `Task.retry(max_retries=...)`
"""

from __future__ import annotations

from collections.abc import Iterator

from celery_codemods.findings import Finding
from celery_codemods.index.project import Project, Task
from celery_codemods.rules._retries import RetryCallsRule


class UnboundedRetries(RetryCallsRule):
    code = "CEL307"
    name = "unbounded-retries"
    summary = "max_retries=None retries forever"

    def check(self, project: Project) -> Iterator[Finding]:
        for task in project.tasks:
            if _decorator_says_forever(task):
                yield self._finding(task, task.decorator.span.line, task.decorator.span.col, "its options")
            for call in self.retry_calls(task):
                if call.max_retries == "none":
                    yield self._finding(task, call.line, call.col, f"`{call.receiver}.retry()`")

    def _finding(self, task: Task, line: int, col: int, where: str) -> Finding:
        message = f"task `{task.display_name}` retries forever (`max_retries=None` in {where}); set a limit"
        return self.task_finding(task, message, line=line, col=col)


def _decorator_says_forever(task: Task) -> bool:
    option = task.option("max_retries")
    if option is not None:
        return option.is_literal and option.literal is None
    retry_kwargs = task.option("retry_kwargs")
    literal = retry_kwargs.literal if retry_kwargs is not None else None
    return isinstance(literal, dict) and "max_retries" in literal and literal["max_retries"] is None
