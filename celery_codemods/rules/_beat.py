"""Beat schedules, read in the index pass and shared by the CEL4xx rules.

Recognised (each entry a dict literal or a ``dict(...)`` call):
- ``beat_schedule = {...}``, ``CELERY_BEAT_SCHEDULE = {...}`` (any
  ``<NAMESPACE>_BEAT_SCHEDULE``), ``CELERYBEAT_SCHEDULE = {...}``, at module
  level or in a class body (``config_from_object`` reads both); a local
  variable inside a function is not configuration and is ignored;
- ``<app>.conf.beat_schedule = {...}``, ``<app>.conf.update(beat_schedule=...)``;
- ``<schedule>["name"] = {...}`` and ``<schedule>.update({...})`` on any of the above;
- ``<app>.add_periodic_task(schedule, task.s(...), ...)`` calls.

Facts are stored under the code of the rule that extracts them (CEL401,
whose extractor the index runs whether or not the rule is selected); the
other beat rules read them through :func:`beat_facts`.
"""

from __future__ import annotations

import ast
import difflib
import re
from collections.abc import Callable, Iterator
from typing import Any, Literal

import libcst as cst
from msgspec import Struct
from msgspec.structs import replace

from celery_codemods.index.context import ModuleContext
from celery_codemods.index.facts import ModuleFacts, Span
from celery_codemods.index.project import Project, Task

FACTS_CODE = "CEL401"

ACCEPTED_KEYS = ("task", "schedule", "args", "kwargs", "options", "relative")
# ScheduleEntry also takes these; beat fills them itself, so they are legal but unusual.
TOLERATED_KEYS = frozenset({"last_run_at", "total_run_count"})
# django-celery-beat's DatabaseScheduler turns extra keys into PeriodicTask fields.
DJANGO_CELERY_BEAT_FIELDS = frozenset(
    {
        "interval",
        "crontab",
        "solar",
        "clocked",
        "queue",
        "exchange",
        "routing_key",
        "headers",
        "priority",
        "expires",
        "expire_seconds",
        "one_off",
        "start_time",
        "enabled",
        "description",
    }
)

_SCHEDULE_NAME = re.compile(r"^(?:beat_schedule|CELERYBEAT_SCHEDULE|(?:[A-Z][A-Z0-9]*_)?BEAT_SCHEDULE)$")
_MENTIONS = ("beat_schedule", "BEAT_SCHEDULE", "add_periodic_task")  # substrings: a regex of alternatives is slower
_SCHEDULE_KINDS = {
    "celery.schedules.crontab": "crontab",
    "celery.schedules.solar": "solar",
    "celery.schedules.schedule": "schedule",
    "datetime.timedelta": "timedelta",
}
_SIGNATURE_METHODS = frozenset({"s", "si", "signature"})
_INT_PRESERVING = ast.Add | ast.Sub | ast.Mult | ast.FloorDiv | ast.Mod

EntryNode = Literal["Dict", "Call"]


class Value(Struct, frozen=True):
    """One value of an entry: its text, position and what it is."""

    source: str
    span: Span
    kind: str
    """int, float, str, bytes (``parenthesized-int`` ... inside bare parentheses), int-expression,
    float-expression (arithmetic on number literals), sequence, crontab, timedelta, solar, call, other."""
    literal: Any = None
    is_literal: bool = False
    positional: int | None = None
    """Items of a tuple/list literal without ``*``; None when not countable."""
    keywords: tuple[str, ...] | None = None
    """Keys of a dict literal / ``dict(...)`` with only string keys."""


class Key(Struct, frozen=True):
    name: str
    span: Span


class CallShape(Struct, frozen=True):
    """What a task receives: how many positional arguments and which keywords."""

    positional: int
    keywords: tuple[str, ...]


class BeatEntry(Struct, frozen=True):
    name: str | None
    """The entry's key in the schedule; None when computed or for add_periodic_task."""
    node: EntryNode
    span: Span
    group: int
    """Entries of one schedule share a group (for the numeric convention)."""
    keys: tuple[Key, ...]
    open_keys: bool
    """``**spread`` or computed keys: the full key set is unknown."""
    fields: tuple[tuple[str, Value], ...]
    periodic: bool = False
    """From ``add_periodic_task``: the schedule is its first argument."""
    task_ref: str | None = None
    """Qualified name of the task object in ``add_periodic_task(.., task.s())``."""
    shape: CallShape | None = None

    def field(self, name: str) -> Value | None:
        return next((value for key, value in self.fields if key == name), None)

    @property
    def task_name(self) -> str | None:
        task = self.field("task")
        return task.literal if task is not None and isinstance(task.literal, str) else None

    @property
    def label(self) -> str:
        return f"beat entry {self.name!r}" if self.name else "periodic task"


class BeatFacts(Struct, frozen=True):
    entries: tuple[BeatEntry, ...] = ()
    class_task_names: tuple[str, ...] = ()
    """``name = "..."`` of Task subclasses (registered with ``app.register_task``)."""
    uses_django_celery_beat: bool = False


def extract(tree: ast.Module, ctx: ModuleContext) -> BeatFacts | None:
    uses_dcb = "django_celery_beat" in ctx.text
    class_names = tuple(_class_task_names(tree)) if "Task" in ctx.text else ()
    entries = tuple(_Extractor(ctx).entries(tree)) if any(word in ctx.text for word in _MENTIONS) else ()
    if not (entries or class_names or uses_dcb):
        return None
    return BeatFacts(entries=entries, class_task_names=class_names, uses_django_celery_beat=uses_dcb)


def beat_facts(module: ModuleFacts) -> BeatFacts | None:
    facts = module.extras.get(FACTS_CODE)
    return facts if isinstance(facts, BeatFacts) else None


def all_entries(project: Project) -> Iterator[tuple[ModuleFacts, BeatEntry]]:
    for module in project.modules.values():
        facts = beat_facts(module)
        if facts is not None:
            for entry in facts.entries:
                yield module, entry


def uses_django_celery_beat(project: Project) -> bool:
    return any((facts := beat_facts(m)) is not None and facts.uses_django_celery_beat for m in project.modules.values())


class _Extractor:
    def __init__(self, ctx: ModuleContext) -> None:
        self.ctx = ctx
        self.group = 0

    def entries(self, tree: ast.Module) -> Iterator[BeatEntry]:
        for statement, in_config_scope in _statements(tree):
            yield from self._from_statement(statement, in_config_scope)
        periodic_group = self._next_group()
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _attr(node.func) == "add_periodic_task":
                entry = self._periodic(node, periodic_group)
                if entry is not None:
                    yield entry

    def _next_group(self) -> int:
        self.group += 1
        return self.group

    def _from_statement(self, node: ast.stmt, in_config_scope: bool) -> Iterator[BeatEntry]:
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                yield from self._from_assignment(target, node.value, in_config_scope)
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            yield from self._from_update(node.value, in_config_scope)

    def _from_assignment(self, target: ast.expr, value: ast.expr, in_config_scope: bool) -> Iterator[BeatEntry]:
        if _is_schedule(target, in_config_scope):
            yield from self._schedule(value)
        elif isinstance(target, ast.Subscript) and _is_schedule(target.value, in_config_scope):
            key = _string(target.slice)
            entry = self._entry(key, value, self._next_group())
            if entry is not None:
                yield entry

    def _from_update(self, call: ast.Call, in_config_scope: bool) -> Iterator[BeatEntry]:
        func = call.func
        if not isinstance(func, ast.Attribute) or func.attr != "update":
            return
        if _is_schedule(func.value, in_config_scope):  # schedule.update({...}) / update(name={...})
            yield from self._schedule(call)
        elif _attr(func.value) == "conf":  # app.conf.update(beat_schedule={...})
            for keyword in call.keywords:
                if keyword.arg is not None and _SCHEDULE_NAME.match(keyword.arg):
                    yield from self._schedule(keyword.value)

    def _schedule(self, value: ast.expr) -> Iterator[BeatEntry]:
        group = self._next_group()
        for key, entry_value in _items(value):
            entry = self._entry(key, entry_value, group)
            if entry is not None:
                yield entry

    def _entry(self, name: str | None, value: ast.expr, group: int) -> BeatEntry | None:
        items = _item_nodes(value)
        if items is None:
            return None
        keys: list[Key] = []
        fields: list[tuple[str, Value]] = []
        open_keys = False
        for key_node, key, item in items:
            if key is None:
                open_keys = True
                continue
            keys.append(Key(key, self.ctx.span(key_node)))
            fields.append((key, self._value(item)))
        entry = BeatEntry(
            name=name,
            node="Dict" if isinstance(value, ast.Dict) else "Call",
            span=self.ctx.span(value),
            group=group,
            keys=tuple(keys),
            open_keys=open_keys,
            fields=tuple(fields),
        )
        return _with_shape(entry)

    def _value(self, node: ast.expr) -> Value:
        literal, is_literal = _literal(node)
        kind = self._kind(node)
        positional: int | None = None
        if isinstance(node, ast.Tuple | ast.List) and not any(isinstance(e, ast.Starred) for e in node.elts):
            positional = len(node.elts)
        keywords: tuple[str, ...] | None = None
        items = _item_nodes(node)
        if items is not None and all(key is not None for _, key, _ in items):
            keywords = tuple(key for _, key, _ in items if key is not None)
        return Value(
            source=self.ctx.segment(node),
            span=self.ctx.span(node),
            kind=kind,
            literal=literal if is_literal else None,
            is_literal=is_literal,
            positional=positional,
            keywords=keywords,
        )

    def _kind(self, node: ast.expr) -> str:
        if isinstance(node, ast.Constant) and not isinstance(node.value, bool):
            kind = {int: "int", float: "float", str: "str", bytes: "bytes"}.get(type(node.value), "other")
            if kind != "other" and self._parenthesized(node):
                return f"parenthesized-{kind}"
            return kind
        if isinstance(node, ast.Tuple | ast.List):
            return "sequence"
        if isinstance(node, ast.BinOp | ast.UnaryOp):
            arithmetic = _arithmetic_type(node)
            return f"{arithmetic}-expression" if arithmetic else "other"
        if isinstance(node, ast.Call):
            return _SCHEDULE_KINDS.get(self.ctx.qualname(node.func) or "", "call")
        return "other"

    def _parenthesized(self, node: ast.expr) -> bool:
        """``(5)``: the text right before and after the node are parentheses."""
        span = self.ctx.span(node)
        lines = self.ctx.lines
        if span.end_line > len(lines):  # extractors never raise, whatever the positions
            return False
        before = _first_non_blank([lines[span.line - 1][: span.col], *reversed(lines[: span.line - 1])], reverse=True)
        after = _first_non_blank([lines[span.end_line - 1][span.end_col :], *lines[span.end_line :]], reverse=False)
        return before == "(" and after == ")"

    def _periodic(self, call: ast.Call, group: int) -> BeatEntry | None:
        schedule = call.args[0] if call.args else _keyword(call, "schedule")
        signature = call.args[1] if len(call.args) > 1 else _keyword(call, "sig")
        if schedule is None or signature is None:
            return None
        fields: list[tuple[str, Value]] = [("schedule", self._value(schedule))]
        task_ref: str | None = None
        shape: CallShape | None = None
        if isinstance(signature, ast.Call) and _attr(signature.func) in _SIGNATURE_METHODS:
            assert isinstance(signature.func, ast.Attribute)
            target = signature.func.value
            named = _string(signature.args[0]) if signature.args else None
            if _attr(signature.func) == "signature" and named is not None:
                fields.append(("task", self._value(signature.args[0])))
            elif isinstance(target, ast.Name | ast.Attribute):
                task_ref = self.ctx.qualname(target)
                shape = _signature_shape(signature, call)
        return BeatEntry(
            name=_string(_keyword(call, "name")),
            node="Call",
            span=self.ctx.span(call),
            group=group,
            keys=(),
            open_keys=True,
            fields=tuple(fields),
            periodic=True,
            task_ref=task_ref,
            shape=shape,
        )


def _arithmetic_type(node: ast.expr) -> str | None:
    """``int`` or ``float`` for arithmetic on number literals (``60.0 * 10``); None otherwise."""
    if isinstance(node, ast.Constant):
        return {int: "int", float: "float"}.get(type(node.value))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd | ast.USub):
        return _arithmetic_type(node.operand)
    if not isinstance(node, ast.BinOp) or not isinstance(node.op, _INT_PRESERVING | ast.Div):
        return None
    left, right = _arithmetic_type(node.left), _arithmetic_type(node.right)
    if left is None or right is None:
        return None
    return "float" if isinstance(node.op, ast.Div) or "float" in (left, right) else "int"


def _first_non_blank(texts: list[str], reverse: bool) -> str:
    for text in texts:
        stripped = text.strip()
        if stripped:
            return stripped[-1] if reverse else stripped[0]
    return ""


def _statements(tree: ast.Module) -> Iterator[tuple[ast.stmt, bool]]:
    """Every statement, with whether a bare schedule name there is configuration."""
    stack: list[tuple[ast.stmt, bool]] = [(node, True) for node in reversed(tree.body)]
    while stack:
        node, config_scope = stack.pop()
        yield node, config_scope
        inner = not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and config_scope
        for child in reversed(list(ast.iter_child_nodes(node))):
            if isinstance(child, ast.stmt):
                stack.append((child, inner))


def _is_schedule(node: ast.expr, in_config_scope: bool) -> bool:
    if isinstance(node, ast.Name):
        return in_config_scope and bool(_SCHEDULE_NAME.match(node.id))
    return isinstance(node, ast.Attribute) and bool(_SCHEDULE_NAME.match(node.attr)) and _attr(node.value) == "conf"


def _attr(node: ast.expr) -> str | None:
    return node.attr if isinstance(node, ast.Attribute) else None


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((keyword.value for keyword in call.keywords if keyword.arg == name), None)


def _string(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _items(value: ast.expr) -> Iterator[tuple[str | None, ast.expr]]:
    """The (key, value) pairs of a dict literal, ``dict(...)`` call, or ``update`` call."""
    if isinstance(value, ast.Call) and _attr(value.func) == "update":
        for arg in value.args:
            yield from _items(arg)
        for keyword in value.keywords:
            if keyword.arg is not None:
                yield keyword.arg, keyword.value
        return
    for _, key, item in _item_nodes(value) or ():
        yield key, item


def _item_nodes(value: ast.expr) -> list[tuple[ast.AST, str | None, ast.expr]] | None:
    """``(key node, key, value)`` of a dict literal or ``dict(...)``; key None when not a literal string."""
    if isinstance(value, ast.Dict):
        return [
            (key if key is not None else item, _string(key), item)
            for key, item in zip(value.keys, value.values, strict=True)
        ]
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "dict":
        items: list[tuple[ast.AST, str | None, ast.expr]] = [(arg, None, arg) for arg in value.args]
        items.extend((keyword, keyword.arg, keyword.value) for keyword in value.keywords)
        return items
    return None


def _literal(node: ast.expr) -> tuple[Any, bool]:
    try:
        return ast.literal_eval(node), True
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None, False


def _with_shape(entry: BeatEntry) -> BeatEntry:
    args, kwargs = entry.field("args"), entry.field("kwargs")
    positional = 0 if args is None else args.positional
    keywords: tuple[str, ...] | None = () if kwargs is None else kwargs.keywords
    if args is not None and args.kind == "other" and args.is_literal and args.literal is None:
        positional = 0  # args=None means no arguments
    if positional is None or keywords is None:
        return entry
    return replace(entry, shape=CallShape(positional, keywords))


def _signature_shape(signature: ast.Call, call: ast.Call) -> CallShape | None:
    if _attr(signature.func) == "signature" or any(isinstance(a, ast.Starred) for a in signature.args):
        return None
    if any(keyword.arg is None for keyword in signature.keywords):
        return None
    extra_args = _keyword(call, "args")
    extra_kwargs = _keyword(call, "kwargs")
    if extra_args is not None or extra_kwargs is not None:
        return None  # merged by Signature.clone: not worth modelling
    return CallShape(len(signature.args), tuple(k.arg for k in signature.keywords if k.arg is not None))


def _class_task_names(tree: ast.Module) -> Iterator[str]:
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        if not any(_base_name(base).endswith("Task") for base in node.bases):
            continue
        for statement in node.body:
            if (
                isinstance(statement, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "name" for t in statement.targets)
                and (name := _string(statement.value)) is not None
            ):
                yield name


def _base_name(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


# --- task names, as Celery registers them -----------------------------------------


class TaskNames(Struct, frozen=True):
    """Every name the project registers, and what is needed to match a beat entry's ``task``."""

    explicit: frozenset[str]
    implicit: frozenset[str]
    """``module.function`` names: the index may see a longer or shorter module path than Celery."""
    renamed: dict[str, str]
    """Import path -> registered name, for tasks whose ``name=`` differs from their import path."""
    top_packages: frozenset[str]
    unknowable: bool
    """Some task's ``name=`` is computed: any unmatched name might be it."""

    @classmethod
    def of(cls, project: Project) -> TaskNames:
        explicit: set[str] = set()
        implicit: set[str] = set()
        renamed: dict[str, str] = {}
        unknowable = False
        for task in project.tasks:
            option = task.option("name")
            if option is None:
                implicit.add(task.name)
            elif isinstance(option.literal, str):
                explicit.add(option.literal)
                for path in (task.qualname, f"{task.module.module}.{task.function.name}"):
                    if path != option.literal:
                        renamed[path] = option.literal
            else:
                unknowable = True
        for module in project.modules.values():
            facts = beat_facts(module)
            if facts is not None:
                explicit.update(facts.class_task_names)
        tops = frozenset(m.module.partition(".")[0] for m in project.modules.values())
        return cls(frozenset(explicit), frozenset(implicit), renamed, tops, unknowable)

    @property
    def empty(self) -> bool:
        return not (self.explicit or self.implicit or self.unknowable)

    def knows(self, name: str) -> bool:
        if name in self.explicit or name in self.implicit:
            return True
        # A package root above the scanned directory, or a namespace package (no
        # __init__.py): the index's module path and Celery's differ by a prefix.
        return any(_same_tail(name, known) for known in self.implicit)

    def belongs_to_project(self, name: str) -> bool:
        return name.partition(".")[0] in self.top_packages or self.closest(name) is not None

    def closest(self, name: str) -> str | None:
        matches = difflib.get_close_matches(name, sorted(self.explicit | self.implicit), n=1, cutoff=0.75)
        return matches[0] if matches else None


def _same_tail(left: str, right: str) -> bool:
    shorter, longer = sorted((left, right), key=len)
    return shorter.count(".") >= 1 and longer.endswith("." + shorter)


def task_for(project: Project, entry: BeatEntry) -> Task | None:
    """The task an entry runs, when exactly one matches."""
    if entry.task_ref is not None:
        return project.tasks_by_qualname.get(entry.task_ref)
    name = entry.task_name
    if name is None:
        return None
    if name in project.tasks_by_name:
        return project.tasks_by_name[name]
    candidates = [t for t in project.tasks if t.option("name") is None and _same_tail(name, t.name)]
    return candidates[0] if len(candidates) == 1 else None


# --- rewriting one field of an entry ----------------------------------------------


Change = Callable[["cst.BaseExpression"], "cst.BaseExpression"]  # strings: no LibCST load at import


def replace_field(node: cst.CSTNode, field: str, positional: int | None, change: Change) -> cst.CSTNode:
    """``node`` (an entry dict or call) with ``change(value)`` applied to one field's value."""
    if isinstance(node, cst.Dict):
        elements = [
            element.with_changes(value=change(element.value))
            if isinstance(element, cst.DictElement) and _cst_string(element.key) == field
            else element
            for element in node.elements
        ]
        return node.with_changes(elements=elements)
    if isinstance(node, cst.Call):
        args = [
            arg.with_changes(value=change(arg.value))
            if (arg.keyword is not None and arg.keyword.value == field)
            or (arg.keyword is None and positional is not None and index == positional and not arg.star)
            else arg
            for index, arg in enumerate(node.args)
        ]
        return node.with_changes(args=args)
    return node


def _cst_string(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.SimpleString | cst.ConcatenatedString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None
