"""Index-pass facts for the pass-ids rules (CEL101-CEL103): small, frozen, picklable."""

from __future__ import annotations

import ast
from dataclasses import dataclass

from celery_codemods.index.calls import ModuleCalls, extract_calls
from celery_codemods.index.context import ModuleContext
from celery_codemods.index.models import ModuleModelFacts, extract_classes

_ID_KEYWORDS = ("pk", "id")
_DICT_METHODS = frozenset({"get", "items", "keys", "values", "update", "pop", "setdefault", "copy"})


@dataclass(frozen=True)
class ModulePassIds:
    models: ModuleModelFacts | None
    calls: ModuleCalls | None


@dataclass(frozen=True)
class ParamUse:
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


@dataclass(frozen=True)
class TaskBody:
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
    local_names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | names
    uses = tuple(_param_use(node, name, defaults.get(name)) for name in sorted(names))
    return TaskBody(params=uses, local_names=frozenset(local_names))


def _param_use(node: ast.FunctionDef | ast.AsyncFunctionDef, name: str, default: ast.expr | None) -> ParamUse:
    attributes: set[str] = set()
    iterated = used_as_id = used_as_data = False
    for sub in ast.walk(ast.Module(body=node.body, type_ignores=[])):
        if isinstance(sub, ast.Attribute) and _is_name(sub.value, name):
            attributes.add(sub.attr)
            used_as_data |= sub.attr in _DICT_METHODS
        elif isinstance(sub, ast.Subscript) and _is_name(sub.value, name):
            used_as_data = True
        elif isinstance(sub, ast.For | ast.AsyncFor | ast.comprehension) and _is_name(sub.iter, name):
            iterated = True
        elif isinstance(sub, ast.Call):
            used_as_id |= _passes_as_key(sub, name)
    only_iterated, item_attributes, item_used_as_data = _item_use(node.body, name)
    return ParamUse(
        name=name,
        attributes=frozenset(attributes),
        iterated=iterated,
        used_as_id=used_as_id,
        used_as_data=used_as_data,
        default=ast.unparse(default) if default is not None else None,
        only_iterated=only_iterated,
        item_attributes=item_attributes,
        item_used_as_data=item_used_as_data,
    )


def _item_use(body: list[ast.stmt], name: str) -> tuple[bool, frozenset[str], bool]:
    """(only iterated, attributes used on the items, items subscripted) for parameter ``name``."""
    loads = iterations = 0
    attributes: set[str] = set()
    as_data = False
    for sub in ast.walk(ast.Module(body=body, type_ignores=[])):
        if isinstance(sub, ast.Name) and sub.id == name and isinstance(sub.ctx, ast.Load):
            loads += 1
        for item, scope in _loops_over(sub, name):
            iterations += 1
            for inner in scope:
                for node in ast.walk(inner):
                    if isinstance(node, ast.Attribute) and _is_name(node.value, item):
                        attributes.add(node.attr)
                    elif isinstance(node, ast.Subscript) and _is_name(node.value, item):
                        as_data = True
    return loads > 0 and loads == iterations, frozenset(attributes), as_data


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


def _passes_as_key(call: ast.Call, name: str) -> bool:
    for keyword in call.keywords:
        if keyword.arg is None or not _is_name(keyword.value, name):
            continue
        key = keyword.arg.split("__")[0] if "__" in keyword.arg else keyword.arg
        if key in _ID_KEYWORDS or key.endswith("_id") or keyword.arg.endswith(("__pk", "__id")):
            return True
    func = call.func
    is_shortcut = isinstance(func, ast.Name | ast.Attribute) and (
        (func.id if isinstance(func, ast.Name) else func.attr) in {"get_object_or_404", "in_bulk"}
    )
    return is_shortcut and any(_is_name(arg, name) for arg in call.args[1:])
