"""# implicit-max-retries (CEL303)

## What it does
Finds a task that retries (with `autoretry_for`, or by calling
`self.retry(...)`) without saying how often: no `max_retries` option, none
in `retry_kwargs` for autoretry, none on the retry calls.

## Why is this bad?
Celery's implicit limit is 3 retries (4 runs): a number nobody chose for
this task. How often to retry follows from how long the task may keep
trying (the acceptable total wait) and the delay between tries; writing it
down makes that decision visible and reviewable next to the backoff
options.

## Example
```python
@shared_task(autoretry_for=(ConnectionError,), retry_backoff=True)
def sync(order_id):
    push(order_id)
```

## Use instead
```python
@shared_task(autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def sync(order_id):
    push(order_id)
```
The fix adds `max_retries` with the configured count.

## Fix safety
Safe, and with the default `max-retries = 5` it changes behaviour on
purpose: a failing task is retried 5 times instead of 3 (6 runs instead
of 4) before the error is raised for good; with exponential backoff that
adds the two longest waits. Set `max-retries = 3` to keep Celery's count
and only make it explicit.

## Options
- `max-retries` (default 5): the count written as `max_retries`.

## References
- Celery: `Task.max_retries`, `Task.retry`
"""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from celery_codemods.findings import Edit, Finding, Fix, Safety
from celery_codemods.index.project import Project, Task
from celery_codemods.rewrite import EditContext
from celery_codemods.rules._decorator_edit import KeywordEdit, apply_keyword_edit, decorator_edit
from celery_codemods.rules._retries import RetryCall, RetryCallsRule, options_hidden


class ImplicitMaxRetries(RetryCallsRule):
    code = "CEL303"
    name = "implicit-max-retries"
    summary = "Retrying task without an explicit max_retries (Celery's implicit 3)"
    fix_availability = "always"

    def check(self, project: Project) -> Iterator[Finding]:
        for task in project.tasks:
            how = _retries_without_limit(task, self.retry_calls(task))
            if how is not None:
                yield self._finding(task, how)

    def _finding(self, task: Task, how: str) -> Finding:
        count = self.settings.max_retries
        decorator = task.decorator
        return self.task_finding(
            task,
            f"task `{task.display_name}` {how} without `max_retries` (Celery's implicit 3)",
            fix=Fix(
                description=f"set `max_retries={count}` on task `{task.display_name}`",
                safety=Safety.SAFE,
                edits=(decorator_edit(task.path, decorator, self.code, add=(("max_retries", str(count)),)),),
            ),
        )

    def apply(self, node: cst.CSTNode, edit: Edit, ctx: EditContext) -> cst.CSTNode:
        payload: KeywordEdit = edit.payload
        return apply_keyword_edit(node, payload)


def _retries_without_limit(task: Task, calls: list[RetryCall]) -> str | None:
    if task.option("max_retries") is not None or options_hidden(task):
        return None
    autoretry_for = task.option("autoretry_for")
    if autoretry_for is not None and not (autoretry_for.is_literal and not autoretry_for.literal):
        retry_kwargs = task.option("retry_kwargs")
        if retry_kwargs is None or (
            isinstance(retry_kwargs.literal, dict) and "max_retries" not in retry_kwargs.literal
        ):
            return "autoretries"
    if any(call.max_retries == "absent" for call in calls):
        return "retries"
    return None
