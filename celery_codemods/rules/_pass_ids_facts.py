"""Index-pass facts for the pass-ids rules (CEL101-CEL103): small, frozen, picklable."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from msgspec import Struct, field

from celery_codemods.index.calls import ModuleCalls, extract_calls
from celery_codemods.index.context import ModuleContext
from celery_codemods.index.models import ModuleModelFacts, extract_classes
from celery_codemods.rules._ast_walk import walk_all

_ID_KEYWORDS = ("pk", "id")
_DICT_METHODS = frozenset({"get", "items", "keys", "values", "update", "pop", "setdefault", "copy"})


class ModulePassIds(Struct, frozen=True):
    models: ModuleModelFacts | None
    calls: ModuleCalls | None


class ParamUse(Struct, frozen=True):
    """How a task's body uses one parameter."""

    name: str
    attributes: frozenset[str] = frozenset()
    iterated: bool = False
    used_as_id: bool = False
    """Passed as ``pk=``/``id=``/``..._id=`` or to a lookup: it already holds a key."""
    used_as_data: bool = False
    """Subscripted or used with dict methods: a payload."""
    default: str | None = None
    """Source of the default value, if any."""
    only_iterated: bool = False
    """Every use is the iterable of a ``for`` loop or comprehension with a plain name as target."""
    item_attributes: frozenset[str] = frozenset()
    """Attributes used on the loop's items (``order.save()`` in ``for order in orders:``)."""
    item_used_as_data: bool = False
    """An item is subscripted (``order["total"]``)."""


class TaskBody(Struct, frozen=True):
    params: tuple[ParamUse, ...]
    local_names: frozenset[str]
    """Every name bound or read in the function (to avoid clashes when adding ``order_id``)."""

    def param(self, name: str) -> ParamUse | None:
        return next((use for use in self.params if use.name == name), None)


def extract_module(tree: ast.Module, ctx: ModuleContext) -> ModulePassIds | None:
    models = extract_classes(tree, ctx)
    calls = extract_calls(tree, ctx)
    if models is None and calls is None:
        return None
    return ModulePassIds(models, calls)


def extract_outline(tree: ast.Module, ctx: ModuleContext) -> ModulePassIds | None:
    """The model classes only: the module calls no task, and its calls are never read."""
    models = extract_classes(tree, ctx)
    return ModulePassIds(models, None) if models is not None else None


def extract_function(node: ast.FunctionDef | ast.AsyncFunctionDef) -> TaskBody:
    args = node.args
    ordered = [*args.posonlyargs, *args.args]
    defaults: dict[str, ast.expr] = dict(
        zip([a.arg for a in ordered[len(ordered) - len(args.defaults) :]], args.defaults, strict=True)
    )
    for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        if default is not None:
            defaults[arg.arg] = default
    names = {arg.arg for arg in [*ordered, *args.kwonlyargs]}
    uses = {name: _Use() for name in names}
    local_names = set(names)
    for sub in walk_all(ast.Module(body=node.body, type_ignores=[])):
        if type(sub) is ast.Name:
            local_names.add(sub.id)
        _read_use(sub, uses)
    for outside in ast.iter_child_nodes(node):  # decorators, defaults, annotations
        if not isinstance(outside, ast.stmt):
            local_names.update(n.id for n in ast.walk(outside) if isinstance(n, ast.Name))
    params = tuple(uses[name].freeze(name, defaults.get(name)) for name in sorted(names))
    return TaskBody(params=params, local_names=frozenset(local_names))


class _Use(Struct):
    """What one walk of the body learns about one parameter (see ``ParamUse``)."""

    attributes: set[str] = field(default_factory=set)
    iterated: bool = False
    used_as_id: bool = False
    used_as_data: bool = False
    loads: int = 0
    iterations: int = 0
    item_attributes: set[str] = field(default_factory=set)
    item_used_as_data: bool = False

    def freeze(self, name: str, default: ast.expr | None) -> ParamUse:
        return ParamUse(
            name=name,
            attributes=frozenset(self.attributes),
            iterated=self.iterated,
            used_as_id=self.used_as_id,
            used_as_data=self.used_as_data,
            default=ast.unparse(default) if default is not None else None,
            only_iterated=self.loads > 0 and self.loads == self.iterations,
            item_attributes=frozenset(self.item_attributes),
            item_used_as_data=self.item_used_as_data,
        )


_LOOPS = frozenset({ast.For, ast.AsyncFor, ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp})


def _read_use(sub: ast.AST, uses: dict[str, _Use]) -> None:
    if type(sub) is ast.Name:
        use = uses.get(sub.id)
        if use is not None and type(sub.ctx) is ast.Load:
            use.loads += 1
    elif type(sub) is ast.Attribute:
        use = _use_of(sub.value, uses)
        if use is not None:
            use.attributes.add(sub.attr)
            use.used_as_data |= sub.attr in _DICT_METHODS
    elif type(sub) is ast.Subscript:
        use = _use_of(sub.value, uses)
        if use is not None:
            use.used_as_data = True
    elif type(sub) is ast.Call:
        for name in _keys_passed(sub, uses):
            uses[name].used_as_id = True
    elif type(sub) is ast.comprehension or type(sub) in _LOOPS:
        _read_loop(sub, uses)


def _read_loop(sub: ast.AST, uses: dict[str, _Use]) -> None:
    if isinstance(sub, ast.For | ast.AsyncFor | ast.comprehension):
        use = _use_of(sub.iter, uses)
        if use is not None:
            use.iterated = True
    for name, use in uses.items():
        for item, scope in _loops_over(sub, name):
            use.iterations += 1
            _read_item_use(item, scope, use)


def _read_item_use(item: str, scope: list[ast.AST], use: _Use) -> None:
    for inner in scope:
        for node in ast.walk(inner):
            if isinstance(node, ast.Attribute) and _is_name(node.value, item):
                use.item_attributes.add(node.attr)
            elif isinstance(node, ast.Subscript) and _is_name(node.value, item):
                use.item_used_as_data = True


def _use_of(node: ast.expr, uses: dict[str, _Use]) -> _Use | None:
    return uses.get(node.id) if isinstance(node, ast.Name) else None


def _loops_over(node: ast.AST, name: str) -> list[tuple[str, list[ast.AST]]]:
    """(item name, the nodes that see it) for each loop of ``node`` over ``name`` with a plain target."""
    if isinstance(node, ast.For | ast.AsyncFor) and _is_name(node.iter, name) and isinstance(node.target, ast.Name):
        return [(node.target.id, [*node.body, *node.orelse])]
    if isinstance(node, ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp):
        shown: list[ast.AST] = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
        return [
            (generator.target.id, [*shown, *generator.ifs])
            for generator in node.generators
            if _is_name(generator.iter, name) and isinstance(generator.target, ast.Name)
        ]
    return []


def _is_name(node: ast.expr, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


def _keys_passed(call: ast.Call, uses: dict[str, _Use]) -> Iterator[str]:
    """Parameters passed as ``pk=``/``id=``/``..._id=`` or to ``get_object_or_404``/``in_bulk``."""
    for keyword in call.keywords:
        value = keyword.value
        if keyword.arg is None or not isinstance(value, ast.Name) or value.id not in uses:
            continue
        key = keyword.arg.split("__")[0] if "__" in keyword.arg else keyword.arg
        if key in _ID_KEYWORDS or key.endswith("_id") or keyword.arg.endswith(("__pk", "__id")):
            yield value.id
    func = call.func
    is_shortcut = isinstance(func, ast.Name | ast.Attribute) and (
        (func.id if isinstance(func, ast.Name) else func.attr) in {"get_object_or_404", "in_bulk"}
    )
    if is_shortcut:
        yield from (arg.id for arg in call.args[1:] if isinstance(arg, ast.Name) and arg.id in uses)
