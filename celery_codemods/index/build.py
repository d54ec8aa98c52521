"""Index one module with the stdlib ``ast``: tasks, wrappers, apps, loggers.

Rules add their own facts through ``extract_function`` / ``extract_module``;
whatever they return is stored under their code in ``extras``.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Sequence

from celery_codemods.index.calls import OPTIONAL
from celery_codemods.index.context import ModuleContext, source_lines
from celery_codemods.index.facts import Decorator, FunctionFacts, ModuleFacts, Option, Param, Wrapper
from celery_codemods.index.resolve import ImportResolver, callee
from celery_codemods.rules._ast_walk import walk_once
from celery_codemods.rules.base import Rule

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef

_NOT_TASK_DECORATORS = frozenset(
    {
        "property",
        "staticmethod",
        "classmethod",
        "functools.wraps",
        "functools.cache",
        "functools.lru_cache",
        "functools.cached_property",
        "functools.singledispatch",
        "typing.overload",
        "typing.override",
        "abc.abstractmethod",
        "contextlib.contextmanager",
        "contextlib.asynccontextmanager",
        "dataclasses.dataclass",
    }
)
_NOT_TASK_PREFIXES = ("pytest.", "django.", "unittest.", "typing.", "functools.")
_LOGGER_FACTORIES = frozenset(
    {
        "logging.getLogger",
        "celery.utils.log.get_task_logger",
        "celery.utils.log.get_logger",
        "structlog.get_logger",
        "structlog.getLogger",
        "structlog.stdlib.get_logger",
    }
)
_SUPPRESSION = re.compile(
    r"#\s*(?:celery-codemod:\s*ignore(?:\[(?P<ours>[A-Za-z0-9_, -]*)\])?"
    r"|noqa:\s*(?P<noqa>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))"
)


def index_module(
    path: str,
    module: str,
    is_package: bool,
    text: str,
    digest: str,
    tree: ast.Module,
    rules: Sequence[type[Rule]],
    task_decorators: tuple[str, ...] = (),
    *,
    outline: bool = False,
    eager: bool = False,
) -> ModuleFacts:
    """The module's facts. An ``outline`` holds only what other modules need (imports, wrappers,
    the rules' ``extract_outline`` facts): for a module that defines no task and calls none.

    The rules' facts of a decorated function are extracted when a decorator looks like a task's
    (most are views, receivers, commands), or for every one when ``eager``."""
    resolver = ImportResolver(module, is_package)
    for node in iter_statements(tree.body):
        if isinstance(node, ast.Import | ast.ImportFrom):
            resolver.add_import(node)
    module_names = frozenset(_module_bindings(tree)) - frozenset(resolver.names)
    ctx = ModuleContext(
        path=path,
        module=module,
        text=text,
        lines=source_lines(text),
        resolver=resolver,
        module_names=module_names,
        task_decorators=task_decorators,
    )
    full = not outline
    return ModuleFacts(
        path=path,
        module=module,
        digest=digest,
        is_package=is_package,
        imports=tuple(resolver.names.items()),
        functions=tuple(_task_candidates(tree, ctx, rules, eager)) if full else (),
        wrappers=tuple(_wrappers(tree, ctx)),  # in an outline too: a task decorator may live beside models
        celery_apps=tuple(_celery_apps(tree, ctx)) if full else (),
        loggers=tuple(_loggers(tree, ctx)) if full else (),
        module_names=module_names | frozenset(resolver.names),
        suppressions=tuple(_suppressions(text)),
        extras={
            rule.code: value
            for rule in rules
            if (value := rule.extract_outline(tree, ctx) if outline else rule.extract_module(tree, ctx)) is not None
        },
        outline=outline,
    )


_BLOCKS: dict[type[ast.stmt], tuple[str, ...]] = {
    ast.FunctionDef: ("body",),
    ast.AsyncFunctionDef: ("body",),
    ast.ClassDef: ("body",),
    ast.If: ("body", "orelse"),
    ast.For: ("body", "orelse"),
    ast.AsyncFor: ("body", "orelse"),
    ast.While: ("body", "orelse"),
    ast.With: ("body",),
    ast.AsyncWith: ("body",),
    ast.Try: ("body", "orelse", "finalbody"),
    ast.TryStar: ("body", "orelse", "finalbody"),
}


def iter_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Every statement, nested ones included, without walking expressions: each statement before
    its blocks, the blocks in field order (a ``try``'s handlers after its ``else`` and ``finally``)."""
    pending = [iter(body)]  # a stack, not nested generators: every statement passes one frame
    while pending:
        statement = next(pending[-1], None)
        if statement is None:
            pending.pop()
            continue
        yield statement
        inner = _inner_statements(statement)
        if inner:
            pending.append(iter(inner))


def _inner_statements(statement: ast.stmt) -> list[ast.stmt]:
    fields = _BLOCKS.get(type(statement))
    if fields is None:
        return [s for case in statement.cases for s in case.body] if isinstance(statement, ast.Match) else []
    inner = [s for field in fields for s in getattr(statement, field)]
    if isinstance(statement, ast.Try | ast.TryStar):
        inner.extend(s for handler in statement.handlers for s in handler.body)
    return inner


def _module_bindings(tree: ast.Module) -> Iterator[str]:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            yield node.name
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        yield name.id
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                yield (alias.asname or alias.name).partition(".")[0]


def _is_candidate_decorator(qualname: str) -> bool:
    if qualname in _NOT_TASK_DECORATORS or qualname.startswith(_NOT_TASK_PREFIXES):
        return False
    return not qualname.endswith((".setter", ".getter", ".deleter"))


def decorator_facts(node: ast.expr, ctx: ModuleContext) -> Decorator | None:
    qualname = ctx.qualname(callee(node))
    if qualname is None:
        return None
    written = ctx.segment(callee(node))
    if not isinstance(node, ast.Call):
        return Decorator(qualname=qualname, called=False, span=ctx.span(node), callee=written)
    return Decorator(
        qualname=qualname,
        called=True,
        span=ctx.span(node),
        callee=written,
        star_kwargs=any(keyword.arg is None for keyword in node.keywords),
        options=tuple(_option(keyword, ctx) for keyword in node.keywords if keyword.arg),
        positional_count=len(node.args),
    )


def _option(keyword: ast.keyword, ctx: ModuleContext) -> Option:
    names = tuple(
        qualname
        for sub in ast.walk(keyword.value)
        if isinstance(sub, ast.Name | ast.Attribute) and (qualname := ctx.qualname(sub)) is not None
    )
    try:
        literal = ast.literal_eval(keyword.value)
        is_literal = True
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        literal, is_literal = None, False
    return Option(
        name=keyword.arg or "",
        source=ctx.segment(keyword.value),
        names=names,
        literal=literal,
        is_literal=is_literal,
    )


def _params(node: FunctionNode, ctx: ModuleContext) -> tuple[Param, ...]:
    args = node.args
    positional_defaults = len(args.defaults)
    ordered = [*args.posonlyargs, *args.args]
    params: list[Param] = []
    for index, arg in enumerate(ordered):
        kind = "posonly" if index < len(args.posonlyargs) else "positional"
        has_default = index >= len(ordered) - positional_defaults
        params.append(_param(arg, kind, has_default, ctx))
    if args.vararg:
        params.append(_param(args.vararg, "vararg", False, ctx))
    for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        params.append(_param(arg, "kwonly", default is not None, ctx))
    if args.kwarg:
        params.append(_param(args.kwarg, "kwarg", False, ctx))
    return tuple(params)


def _param(arg: ast.arg, kind: str, has_default: bool, ctx: ModuleContext) -> Param:
    annotation = arg.annotation
    return Param(
        name=arg.arg,
        kind=kind,  # type: ignore[arg-type]
        annotation=ctx.segment(annotation) if annotation else None,
        annotation_qualname=_annotation_qualname(annotation, ctx),
        has_default=has_default,
    )


def _annotation_qualname(annotation: ast.expr | None, ctx: ModuleContext) -> str | None:
    if annotation is None:
        return None
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        try:
            annotation = ast.parse(annotation.value, mode="eval").body
        except SyntaxError:
            return None
    if isinstance(annotation, ast.BinOp):  # Order | None
        left = _annotation_qualname(annotation.left, ctx)
        return left or _annotation_qualname(annotation.right, ctx)
    if isinstance(annotation, ast.Subscript):  # Optional[Order]; list[Order] is not one instance
        if (ctx.qualname(annotation.value) or "") not in OPTIONAL:
            return None
        return _annotation_qualname(annotation.slice, ctx)
    if isinstance(annotation, ast.Name | ast.Attribute):
        return ctx.qualname(annotation)
    return None


def _task_candidates(
    tree: ast.Module, ctx: ModuleContext, rules: Sequence[type[Rule]], eager: bool
) -> Iterator[FunctionFacts]:
    defs: dict[str, FunctionNode] = {}
    for scope, node in _functions(tree.body, ""):
        if not scope:
            defs[node.name] = node
        decorators = [facts for d in node.decorator_list if (facts := decorator_facts(d, ctx)) is not None]
        if any(_is_candidate_decorator(decorator.qualname) for decorator in decorators):
            extracted = _rules_now(rules, eager, [decorator.qualname for decorator in decorators], ctx)
            yield _function_facts(node, scope, tuple(decorators), node.name, None, ctx, extracted)
    for object_name, registration, function_name in _registrations(tree, ctx):
        function = defs.get(function_name)
        if function is not None and _is_candidate_decorator(registration.qualname):
            extracted = _rules_now(rules, eager, [registration.qualname], ctx)
            yield _function_facts(function, "", (), object_name, registration, ctx, extracted)


def _rules_now(
    rules: Sequence[type[Rule]], eager: bool, decorators: list[str], ctx: ModuleContext
) -> Sequence[type[Rule]] | None:
    """The rules whose facts a candidate gets now; None defers them (``FunctionFacts.deferred``)."""
    # Celery's own, an app's ``task``, a configured one, or a wrapper named like one (``instrumented_task``):
    # only a project wrapper named otherwise (``@job()``) can make a task of a candidate that fails this.
    looks_like_a_task = any(_may_apply_a_task_decorator(qualname, ctx.task_decorators) for qualname in decorators)
    return rules if eager or looks_like_a_task else None


def _functions(body: list[ast.stmt], prefix: str) -> Iterator[tuple[str, FunctionNode]]:
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield prefix, node
        elif isinstance(node, ast.ClassDef):
            yield from _functions(node.body, f"{prefix}{node.name}.")


def _function_facts(
    node: FunctionNode,
    scope: str,
    decorators: tuple[Decorator, ...],
    object_name: str,
    registration: Decorator | None,
    ctx: ModuleContext,
    rules: Sequence[type[Rule]] | None,
) -> FunctionFacts:
    """With ``rules`` None, without the rules' facts (``deferred``)."""
    extras = {rule.code: value for rule in rules or () if (value := rule.extract_function(node, ctx)) is not None}
    return FunctionFacts(
        name=node.name,
        scope=f"{scope}{node.name}",
        span=ctx.span(node),
        is_async=isinstance(node, ast.AsyncFunctionDef),
        decorators=decorators,
        params=_params(node, ctx),
        object_name=object_name,
        registration=registration,
        extras=extras,
        deferred=rules is None,
    )


def _registrations(tree: ast.Module, ctx: ModuleContext) -> Iterator[tuple[str, Decorator, str]]:
    """``name = app.task(func)`` and ``name = app.task(**options)(func)`` at module level."""
    for node in tree.body:
        value = node.value if isinstance(node, ast.Assign | ast.Expr) else None
        if not isinstance(value, ast.Call) or len(value.args) != 1 or not isinstance(value.args[0], ast.Name):
            continue
        decorator = decorator_facts(value.func, ctx)
        if decorator is None:
            continue
        function_name = value.args[0].id
        object_name = function_name
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            object_name = node.targets[0].id
        yield object_name, decorator, function_name


def _wrappers(tree: ast.Module, ctx: ModuleContext) -> Iterator[Wrapper]:
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or not _may_wrap(node, ctx):
            continue
        applies = sorted(
            {
                qualname
                for statement in node.body  # not the decorators: a task is no wrapper
                for sub in walk_once(statement)
                if isinstance(sub, ast.Name | ast.Attribute)
                and (qualname := ctx.qualname(sub)) is not None
                and _may_apply_a_task_decorator(qualname, ctx.task_decorators)
            }
        )
        if applies:
            yield Wrapper(name=node.name, applies=tuple(applies))


def _may_wrap(node: FunctionNode, ctx: ModuleContext) -> bool:
    words = ("task", "Task", *(name.rpartition(".")[2] for name in ctx.task_decorators))
    return ctx.mentions(node.body[0].lineno, node.end_lineno or node.body[-1].lineno, words)


def _may_apply_a_task_decorator(qualname: str, configured: tuple[str, ...]) -> bool:
    """Names a wrapper body may apply (``shared_task``, ``app.task``, other ``*_task`` wrappers, configured
    ones): every task decorator the project can know of but a wrapper named otherwise."""
    last = qualname.rpartition(".")[2]
    return "task" in last.lower() or qualname in configured or last in configured


def _celery_apps(tree: ast.Module, ctx: ModuleContext) -> Iterator[str]:
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and ctx.qualname(node.value.func) in {"celery.Celery", "celery.app.Celery", "celery.app.base.Celery"}
        ):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    yield target.id


def _loggers(tree: ast.Module, ctx: ModuleContext) -> Iterator[str]:
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and ctx.qualname(node.value.func) in _LOGGER_FACTORIES
        ):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    yield target.id


def _suppressions(text: str) -> Iterator[tuple[int, tuple[str, ...]]]:
    if "noqa" not in text and "celery-codemod" not in text:
        return
    for match in _SUPPRESSION.finditer(text):
        number = text.count("\n", 0, match.start()) + 1
        if match.group("noqa") is not None:
            codes = tuple(c for c in re.split(r"[\s,]+", match.group("noqa").strip()) if c.startswith("CEL"))
            if codes:
                yield number, codes
        else:
            ours = match.group("ours")
            yield number, tuple(c.strip() for c in ours.split(",") if c.strip()) if ours else ()
