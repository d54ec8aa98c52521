"""# task-refers-to-itself (CEL201)

## What it does
Finds a task whose body reaches its own task object by name or through
`current_task`: `sync.retry(...)`, `sync.request.id`,
`current_task.update_state(...)`, `current_task.request.retries`.

## Why is this bad?
The name is a module global looked up at run time: renaming or re-wrapping
the task silently changes what it points at, and `current_task` is whatever
task is on top of the stack (`None` outside one), which type checkers and
readers cannot follow. Celery hands a bound task itself as `self`
(`bind=True`): the same object, with `self.request` and `self.retry`, and no
global lookup. A bound task is also what the retry rules (CEL3xx) rewrite.

## Example
```python
@shared_task
def sync(order_id):
    try:
        push(order_id)
    except ConnectionError as exc:
        raise sync.retry(exc=exc)
```

## Use instead
```python
@shared_task(bind=True)
def sync(self, order_id):
    try:
        push(order_id)
    except ConnectionError as exc:
        raise self.retry(exc=exc)
```
The fix adds `bind=True` to the task decorator in whatever form it has
(`@shared_task` -> `@shared_task(bind=True)`, `@app.task(...)` gets the
keyword, `sync = app.task(sync)` -> `sync = app.task(bind=True)(sync)`, a
project wrapper that forwards its `**kwargs` to the task decorator gets the
keyword), inserts `self` as first parameter, and rewrites the references to
`self.retry` / `self.request` / `self.update_state`. A task that is already
bound keeps its decorator and first parameter; only the references change.
An import of `current_task` that nothing uses any more is removed.

## Fix safety
Safe. Celery passes `self` on every call path (worker, `.delay`,
`.apply_async`, `.apply`, a direct `sync(...)` call, `.run`), so callers do
not change; inside the task `self` is the same object the global name and
`current_task` pointed at, so `self.request` is the same request.

Not rewritten, only reported: a task that already has a parameter or local
named `self`; a decorator between the task decorator and the function (it
may not pass `self` through); a project wrapper that does not forward
`**kwargs` to the task decorator, or is used bare; `bind=` given a value
other than `True`; a decorator call with `**options` (it may already set
`bind`); `app.task(func)` registrations that leave the plain function under
its name (`task = app.task(func)`, where `func(...)` callers would lose an
argument); tasks defined in a class body.

## References
- Celery: Bound tasks (`bind=True`), `Task.request`, `Task.retry`,
  `Task.update_state`, `celery.current_task`
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import Literal

import libcst as cst
from msgspec import Struct

from celery_codemods.findings import Edit, Finding, Fix, Safety
from celery_codemods.index.context import ModuleContext
from celery_codemods.index.project import SHARED_TASK, Project, Task
from celery_codemods.rewrite import EditContext
from celery_codemods.rules._ast_walk import walk_function, walk_once
from celery_codemods.rules._decorator_edit import KeywordEdit, apply_keyword_edit, decorator_edit
from celery_codemods.rules.base import Rule

# `celery.task.current` (removed in 5.0, CEL501) was the same proxy.
CURRENT_TASK = frozenset({"celery.current_task", "celery._state.current_task", "celery.task.current"})
_MEMBERS = frozenset({"retry", "request", "update_state"})


class SelfReference(Struct, frozen=True):
    line: int
    col: int
    kind: Literal["Name", "Attribute"]
    written: str
    """The receiver's last segment as written (``sync``, ``current_task``)."""
    receiver: str
    """Its qualified name."""
    member: str


class SelfFacts(Struct, frozen=True):
    references: tuple[SelfReference, ...]
    local_names: frozenset[str]
    decorator_starts: tuple[tuple[int, int], ...]
    """Every decorator expression's start, top to bottom."""
    star_options_at: frozenset[tuple[int, int]]
    """Starts of decorator calls that pass ``**options``."""


class ModuleBindFacts(Struct, frozen=True):
    forwarding_wrappers: frozenset[str]
    """Module-level functions that pass their ``**kwargs`` on to a task decorator."""
    rebound_registrations: frozenset[str]
    """``f = app.task(...)(f)``: the module name ``f`` is the task itself."""


class Rename(Struct, frozen=True):
    written: str
    new: str
    imported_from: str | None = None
    """For ``current_task`` imported by name: its module, so the import goes once unused."""
    imported_name: str | None = None


class InsertFirstParam(Struct, frozen=True):
    name: str


class TaskRefersToItself(Rule):
    code = "CEL201"
    name = "task-refers-to-itself"
    summary = "Task reaches itself by name or current_task instead of bind=True and self"
    fix_availability = "sometimes"

    @classmethod
    def extract_function(cls, node: ast.FunctionDef | ast.AsyncFunctionDef, ctx: ModuleContext) -> SelfFacts | None:
        names = frozenset(local_names(node))
        references = tuple(_self_references(node, names, ctx))
        if not references:
            return None
        return SelfFacts(
            references=references,
            local_names=names,
            decorator_starts=tuple((d.lineno, ctx.col(d.lineno, d.col_offset)) for d in node.decorator_list),
            star_options_at=frozenset(
                (d.lineno, ctx.col(d.lineno, d.col_offset))
                for d in node.decorator_list
                if isinstance(d, ast.Call) and any(k.arg is None for k in d.keywords)
            ),
        )

    @classmethod
    def extract_module(cls, tree: ast.Module, ctx: ModuleContext) -> ModuleBindFacts | None:
        wrappers = frozenset(_forwarding_wrappers(tree))
        rebound = frozenset(_rebound_registrations(tree))
        return ModuleBindFacts(wrappers, rebound) if wrappers or rebound else None

    @classmethod
    def extract_outline(cls, tree: ast.Module, ctx: ModuleContext) -> ModuleBindFacts | None:
        return cls.extract_module(tree, ctx)  # a wrapper's module is read by the tasks it decorates

    def check(self, project: Project) -> Iterator[Finding]:
        for task in project.tasks:
            facts: SelfFacts | None = task.function.extras.get(self.code)
            if facts is None:
                continue
            references = [r for r in facts.references if r.receiver in CURRENT_TASK or r.receiver == task.qualname]
            if references:
                yield self._finding(project, task, facts, references)

    def _finding(self, project: Project, task: Task, facts: SelfFacts, references: list[SelfReference]) -> Finding:
        spelled = ", ".join(dict.fromkeys(f"`{r.written}.{r.member}`" for r in references))
        message = f"task `{task.display_name}` refers to itself as {spelled}; bind it and use `self`"
        blocker = _blocker(project, task, facts)
        fix = None
        if blocker is not None:
            message += f" (not rewritten: {blocker})"
        else:
            fix = Fix(
                description=f"bind task `{task.display_name}` and use `self`",
                safety=Safety.SAFE,
                edits=tuple(self._edits(task, references)),
            )
        span = task.function.span
        return self.task_finding(
            task,
            message,
            line=span.line,
            col=span.col,
            fix=fix,
        )

    def _edits(self, task: Task, references: list[SelfReference]) -> Iterator[Edit]:
        if task.is_bound:
            self_name = _first_positional(task) or "self"
        else:
            self_name = "self"
            yield decorator_edit(task.path, task.decorator, self.code, add=(("bind", "True"),))
            span = task.function.span
            yield Edit(task.path, "FunctionDef", span.line, span.col, self.code, InsertFirstParam(self_name))
        imports = task.module.import_map()
        for reference in references:
            payload = Rename(reference.written, self_name)
            if reference.kind == "Name" and imports.get(reference.written) in CURRENT_TASK:
                module, _, name = imports[reference.written].rpartition(".")
                payload = Rename(reference.written, self_name, module, name)
            yield Edit(task.path, reference.kind, reference.line, reference.col, self.code, payload)

    def apply(self, node: cst.CSTNode, edit: Edit, ctx: EditContext) -> cst.CSTNode:
        payload = edit.payload
        if isinstance(payload, KeywordEdit):
            return apply_keyword_edit(node, payload)
        if isinstance(payload, InsertFirstParam) and isinstance(node, cst.FunctionDef):
            return node.with_changes(params=_insert_first(node.params, payload.name))
        if isinstance(payload, Rename) and _written(node) == payload.written:
            if payload.imported_from is not None:
                asname = payload.written if payload.written != payload.imported_name else None
                ctx.remove_import_if_unused(payload.imported_from, payload.imported_name, asname)
            return cst.Name(payload.new)
        return node


def _blocker(project: Project, task: Task, facts: SelfFacts) -> str | None:
    function = task.function
    if "." in function.scope:
        return "defined in a class body"
    bind = task.option("bind")
    if bind is not None and bind.literal is not True:
        return f"`bind={bind.source}` is set"
    if task.is_bound:
        return None if _first_positional(task) else "bound, but it has no first positional parameter"
    if "self" in facts.local_names:
        return "it already has a parameter or local named `self`"
    marker = task.decorator
    start = (marker.span.line, marker.span.col)
    if start in facts.star_options_at:
        return "its decorator passes `**options`, which may already set `bind`"
    if function.registration is not None:
        return _registration_blocker(project, task)
    below = facts.decorator_starts[facts.decorator_starts.index(start) + 1 :] if start in facts.decorator_starts else ()
    if below:
        return "a decorator under the task decorator may not pass `self` through"
    return _wrapper_blocker(project, marker.qualname, called=marker.called)


def _registration_blocker(project: Project, task: Task) -> str | None:
    facts: ModuleBindFacts | None = task.module.extras.get(TaskRefersToItself.code)
    if facts is None or task.function.name not in facts.rebound_registrations:
        return f"the plain function `{task.function.name}` stays importable and callable without `self`"
    return _wrapper_blocker(project, task.decorator.qualname, called=True)


def _wrapper_blocker(project: Project, qualname: str, called: bool) -> str | None:
    if qualname in SHARED_TASK or qualname in {f"{app}.task" for app in project.celery_apps}:
        return None
    module_name, _, function_name = qualname.rpartition(".")
    wrapper_module = next((m for m in project.modules.values() if m.module == module_name), None)
    is_wrapper = wrapper_module is not None and any(w.name == function_name for w in wrapper_module.wrappers)
    if not is_wrapper:
        if qualname.endswith(".task") and qualname not in project.configured_decorators:
            return None  # an app's ``.task`` whose app is outside the scanned paths
        return f"`{qualname}` is not known to forward `bind` to the task decorator"
    assert wrapper_module is not None
    facts: ModuleBindFacts | None = wrapper_module.extras.get(TaskRefersToItself.code)
    if facts is None or function_name not in facts.forwarding_wrappers:
        return f"the wrapper `{function_name}` does not forward `**kwargs` to the task decorator"
    if not called:
        return f"the wrapper `{function_name}` is used bare; call it with `bind=True`"
    return None


def _first_positional(task: Task) -> str | None:
    return next((p.name for p in task.function.params if p.kind in ("posonly", "positional")), None)


def _self_references(
    function: ast.FunctionDef | ast.AsyncFunctionDef, local_names: frozenset[str], ctx: ModuleContext
) -> Iterator[SelfReference]:
    for node in walk_function(function):
        if not isinstance(node, ast.Attribute) or node.attr not in _MEMBERS:
            continue
        receiver = node.value
        head = receiver
        while isinstance(head, ast.Attribute):
            head = head.value
        if not isinstance(head, ast.Name) or head.id in local_names:
            continue
        qualname = ctx.qualname(receiver)
        is_module_global = isinstance(receiver, ast.Name) and receiver.id in ctx.module_names
        if qualname is None or not (qualname in CURRENT_TASK or is_module_global):
            continue
        span = ctx.span(receiver)
        if isinstance(receiver, ast.Name):
            yield SelfReference(span.line, span.col, "Name", receiver.id, qualname, node.attr)
        elif isinstance(receiver, ast.Attribute):
            yield SelfReference(span.line, span.col, "Attribute", receiver.attr, qualname, node.attr)


def local_names(function: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterator[str]:
    arguments = function.args
    for arg in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs, arguments.vararg, arguments.kwarg):
        if arg is not None:
            yield arg.arg
    for node in walk_function(function):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            yield node.id
        elif isinstance(node, ast.ExceptHandler | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            yield node.name or ""
        elif isinstance(node, ast.Import | ast.ImportFrom):
            yield from ((alias.asname or alias.name).partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            yield from node.names


def _forwarding_wrappers(tree: ast.Module) -> Iterator[str]:
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or node.args.kwarg is None:
            continue
        kwargs = node.args.kwarg.arg
        for call in walk_once(node):
            if (
                isinstance(call, ast.Call)
                and _looks_like_task_decorator(call.func)
                and any(k.arg is None and isinstance(k.value, ast.Name) and k.value.id == kwargs for k in call.keywords)
            ):
                yield node.name
                break


def _looks_like_task_decorator(func: ast.expr) -> bool:
    if isinstance(func, ast.Attribute):
        return func.attr in ("task", "shared_task")
    return isinstance(func, ast.Name) and func.id == "shared_task"


def _rebound_registrations(tree: ast.Module) -> Iterator[str]:
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Call)
            and len(node.value.args) == 1
            and isinstance(node.value.args[0], ast.Name)
            and node.value.args[0].id == node.targets[0].id
        ):
            yield node.targets[0].id


def _written(node: cst.CSTNode) -> str | None:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return node.attr.value
    return None


def _insert_first(params: cst.Parameters, name: str) -> cst.Parameters:
    existing = [*params.posonly_params, *params.params]
    if existing and existing[0].name.value == name:
        return params
    has_more = bool(existing) or params.kwonly_params or params.star_kwarg is not None
    has_more = has_more or not isinstance(params.star_arg, cst.MaybeSentinel)
    comma: cst.Comma | cst.MaybeSentinel = cst.MaybeSentinel.DEFAULT
    if has_more:
        first_comma = existing[0].comma if existing else None
        comma = (
            first_comma if isinstance(first_comma, cst.Comma) else cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        )
    new = cst.Param(name=cst.Name(name), comma=comma)
    if params.posonly_params:
        return params.with_changes(posonly_params=[new, *params.posonly_params])
    return params.with_changes(params=[new, *params.params])
