"""# heavy-periodic-task (CEL515, preview)

## What it does
Finds a task named in the beat schedule that does the per-item work itself:
a `for` loop over a model manager's queryset (as no-progress-long-task,
CEL514, reads it) whose body does work and sends no subtask. The schedule
is read as the beat rules read it (`beat_schedule`, `CELERY_BEAT_SCHEDULE`,
`app.conf`, `add_periodic_task`), and the task is the one the entry names.
A loop over `select_for_update()` rows is left alone: processing them under
one lock in one transaction is deliberate, and subtasks would lose the lock.

On real projects (sentry, pretix, weblate, mayan-edms): 7 findings (weblate
6, sentry 1; pretix runs periodic work from its own signal, not beat, and
mayan-edms keeps its schedule in the database). Read all 7: 4 walk large
tables inline (metrics, remote updates, repository and component alerts);
3 are false positives, loops over a few rows or cheap per-item work
(expired users, a two-hour audit window, syncing changed options to the
cache). Before locked loops were left alone, two more (a billing sweep and
a support record, both under `select_for_update()`) were false positives.
About 43% false positives: it stays in preview.

## Why is this bad?
A periodic run that walks the whole table in one task grows with the table:
one slow or failing item holds up (or aborts) all the others, the run can
outlast its interval so runs overlap, a time limit or a deploy kills it
half done, and a single worker process does what the pool could share.
Beat only starts it: the fan-out is the task's job.

## Example
```python
@shared_task
def send_reminders():
    for invoice in Invoice.objects.filter(status="overdue"):
        mail_reminder(invoice)
```

## Use instead
```python
@shared_task
def send_reminders():
    for invoice_id in Invoice.objects.filter(status="overdue").values_list("pk", flat=True):
        send_reminder.delay(invoice_id)


@shared_task
def send_reminder(invoice_id):
    mail_reminder(Invoice.objects.get(pk=invoice_id))
```
(or `send_reminder.chunks(...)` / `group(...)` for many small items).

## Fix safety
No fix: a new task is a new unit of retry, idempotency and rate limit, to
be designed by a person.

## References
- Celery: "Periodic Tasks", "Canvas" (`group`, `chunks`), "Tasks" - "Granularity"
"""

from __future__ import annotations

from collections.abc import Iterator

from celery_codemods.findings import Finding
from celery_codemods.index.project import Project, Task
from celery_codemods.rules._beat import BeatEntry, all_entries, task_for
from celery_codemods.rules._task_body import QuerysetLoop
from celery_codemods.rules.base import Rule
from celery_codemods.rules.no_progress_long_task import task_loops


class HeavyPeriodicTask(Rule):
    code = "CEL515"
    name = "heavy-periodic-task"
    summary = "Periodic task does the per-item work inline instead of sending a subtask per item or chunk"
    preview = True

    def check(self, project: Project) -> Iterator[Finding]:
        for task, entry in _periodic_tasks(project).values():
            facts = task_loops(task)
            for loop in facts.loops if facts is not None else ():
                if loop.works and not loop.spawns and not loop.locked:
                    yield self._finding(task, entry, loop)

    def _finding(self, task: Task, entry: BeatEntry, loop: QuerysetLoop) -> Finding:
        return self.task_finding(
            task,
            (
                f"periodic task `{task.display_name}` ({entry.label}) does the work for each item of "
                f"`{loop.iterable}` inline: one slow or failing item holds up the rest and the run grows with "
                "the table; send a subtask per item (`item_task.delay(pk)`) or per chunk (`chunks`, `group`)"
            ),
            line=loop.line,
            col=loop.col,
        )


def _periodic_tasks(project: Project) -> dict[str, tuple[Task, BeatEntry]]:
    """Each scheduled task once, with the first entry that names it."""
    found: dict[str, tuple[Task, BeatEntry]] = {}
    for _, entry in all_entries(project):
        task = task_for(project, entry)
        if task is not None and task.qualname not in found:
            found[task.qualname] = (task, entry)
    return found
