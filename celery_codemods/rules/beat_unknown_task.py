"""# beat-unknown-task (CEL401)

## What it does
Finds beat schedule entries whose `task` names no task in the project, in
`beat_schedule`, `CELERY_BEAT_SCHEDULE` (Django settings), `app.conf.beat_schedule`,
`app.conf.update(beat_schedule=...)` and `add_periodic_task(signature("name"), ...)`.
Names are resolved as Celery registers them: the task's `name=` when given,
else `module.function` (the module path from the package layout, so
`shop/billing/tasks.py` in packages `shop` and `shop.billing` gives
`shop.billing.tasks.<function>`), through `@shared_task`, `@app.task`,
`app.task(func)`, project wrapper decorators, and class-based tasks that set
`name = "..."`. The closest registered name is given as a hint.

## Why is this bad?
Beat sends the entry by name and nothing checks that name against the
worker's registry. A typo, a task moved to another module, or the import
path of a task registered under an explicit `name=` all end the same way: on
schedule, the worker logs "Received unregistered task" and drops the
message. The periodic job never runs, and nothing fails loudly.

## Example
```python
CELERY_BEAT_SCHEDULE = {
    "purge-sessions": {
        "task": "accounts.tasks.purge_sesions",
        "schedule": crontab(hour=3, minute=0),
    },
}
```

## Use instead
```python
CELERY_BEAT_SCHEDULE = {
    "purge-sessions": {
        "task": "accounts.tasks.purge_sessions",
        "schedule": crontab(hour=3, minute=0),
    },
}
```

## Fix safety
No fix: the closest name is a guess, and starting a job that never ran is a
decision for a person.

Not reported: a `task` computed at run time, names under `celery.` (Celery's
built-in tasks such as `celery.backend_cleanup`), names that neither start
with one of the project's top-level packages nor resemble a project task
(a third-party task), and any name at all when the scanned paths hold no
task or some task's `name=` is computed. A registered name may also match
by its trailing dotted part (`shop.tasks.f` and `src.shop.tasks.f`): the
scanned root can sit inside a package, and apps without `__init__.py` are
namespace packages, so the index and Celery can disagree about the module
path's prefix.

## References
- Celery: "Periodic Tasks" (entries), "Names" (automatic naming)
- `celery.app.base.Celery.gen_task_name`
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from celery_codemods.findings import Finding
from celery_codemods.index.context import ModuleContext
from celery_codemods.index.facts import ModuleFacts
from celery_codemods.index.project import Project
from celery_codemods.rules._beat import BeatEntry, BeatFacts, TaskNames, all_entries, extract
from celery_codemods.rules.base import Rule


class BeatUnknownTask(Rule):
    code = "CEL401"
    name = "beat-unknown-task"
    summary = "Beat entry names a task that is not registered"

    @classmethod
    def extract_module(cls, tree: ast.Module, ctx: ModuleContext) -> BeatFacts | None:
        return extract(tree, ctx)

    @classmethod
    def extract_outline(cls, tree: ast.Module, ctx: ModuleContext) -> BeatFacts | None:
        return cls.extract_module(tree, ctx)  # beat entries and class task names count wherever they are

    def check(self, project: Project) -> Iterator[Finding]:
        names = TaskNames.of(project)
        if names.empty or names.unknowable:
            return
        for module, entry in all_entries(project):
            message = _problem(entry, names)
            if message is not None:
                yield self._finding(module, entry, message)

    def _finding(self, module: ModuleFacts, entry: BeatEntry, message: str) -> Finding:
        task = entry.field("task")
        assert task is not None
        return Finding(
            path=module.path,
            line=task.span.line,
            col=task.span.col,
            end_line=task.span.end_line,
            end_col=task.span.end_col,
            code=self.code,
            name=self.name,
            message=message,
        )


def _problem(entry: BeatEntry, names: TaskNames) -> str | None:
    name = entry.task_name
    if name is None or name.startswith("celery.") or names.knows(name):
        return None
    registered = names.renamed.get(name)
    if registered is not None:
        return (
            f"{entry.label} names task {name!r}, the import path of a task registered as {registered!r} "
            f"(its `name=`); beat sends by registered name, so use {registered!r}"
        )
    if not names.belongs_to_project(name):
        return None
    message = f"{entry.label} names task {name!r}, which no task in the project registers"
    closest = names.closest(name)
    return f"{message}; did you mean {closest!r}?" if closest else message
