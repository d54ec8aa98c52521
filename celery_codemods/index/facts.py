"""Facts the index extracts from one module: small, frozen, picklable records."""

from __future__ import annotations

from typing import Any, Literal

from msgspec import Struct, field

ParamKind = Literal["posonly", "positional", "vararg", "kwonly", "kwarg"]


class Span(Struct, frozen=True):
    """1-based line, 0-based character column (LibCST's convention)."""

    line: int
    col: int
    end_line: int
    end_col: int


class Option(Struct, frozen=True):
    """One keyword argument of a decorator call, e.g. ``max_retries=5``."""

    name: str
    source: str
    names: tuple[str, ...]
    """Qualified names referenced in the value (exception classes, bases)."""
    literal: Any = None
    is_literal: bool = False


class Decorator(Struct, frozen=True):
    qualname: str
    called: bool
    span: Span
    options: tuple[Option, ...] = ()
    positional_count: int = 0
    callee: str = ""
    """The decorator's name as written, without its call: ``app.task``, ``st`` for an alias."""
    star_kwargs: bool = False
    """The call passes ``**options``: any option may be set without showing in ``options``."""

    def option(self, name: str) -> Option | None:
        return next((option for option in self.options if option.name == name), None)


class Param(Struct, frozen=True):
    name: str
    kind: ParamKind
    annotation: str | None = None
    annotation_qualname: str | None = None
    has_default: bool = False


class FunctionFacts(Struct, frozen=True):
    """A function that may be a task: decorated, or passed to ``app.task(...)``."""

    name: str
    scope: str
    """Dotted path inside the module: ``func`` or ``Class.func``."""
    span: Span
    is_async: bool
    decorators: tuple[Decorator, ...]
    params: tuple[Param, ...]
    object_name: str
    """The module attribute bound to the task object (differs from name for app.task(func))."""
    registration: Decorator | None = None
    """The ``app.task(func)`` call that registers it, when not decorated."""
    extras: dict[str, Any] = field(default_factory=dict)
    deferred: bool = False
    """The rules' ``extras`` were not extracted: no decorator looked like a task's. The index
    extracts them if the project makes it a task (through a wrapper of its own)."""

    def param(self, name: str) -> Param | None:
        return next((param for param in self.params if param.name == name), None)


class Wrapper(Struct, frozen=True):
    """A module-level function whose body applies a task decorator."""

    name: str
    applies: tuple[str, ...]


class ModuleFacts(Struct, frozen=True):
    path: str
    module: str
    digest: str
    is_package: bool
    imports: tuple[tuple[str, str], ...]
    """Local name -> qualified name, for every import in the module."""
    functions: tuple[FunctionFacts, ...] = ()
    wrappers: tuple[Wrapper, ...] = ()
    celery_apps: tuple[str, ...] = ()
    loggers: tuple[str, ...] = ()
    """Module-level names bound to a logger, in source order."""
    module_names: frozenset[str] = frozenset()
    """Every name bound at module level (to avoid clashes when adding one)."""
    suppressions: tuple[tuple[int, tuple[str, ...]], ...] = ()
    """Line -> suppressed codes; an empty tuple suppresses every code."""
    extras: dict[str, Any] = field(default_factory=dict)
    outline: bool = False
    """Only what other modules need: the module can define a model but no task, and calls no task
    by name. No task candidates, apps, loggers or call sites."""

    def import_map(self) -> dict[str, str]:
        return dict(self.imports)

    def is_suppressed(self, line: int, code: str) -> bool:
        for suppressed_line, codes in self.suppressions:
            if suppressed_line == line and (not codes or any(code.startswith(c) for c in codes)):
                return True
        return False
