"""# enqueue-in-atomic (CEL510)

## What it does
Finds `.delay(...)` and `.apply_async(...)` of a project task inside
`transaction.atomic()`: in a `with transaction.atomic():` block, or in a
function decorated with `@transaction.atomic` (with or without arguments).
`atomic` is recognised by its qualified name `django.db.transaction.atomic`,
however it was imported. Calls in a nested function or lambda are not
inside the transaction when they run, so they are left alone.

On real projects (sentry, pretix, weblate, mayan-edms): 28 findings (sentry 4,
pretix 23, weblate 1, mayan-edms 0); every one read is a send inside the
transaction that wrote what the task reads (several hide the race behind a
`countdown=`); no false positive found. 26 get a safe fix, one an unsafe fix
(a `try` inside the block), one none (`partial` is a local variable there).

## Why is this bad?
The message reaches the broker at once, while the rows the task needs are
still uncommitted. A fast worker reads the old data, or `DoesNotExist`; and
if the transaction rolls back, the task runs anyway for something that
never happened. Django's `transaction.on_commit` runs the send after the
outermost transaction commits, and never if it rolls back.

## Example
```python
def place_order(cart):
    with transaction.atomic():
        order = Order.objects.create(customer=cart.customer)
        send_receipt.delay(order.pk)
```

## Use instead
```python
from functools import partial

def place_order(cart):
    with transaction.atomic():
        order = Order.objects.create(customer=cart.customer)
        transaction.on_commit(partial(send_receipt.delay, order.pk))
```
`partial` (not a `lambda`) binds the arguments when the line runs, as the
original call did: a loop variable or a name rebound later does not change
what is sent. When the task's base is Celery's Django task class
(`base=DjangoTask` from `celery.contrib.django.task`, a project class
deriving from it, or an app created with `task_cls=` naming it) and the
project runs Celery 5.4 or later, the fix is the shorter
`send_receipt.delay_on_commit(order.pk)` (`apply_async_on_commit` for
`apply_async`), which does the same. The Celery version is the installed
distribution's (read from its metadata, nothing is imported), else the
lowest one the requirement files at or above the scanned code allow
(`requirements*.txt`, `pyproject.toml`, `setup.cfg`, `setup.py`,
`Pipfile`), else unknown, and then `on_commit` is used. With
`atomic(using="other")`, the callback is registered on that database:
`on_commit(..., using="other")` (never `delay_on_commit`, which uses the
default database).

## Fix safety
Safe when the call is a statement of its own: the task is sent later, after
the commit, which is the point of the rule. Two consequences to know: an
error from the broker no longer rolls the transaction back (it is raised
from the end of the outermost `atomic` block, after the commit), and in
tests that run inside a transaction (Django's `TestCase`, pytest-django's
`django_db`) the callback runs only under `captureOnCommitCallbacks(execute=True)`
(`django_capture_on_commit_callbacks`), so a test that expected the task to
run eagerly inside the block must capture the callbacks.

Unsafe when a `try` with handlers (or another context manager, which may
swallow errors) inside the atomic block encloses the call: its handler
caught errors from sending, and after the fix the send happens outside it.

Not offered when the call's result is used (assigned, returned, passed on,
chained): `on_commit` returns nothing, so there is no `AsyncResult` to use
before the commit; nor when `atomic(using=...)` is not a string literal, or
nested blocks name different databases; nor when `transaction`, `partial`
or `functools` already means something else where the call is.

## References
- Django: "Performing actions after commit" (`transaction.on_commit`)
- Celery: "Django" (`celery.contrib.django.task.DjangoTask`, `delay_on_commit`, 5.4)
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Literal

import libcst as cst
from msgspec import Struct

from celery_codemods.findings import Edit, Finding, Fix, Safety
from celery_codemods.index.context import ModuleContext
from celery_codemods.index.facts import ModuleFacts
from celery_codemods.index.project import SHARED_TASK, Project, Task
from celery_codemods.rules._ast_walk import children_in_reverse, statement_children, walk_body
from celery_codemods.rules._atomic import ATOMIC, Region, decorated_region, with_regions
from celery_codemods.rules._celery_version import Version, celery_version
from celery_codemods.rules.base import Rule

if TYPE_CHECKING:
    from celery_codemods.rewrite import EditContext

DJANGO_TASK = "celery.contrib.django.task.DjangoTask"
_DJANGO_TASK_PATH = "celery.contrib.django.task:DjangoTask"
_ON_COMMIT_SINCE: Version = (5, 4)
_SEND_METHODS = ("delay", "apply_async")
_CELERY_CLASSES = frozenset({"celery.Celery", "celery.app.Celery", "celery.app.base.Celery"})
# Names the fix writes: bound to anything else where the call is, no fix.
_FIX_NAMES = {"transaction": "django.db.transaction", "partial": "functools.partial", "functools": "functools"}

Method = Literal["delay", "apply_async"]


class Enqueue(Struct, frozen=True):
    target: str
    """Qualified name of the task expression."""
    receiver: str
    method: Method
    line: int
    col: int
    end_line: int
    end_col: int
    atomic_line: int
    function: str
    result_use: str | None
    """How the call's result is used (``assigned``...), None for a statement of its own."""
    guarded: bool
    """A handler or context manager inside the atomic block encloses the call."""
    usings: tuple[str | None, ...]
    """Each enclosing atomic's database: a literal alias, None for the default, "?" when computed."""
    shadowed: tuple[str, ...]
    """Names the fix writes that the enclosing function binds to something else."""


class AtomicFacts(Struct, frozen=True):
    enqueues: tuple[Enqueue, ...] = ()
    django_task_classes: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """Module classes with their base classes' qualified names (to find DjangoTask subclasses)."""
    django_task_apps: tuple[str, ...] = ()
    """Celery apps created with ``task_cls`` naming DjangoTask."""


class Payload(Struct, frozen=True):
    style: Literal["on_commit", "method_on_commit"]
    partial: str
    """``partial`` or ``functools.partial``."""
    using: str | None


class EnqueueInAtomic(Rule):
    code = "CEL510"
    name = "enqueue-in-atomic"
    summary = "Task sent inside transaction.atomic(): it can run before the commit, or after a rollback"
    fix_availability = "sometimes"
    fix_note = "tests inside a transaction need captureOnCommitCallbacks(execute=True) to run the deferred sends"

    @classmethod
    def extract_module(cls, tree: ast.Module, ctx: ModuleContext) -> AtomicFacts | None:
        enqueues = tuple(_enqueues(tree, ctx)) if _may_enqueue_in_atomic(ctx) else ()
        classes, apps = _django_task_facts(tree, ctx)
        if not (enqueues or classes or apps):
            return None
        return AtomicFacts(enqueues, classes, apps)

    @classmethod
    def extract_outline(cls, tree: ast.Module, ctx: ModuleContext) -> AtomicFacts | None:
        classes, apps = _django_task_facts(tree, ctx)  # DjangoTask subclasses are read across modules
        return AtomicFacts((), classes, apps) if classes or apps else None

    def check(self, project: Project) -> Iterator[Finding]:
        facts = {path: f for path, module in project.modules.items() if (f := module.extras.get(self.code))}
        if not any(f.enqueues for f in facts.values()):
            return
        django_tasks = _DjangoTasks(project)
        for path, module_facts in facts.items():
            module = project.modules[path]
            for enqueue in module_facts.enqueues:
                task = project.tasks_by_qualname.get(enqueue.target)
                if task is not None:
                    yield self._finding(module, enqueue, task, django_tasks)

    def _finding(self, module: ModuleFacts, enqueue: Enqueue, task: Task, django_tasks: _DjangoTasks) -> Finding:
        message = (
            f"`{enqueue.receiver}.{enqueue.method}()` inside `transaction.atomic()` (line {enqueue.atomic_line}) "
            "is sent before the commit: the worker may not see the rows yet, and the task runs even if the "
            "transaction rolls back"
        )
        payload, blocker = self._plan(module, enqueue, task, django_tasks)
        fix = None
        if payload is None:
            message += f"; not rewritten: {blocker}"
        else:
            fix = Fix(
                description=f"send `{enqueue.receiver}` after the commit",
                safety=Safety.UNSAFE if enqueue.guarded else Safety.SAFE,
                edits=(Edit(module.path, "Call", enqueue.line, enqueue.col, self.code, payload),),
            )
        return Finding(
            path=module.path,
            line=enqueue.line,
            col=enqueue.col,
            end_line=enqueue.end_line,
            end_col=enqueue.end_col,
            code=self.code,
            name=self.name,
            message=message,
            fix=fix,
        )

    def _plan(
        self, module: ModuleFacts, enqueue: Enqueue, task: Task, django_tasks: _DjangoTasks
    ) -> tuple[Payload | None, str]:
        if enqueue.result_use is not None:
            return None, (
                f"its result is {enqueue.result_use}, and `on_commit` returns nothing; send it from "
                "`transaction.on_commit` and stop using the result"
            )
        if "?" in enqueue.usings:
            return None, "`atomic(using=...)` is computed; pass the same `using=` to `transaction.on_commit`"
        usings = {u for u in enqueue.usings if u is not None}
        if len(usings) > 1:
            return None, "nested `atomic` blocks name different databases"
        using = next(iter(usings), None)
        if using is None and django_tasks.is_django_task(task) and django_tasks.has_on_commit_methods:
            return Payload("method_on_commit", "", None), ""
        imported = module.import_map()
        partial = "functools.partial" if imported.get("functools") == "functools" else "partial"
        clash = next(_clashing_names(module, enqueue, ("transaction", partial.partition(".")[0])), None)
        if clash is not None:
            return None, f"`{clash}` means something else here"
        return Payload("on_commit", partial, using), ""

    def apply(self, node: cst.CSTNode, edit: Edit, ctx: EditContext) -> cst.CSTNode:
        payload: Payload = edit.payload
        if not isinstance(node, cst.Call) or not isinstance(node.func, cst.Attribute):
            return node
        if payload.style == "method_on_commit":
            return node.with_changes(func=node.func.with_changes(attr=cst.Name(f"{node.func.attr.value}_on_commit")))
        return _on_commit_call(node, payload, ctx)


# --- index pass -----------------------------------------------------------------------------------


def _may_enqueue_in_atomic(ctx: ModuleContext) -> bool:
    """The text spells `atomic` and a send; where identifiers may be spelled otherwise, always."""
    return not ctx.spelled_as_read or ("atomic" in ctx.text and any(send in ctx.text for send in _SEND_METHODS))


def _enqueues(tree: ast.Module, ctx: ModuleContext) -> Iterator[Enqueue]:
    regions = _regions(tree, ctx)
    regions_of: dict[int, list[Region]] = {}
    calls: dict[int, ast.Call] = {}
    for region in regions:
        if ctx.spelled_as_read and not _region_mentions(region, _SEND_METHODS, ctx):
            continue
        for node in walk_body(region.body):
            if _is_send(node, ctx):
                assert isinstance(node, ast.Call)
                calls[id(node)] = node
                regions_of.setdefault(id(node), []).append(region)
    if not calls:
        return
    parents = _parents({id(regions[0].owner): regions[0].owner for regions in regions_of.values()}.values())
    for key, call in calls.items():
        yield _enqueue(call, regions_of[key], parents, ctx)


def _regions(tree: ast.Module, ctx: ModuleContext) -> list[Region]:
    """Every atomic region, with the function it is in (only statements can open one)."""
    regions: list[Region] = []
    # Only top-level statements that spell `atomic` (or a name imported for it) can open one;
    # Python reads identifiers NFKC-normalised, so where the text is not, every statement may.
    words = ("atomic", *(local for local, qualname in ctx.resolver.names.items() if qualname == ATOMIC))
    stack: list[tuple[ast.AST, ast.FunctionDef | ast.AsyncFunctionDef | None]] = [
        (statement, None) for statement in tree.body if not ctx.spelled_as_read or _mentions(statement, words, ctx)
    ]
    while stack:
        current, owner = stack.pop()
        if isinstance(current, ast.FunctionDef | ast.AsyncFunctionDef):
            owner = current
            region = decorated_region(current, ctx)
            if region is not None:
                regions.append(region)
        elif isinstance(current, ast.With | ast.AsyncWith):
            regions.extend(with_regions(current, owner, ctx))
        stack.extend((child, owner) for child in statement_children(current))
    return regions


def _mentions(statement: ast.stmt, words: tuple[str, ...], ctx: ModuleContext) -> bool:
    decorators: list[ast.expr] = getattr(statement, "decorator_list", [])
    first = min([statement.lineno, *(decorator.lineno for decorator in decorators)])
    return ctx.mentions(first, statement.end_lineno or statement.lineno, words)


def _region_mentions(region: Region, words: tuple[str, ...], ctx: ModuleContext) -> bool:
    last = region.body[-1]
    return ctx.mentions(region.body[0].lineno, last.end_lineno or last.lineno, words)


def _parents(owners: Iterable[ast.AST]) -> dict[int, ast.AST]:
    """Each node's parent, under the regions' owners: a call's enqueue facts look no higher."""
    parents: dict[int, ast.AST] = {}
    stack: list[ast.AST] = list(owners)
    while stack:
        current = stack.pop()
        for child in children_in_reverse(current):
            parents[id(child)] = current
            stack.append(child)
    return parents


def _is_send(node: ast.AST, ctx: ModuleContext) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in _SEND_METHODS
        and isinstance(node.func.value, ast.Name | ast.Attribute)
        and ctx.qualname(node.func.value) is not None
    )


def _enqueue(call: ast.Call, regions: list[Region], parents: dict[int, ast.AST], ctx: ModuleContext) -> Enqueue:
    assert isinstance(call.func, ast.Attribute)
    span = ctx.span(call)
    innermost = max(regions, key=lambda region: region.line)
    function = innermost.function
    owners = {id(region.owner) for region in regions}
    return Enqueue(
        target=ctx.qualname(call.func.value) or "",
        receiver=ctx.segment(call.func.value),
        method=call.func.attr,  # type: ignore[arg-type]
        line=span.line,
        col=span.col,
        end_line=span.end_line,
        end_col=span.end_col,
        atomic_line=innermost.line,
        function=function.name if function is not None else "",
        result_use=_result_use(call, parents),
        guarded=_guarded(call, parents, owners),
        usings=tuple(sorted({region.using for region in regions}, key=str)),
        shadowed=tuple(sorted(_shadowed(function, ctx))) if function is not None else (),
    )


def _result_use(call: ast.Call, parents: dict[int, ast.AST]) -> str | None:
    parent = parents.get(id(call))
    if isinstance(parent, ast.Expr):
        return None
    if isinstance(parent, ast.Assign | ast.AnnAssign | ast.AugAssign | ast.NamedExpr):
        return "assigned"
    if isinstance(parent, ast.Return):
        return "returned"
    if isinstance(parent, ast.Call | ast.keyword | ast.List | ast.Tuple | ast.Dict | ast.Set):
        return "passed on"
    if isinstance(parent, ast.Attribute):
        return f"used (`.{parent.attr}`)"
    return "used"


def _guarded(call: ast.Call, parents: dict[int, ast.AST], region_owners: set[int]) -> bool:
    """A ``try`` with handlers or a non-atomic ``with`` between the call and its atomic region."""
    child: ast.AST = call
    parent = parents.get(id(call))
    while parent is not None and id(parent) not in region_owners:
        if isinstance(parent, ast.Try | ast.TryStar) and parent.handlers and child in parent.body:
            return True
        if isinstance(parent, ast.With | ast.AsyncWith) and child in parent.body:
            return True
        child, parent = parent, parents.get(id(parent))
    return False


def _shadowed(function: ast.FunctionDef | ast.AsyncFunctionDef, ctx: ModuleContext) -> Iterator[str]:
    bound: set[str] = {arg.arg for arg in ast.walk(function.args) if isinstance(arg, ast.arg)}
    for node in walk_body(function.body):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and node is not function:
            bound.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                local = alias.asname or alias.name.partition(".")[0]
                if ctx.resolver.names.get(local) != _FIX_NAMES.get(local):
                    bound.add(local)
    return (name for name in _FIX_NAMES if name in bound)


def _django_task_facts(
    tree: ast.Module, ctx: ModuleContext
) -> tuple[tuple[tuple[str, tuple[str, ...]], ...], tuple[str, ...]]:
    """Classes with their bases (a subclass of a subclass of DjangoTask need not spell it), and
    Celery apps made with ``task_cls=DjangoTask``."""
    apps = tuple(_django_task_apps(tree, ctx)) if "DjangoTask" in ctx.text else ()
    return tuple(_classes(tree, ctx)), apps


def _classes(tree: ast.Module, ctx: ModuleContext) -> Iterator[tuple[str, tuple[str, ...]]]:
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            bases = tuple(q for b in node.bases if isinstance(b, ast.Name | ast.Attribute) and (q := ctx.qualname(b)))
            if bases:
                yield f"{ctx.module}.{node.name}", bases


def _django_task_apps(tree: ast.Module, ctx: ModuleContext) -> Iterator[str]:
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)):
            continue
        call = node.value
        if not isinstance(call.func, ast.Name | ast.Attribute) or ctx.qualname(call.func) not in _CELERY_CLASSES:
            continue
        task_cls = next((k.value for k in call.keywords if k.arg == "task_cls"), None)
        names_django_task = (isinstance(task_cls, ast.Constant) and task_cls.value == _DJANGO_TASK_PATH) or (
            isinstance(task_cls, ast.Name | ast.Attribute) and ctx.qualname(task_cls) == DJANGO_TASK
        )
        if names_django_task:
            yield from (f"{ctx.module}.{t.id}" for t in node.targets if isinstance(t, ast.Name))


# --- plan pass ------------------------------------------------------------------------------------


class _DjangoTasks:
    """Which tasks are instances of Celery's DjangoTask, and whether this Celery has its methods."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.classes = _django_task_classes(project)
        self.apps = frozenset(app for module in project.modules.values() for app in _facts(module).django_task_apps)
        self._version: Version | None = None
        self._version_read = False

    @property
    def has_on_commit_methods(self) -> bool:
        if not self._version_read:
            self._version = celery_version(self.project.modules)
            self._version_read = True
        return self._version is not None and self._version >= _ON_COMMIT_SINCE

    def is_django_task(self, task: Task) -> bool:
        base = task.option("base")
        if base is not None:
            return any(name in self.classes for name in base.names)
        decorator = task.decorator.qualname
        if decorator.endswith(".task") and decorator.removesuffix(".task") in self.apps:
            return True
        # shared_task takes the class of the current app: known only when the project has one app.
        return decorator in SHARED_TASK and bool(self.apps) and self.apps == self.project.celery_apps


def _facts(module: ModuleFacts) -> AtomicFacts:
    found = module.extras.get(EnqueueInAtomic.code)
    return found if isinstance(found, AtomicFacts) else AtomicFacts()


def _django_task_classes(project: Project) -> frozenset[str]:
    bases = {
        name: parents for module in project.modules.values() for name, parents in _facts(module).django_task_classes
    }
    known = {DJANGO_TASK}
    changed = True
    while changed:
        changed = False
        for name, parents in bases.items():
            if name not in known and any(parent in known for parent in parents):
                known.add(name)
                changed = True
    return frozenset(known)


def _clashing_names(module: ModuleFacts, enqueue: Enqueue, names: tuple[str, ...]) -> Iterator[str]:
    imported = module.import_map()
    for name in names:
        bound_elsewhere = imported[name] != _FIX_NAMES[name] if name in imported else name in module.module_names
        if name in enqueue.shadowed or bound_elsewhere:
            yield name


# --- rewrite --------------------------------------------------------------------------------------


def _on_commit_call(node: cst.Call, payload: Payload, ctx: EditContext) -> cst.Call:
    ctx.add_import("django.db", "transaction")
    if payload.partial == "functools.partial":
        ctx.add_import("functools")
        partial_func: cst.BaseExpression = cst.Attribute(cst.Name("functools"), cst.Name("partial"))
    else:
        ctx.add_import("functools", "partial")
        partial_func = cst.Name("partial")
    opening = node.whitespace_before_args
    after_comma = opening if isinstance(opening, cst.ParenthesizedWhitespace) else cst.SimpleWhitespace(" ")
    send = cst.Arg(node.func, comma=cst.Comma(whitespace_after=after_comma) if node.args else cst.MaybeSentinel.DEFAULT)
    bound = node.with_changes(func=partial_func, args=[send, *node.args])
    args = [cst.Arg(bound)]
    if payload.using is not None:
        args = [
            cst.Arg(bound, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))),
            cst.Arg(cst.parse_expression(payload.using), keyword=cst.Name("using"), equal=_no_space_equal()),
        ]
    on_commit = cst.Attribute(cst.Name("transaction"), cst.Name("on_commit"))
    return cst.Call(func=on_commit, args=args)


def _no_space_equal() -> cst.AssignEqual:
    return cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace(""))
