"""# app-task-in-app (CEL502)

## What it does
Finds tasks registered with the project's Celery app (`@app.task`, the app
imported from the project's Celery module) inside a Django app that lives
outside the project package: a package with `apps.py`, `models.py` or a
`models/` package whose top-level package differs from the one holding the
Celery module (`notifications/tasks.py` beside `shop/celery.py`).

## Why is this bad?
`@app.task` ties the app to one project: `from shop.celery import app`
cannot be imported without `shop`, so the app cannot be reused, tested or
moved on its own, and importing the tasks module imports the project's
Celery module (and its settings) as a side effect. Celery's Django guide
asks reusable apps for `@shared_task`, which registers the task on whichever
app the process created and needs no import of the project.

## Example
```python
# notifications/tasks.py
from shop.celery import app


@app.task(acks_late=True)
def send_digest(user_id):
    ...
```

## Use instead
```python
# notifications/tasks.py
from celery import shared_task


@shared_task(acks_late=True)
def send_digest(user_id):
    ...
```
The fix renames the decorator to `shared_task` with the same options (and
the options other rules add in the same run), imports
`from celery import shared_task`, and drops the import of the app once no
task of the module uses it. It is offered when the app's name serves only as
`@app.task` decorators of module-level functions in that module, it was
imported with an absolute `from ... import`, no other module imports it
from there, and `shared_task` is free.

Reported without a fix: `app.task(func)` registrations, any other use of
the app in the module (`app.send_task`, `app.conf`, `app.task` on a method),
a module that rebinds the name, or `shared_task` naming something else.

Not reported: the Celery module itself and every module of the package that
holds it (the project's own code, `mayan/apps/*` beside `mayan/celery.py`),
modules outside any Django app, and project decorators named `task`.

Measured on sentry 21.12, pretix 2026.8, Weblate 5.14 and mayan-edms 4.12
(`check --select CEL502`): 0 findings, as expected. pretix (42 tasks
registered with `app.task`), Weblate (73) and mayan-edms (72) keep every
Django app inside the package that holds the Celery module
(`pretix/celery_app.py`, `weblate/utils/celery.py`, `mayan/celery.py`);
sentry registers its tasks through its `instrumented_task` wrapper. The
bundled corpus has the case itself (`orders`, `accounts`, `notifications`
beside `shop/celery.py`): two tasks fixed, three reported.

## Fix safety
Safe when the project loads its Celery app at start-up, the layout of
Celery's Django guide, and has one app:
- an `__init__.py` of a package on the Celery module's path imports it
  (`shop/__init__.py` with `from .celery import app as celery_app` for
  `shop/celery.py`; Weblate's `weblate/utils/__init__.py` for
  `weblate/utils/celery.py`). That package is assumed to be imported in
  every process, as it is when it holds the settings module or is an
  installed app;
- the index saw at most one `Celery(...)` app outside test modules.

Why: `shared_task` returns a proxy that resolves to the task of the
*current* app, the last one created. The removed `from shop.celery import
app` had a side effect: importing the tasks module created and configured
the app. Without the start-up import, a process that imports the tasks
module before the app exists would `.delay()` through Celery's default app
(broker `amqp://localhost`); with two apps, through whichever was created
last.

Unsafe (applied with `--unsafe-fixes`) otherwise: no such import among the
files analysed (`import shop.celery` is not recognised: the index records
only the top-level name of a plain `import`), or more than one app.

The task's name does not change (`module.function` either way), nor its
options; its base class is still the app's `task_cls`.

## References
- Celery's Django guide: "Using the @shared_task decorator"
- Celery: `celery.shared_task`, `Celery.task`
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Iterator
from functools import lru_cache
from typing import TYPE_CHECKING

import libcst as cst
from msgspec import Struct

from celery_codemods.findings import Edit, Finding, Fix, Safety
from celery_codemods.index.context import ModuleContext, spelled_as_read
from celery_codemods.index.project import LEGACY_TASK, SHARED_TASK, Project, Task
from celery_codemods.index.resolve import callee
from celery_codemods.rules._ast_walk import walk_all, walk_statements
from celery_codemods.rules.base import Rule

if TYPE_CHECKING:
    from celery_codemods.rewrite import EditContext

_APP_TASK_DECORATOR = re.compile(r"@\s*\w+(?:\s*\.\s*\w+)*\s*\.\s*task\b")
_APP_MARKERS = ("apps.py", "models.py")


class AppImport(Struct, frozen=True):
    """A module-level ``from module import name [as local]`` whose ``local`` only decorates."""

    local: str
    module: str
    name: str
    asname: str | None


class AppTaskModule(Struct, frozen=True):
    django_app: str
    """Dotted name of the Django app package (``apps.py``/``models``) holding the module."""
    decorator_only: tuple[AppImport, ...]
    """Imported names used in this module only as ``@<name>.task`` decorators."""


class AppTaskInApp(Rule):
    code = "CEL502"
    name = "app-task-in-app"
    summary = "@app.task of the project's Celery app inside a reusable Django app (use @shared_task)"
    fix_availability = "sometimes"

    @classmethod
    def extract_module(cls, tree: ast.Module, ctx: ModuleContext) -> AppTaskModule | None:
        if not _APP_TASK_DECORATOR.search(ctx.text):
            return None
        django_app = _django_app(ctx.path, ctx.module)
        if django_app is None:
            return None
        return AppTaskModule(django_app, tuple(_decorator_only_imports(tree, ctx.text)))

    def check(self, project: Project) -> Iterator[Finding]:
        for task in project.tasks:
            facts: AppTaskModule | None = task.module.extras.get(self.code)
            app = _app_of(task, project)
            if facts is None or app is None or _top(app) == _top(facts.django_app):
                continue
            yield self._finding(task, facts, app, project)

    def _finding(self, task: Task, facts: AppTaskModule, app: str, project: Project) -> Finding:
        decorator = task.decorator
        written = decorator.callee or decorator.qualname
        message = (
            f"task `{task.display_name}` in the Django app `{facts.django_app}` is registered with "
            f"`{written}` of `{app}`: use `@shared_task`, so the app does not import the project's Celery module"
        )
        app_import, reason = _fixable(task, facts, project)
        fix = None
        if app_import is None:
            message += f" (not rewritten: {reason})"
        else:
            span = task.function.span
            fix = Fix(
                description=f"register task `{task.display_name}` with `@shared_task` instead of `{written}`",
                safety=Safety.SAFE if _loaded_at_start_up(app, project) else Safety.UNSAFE,
                edits=(Edit(task.path, "FunctionDef", span.line, span.col, self.code, app_import),),
            )
        return Finding(
            path=task.path,
            line=decorator.span.line,
            col=decorator.span.col,
            end_line=decorator.span.end_line,
            end_col=decorator.span.end_col,
            code=self.code,
            name=self.name,
            message=message,
            fix=fix,
            suppress_lines=tuple(d.span.line for d in task.function.decorators),
        )

    def apply(self, node: cst.CSTNode, edit: Edit, ctx: EditContext) -> cst.CSTNode:
        if not isinstance(node, cst.FunctionDef):
            return node
        app_import: AppImport = edit.payload
        decorators = [_as_shared_task(decorator, app_import.local) for decorator in node.decorators]
        if all(new is old for new, old in zip(decorators, node.decorators, strict=True)):
            return node
        ctx.add_import("celery", "shared_task")
        ctx.remove_import_if_unused(app_import.module, app_import.name, app_import.asname)
        return node.with_changes(decorators=decorators)


def _top(dotted: str) -> str:
    return dotted.partition(".")[0]


def _app_of(task: Task, project: Project) -> str | None:
    """The Celery app (``shop.celery.app``) whose ``.task`` registers ``task``, or None."""
    qualname = task.decorator.qualname
    if qualname in SHARED_TASK or qualname in LEGACY_TASK or qualname in project.configured_decorators:
        return None
    app, _, last = qualname.rpartition(".")
    module, _, variable = app.rpartition(".")
    if last != "task" or not module or _is_wrapper(module, variable, project):
        return None
    return app


def _is_wrapper(module: str, name: str, project: Project) -> bool:
    """``shop.taskutils.task`` where ``task`` is a project function, not an app's method."""
    return any(
        facts.module == f"{module}.{name}" and any(wrapper.name == "task" for wrapper in facts.wrappers)
        for facts in project.modules.values()
    )


def _fixable(task: Task, facts: AppTaskModule, project: Project) -> tuple[AppImport | None, str]:
    decorator = task.decorator
    local, _, attr = decorator.callee.partition(".")
    if task.function.registration is not None:
        return None, f"`{decorator.callee or 'app.task'}(func)` registers it: decorate the function instead"
    if "." in task.function.scope:
        return None, "it is defined in a class"
    if attr != "task":
        return None, f"the decorator is written `{decorator.callee}`, not `<app>.task`"
    app_import = next((item for item in facts.decorator_only if item.local == local), None)
    if app_import is None:
        return None, f"`{local}` is used for more than `@{local}.task` in this module"
    exported = f"{task.module.module}.{local}"
    if any(exported in dict(other.imports).values() for other in project.modules.values()):
        return None, f"other modules import `{exported}`"
    bound = task.module.import_map().get("shared_task")
    if "shared_task" in task.module.module_names and bound not in SHARED_TASK:
        return None, "`shared_task` names something else in this module"
    return app_import, ""


def _loaded_at_start_up(app: str, project: Project) -> bool:
    """Celery's Django layout: an ``__init__`` on the Celery module's package path loads the app.

    With more than one app, ``shared_task`` resolves to the last one created, maybe not ``app``.
    """
    if len(_project_apps(project)) > 1:
        return False
    module, _, variable = app.rpartition(".")
    for facts in project.modules.values():
        if not facts.is_package or not (module == facts.module or module.startswith(f"{facts.module}.")):
            continue
        imported = facts.import_map()
        if facts.module == module and (variable in imported or variable in facts.celery_apps):
            return True
        if facts.module != module and any(q == module or q.startswith(f"{module}.") for q in imported.values()):
            return True
    return False


def _project_apps(project: Project) -> frozenset[str]:
    """Celery apps outside test modules (a test suite's own app never runs in production)."""
    return frozenset(app for app in project.celery_apps if not _is_test_module(app.rpartition(".")[0]))


def _is_test_module(module: str) -> bool:
    return any(part in ("tests", "test", "conftest") or part.startswith("test_") for part in module.split("."))


def _django_app(path: str, module: str) -> str | None:
    """The nearest package around ``path`` that is a Django app, as a dotted name."""
    directory = os.path.dirname(os.path.abspath(path))
    parts = module.split(".")
    if os.path.basename(path) != "__init__.py":
        parts = parts[:-1]
    while parts:
        if _is_django_app_dir(directory):
            return ".".join(parts)
        directory = os.path.dirname(directory)
        parts = parts[:-1]
    return None


@lru_cache(maxsize=4096)
def _is_django_app_dir(directory: str) -> bool:
    if any(os.path.isfile(os.path.join(directory, marker)) for marker in _APP_MARKERS):
        return True
    return os.path.isfile(os.path.join(directory, "models", "__init__.py"))


def _decorator_only_imports(tree: ast.Module, text: str) -> Iterator[AppImport]:
    """Names imported once at module level whose every use is ``@<name>.task``."""
    decorator_names: dict[str, list[int]] = {}
    for node in walk_statements(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            for expression in node.decorator_list:
                written = callee(expression)
                if (
                    isinstance(written, ast.Attribute)
                    and written.attr == "task"
                    and isinstance(written.value, ast.Name)
                ):
                    decorator_names.setdefault(written.value.id, []).append(id(written.value))
    if not decorator_names:
        return
    used_elsewhere: set[str] = set()
    bindings: dict[str, int] = {}
    if _spelled_only_in_decorators_and_once_more(text, decorator_names):
        bindings = dict.fromkeys(decorator_names, 1)  # if that once is no import below, nothing is yielded
    else:  # a walk of the whole module tells uses and bindings apart
        in_decorators = {node_id for ids in decorator_names.values() for node_id in ids}
        for node in walk_all(tree):
            if type(node) is ast.Name:
                if node.id in decorator_names and id(node) not in in_decorators:
                    used_elsewhere.add(node.id)
            elif isinstance(node, ast.stmt):
                _count_bindings(node, decorator_names, bindings)
    for statement in tree.body:
        if not isinstance(statement, ast.ImportFrom) or statement.level or not statement.module:
            continue
        for alias in statement.names:
            local = alias.asname or alias.name
            if local in decorator_names and local not in used_elsewhere and bindings.get(local) == 1:
                yield AppImport(local, statement.module, alias.name, alias.asname)


def _spelled_only_in_decorators_and_once_more(text: str, decorator_names: dict[str, list[int]]) -> bool:
    """Each name appears as a word in the text only in its ``@<name>.task`` decorators and once more.

    Every use and binding of a name spells it, so then nothing else uses or binds it. Only where
    identifiers are spelled as read: Python reads them NFKC-normalised (full-width ``app`` too).
    """
    return spelled_as_read(text) and all(
        len(re.findall(rf"\b{re.escape(name)}\b", text)) == len(uses) + 1 for name, uses in decorator_names.items()
    )


def _count_bindings(node: ast.stmt, names: dict[str, list[int]], counts: dict[str, int]) -> None:
    """Count the statements that bind each of ``names`` (imports, defs, ``global``)."""
    bound: list[str] = []
    if isinstance(node, ast.Import | ast.ImportFrom):
        bound = [(alias.asname or alias.name).partition(".")[0] for alias in node.names]
    elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        bound = [node.name]
    elif isinstance(node, ast.Global | ast.Nonlocal):
        bound = list(node.names)
    for name in bound:
        if name in names:
            counts[name] = counts.get(name, 0) + 1


def _as_shared_task(decorator: cst.Decorator, local: str) -> cst.Decorator:
    expression = decorator.decorator
    if isinstance(expression, cst.Call) and _is_app_task(expression.func, local):
        return decorator.with_changes(decorator=expression.with_changes(func=cst.Name("shared_task")))
    if _is_app_task(expression, local):
        return decorator.with_changes(decorator=cst.Name("shared_task"))
    return decorator


def _is_app_task(expression: cst.BaseExpression, local: str) -> bool:
    return (
        isinstance(expression, cst.Attribute)
        and expression.attr.value == "task"
        and isinstance(expression.value, cst.Name)
        and expression.value.value == local
    )
