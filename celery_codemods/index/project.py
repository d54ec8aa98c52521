"""The merged index: which functions are tasks, and lookups across modules."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import cached_property

from msgspec import Struct

from celery_codemods.index.facts import Decorator, FunctionFacts, ModuleFacts, Option
from celery_codemods.index.models import RuntimeModels

SHARED_TASK = frozenset({"celery.shared_task", "celery.app.shared_task", "celery.app.base.shared_task"})
# Removed in Celery 5.0 (CEL501 rewrites them), still tasks for every other rule.
LEGACY_TASK = frozenset(
    {
        "celery.task",
        "celery.task.task",
        "celery.task.periodic_task",
        "celery.task.base.task",
        "celery.task.base.periodic_task",
        "celery.decorators.task",
        "celery.decorators.periodic_task",
    }
)
# When the Celery app lives outside the scanned paths, its ``.task`` is still
# recognised by the app's usual spellings (``app``, ``celery_app``, ``celery``).
_APP_LIKE = re.compile(r"(?:^|[._])(?:[A-Za-z0-9]+_)?app$|(?:^|\.)celery$")


class Task(Struct, frozen=True):
    module: ModuleFacts
    function: FunctionFacts
    decorator: Decorator
    """The decorator (or ``app.task(func)`` call) that makes it a task."""

    @property
    def qualname(self) -> str:
        return f"{self.module.module}.{self.function.object_name}"

    @property
    def path(self) -> str:
        return self.module.path

    def option(self, name: str) -> Option | None:
        return self.decorator.option(name)

    @property
    def name(self) -> str:
        """The registered name, as Celery derives it."""
        explicit = self.option("name")
        if explicit is not None and isinstance(explicit.literal, str):
            return explicit.literal
        return f"{self.module.module}.{self.function.name}"

    @property
    def is_bound(self) -> bool:
        bind = self.option("bind")
        return bind is not None and bind.literal is True

    @property
    def display_name(self) -> str:
        return self.function.name


class Project:
    def __init__(
        self,
        modules: Iterable[ModuleFacts],
        task_decorators: Iterable[str] = (),
        runtime_models: RuntimeModels | None = None,
    ) -> None:
        self.modules: dict[str, ModuleFacts] = {facts.path: facts for facts in modules}
        self.configured_decorators = tuple(task_decorators)
        self.runtime_models = runtime_models
        """Django's own model registry (``--django-settings``), or None for the static one."""

    def replace(self, modules: Iterable[ModuleFacts]) -> Project:
        merged = dict(self.modules)
        merged.update({facts.path: facts for facts in modules})
        return Project(merged.values(), self.configured_decorators, self.runtime_models)

    @cached_property
    def celery_apps(self) -> frozenset[str]:
        return frozenset(f"{m.module}.{app}" for m in self.modules.values() for app in m.celery_apps)

    @cached_property
    def task_decorators(self) -> frozenset[str]:
        """Qualified names that make a function a task, project wrappers included."""
        known = set(SHARED_TASK) | set(LEGACY_TASK) | {f"{app}.task" for app in self.celery_apps}
        wrappers = {f"{m.module}.{w.name}": w.applies for m in self.modules.values() for w in m.wrappers}
        changed = True
        while changed:
            changed = False
            for qualname, applies in wrappers.items():
                if qualname not in known and any(self._is_task_decorator(a, known) for a in applies):
                    known.add(qualname)
                    changed = True
        return frozenset(known)

    def _is_task_decorator(self, qualname: str, known: set[str] | frozenset[str]) -> bool:
        if qualname in known:
            return True
        for configured in self.configured_decorators:
            if qualname == configured or ("." not in configured and qualname.rpartition(".")[2] == configured):
                return True
        prefix, _, last = qualname.rpartition(".")
        return last == "task" and prefix.partition(".")[0] not in {"self", "cls"} and bool(_APP_LIKE.search(prefix))

    def is_task_decorator(self, qualname: str) -> bool:
        return self._is_task_decorator(qualname, self.task_decorators)

    @cached_property
    def tasks(self) -> tuple[Task, ...]:
        return tuple(self._find_tasks())

    def _find_tasks(self) -> Iterator[Task]:
        for module in self.modules.values():
            for function in module.functions:
                marker = function.registration
                if marker is None:
                    marker = next((d for d in function.decorators if self.is_task_decorator(d.qualname)), None)
                elif not self.is_task_decorator(marker.qualname):
                    marker = None
                if marker is not None:
                    yield Task(module=module, function=function, decorator=marker)

    @cached_property
    def tasks_by_qualname(self) -> dict[str, Task]:
        return {task.qualname: task for task in self.tasks if "." not in task.function.scope}

    @cached_property
    def tasks_by_name(self) -> dict[str, Task]:
        return {task.name: task for task in self.tasks}

    def tasks_in(self, path: str) -> Iterator[Task]:
        return (task for task in self.tasks if task.path == path)
