"""# task-outside-tasks-module (CEL503)

## What it does
Finds tasks defined outside a `tasks.py` module (or a `tasks/` package) of
their Django app: in `views.py`, `models.py`, `services/*.py`, `utils.py`.
A preview rule: enabled with `--preview`.

## Why is this bad?
`app.autodiscover_tasks()` imports `<app>.tasks` for every installed app and
nothing else. A task elsewhere is registered in the worker only if some
import chain happens to load its module first; when that chain changes, the
worker rejects the task's messages as unregistered (`KeyError` /
"Received unregistered task"). Tasks in `tasks` modules are also where
readers look for them.

## Example
```python
# shop/views.py
@shared_task
def send_receipt(order_id):
    ...
```

## Use instead
```python
# shop/tasks.py
@shared_task(name="shop.views.send_receipt")  # keeps queued messages working
def send_receipt(order_id):
    ...
```
Moving the function changes its derived name; pin the old one with `name=`
(see CEL504) or drain the queues first.

## Fix safety
No fix: moving a function between modules changes its name and every
import of it.

Not reported: the module that creates the Celery app (the `debug_task` of
Celery's Django guide), test modules, and modules loaded on purpose in every
process: named by the configuration (`CELERY_IMPORTS` / `imports` /
`include=`) or imported by an `AppConfig.ready()`.

Measured on sentry 21.12, pretix 2026.8, Weblate 5.14 and mayan-edms 4.12:
pretix 5, Weblate 1, mayan-edms 0, sentry 0. Before `AppConfig.ready()`
imports were taken into account pretix had 35: its service modules are
imported from `ready()`, a deliberate layout (30 false positives then, none
now). The 5 left (`services/shredder.py`, `waitinglist.py`,
`cancelevent.py`, `presale/checkoutflow.py`) are imported only by views
and other modules, the fragile case the rule is about; Weblate's is its
`examples/custom_tasks.py`, a sample meant for `CELERY_IMPORTS`. Sentry
lists its other modules in `CELERY_IMPORTS`. Still a heuristic about
import chains: it stays in preview.

## References
- Celery: `Celery.autodiscover_tasks`, the `imports` / `include` settings
- Celery's Django guide: "Using the @shared_task decorator"
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from msgspec import Struct

from celery_codemods.findings import Finding
from celery_codemods.index.context import ModuleContext
from celery_codemods.index.project import Project, Task
from celery_codemods.rules._ast_walk import walk_once, walk_statements
from celery_codemods.rules.base import Rule

_IMPORT_SETTINGS = ("CELERY_IMPORTS", "CELERY_INCLUDE", "imports", "include", "task_imports")
_ASSIGNS_IMPORT_SETTING = re.compile(r"\b(?:" + "|".join(_IMPORT_SETTINGS) + r")\s*[:+]?=")
# The same assignments by their ends only: without a leading word boundary, three times as fast;
# and first the words alone, as substrings, faster still.
_SETTING_ENDS = ("IMPORTS", "INCLUDE", "imports", "include")
_MAY_ASSIGN_IMPORT_SETTING = re.compile(r"(?:" + "|".join(_SETTING_ENDS) + r")\s*[:+]?=")


def _may_assign_import_setting(text: str) -> bool:
    return any(end in text for end in _SETTING_ENDS) and _MAY_ASSIGN_IMPORT_SETTING.search(text) is not None


class ImportedModules(Struct, frozen=True):
    """Module names the Celery configuration in this module imports explicitly."""

    names: tuple[str, ...]


class TaskOutsideTasksModule(Rule):
    code = "CEL503"
    name = "task-outside-tasks-module"
    summary = "Task defined outside <app>/tasks.py, where autodiscovery does not look"
    preview = True

    @classmethod
    def extract_module(cls, tree: ast.Module, ctx: ModuleContext) -> ImportedModules | None:
        names: set[str] = set()
        if _may_assign_import_setting(ctx.text) and _ASSIGNS_IMPORT_SETTING.search(ctx.text):
            names.update(_configured_imports(tree))
        if "def ready" in ctx.text:
            names.update(_imported_at_ready(tree, ctx))
        return ImportedModules(tuple(sorted(names))) if names else None

    @classmethod
    def extract_outline(cls, tree: ast.Module, ctx: ModuleContext) -> ImportedModules | None:
        return cls.extract_module(tree, ctx)  # Celery's import settings count wherever they are

    def check(self, project: Project) -> Iterator[Finding]:
        configured = {
            name
            for module in project.modules.values()
            if (facts := module.extras.get(self.code)) is not None
            for name in facts.names
        }
        for task in project.tasks:
            if _outside_tasks_module(task) and task.module.module not in configured:
                yield self._finding(task)

    def _finding(self, task: Task) -> Finding:
        return self.task_finding(
            task,
            (
                f"task `{task.display_name}` is defined in `{task.module.module}`, not in a `tasks` module: "
                "`autodiscover_tasks()` does not import it, so the worker knows it only if something else does"
            ),
        )


def _outside_tasks_module(task: Task) -> bool:
    parts = task.module.module.split(".")
    if "tasks" in parts or task.module.celery_apps:
        return False
    return not any(part in ("tests", "test", "conftest") or part.startswith("test_") for part in parts)


def _configured_imports(tree: ast.Module) -> Iterator[str]:
    for node in walk_once(tree):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if node.value is not None and any(_setting_name(target) in _IMPORT_SETTINGS for target in targets):
                yield from _strings(node.value)
        elif isinstance(node, ast.keyword) and node.arg in _IMPORT_SETTINGS:
            yield from _strings(node.value)


def _imported_at_ready(tree: ast.Module, ctx: ModuleContext) -> Iterator[str]:
    """Modules an ``AppConfig.ready()`` imports: Django runs it in every process, the worker too."""
    for node in walk_statements(tree):
        if isinstance(node, ast.FunctionDef) and node.name == "ready":
            for statement in ast.walk(node):
                if isinstance(statement, ast.Import):
                    yield from (alias.name for alias in statement.names)
                elif isinstance(statement, ast.ImportFrom):
                    base = _absolute(ctx, statement.module, statement.level)
                    yield base
                    yield from (f"{base}.{alias.name}" for alias in statement.names)


def _absolute(ctx: ModuleContext, module: str | None, level: int) -> str:
    if level == 0:
        return module or ""
    parts = ctx.resolver.package.split(".") if ctx.resolver.package else []
    parts = parts[: len(parts) - (level - 1)] if level > 1 else parts
    return ".".join([*parts, module] if module else parts)


def _setting_name(target: ast.expr) -> str:
    if isinstance(target, ast.Name):
        return target.id
    if isinstance(target, ast.Attribute):
        return target.attr
    return ""


def _strings(value: ast.expr) -> Iterator[str]:
    for node in ast.walk(value):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.value
