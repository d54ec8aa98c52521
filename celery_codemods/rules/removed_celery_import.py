"""# removed-celery-import (CEL501)

## What it does
Finds imports of the task API that Celery 5.0 removed: the `celery.task`
package and its submodules (`from celery.task import task`,
`periodic_task`, `current`, `Task`, `celery.task.control`, ...),
`celery.decorators`, and `from celery import task`.

## Why is this bad?
On Celery 5 these imports raise `ImportError` (or `from celery import task`
gets something that is not the old decorator), so the module cannot be
imported at all: every task in it is unregistered and the worker rejects
their messages. The code keeps working only while Celery is pinned to 4.x.

## Example
```python
from celery.task import task


@task(ignore_result=True)
def rebuild_index(index_id):
    ...
```

## Use instead
```python
from celery import shared_task


@shared_task(ignore_result=True)
def rebuild_index(index_id):
    ...
```
The fix replaces the decorator `task` (from `celery.task`,
`celery.decorators` or `celery`) with `celery.shared_task`, and
`celery.task.current` with `celery.current_task`, and renames every use of
the imported name (found with LibCST's scope analysis, so a local variable
called `task` is left alone). An alias stays: `from celery.task import task
as celery_task` becomes `from celery import shared_task as celery_task`.
`import celery.task` with uses `celery.task.task` becomes `import celery`
with `celery.shared_task`. The decorator's options are kept as they are.

Reported without a fix:
- `periodic_task` has no drop-in replacement: make the function a
  `shared_task` and give it an entry in the beat schedule
  (`CELERY_BEAT_SCHEDULE` / `app.conf.beat_schedule`, or
  `add_periodic_task` in an `on_after_configure` handler);
- `celery.task.Task` / `PeriodicTask` (use `celery.Task`; the old class
  made some methods classmethods), `celery.task.control` (use
  `app.control`), `celery.task.sets.TaskSet` (use `group`) and the rest;
- imports inside a function or an `if`, or where `shared_task` /
  `current_task` already names something else.

Imports inside a `try` whose handler catches `ImportError` are a
compatibility shim for both Celery versions and are not reported.

Measured on sentry 21.12, pretix, Weblate and mayan-edms: 4 findings, all in
sentry (`from celery.task import current` three times, fixed to
`current_task`; `celery.task.control.discard_all` once, a finding), no
false positive.

## Fix safety
Safe. `celery.task.task` was `current_app.task` with the old compatibility
base class, and `shared_task` registers the same function under the same
name (`module.function`) with the same options on every app; the import it
replaces does not exist on Celery 5 at all. `celery.task.current` was an
alias of `celery.current_task`.

## References
- Celery 5.0 "What's new": the `celery.task` module and the old task API
  were removed.
- Celery: `celery.shared_task`, `celery.current_task`, periodic tasks
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import TYPE_CHECKING

import libcst as cst
from msgspec import Struct

from celery_codemods.bindings import name_counts
from celery_codemods.findings import Edit, Finding, Fix, Safety
from celery_codemods.index.build import iter_statements
from celery_codemods.index.context import ModuleContext
from celery_codemods.index.facts import ModuleFacts
from celery_codemods.index.project import SHARED_TASK, Project
from celery_codemods.rules.base import Rule

if TYPE_CHECKING:
    from celery_codemods.rewrite import EditContext

_REMOVED_PACKAGES = ("celery.task", "celery.decorators")
_REPLACEMENTS = {"task": "shared_task", "current": "current_task"}
_FIXABLE_FROM = {
    "task": ("celery", "celery.task", "celery.task.base", "celery.decorators"),
    "current": ("celery.task",),
}
_TARGET_QUALNAMES = {"shared_task": SHARED_TASK, "current_task": frozenset({"celery.current_task"})}
_ADVICE = {
    "periodic_task": (
        "has no drop-in replacement: make it a `shared_task` and add an entry to the beat schedule "
        "(`beat_schedule` or `add_periodic_task`)"
    ),
    "Task": "use `celery.Task` (the old class made some methods classmethods)",
    "PeriodicTask": "use a `celery.Task` and an entry in the beat schedule",
    "control": "use the app's `app.control`",
    "TaskSet": "use `celery.group`",
    "subtask": "use `celery.signature`",
}


ImportKey = tuple[str, str | None, str | None]
"""(module, name, asname); (module, None, asname) for ``import module``."""


class RemovedImport(Struct, frozen=True):
    line: int
    col: int
    end_line: int
    end_col: int
    module: str
    """As written and absolute: ``celery.task``, ``celery.decorators``, ``celery``."""
    name: str | None
    """The imported name; None for ``import celery.task``."""
    asname: str | None
    top_level: bool

    @property
    def spelled(self) -> str:
        return f"{self.module}.{self.name}" if self.name else self.module


class RemovedImports(Struct, frozen=True):
    imports: tuple[RemovedImport, ...]
    dotted_uses: tuple[str, ...] | None
    """Attributes used after ``celery.task.``; None when ``celery.task`` is also used alone."""
    bound_once: frozenset[str] = frozenset()
    """Names these imports bind that nothing else in the module binds: every read is a use of the import."""


class ImportPlan(Struct, frozen=True):
    """Everything to change in one module, applied at once on the module node."""

    renames: tuple[tuple[str, str], ...]
    """Imported name -> new name, for every use the import binds."""
    dropped: tuple[ImportKey, ...]
    """(module, name, asname) aliases to take out of their import statements."""
    added: tuple[ImportKey, ...]
    """(module, name, asname) imports that replace them."""
    dotted: bool
    """``celery.task.task`` -> ``celery.shared_task`` (``import celery.task``)."""
    renames_need_scopes: bool = True
    """A renamed name is bound more than once in the module: only scope analysis tells its uses apart."""


class RemovedCeleryImport(Rule):
    code = "CEL501"
    name = "removed-celery-import"
    summary = "Import of the task API removed in Celery 5.0 (celery.task, celery.decorators)"
    fix_availability = "sometimes"

    @classmethod
    def extract_module(cls, tree: ast.Module, ctx: ModuleContext) -> RemovedImports | None:
        if "celery" not in ctx.text:
            return None
        found = tuple(_removed_imports(tree, ctx))
        if not found:
            return None
        dotted = _dotted_uses(tree) if any(i.name is None for i in found) else ()
        bound = {item.asname or item.name for item in found if item.name is not None}
        bindings, _ = name_counts(tree, bound)
        return RemovedImports(found, dotted, frozenset(name for name in bound if bindings[name] == 1))

    def check(self, project: Project) -> Iterator[Finding]:
        for module in project.modules.values():
            facts: RemovedImports | None = module.extras.get(self.code)
            if facts is None:
                continue
            fixable = [item for item in facts.imports if _fixable(item, facts, module)]
            fix = self._fix(module, facts, fixable) if fixable else None
            for item in facts.imports:
                yield self._finding(module, item, fix if item in fixable else None)

    def _fix(self, module: ModuleFacts, facts: RemovedImports, fixable: list[RemovedImport]) -> Fix:
        plan = _plan(fixable, facts.bound_once)
        names = ", ".join(f"`{item.spelled}`" for item in fixable)
        return Fix(
            description=f"replace {names} (removed in Celery 5.0)",
            safety=Safety.SAFE,
            edits=(Edit(module.path, "Module", 0, 0, self.code, plan),),
        )

    def _finding(self, module: ModuleFacts, item: RemovedImport, fix: Fix | None) -> Finding:
        return Finding(
            path=module.path,
            line=item.line,
            col=item.col,
            end_line=item.end_line,
            end_col=item.end_col,
            code=self.code,
            name=self.name,
            message=f"`{item.spelled}` was removed in Celery 5.0: {_advice(item)}",
            fix=fix,
        )

    def apply(self, node: cst.CSTNode, edit: Edit, ctx: EditContext) -> cst.CSTNode:
        if not isinstance(node, cst.Module):
            return node
        plan: ImportPlan = edit.payload
        renames = dict(plan.renames)
        if renames:
            module = _rename_uses(node, renames) if plan.renames_need_scopes else node.visit(_reads_renamer(renames))
        else:
            module = node
        if plan.dotted:
            module = module.visit(_dotted_renamer())
        return _rewrite_import_statements(module, plan, ctx)


def _removed_imports(tree: ast.Module, ctx: ModuleContext) -> Iterator[RemovedImport]:
    top_level = {id(statement) for statement in tree.body}
    guarded = {
        id(inner)
        for node in iter_statements(tree.body)
        if _is_import_guard(node, ctx)
        for inner in iter_statements([node])
    }
    for node in iter_statements(tree.body):
        if not isinstance(node, ast.Import | ast.ImportFrom) or id(node) in guarded:
            continue
        span = ctx.span(node)
        where = (span.line, span.col, span.end_line, span.end_col)
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                if _is_removed(node.module, alias.name):
                    yield RemovedImport(*where, node.module, alias.name, alias.asname, id(node) in top_level)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if _is_removed(alias.name, None):
                    yield RemovedImport(*where, alias.name, None, alias.asname, id(node) in top_level)


def _is_removed(module: str, name: str | None) -> bool:
    if module == "celery":
        return name == "task"
    return any(module == package or module.startswith(f"{package}.") for package in _REMOVED_PACKAGES)


def _is_import_guard(node: ast.stmt, ctx: ModuleContext) -> bool:
    """A ``try`` with an ``except ImportError``: a shim that works on both Celery versions."""
    if not isinstance(node, ast.Try):
        return False
    for handler in node.handlers:
        kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
        names = {ctx.qualname(kind) for kind in kinds if isinstance(kind, ast.Name | ast.Attribute)}
        if names & {"ImportError", "ModuleNotFoundError", "builtins.ImportError", "builtins.ModuleNotFoundError"}:
            return True
    return False


def _dotted_uses(tree: ast.Module) -> tuple[str, ...] | None:
    """What follows ``celery.task.`` in the module; None when ``celery.task`` is used on its own."""
    inner = {
        id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Attribute) and _is_celery_task(node.value)
    }
    bare = sum(1 for node in ast.walk(tree) if _is_celery_task(node) and id(node) not in inner)
    if bare:
        return None
    return tuple(
        sorted(
            {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute) and _is_celery_task(node.value)}
        )
    )


def _is_celery_task(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "task"
        and isinstance(node.value, ast.Name)
        and node.value.id == "celery"
    )


def _fixable(item: RemovedImport, facts: RemovedImports, module: ModuleFacts) -> bool:
    if not item.top_level:
        return False
    if item.name is None:
        return (
            item.module == "celery.task"
            and item.asname is None
            and facts.dotted_uses is not None
            and all(use in _REPLACEMENTS for use in facts.dotted_uses)
        )
    if item.module not in _FIXABLE_FROM.get(item.name, ()):
        return False
    replacement = _REPLACEMENTS[item.name]
    bound_as = item.asname or replacement
    imported = module.import_map().get(bound_as)
    clashes = bound_as in module.module_names and imported not in _TARGET_QUALNAMES[replacement]
    return item.asname is not None or not clashes


def _plan(fixable: list[RemovedImport], bound_once: frozenset[str]) -> ImportPlan:
    renames: list[tuple[str, str]] = []
    dropped: list[ImportKey] = []
    added: list[ImportKey] = []
    dotted = False
    for item in fixable:
        dropped.append((item.module, item.name, item.asname))
        if item.name is None:
            added.append(("celery", None, None))
            dotted = True
            continue
        replacement = _REPLACEMENTS[item.name]
        added.append(("celery", replacement, item.asname))
        if item.asname is None and replacement != item.name:
            renames.append((item.name, replacement))
    need_scopes = any(old not in bound_once for old, _ in renames)
    return ImportPlan(tuple(renames), tuple(dropped), tuple(dict.fromkeys(added)), dotted, need_scopes)


def _advice(item: RemovedImport) -> str:
    if item.name is None:
        return "import `celery` and use `celery.shared_task` / `celery.current_task`"
    if item.module in _FIXABLE_FROM.get(item.name, ()):
        return f"use `celery.{_REPLACEMENTS[item.name]}`"
    last = item.module.rpartition(".")[2]
    return _ADVICE.get(item.name, _ADVICE.get(last, "import it from its new place in `celery`"))


def _rename_uses(module: cst.Module, renames: dict[str, str]) -> cst.Module:
    """Rename every use of the names the module-level imports bind (scope-aware)."""
    from libcst.metadata import ImportAssignment, MetadataWrapper, ScopeProvider

    wrapper = MetadataWrapper(module)
    scope = wrapper.resolve(ScopeProvider)[wrapper.module]
    assert scope is not None
    targets: dict[int, str] = {}
    for old, new in renames.items():
        for assignment in scope.assignments[old]:
            if isinstance(assignment, ImportAssignment):
                targets.update({id(access.node): new for access in assignment.references})
    return wrapper.module.visit(_name_renamer(targets))


def _reads_renamer(renames: dict[str, str]) -> cst.CSTTransformer:
    """Rename every read of the names: right when the import is each name's one binding in the module."""

    class _ReadsRenamer(cst.CSTTransformer):
        def __init__(self) -> None:
            super().__init__()
            self.not_reads: set[int] = set()  # names that are not variables: attributes, keywords

        def visit_Import(self, node: cst.Import) -> bool:
            return False  # the import statements are rewritten on their own

        def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
            return False

        def visit_Attribute(self, node: cst.Attribute) -> None:
            self.not_reads.add(id(node.attr))

        def visit_Arg(self, node: cst.Arg) -> None:
            if node.keyword is not None:
                self.not_reads.add(id(node.keyword))

        def visit_MatchKeywordElement(self, node: cst.MatchKeywordElement) -> None:
            self.not_reads.add(id(node.key))

        def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
            new = renames.get(original_node.value)
            if new is None or id(original_node) in self.not_reads:
                return updated_node
            return updated_node.with_changes(value=new)

    return _ReadsRenamer()


def _name_renamer(targets: dict[int, str]) -> cst.CSTTransformer:
    # A class made on call: subclassing at import would load LibCST for every `check`.
    class _NameRenamer(cst.CSTTransformer):
        def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
            new = targets.get(id(original_node))
            return updated_node if new is None else updated_node.with_changes(value=new)

    return _NameRenamer()


def _dotted_renamer() -> cst.CSTTransformer:
    """``celery.task.task`` -> ``celery.shared_task``, ``celery.task.current`` -> ``celery.current_task``."""

    class _DottedRenamer(cst.CSTTransformer):
        def leave_Attribute(self, original_node: cst.Attribute, updated_node: cst.Attribute) -> cst.BaseExpression:
            inner = updated_node.value
            if _full_name(inner) != "celery.task" or updated_node.attr.value not in _REPLACEMENTS:
                return updated_node
            assert isinstance(inner, cst.Attribute)
            return updated_node.with_changes(value=inner.value, attr=cst.Name(_REPLACEMENTS[updated_node.attr.value]))

    return _DottedRenamer()


def _full_name(node: cst.CSTNode) -> str | None:
    from libcst.helpers import get_full_name_for_node

    return get_full_name_for_node(node)


def _rewrite_import_statements(module: cst.Module, plan: ImportPlan, ctx: EditContext) -> cst.Module:
    present = _imported(module)
    missing = [added for added in plan.added if added not in present]
    body: list[cst.BaseStatement] = []
    for original in module.body:
        statement, missing = _rename_in_place(original, plan.dropped, missing)
        new = _without_dropped(statement, plan.dropped)
        if new is not None:
            body.append(new)
            continue
        # Every alias went: what replaces them takes the statement's place (and its comments).
        assert isinstance(statement, cst.SimpleStatementLine)
        dotted = isinstance(statement.body[0], cst.Import)
        here = [added for added in missing if (added[1] is None) == dotted]
        if here:
            body.append(statement.with_changes(body=[_import_of(here)]))
            missing = [added for added in missing if added not in here]
    for module_name, name, asname in missing:
        ctx.add_import(module_name, name, asname)
    return module.with_changes(body=body)


def _rename_in_place(
    statement: cst.BaseStatement, dropped: tuple[ImportKey, ...], missing: list[ImportKey]
) -> tuple[cst.BaseStatement, list[ImportKey]]:
    """``from celery import group, task`` -> ``from celery import group, shared_task``."""
    small = statement.body[0] if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1 else None
    if not isinstance(small, cst.ImportFrom) or small.relative or isinstance(small.names, cst.ImportStar):
        return statement, missing
    if small.module is None or _full_name(small.module) != "celery":
        return statement, missing
    names: list[cst.ImportAlias] = []
    for alias in small.names:
        key = _key("celery", alias)
        replacement = ("celery", _REPLACEMENTS.get(key[1] or ""), key[2])
        if key in dropped and replacement in missing:
            names.append(alias.with_changes(name=cst.Name(str(replacement[1]))))
            missing = [added for added in missing if added != replacement]
        else:
            names.append(alias)
    return statement.with_changes(body=[small.with_changes(names=names)]), missing


def _without_dropped(statement: cst.BaseStatement, dropped: tuple[ImportKey, ...]) -> cst.BaseStatement | None:
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return statement
    small = statement.body[0]
    if not isinstance(small, cst.Import | cst.ImportFrom) or isinstance(small.names, cst.ImportStar):
        return statement
    if isinstance(small, cst.ImportFrom) and small.relative:
        return statement
    module = _full_name(small.module) if isinstance(small, cst.ImportFrom) and small.module else None
    kept = [alias for alias in small.names if _key(module, alias) not in dropped]
    if len(kept) == len(small.names):
        return statement
    if not kept:
        return None
    kept[-1] = kept[-1].with_changes(comma=small.names[-1].comma)
    return statement.with_changes(body=[small.with_changes(names=kept)])


def _key(module: str | None, alias: cst.ImportAlias) -> ImportKey:
    name = _full_name(alias.name) or ""
    asname = alias.evaluated_alias
    return (module, name, asname) if module is not None else (name, None, asname)


def _imported(module: cst.Module) -> set[ImportKey]:
    present: set[ImportKey] = set()
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.ImportFrom) and not small.relative and small.module is not None:
                if not isinstance(small.names, cst.ImportStar):
                    present.update(_key(_full_name(small.module), alias) for alias in small.names)
            elif isinstance(small, cst.Import):
                present.update(_key(None, alias) for alias in small.names)
    return present


def _import_of(imports: list[ImportKey]) -> cst.BaseSmallStatement:
    """``import celery``, or one ``from celery import ...`` for names (the plan adds only these)."""
    if imports[0][1] is None:
        return cst.Import(names=[cst.ImportAlias(name=cst.Name("celery"))])
    spelled = ", ".join(f"{name} as {asname}" if asname else str(name) for _, name, asname in imports)
    parsed = cst.parse_statement(f"from celery import {spelled}\n")
    assert isinstance(parsed, cst.SimpleStatementLine)
    return parsed.body[0]
