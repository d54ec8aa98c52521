"""# no-progress-long-task (CEL514, preview)

## What it does
Finds a task that works through a queryset item by item and says nothing
while it does: a `for` loop over a model manager's queryset
(`Order.objects.filter(...)`, `.iterator()`, a `...QuerySet...` wrapper
such as `RangeQuerySetWrapper(qs)`) whose body does work (calls something
beyond logging and collecting), with no log record inside the loop, no
subtasks sent from it, and no `update_state` anywhere in the task. A
related manager (`order.lines.all()`) is usually small and does not count.

On real projects (sentry, pretix, weblate, mayan-edms): 16 findings
(weblate 12, mayan-edms 4, sentry and pretix 0: their loops log, or send a
subtask per item). Read all 16: 10 are long loops without a word (metrics
over every user and translation, git updates per component, signatures of
a key); 6 are false positives, loops over a handful of rows (expired users,
one billing's projects, one support record, a two-hour audit window, a
bounded list of ids). About 38% false positives: it stays in preview. Helper
methods named like a send (`schedule_*`, `enqueue*`, `*_async`) count as
subtasks; before that rule two more were false positives.

## Why is this bad?
The size of a table grows; the task with it. From the outside (Flower, the
result backend, the worker log) a task that runs for an hour without a word
looks exactly like one that hangs. When it hits its time limit or the
worker is restarted for a deploy, everything done so far is invisible and
the next run starts from the beginning.

## Example
```python
@shared_task
def reindex_products():
    for product in Product.objects.all():
        search.index(product)
```

## Use instead
Report progress (a bound task), log every so often, or split the work into
subtasks that each handle a chunk:
```python
@shared_task(bind=True)
def reindex_products(self):
    total = Product.objects.count()
    for done, product in enumerate(Product.objects.iterator(), start=1):
        search.index(product)
        if done % 1000 == 0:
            self.update_state(state="PROGRESS", meta={"done": done, "total": total})
            logger.info("reindex_products: %s/%s", done, total)
```
or `index_product.chunks(((pk,) for pk in ids), 100).apply_async()`.

## Fix safety
No fix: what progress means (and how often to report it) depends on the task.

## References
- Celery: `Task.update_state`, "Canvas" (`chunks`, `group`)
- Django: `QuerySet.iterator`
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from celery_codemods.findings import Finding
from celery_codemods.index.context import ModuleContext
from celery_codemods.index.project import Project, Task
from celery_codemods.rules._task_body import LoopFacts, QuerysetLoop, loop_facts
from celery_codemods.rules.base import Rule


class NoProgressLongTask(Rule):
    code = "CEL514"
    name = "no-progress-long-task"
    summary = "Task loops over a queryset with no progress: no update_state, no log in the loop, no subtasks"
    preview = True

    @classmethod
    def extract_function(cls, node: ast.FunctionDef | ast.AsyncFunctionDef, ctx: ModuleContext) -> LoopFacts | None:
        """Also read by heavy-periodic-task (CEL515)."""
        return loop_facts(node, ctx)

    def check(self, project: Project) -> Iterator[Finding]:
        for task in project.tasks:
            facts = task_loops(task)
            if facts is None or facts.reports_progress:
                continue
            for loop in facts.loops:
                if loop.works and not loop.logs and not loop.spawns:
                    yield self._finding(task, loop)

    def _finding(self, task: Task, loop: QuerysetLoop) -> Finding:
        return self.task_finding(
            task,
            (
                f"task `{task.display_name}` works through `{loop.iterable}` one item at a time with no "
                "progress: no `update_state`, no log inside the loop, no subtasks; a long run looks hung and "
                "loses its place when stopped; report progress with `self.update_state(...)` (bind=True), log "
                "every N items, or split it into subtasks (`chunks`, `group`)"
            ),
            line=loop.line,
            col=loop.col,
        )


def task_loops(task: Task) -> LoopFacts | None:
    facts = task.function.extras.get(NoProgressLongTask.code)
    return facts if isinstance(facts, LoopFacts) else None
