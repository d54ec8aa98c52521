"""Where tasks are called, in every form, and what each argument is.

The index pass cannot know yet which names are tasks (they may live in
another module), so it records every call that could send one: the Celery
call methods on a resolvable name (``x.delay(...)``, ``mod.x.s(...)``),
direct calls of imported or module-level names, ``functools.partial(x.delay,
...)``, calls by registered name (``send_task("...")``), beat entries, and
bare references to imported names (a task stored in a variable or passed
around is called where the index cannot see). The plan pass keeps those that
name a task.

Each argument carries its ``Origin``: what produced the value in the caller
(``Order.objects.get(...)``, a signal receiver's ``instance``, ``x.pk``...),
which is the strongest evidence of what a task parameter receives.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from typing import Literal

from msgspec import Struct, field

from celery_codemods.index.context import ModuleContext
from celery_codemods.rules._ast_walk import child_fields

CallForm = Literal[
    "call",
    "run",
    "delay",
    "delay_on_commit",
    "apply_async",
    "apply_async_on_commit",
    "apply",
    "s",
    "si",
    "signature",
    "map",
    "starmap",
    "chunks",
    "partial",
    "send_task",
    "retry",
]
Container = Literal["direct", "args_kwargs", "partial"]
OriginKind = Literal[
    "instance",  # ref: model expression (X.objects.get(...), get_object_or_404(X))
    "queryset",  # ref: model expression (X.objects.filter(...))
    "user",  # request.user, get_user_model().objects.get(...)
    "signal",  # a signal receiver's ``instance``; ref: sender, signal: its name
    "form_save",  # ref: the form class (ModelForm.save())
    "self",  # ref: the class whose method passes ``self``
    "annotated",  # ref: the caller's parameter annotation
    "constructed",  # ref: the called class or function (X(...))
    "id",  # x.pk, x.id, x.thing_id, int/str/UUID literal
    "none",  # the literal None
    "literal",  # dict, list, set, tuple, f-string, number...: data, not a model
    "unknown",
]

_METHOD_FORMS: dict[str, CallForm] = {
    "delay": "delay",
    "delay_on_commit": "delay_on_commit",
    "apply_async": "apply_async",
    "apply_async_on_commit": "apply_async_on_commit",
    "apply": "apply",
    "s": "s",
    "si": "si",
    "signature": "signature",
    "map": "map",
    "starmap": "starmap",
    "chunks": "chunks",
    "run": "run",
}
_ARGS_KWARGS_FORMS = frozenset({"apply_async", "apply_async_on_commit", "apply", "signature"})
_PARTIALS = frozenset({"functools.partial"})
_SIGNATURE_BY_NAME = frozenset({"celery.signature", "celery.canvas.signature", "celery.canvas.Signature"})
_CHAINS = frozenset({"celery.chain", "celery.canvas.chain"})
_GROUPS = frozenset({"celery.group", "celery.canvas.group"})
_CHORDS = frozenset({"celery.chord", "celery.canvas.chord"})
_GET_OBJECT = frozenset({"django.shortcuts.get_object_or_404", "django.shortcuts.aget_object_or_404"})
_USER_MODEL = frozenset({"django.contrib.auth.get_user_model"})
_RECEIVER = frozenset({"django.dispatch.receiver", "django.dispatch.dispatcher.receiver"})
_INSTANCE_METHODS = frozenset(
    {
        "get",
        "aget",
        "create",
        "acreate",
        "create_user",
        "create_superuser",
        "first",
        "afirst",
        "last",
        "alast",
        "latest",
        "earliest",
    }
)
_PAIR_METHODS = frozenset({"get_or_create", "update_or_create", "aget_or_create", "aupdate_or_create"})
_QUERYSET_METHODS = frozenset(
    {
        "all",
        "filter",
        "exclude",
        "order_by",
        "select_related",
        "prefetch_related",
        "only",
        "defer",
        "distinct",
        "annotate",
        "select_for_update",
        "using",
        "none",
        "reverse",
    }
)
_DATA_METHODS = frozenset({"values", "values_list", "count", "exists", "in_bulk", "aggregate", "update", "delete"})
OPTIONAL = frozenset({"typing.Optional", "typing_extensions.Optional", "Optional"})
_LISTS = frozenset({"list", "builtins.list"})
_ID_CASTS = frozenset({"int", "str", "uuid.UUID", "builtins.int", "builtins.str"})
_SKIPPED_PREFIXES = (
    "django.",
    "celery.",
    "kombu.",
    "logging.",
    "os.",
    "sys.",
    "json.",
    "re.",
    "datetime.",
    "time.",
    "typing.",
    "collections.",
    "itertools.",
    "uuid.",
    "decimal.",
    "pytest.",
    "unittest.",
    "requests.",
)
_MAX_DEPTH = 4


class Origin(Struct, frozen=True):
    kind: OriginKind
    ref: str | None = None
    detail: str = ""
    signal: str | None = None
    line: int = 0
    after_delete: bool = False
    """The caller deleted this object before sending it."""


class Arg(Struct, frozen=True):
    index: int | None
    """Position among the positional arguments, or None for a keyword."""
    keyword: str | None
    source: str
    origin: Origin
    starred: bool = False
    """``*args`` (index set) or ``**kwargs`` (keyword None)."""


class CallSite(Struct, frozen=True):
    target: str | None
    """Qualified name of the task expression; None for calls by registered name."""
    task_name: str | None
    """The registered name for ``send_task("...")`` / ``signature("...")``."""
    form: CallForm
    container: Container
    line: int
    col: int
    arg_count: int
    """Positional arguments of the Call node itself (to recognise it when rewriting)."""
    args: tuple[Arg, ...] = ()
    dynamic: str | None = None
    """Why the arguments cannot be read statically (``kwargs=some_dict``), if so."""
    chain_fed: bool = False
    """A chain member: the previous task's return value is prepended to its arguments."""
    scope: str = ""


class Reference(Struct, frozen=True):
    """A task-like name used as a value (``job = send_receipt``): called where the index cannot see."""

    target: str
    line: int
    col: int
    source: str


class BeatEntry(Struct, frozen=True):
    task_name: str
    line: int
    positional: int
    """Number of ``args``; -1 when not a literal."""
    keywords: tuple[str, ...] = ()
    dynamic_kwargs: bool = False


_PackedOrigin = tuple[OriginKind, str | None, str, str | None, int, bool]
_PackedArg = tuple[int | None, str | None, str, _PackedOrigin, bool]
_PackedSite = tuple[
    str | None, str | None, CallForm, Container, int, int, int, tuple[_PackedArg, ...], str | None, bool, str
]
_PackedReference = tuple[str, int, int, str]
_Packed = tuple[tuple[_PackedSite, ...], tuple[_PackedReference, ...], tuple[BeatEntry, ...]]


class ModuleCalls:
    """The call sites, references and beat entries of one module.

    By volume most of a project's facts, and most name no task: they travel
    between processes (and sit in the cache) as plain tuples, and become
    records only when asked for. ``task_sites`` builds only those of tasks.
    """

    __slots__ = ("_beat", "_packed", "_references", "_sites")

    def __init__(
        self, sites: tuple[CallSite, ...] = (), references: tuple[Reference, ...] = (), beat: tuple[BeatEntry, ...] = ()
    ) -> None:
        self._sites: tuple[CallSite, ...] | None = sites
        self._references: tuple[Reference, ...] | None = references
        self._beat = beat
        self._packed: _Packed | None = None

    @property
    def sites(self) -> tuple[CallSite, ...]:
        if self._sites is None:
            self._sites = tuple(_unpack_site(site) for site in self._pack()[0])
        return self._sites

    @property
    def references(self) -> tuple[Reference, ...]:
        if self._references is None:
            self._references = tuple(Reference(*reference) for reference in self._pack()[1])
        return self._references

    @property
    def beat(self) -> tuple[BeatEntry, ...]:
        return self._beat

    def task_sites(self, wanted: Callable[[str | None, str | None], bool]) -> Iterator[CallSite]:
        """The sites for which ``wanted(target, task_name)`` holds, in order, building only those."""
        if self._sites is not None:
            yield from (site for site in self._sites if wanted(site.target, site.task_name))
            return
        for packed in self._pack()[0]:
            if wanted(packed[0], packed[1]):
                yield _unpack_site(packed)

    def task_references(self, wanted: Callable[[str], bool]) -> Iterator[Reference]:
        if self._references is not None:
            yield from (reference for reference in self._references if wanted(reference.target))
            return
        yield from (Reference(*packed) for packed in self._pack()[1] if wanted(packed[0]))

    def _pack(self) -> _Packed:
        if self._packed is None:
            assert self._sites is not None and self._references is not None
            self._packed = (
                tuple(_pack_site(site) for site in self._sites),
                tuple((r.target, r.line, r.col, r.source) for r in self._references),
                self._beat,
            )
        return self._packed

    def __reduce__(self) -> tuple[Callable[[_Packed], ModuleCalls], tuple[_Packed]]:
        return _unpickle_calls, (self._pack(),)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ModuleCalls) and self._pack() == other._pack()

    def __hash__(self) -> int:
        return hash(self._pack())

    def __repr__(self) -> str:
        return f"ModuleCalls(sites={self.sites!r}, references={self.references!r}, beat={self.beat!r})"


def _unpickle_calls(packed: _Packed) -> ModuleCalls:
    calls = ModuleCalls.__new__(ModuleCalls)
    calls._sites = calls._references = None
    calls._beat = packed[2]
    calls._packed = packed
    return calls


def _pack_site(site: CallSite) -> _PackedSite:
    args = tuple(
        (
            arg.index,
            arg.keyword,
            arg.source,
            (o.kind, o.ref, o.detail, o.signal, o.line, o.after_delete),
            arg.starred,
        )
        for arg in site.args
        for o in (arg.origin,)
    )
    return (
        site.target,
        site.task_name,
        site.form,
        site.container,
        site.line,
        site.col,
        site.arg_count,
        args,
        site.dynamic,
        site.chain_fed,
        site.scope,
    )


def _unpack_site(packed: _PackedSite) -> CallSite:
    target, task_name, form, container, line, col, arg_count, args, dynamic, chain_fed, scope = packed
    return CallSite(
        target,
        task_name,
        form,
        container,
        line,
        col,
        arg_count,
        tuple(
            Arg(index, keyword, source, Origin(*origin), starred) for index, keyword, source, origin, starred in args
        ),
        dynamic,
        chain_fed,
        scope,
    )


def extract_calls(tree: ast.Module, ctx: ModuleContext) -> ModuleCalls | None:
    collector = _Collector(ctx)
    collector.run(tree)
    if not (collector.sites or collector.references or collector.beat):
        return None
    return ModuleCalls(tuple(collector.sites), tuple(collector.references), tuple(collector.beat))


# --- scopes: what a name is bound to ------------------------------------------------------------


class _Binding(Struct):
    line: int
    value: ast.expr | None
    iterated: bool = False
    """Bound by ``for name in value``: an element of value."""
    unpacked_first: bool = False
    """``name, created = X.objects.get_or_create(...)``."""


class _Scope(Struct):
    name: str
    parent: _Scope | None
    bindings: dict[str, list[_Binding]] = field(default_factory=dict)
    params: dict[str, Origin] = field(default_factory=dict)
    deletes: dict[str, list[int]] = field(default_factory=dict)
    function: ast.FunctionDef | ast.AsyncFunctionDef | None = None

    def bind(self, name: str, binding: _Binding) -> None:
        self.bindings.setdefault(name, []).append(binding)


_BINDERS = frozenset({ast.Assign, ast.AnnAssign, ast.NamedExpr, ast.For, ast.AsyncFor, ast.With, ast.AsyncWith})
_SCOPES = frozenset({ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef})
_OPERATOR_FIELDS = frozenset({"op", "ops"})
_REVERSED_FIELDS: dict[type[ast.AST], tuple[str, ...]] = {}
"""The collector's child fields of each node class, last first, operators left out (nothing to find in ``+``)."""


def _reversed_fields(kind: type[ast.AST]) -> tuple[str, ...]:
    fields = _REVERSED_FIELDS[kind] = tuple(
        name for name in reversed(child_fields(kind)) if name not in _OPERATOR_FIELDS
    )
    return fields


def _bind(scope: _Scope, node: ast.AST) -> None:
    """Record what an assignment, a walrus, a ``for`` or a ``with`` binds in ``scope``."""
    if isinstance(node, ast.Assign):
        _bind_targets(scope, node.targets, node.value, node.lineno)
    elif isinstance(node, ast.AnnAssign):
        if node.value is not None:
            _bind_targets(scope, [node.target], node.value, node.lineno)
    elif isinstance(node, ast.NamedExpr):
        scope.bind(node.target.id, _Binding(node.lineno, node.value))
    elif isinstance(node, ast.For | ast.AsyncFor) and isinstance(node.target, ast.Name):
        scope.bind(node.target.id, _Binding(node.lineno, node.iter, iterated=True))
    elif isinstance(node, ast.For | ast.AsyncFor | ast.With | ast.AsyncWith):
        for target in _with_or_for_targets(node):
            scope.bind(target, _Binding(node.lineno, None))


def _note_delete(scope: _Scope, node: ast.Call) -> None:
    """``order.delete()``: later sends of ``order`` pass a deleted row."""
    func = node.func
    if isinstance(func, ast.Attribute) and func.attr in {"delete", "adelete"} and isinstance(func.value, ast.Name):
        scope.deletes.setdefault(func.value.id, []).append(node.lineno)


def _bind_targets(scope: _Scope, targets: list[ast.expr], value: ast.expr, line: int) -> None:
    for target in targets:
        if isinstance(target, ast.Name):
            scope.bind(target.id, _Binding(line, value))
        elif isinstance(target, ast.Tuple | ast.List):
            for position, element in enumerate(target.elts):
                if isinstance(element, ast.Name):
                    scope.bind(element.id, _Binding(line, value if position == 0 else None, unpacked_first=True))


def _with_or_for_targets(node: ast.For | ast.AsyncFor | ast.With | ast.AsyncWith) -> Iterator[str]:
    targets = [node.target] if isinstance(node, ast.For | ast.AsyncFor) else [i.optional_vars for i in node.items]
    for target in targets:
        if target is not None:
            yield from (n.id for n in ast.walk(target) if isinstance(n, ast.Name))


# --- the collector --------------------------------------------------------------------------------


class _Collector:
    def __init__(self, ctx: ModuleContext) -> None:
        self.ctx = ctx
        self.sites: list[CallSite] = []
        self.references: list[Reference] = []
        self.beat: list[BeatEntry] = []
        self.fed: set[int] = set()
        self.consumed: set[int] = set()
        self.connected: dict[str, tuple[str, str | None]] = {}
        self.inner: set[int] = set()
        """Nodes that are part of a longer dotted name or a callee, not values of their own."""
        self.known_names = frozenset(ctx.resolver.names) | ctx.module_names
        """Imported and module-level names: only those can head a reference worth recording."""

    def run(self, tree: ast.Module) -> None:
        self.connected = dict(_connected_receivers(tree, self.ctx))
        self._visit_body(tree.body, _Scope(self.ctx.module, None), class_name=None)

    def _visit_body(self, body: list[ast.stmt], scope: _Scope, class_name: str | None) -> None:
        """Read one scope in one walk, then its calls, its references and its nested scopes, in order."""
        nested: list[ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef] = []
        calls: list[tuple[ast.Call, str | None]] = []
        dicts: list[ast.Dict] = []
        loads: list[ast.Name | ast.Attribute] = []
        binds = class_name is None  # a class body's names are no variables of its methods
        known = self.known_names
        inner = self.inner
        stack: list[ast.AST] = list(reversed(body))
        pop, push, extend = stack.pop, stack.append, stack.extend
        while stack:  # the walk is inlined and pushes children itself: it is most of the collector's time
            node = pop()
            if type(node) is ast.Name:
                # Only an imported or module-level name can be a reference worth recording.
                if node.id in known and type(node.ctx) is ast.Load and id(node) not in inner:
                    loads.append(node)
                continue
            if type(node) is ast.Constant:
                continue
            if type(node) is ast.Attribute:
                inner.add(id(node.value))
                if type(node.ctx) is ast.Load and id(node) not in inner:  # parents come first
                    loads.append(node)
                push(node.value)
                continue
            if type(node) is ast.Call:
                calls.append(self._met_call(node, scope, binds))
            elif type(node) in _SCOPES:
                nested.append(node)  # type: ignore[arg-type]  # one of _SCOPES
                continue  # a scope of its own
            elif type(node) is ast.Dict:
                dicts.append(node)
            elif type(node) is ast.BinOp:
                if type(node.op) is ast.BitOr:
                    self._feed(node.right)
            elif binds and type(node) in _BINDERS:
                _bind(scope, node)
            fields = _REVERSED_FIELDS.get(type(node))
            for field_name in fields if fields is not None else _reversed_fields(type(node)):
                value = getattr(node, field_name, None)
                if type(value) is list:
                    extend(item for item in reversed(value) if item is not None)  # ``**d`` has no key
                elif value is not None:
                    push(value)
        for call, callee in calls:
            self._call(call, scope, callee)
        for entry in dicts:
            self._beat_entry(entry)
        for load in loads:
            self._reference(load)
        for definition in nested:
            if isinstance(definition, ast.ClassDef):
                class_scope = _Scope(f"{scope.name}.{definition.name}", scope)
                self._visit_body(definition.body, class_scope, class_name=definition.name)
            else:
                self._visit_function(definition, scope, class_name)

    def _met_call(self, node: ast.Call, scope: _Scope, binds: bool) -> tuple[ast.Call, str | None]:
        """What the walk notes of a call as it meets it: its callee, and what it feeds or deletes."""
        self.inner.add(id(node.func))
        callee = self._callee_qualname(node)
        self._mark_fed_call(node, callee)
        if binds:
            _note_delete(scope, node)
        return node, callee

    def _visit_function(
        self, node: ast.FunctionDef | ast.AsyncFunctionDef, parent: _Scope, class_name: str | None
    ) -> None:
        # Methods see module names, not their class's attributes.
        outer = parent.parent if class_name is not None and parent.parent is not None else parent
        scope = _Scope(f"{parent.name}.{node.name}", outer, function=node)
        for decorator in node.decorator_list:
            self._visit_expression(decorator, parent)
        self._param_origins(node, scope, class_name)
        self._visit_body(node.body, scope, class_name=None)

    def _visit_expression(self, node: ast.expr, scope: _Scope) -> None:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Call):
                self._call(sub, scope, self._callee_qualname(sub))

    def _param_origins(
        self, node: ast.FunctionDef | ast.AsyncFunctionDef, scope: _Scope, class_name: str | None
    ) -> None:
        args = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
        signal = self._receiver_signal(node)
        for position, arg in enumerate(args):
            if position == 0 and class_name is not None and arg.arg in {"self", "cls"}:
                owner = f"{self.ctx.module}.{class_name}"
                if arg.arg == "self" and not _is_static(node):
                    scope.params[arg.arg] = Origin("self", owner, "self", line=node.lineno)
                continue
            if signal is not None and arg.arg == "instance":
                name, sender = signal
                scope.params[arg.arg] = Origin("signal", sender, f"`instance` of a {name} receiver", name, node.lineno)
            elif arg.annotation is not None:
                ref = _annotation_ref(arg.annotation, self.ctx)
                if ref is not None:
                    scope.params[arg.arg] = Origin("annotated", ref, f"parameter annotated `{ref}`", line=node.lineno)

    def _receiver_signal(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[str, str | None] | None:
        for decorator in node.decorator_list:
            if isinstance(decorator, ast.Call) and self.ctx.qualname(decorator.func) in _RECEIVER and decorator.args:
                signals = decorator.args[0]
                names = signals.elts if isinstance(signals, ast.List | ast.Tuple) else [signals]
                spelled = ",".join(_last(self.ctx.qualname(n)) for n in names)
                return spelled, _sender(decorator, self.ctx)
        return self.connected.get(node.name)

    # --- calls ---

    def _callee_qualname(self, node: ast.Call) -> str | None:
        func = node.func
        return self.ctx.qualname(func) if isinstance(func, ast.Name | ast.Attribute) else None

    def _mark_fed_call(self, node: ast.Call, qualname: str | None) -> None:
        """Calls that receive the previous task's return value (chain members after the first).

        ``a.s() | b.s()`` is marked where the walk meets the ``BinOp``.
        """
        if qualname in _CHAINS:
            for member in node.args[1:]:
                self._feed(member)
        elif qualname in _CHORDS and len(node.args) > 1:
            self._feed(node.args[1])
        elif _is_chord_body_call(node, self.ctx) or (isinstance(node.func, ast.Attribute) and node.func.attr == "link"):
            for member in node.args[:1]:
                self._feed(member)
        for keyword in node.keywords:
            if keyword.arg == "link":
                self._feed(keyword.value)

    def _feed(self, node: ast.expr) -> None:
        if isinstance(node, ast.Call):
            qualname = self.ctx.qualname(node.func) if isinstance(node.func, ast.Name | ast.Attribute) else None
            if qualname in _GROUPS:
                for member in node.args:
                    self._feed(member)
                return
            self.fed.add(id(node))
        elif isinstance(node, ast.List | ast.Tuple):
            for element in node.elts:
                self._feed(element)

    def _call(self, node: ast.Call, scope: _Scope, qualname: str | None) -> None:
        func = node.func
        if qualname in _PARTIALS and node.args:
            self._partial(node, scope)
        elif qualname in _SIGNATURE_BY_NAME or (isinstance(func, ast.Attribute) and func.attr == "send_task"):
            self._by_name(node, scope, "send_task" if qualname not in _SIGNATURE_BY_NAME else "signature")
        elif isinstance(func, ast.Attribute) and func.attr in _METHOD_FORMS:
            self._method_call(node, func, scope)
        elif isinstance(func, ast.Attribute) and func.attr == "retry":
            self._retry(node, func, scope)
        elif qualname is not None and self._recordable(func, qualname) is not None:
            self.consumed.add(id(func))
            self.sites.append(self._site(node, qualname, "call", "direct", scope))

    def _method_call(self, node: ast.Call, func: ast.Attribute, scope: _Scope) -> None:
        receiver = func.value
        target = self._recordable(receiver)
        if target is None:
            return
        self.consumed.add(id(receiver))
        form = _METHOD_FORMS[func.attr]
        container: Container = "args_kwargs" if form in _ARGS_KWARGS_FORMS else "direct"
        self.sites.append(self._site(node, target, form, container, scope))

    def _partial(self, node: ast.Call, scope: _Scope) -> None:
        first = node.args[0]
        if isinstance(first, ast.Attribute) and first.attr in {"delay", "s", "si", "delay_on_commit", "run"}:
            receiver: ast.expr = first.value
        elif isinstance(first, ast.Name | ast.Attribute):
            receiver = first
        else:
            return
        target = self._recordable(receiver)
        if target is not None:
            self.consumed.add(id(receiver))
            self.sites.append(self._site(node, target, "partial", "partial", scope))

    def _by_name(self, node: ast.Call, scope: _Scope, form: CallForm) -> None:
        name_arg = node.args[0] if node.args else _keyword(node, "name")
        if not (isinstance(name_arg, ast.Constant) and isinstance(name_arg.value, str)):
            return
        site = self._site(node, None, "send_task", "args_kwargs", scope, name_offset=1)
        self.sites.append(
            CallSite(
                target=None,
                task_name=name_arg.value,
                form=form if form == "send_task" else "signature",
                container="args_kwargs",
                line=site.line,
                col=site.col,
                arg_count=site.arg_count,
                args=site.args,
                dynamic=site.dynamic,
                scope=site.scope,
            )
        )

    def _retry(self, node: ast.Call, func: ast.Attribute, scope: _Scope) -> None:
        function = _enclosing_function(scope)
        if function is None or not isinstance(func.value, ast.Name):
            return
        params = [*function.args.posonlyargs, *function.args.args]
        if not params or params[0].arg != func.value.id:
            return
        if _keyword(node, "args") is None and _keyword(node, "kwargs") is None:
            return
        target = f"{self.ctx.module}.{function.name}"
        self.sites.append(self._site(node, target, "retry", "args_kwargs", scope, retry=True))

    def _recordable(self, node: ast.expr, qualname: str | None = None) -> str | None:
        """The qualified name of a name (or dotted name) from an import or the module itself, not of a
        well-known library: None for others. ``qualname`` is the node's, when the caller has it."""
        head = node
        while type(head) is ast.Attribute:
            head = head.value
        if type(head) is not ast.Name or head.id not in self.known_names:
            return None
        if qualname is None:
            qualname = self.ctx.qualname(node)
        return qualname if qualname is not None and not qualname.startswith(_SKIPPED_PREFIXES) else None

    def _site(
        self,
        node: ast.Call,
        target: str | None,
        form: CallForm,
        container: Container,
        scope: _Scope,
        name_offset: int = 0,
        retry: bool = False,
    ) -> CallSite:
        span = self.ctx.span(node)
        if container == "args_kwargs":
            args, dynamic = self._args_kwargs(node, scope, name_offset, retry)
        else:
            skip = 1 if container == "partial" else 0
            args, dynamic = self._direct_args(node, scope, skip), None
        return CallSite(
            target=target,
            task_name=None,
            form=form,
            container=container,
            line=span.line,
            col=span.col,
            arg_count=len(node.args),
            args=args,
            dynamic=dynamic,
            chain_fed=id(node) in self.fed and form == "s",
            scope=scope.name,
        )

    def _direct_args(self, node: ast.Call, scope: _Scope, skip: int) -> tuple[Arg, ...]:
        args: list[Arg] = []
        for index, value in enumerate(node.args[skip:]):
            starred = isinstance(value, ast.Starred)
            inner = value.value if isinstance(value, ast.Starred) else value
            args.append(Arg(index, None, self.ctx.segment(value), self._origin(inner, scope, node.lineno), starred))
        for keyword in node.keywords:
            origin = self._origin(keyword.value, scope, node.lineno)
            args.append(Arg(None, keyword.arg, self.ctx.segment(keyword.value), origin, keyword.arg is None))
        return tuple(args)

    def _args_kwargs(
        self, node: ast.Call, scope: _Scope, offset: int, retry: bool
    ) -> tuple[tuple[Arg, ...], str | None]:
        positional = node.args[offset:] if not retry else []
        args_value = _keyword(node, "args") or (positional[0] if positional else None)
        kwargs_value = _keyword(node, "kwargs") or (positional[1] if len(positional) > 1 else None)
        found: list[Arg] = []
        problems: list[str] = []
        if isinstance(args_value, ast.List | ast.Tuple):
            for index, element in enumerate(args_value.elts):
                starred = isinstance(element, ast.Starred)
                inner = element.value if isinstance(element, ast.Starred) else element
                origin = self._origin(inner, scope, node.lineno)
                found.append(Arg(index, None, self.ctx.segment(element), origin, starred))
        elif args_value is not None and not _is_none(args_value):
            problems.append(f"args={self.ctx.segment(args_value)}")
        if isinstance(kwargs_value, ast.Dict):
            for key, value in zip(kwargs_value.keys, kwargs_value.values, strict=True):
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    origin = self._origin(value, scope, node.lineno)
                    found.append(Arg(None, key.value, self.ctx.segment(value), origin))
                else:
                    found.append(Arg(None, None, self.ctx.segment(value), Origin("unknown"), starred=True))
        elif kwargs_value is not None and not _is_none(kwargs_value):
            problems.append(f"kwargs={self.ctx.segment(kwargs_value)}")
        if any(keyword.arg is None for keyword in node.keywords):
            problems.append("**options")
        return tuple(found), "; ".join(problems) or None

    # --- references and beat ---

    def _reference(self, node: ast.Name | ast.Attribute) -> None:
        if id(node) in self.consumed or id(node) in self.inner:
            return
        qualname = self._recordable(node)
        if qualname is not None:
            span = self.ctx.span(node)
            self.references.append(Reference(qualname, span.line, span.col, self.ctx.segment(node)))

    def _beat_entry(self, node: ast.Dict) -> None:
        entry = {k.value: v for k, v in zip(node.keys, node.values, strict=True) if isinstance(k, ast.Constant)}
        task = entry.get("task")
        if not (isinstance(task, ast.Constant) and isinstance(task.value, str)) or "schedule" not in entry:
            return
        args = entry.get("args")
        kwargs = entry.get("kwargs")
        positional = 0
        if isinstance(args, ast.List | ast.Tuple):
            positional = len(args.elts)
        elif args is not None and not _is_none(args):
            positional = -1
        keywords: tuple[str, ...] = ()
        dynamic = False
        if isinstance(kwargs, ast.Dict):
            keywords = tuple(k.value for k in kwargs.keys if isinstance(k, ast.Constant) and isinstance(k.value, str))
            dynamic = len(keywords) != len(kwargs.keys)
        elif kwargs is not None and not _is_none(kwargs):
            dynamic = True
        self.beat.append(BeatEntry(task.value, node.lineno, positional, keywords, dynamic))

    # --- origins ---

    def _origin(self, node: ast.expr, scope: _Scope, line: int, depth: int = 0) -> Origin:
        if depth > _MAX_DEPTH:
            return Origin("unknown", detail=self.ctx.segment(node))
        if isinstance(node, ast.Name):
            origin = self._name_origin(node.id, scope, line, depth)
            if origin.kind == "unknown" and _named_like_a_key(node.id):
                return Origin("id", detail=node.id, line=line)
            return origin
        if isinstance(node, ast.Constant):
            return _constant_origin(node)
        if isinstance(node, ast.Attribute):
            return self._attribute_origin(node, scope, line, depth)
        if isinstance(node, ast.Call):
            return self._call_origin(node, scope, line, depth)
        if isinstance(node, ast.Dict | ast.List | ast.Tuple | ast.Set | ast.JoinedStr | ast.BinOp | ast.ListComp):
            return Origin("literal", detail=self.ctx.segment(node))
        return Origin("unknown", detail=self.ctx.segment(node))

    def _name_origin(self, name: str, scope: _Scope | None, line: int, depth: int) -> Origin:
        current = scope
        while current is not None:
            bindings = current.bindings.get(name)
            if bindings:
                before = [b for b in bindings if b.line <= line] or bindings
                origin = self._binding_origin(before[-1], current, depth)
                deleted = any(d < line for d in current.deletes.get(name, ()))
                return _with_delete(origin, deleted)
            if name in current.params:
                deleted = any(d < line for d in current.deletes.get(name, ()))
                return _with_delete(current.params[name], deleted)
            if current.function is not None and _has_param(current.function, name):
                return Origin("unknown", detail=f"parameter `{name}`")
            current = current.parent
        return Origin("unknown", detail=name)

    def _binding_origin(self, binding: _Binding, scope: _Scope, depth: int) -> Origin:
        if binding.value is None:
            return Origin("unknown")
        if binding.unpacked_first:
            value = binding.value
            if (
                isinstance(value, ast.Call)
                and isinstance(value.func, ast.Attribute)
                and value.func.attr in _PAIR_METHODS
            ):
                model = _model_expression(value.func.value)
                if model is not None:
                    ref = self.ctx.qualname(model)
                    return Origin("instance", ref, self.ctx.segment(value), line=binding.line)
            return Origin("unknown", detail=self.ctx.segment(value))
        origin = self._origin(binding.value, scope, binding.line, depth + 1)
        if not binding.iterated:
            return origin
        if origin.kind == "queryset":
            return Origin("instance", origin.ref, f"an element of {origin.detail}", line=binding.line)
        return Origin("unknown", detail=f"an element of {self.ctx.segment(binding.value)}")

    def _attribute_origin(self, node: ast.Attribute, scope: _Scope, line: int, depth: int) -> Origin:
        attr = node.attr
        text = self.ctx.segment(node)
        if attr in {"pk", "id", "uuid", "hex"} or attr.endswith("_id") or attr.endswith("_pk"):
            return Origin("id", detail=text, line=line)
        if attr == "user" and _is_request(node.value):
            return Origin("user", detail=text, line=line)
        if attr == "instance" and isinstance(node.value, ast.Name):
            inner = self._name_origin(node.value.id, scope, line, depth + 1)
            if inner.kind == "constructed":
                return Origin("form_save", inner.ref, text, line=line)
        qualname = self.ctx.qualname(node)
        if qualname is not None and self._is_module_constant(node):
            return Origin("literal", detail=text)
        return Origin("unknown", detail=text, line=line)

    def _is_module_constant(self, node: ast.Attribute) -> bool:
        return node.attr.isupper()

    def _call_origin(self, node: ast.Call, scope: _Scope, line: int, depth: int) -> Origin:
        text = self.ctx.segment(node)
        func = node.func
        qualname = self.ctx.qualname(func) if isinstance(func, ast.Name | ast.Attribute) else None
        if qualname in _GET_OBJECT and node.args:
            shortcut_model = _model_expression(node.args[0]) or node.args[0]
            return self._model_origin("instance", shortcut_model, text, line)
        if qualname in _ID_CASTS:
            return Origin("id", detail=text, line=line)
        if qualname in _LISTS and len(node.args) == 1 and not node.keywords:
            inner = self._origin(node.args[0], scope, line, depth + 1)
            if inner.kind in {"queryset", "literal"}:
                return Origin(inner.kind, inner.ref, text, line=line)
        if isinstance(func, ast.Attribute):
            method = func.attr
            model = _model_expression(func.value)
            if model is not None and method in _INSTANCE_METHODS:
                return self._model_origin("instance", model, text, line)
            if model is not None and method in _QUERYSET_METHODS:
                return self._model_origin("queryset", model, text, line)
            if model is not None and method in _DATA_METHODS:
                return Origin("literal", detail=text)
            if method in {"save", "asave"} and isinstance(func.value, ast.Name):
                inner = self._name_origin(func.value.id, scope, line, depth + 1)
                if inner.kind == "constructed":
                    return Origin("form_save", inner.ref, text, line=line)
        if qualname is not None and isinstance(func, ast.Name | ast.Attribute):
            return Origin("constructed", qualname, text, line=line)
        return Origin("unknown", detail=text, line=line)

    def _model_origin(self, kind: OriginKind, model: ast.expr, text: str, line: int) -> Origin:
        if isinstance(model, ast.Call) and self.ctx.qualname(_callee(model)) in _USER_MODEL:
            return Origin("user" if kind == "instance" else "queryset", None, text, line=line)
        ref = self.ctx.qualname(model) if isinstance(model, ast.Name | ast.Attribute) else None
        return Origin(kind, ref, text, line=line)


def _is_chord_body_call(node: ast.Call, ctx: ModuleContext) -> bool:
    """``chord(header)(body)``."""
    return isinstance(node.func, ast.Call) and ctx.qualname(_callee(node.func.func)) in _CHORDS


def _enclosing_function(scope: _Scope) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    return scope.function


def _has_param(function: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> bool:
    args = function.args
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
    return any(arg is not None and arg.arg == name for arg in every)


def _is_static(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(isinstance(d, ast.Name) and d.id in {"staticmethod", "classmethod"} for d in node.decorator_list)


def _with_delete(origin: Origin, deleted: bool) -> Origin:
    if not deleted or origin.after_delete:
        return origin
    return Origin(origin.kind, origin.ref, origin.detail, origin.signal, origin.line, after_delete=True)


def _named_like_a_key(name: str) -> bool:
    return name in {"pk", "id", "uuid"} or name.endswith(("_id", "_pk", "_uuid"))


def _constant_origin(node: ast.Constant) -> Origin:
    if node.value is None:
        return Origin("none")
    if isinstance(node.value, bool):
        return Origin("literal", detail=repr(node.value))
    if isinstance(node.value, int | str):
        return Origin("id", detail=repr(node.value))
    return Origin("literal", detail=repr(node.value))


def _model_expression(node: ast.expr) -> ast.expr | None:
    """``Order`` in ``Order.objects.filter(...).select_related(...)`` (the manager is any attribute)."""
    while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if node.func.attr not in _QUERYSET_METHODS:
            return None
        node = node.func.value
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name | ast.Attribute | ast.Call):
        base = node.value
        if isinstance(base, ast.Call):
            return base  # get_user_model().objects
        return base if _looks_like_class(base) else None
    return None


def _looks_like_class(node: ast.expr) -> bool:
    name = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else ""
    return name[:1].isupper()


def _is_request(node: ast.expr) -> bool:
    if isinstance(node, ast.Name):
        return node.id in {"request", "req"}
    return isinstance(node, ast.Attribute) and node.attr == "request"


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _keyword(node: ast.Call, name: str) -> ast.expr | None:
    return next((keyword.value for keyword in node.keywords if keyword.arg == name), None)


def _callee(node: ast.expr) -> ast.expr:
    return node.func if isinstance(node, ast.Call) else node


def _last(qualname: str | None) -> str:
    return (qualname or "?").rpartition(".")[2]


def _sender(call: ast.Call, ctx: ModuleContext) -> str | None:
    sender = _keyword(call, "sender")
    if isinstance(sender, ast.Name | ast.Attribute):
        return ctx.qualname(sender)
    return None


def _annotation_ref(annotation: ast.expr, ctx: ModuleContext) -> str | None:
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        try:
            annotation = ast.parse(annotation.value, mode="eval").body
        except SyntaxError:
            return None
    if isinstance(annotation, ast.BinOp):
        return _annotation_ref(annotation.left, ctx) or _annotation_ref(annotation.right, ctx)
    if isinstance(annotation, ast.Subscript):  # Optional[Order]; list[Order] is not one instance
        if (ctx.qualname(annotation.value) or "") not in OPTIONAL:
            return None
        return _annotation_ref(annotation.slice, ctx)
    if isinstance(annotation, ast.Name | ast.Attribute):
        return ctx.qualname(annotation)
    return None


def _connected_receivers(tree: ast.Module, ctx: ModuleContext) -> Iterator[tuple[str, tuple[str, str | None]]]:
    """``post_save.connect(handler, sender=Order)`` at module level."""
    for node in tree.body:
        call = node.value if isinstance(node, ast.Expr) else None
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "connect"):
            continue
        handler = call.args[0] if call.args else _keyword(call, "receiver")
        if isinstance(handler, ast.Name):
            yield handler.id, (_last(ctx.qualname(call.func.value)), _sender(call, ctx))
