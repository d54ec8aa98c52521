"""The pass-ids plan: which task parameters receive model instances, and the change sets.

Shared by CEL101 (the fix), CEL102 (withheld change sets) and CEL103 (unclear
evidence); computed once per project and settings.
"""

from __future__ import annotations

import weakref
from collections import defaultdict
from collections.abc import Iterable, Iterator

from msgspec import Struct, field
from msgspec.structs import replace

from celery_codemods.findings import Edit
from celery_codemods.index.calls import Arg, BeatEntry, CallSite, Origin, Reference
from celery_codemods.index.facts import ModuleFacts, Param
from celery_codemods.index.models import DEFAULT_USER_MODEL, ModelInfo, ModelRegistry, ModuleModelFacts, build_registry
from celery_codemods.index.project import Project, Task
from celery_codemods.rules._pass_ids_facts import ModulePassIds, ParamUse, TaskBody
from celery_codemods.settings import Settings

CODE = "CEL101"
_DELETE_SIGNALS = ("pre_delete", "post_delete")
_CONVERTING_BASE_WORDS = ("model", "instance", "object", "fetch", "load")
_LOCAL_FORMS = frozenset({"call", "run", "apply"})
_INSTANCE_KINDS = frozenset({"instance", "user", "signal", "form_save", "self", "annotated", "constructed"})


# --- what a call site says about a parameter ----------------------------------------------------


class Evidence(Struct, frozen=True):
    kind: str
    """instance, user, id, none, other, queryset, unknown."""
    model: ModelInfo | None
    where: str
    """``path:line``."""
    text: str
    origin: Origin | None = None
    local: bool = False
    """The call runs the task in the caller's process (``task(...)``, ``.run``, ``.apply``): no message."""

    @property
    def deleted(self) -> bool:
        origin = self.origin
        return origin is not None and (origin.after_delete or (origin.signal or "") in _DELETE_SIGNALS)


class SitePlan(Struct, frozen=True):
    path: str
    site: CallSite
    args: tuple[Arg, ...]
    """The arguments that reach the parameter (usually one)."""


# --- the plan ---------------------------------------------------------------------------------


class ParamChange(Struct, frozen=True):
    old: str
    new: str
    annotation: str | None
    model_expr: str
    """How the task module spells the model: ``Order``, ``models.Order``, ``get_user_model()``."""
    model_label: str
    """The model's name in the log message."""
    import_module: str | None = None
    import_name: str | None = None
    import_as: str | None = None
    local_import: bool = False
    default_none: bool = False
    needs_uuid: bool = False
    many: bool = False
    """A list of primary keys, fetched with ``in_bulk`` (the parameter was a list or queryset)."""


class TaskPayload(Struct, frozen=True):
    task: str
    changes: tuple[ParamChange, ...]
    in_flight: bool


class ArgEdit(Struct, frozen=True):
    index: int | None
    """Position in the call's positional arguments (or in ``args=``), or None for a keyword."""
    keyword: str | None
    new_keyword: str | None
    wrap: bool
    """Append ``.pk`` (False for a literal None)."""
    item: str | None = None
    """For a list or queryset: ``[item.pk for item in <argument>]``."""


class CallPayload(Struct, frozen=True):
    method: str | None
    container: str
    arg_count: int
    edits: tuple[ArgEdit, ...]
    keyword_containers_only: bool = False


class Conversion(Struct):
    task: Task
    params: list[tuple[Param, ModelInfo | None, str]] = field(default_factory=list)
    """Parameter, model (None: the user model, spelled ``get_user_model()``), evidence summary."""
    blockers: list[str] = field(default_factory=list)
    edits: list[Edit] = field(default_factory=list)
    many: set[str] = field(default_factory=set)
    """Parameters that receive a list or queryset of instances (they become lists of pks)."""

    def new_name(self, param: str) -> str:
        return ids_name(param) if param in self.many else f"{param}_id"


def ids_name(param: str) -> str:
    """``orders`` -> ``order_ids``; ``queryset`` -> ``queryset_ids``."""
    return f"{singular(param)}_ids"


def singular(name: str) -> str:
    return name[:-1] if name.endswith("s") and not name.endswith("ss") and len(name) > 2 else name


class ListOf(Struct, frozen=True):
    """A parameter that receives a list or queryset of one model's instances, iterated by the task."""

    model: ModelInfo | None
    summary: str


class Unclear(Struct, frozen=True):
    task: Task
    param: str
    message: str


class PassIdsPlan(Struct):
    conversions: list[Conversion] = field(default_factory=list)
    unclear: list[Unclear] = field(default_factory=list)


_CACHE: weakref.WeakKeyDictionary[Project, dict[Settings, PassIdsPlan]] = weakref.WeakKeyDictionary()


def plan_for(project: Project, settings: Settings) -> PassIdsPlan:
    per_settings = _CACHE.setdefault(project, {})
    if settings not in per_settings:
        per_settings[settings] = _Planner(project, settings).plan()
    return per_settings[settings]


# --- the planner ------------------------------------------------------------------------------


class _Planner:
    def __init__(self, project: Project, settings: Settings) -> None:
        self.project = project
        self.settings = settings
        self.by_module = {facts.module: facts for facts in project.modules.values()}
        self.registry = model_registry(project)
        self.sites: dict[str, list[tuple[str, CallSite]]] = defaultdict(list)
        self.by_name: dict[str, list[tuple[str, CallSite]]] = defaultdict(list)
        self.references: dict[str, list[tuple[str, Reference]]] = defaultdict(list)
        self.beat: dict[str, list[tuple[str, BeatEntry]]] = defaultdict(list)
        self._collect()

    def _collect(self) -> None:
        """Index the call sites, references and beat entries of tasks (only those are ever looked up)."""
        qualnames = {task.qualname for task in self.project.tasks}
        names = {task.name for task in self.project.tasks}

        def names_a_task(target: str | None, task_name: str | None) -> bool:
            if target is not None:
                return self._task_qualname(target) in qualnames
            return task_name in names

        for facts in self.project.modules.values():
            extra = facts.extras.get(CODE)
            if not isinstance(extra, ModulePassIds) or extra.calls is None:
                continue
            for site in extra.calls.task_sites(names_a_task):
                if site.target is not None:
                    self.sites[self._task_qualname(site.target)].append((facts.path, site))
                elif site.task_name is not None:
                    self.by_name[site.task_name].append((facts.path, site))
            for reference in extra.calls.task_references(lambda target: self._task_qualname(target) in qualnames):
                self.references[self._task_qualname(reference.target)].append((facts.path, reference))
            for entry in extra.calls.beat:
                self.beat[entry.task_name].append((facts.path, entry))

    def _task_qualname(self, qualname: str) -> str:
        if qualname in self.project.tasks_by_qualname:
            return qualname
        return self.registry.resolve(qualname) or qualname

    def plan(self) -> PassIdsPlan:
        plan = PassIdsPlan()
        for task in self.project.tasks_by_qualname.values():
            body = task.function.extras.get(CODE)
            if task.function.is_async or not isinstance(body, TaskBody):
                continue
            self._plan_task(task, body, plan)
        return plan

    def _plan_task(self, task: Task, body: TaskBody, plan: PassIdsPlan) -> None:
        conversion = Conversion(task)
        for index, param in _task_params(task):
            use = body.param(param.name) or ParamUse(param.name)
            decided = self._decide(task, index, param, use)
            if isinstance(decided, str):
                plan.unclear.append(Unclear(task, param.name, decided))
            elif isinstance(decided, ListOf):
                conversion.params.append((param, decided.model, decided.summary))
                conversion.many.add(param.name)
            elif decided is not None:
                model, summary = decided
                conversion.params.append((param, model, summary))
        if not conversion.params:
            return
        note = self._converting_base(task)
        if note is not None:
            names = ", ".join(f"`{p.name}`" for p, _, _ in conversion.params)
            plan.unclear.append(Unclear(task, conversion.params[0][0].name, f"{names}: {note}"))
            return
        self._build(conversion, body)
        plan.conversions.append(conversion)

    # --- deciding ---

    def _decide(
        self, task: Task, index: int | None, param: Param, use: ParamUse
    ) -> tuple[ModelInfo | None, str] | ListOf | str | None:
        evidence = [e for e in self._site_evidence(task, index, param.name) if e.kind != "none"]
        instances = [e for e in evidence if e.kind in {"instance", "user"}]
        not_instances = [e for e in evidence if e.kind in {"id", "other"}]
        querysets = [e for e in evidence if e.kind == "queryset"]
        label = f"task `{task.display_name}` parameter `{param.name}`"
        if evidence and all(e.local for e in evidence):
            return None  # only callers in the same process fill it: no message ever carries it
        if instances and (not_instances or querysets):
            seen = "; ".join(f"{e.text} at {e.where}" for e in [*instances, *not_instances, *querysets][:4])
            return f"{label} receives both model instances and other values ({seen}); convert it by hand"
        if not_instances:
            return None  # call sites outrank names and annotations
        if querysets:
            return self._from_querysets(label, param.name, querysets, use)
        annotated = self.registry.model(param.annotation_qualname)
        if instances:
            return self._from_sites(label, instances, annotated)
        if use.used_as_id or use.used_as_data:
            return None
        if annotated is not None:
            if annotated.abstract:
                return f"{label} is annotated with the abstract model `{annotated.name}`; no manager to fetch it with"
            return annotated, f"annotated `{param.annotation}`"
        return self._from_body(label, param, use)

    def _from_sites(
        self, label: str, instances: list[Evidence], annotated: ModelInfo | None
    ) -> tuple[ModelInfo | None, str] | str:
        models = {e.model.qualname if e.model else "<user>" for e in instances}
        if len(models) > 1:
            seen = "; ".join(f"{e.text} at {e.where}" for e in instances[:4])
            return f"{label} receives instances of different models ({seen}); convert it by hand"
        first = instances[0]
        model = first.model
        if first.kind == "user" and model is None:
            model = self.registry.user()
        if annotated is not None and model is not None and annotated.qualname != model.qualname:
            return (
                f"{label} is annotated `{annotated.name}` but receives `{model.name}` ({first.text} at {first.where})"
            )
        summary = f"{first.text} at {first.where}"
        return model, summary

    def _from_querysets(self, label: str, name: str, querysets: list[Evidence], use: ParamUse) -> ListOf | str:
        first = querysets[0]
        seen = f"{label} receives a queryset or list of models ({first.text} at {first.where})"
        models = {e.model.qualname if e.model else "<user>" for e in querysets}
        model = first.model or self.registry.user()
        if len(models) > 1 or model is None:
            return f"{seen}; of different or unknown models: pass a list of primary keys by hand"
        if not use.only_iterated:
            return f"{seen}; the task uses it other than in `for ... in {name}`: pass a list of primary keys by hand"
        unknown = [a for a in use.item_attributes if not model.has_attribute(a)]
        if not use.item_attributes or use.item_used_as_data or unknown:
            return (
                f"{seen}; the task does not use each item as a `{model.name}` instance: "
                "pass a list of primary keys by hand"
            )
        if model.pk_type not in {"int", "str"}:
            kind = "UUID" if model.pk_type == "uuid.UUID" else "unknown"
            return (
                f"{seen}; `{model.name}` has {kind} primary keys, which arrive as strings under JSON "
                "and would not match `in_bulk`'s keys: pass a list of primary keys by hand"
            )
        return ListOf(model, f"{first.text} at {first.where}")

    def _from_body(self, label: str, param: Param, use: ParamUse) -> tuple[ModelInfo | None, str] | str | None:
        named = self.registry.by_name(param.name)
        touches_model = bool(use.attributes & {"save", "delete", "refresh_from_db"})
        if len(named) == 1 and use.attributes:
            model = named[0]
            unknown = sorted(a for a in use.attributes if not model.has_attribute(a))
            if not unknown:
                return model, f"named like `{model.name}` and uses {_attribute_list(use.attributes)}"
            return (
                f"{label} is named like the model `{model.name}` but uses {_attribute_list(unknown)}, "
                "which the model does not declare; no call site shows what it receives"
            )
        if touches_model:
            methods = _attribute_list(use.attributes & {"save", "delete", "refresh_from_db"})
            return (
                f"{label} calls {methods} like a model instance, "
                "but no model is named like it and no call site shows one"
            )
        return None

    def _converting_base(self, task: Task) -> str | None:
        base = task.option("base")
        if base is None:
            return None
        for qualname in base.names:
            facts = self.registry.class_facts(qualname)
            if facts is None:
                continue
            if self.registry.class_overrides(qualname, ("__call__", "run")):
                return (
                    f"the task's base `{facts.name}` overrides `__call__`/`run` "
                    "and may convert ids to objects itself; left alone"
                )
            if any(word in facts.name.lower() for word in _CONVERTING_BASE_WORDS):
                return (
                    f"the task's base `{facts.name}` may convert ids to objects itself (its name says so); left alone"
                )
        return None

    # --- call sites ---

    def _sites_of(self, task: Task) -> Iterator[tuple[str, CallSite]]:
        yield from self.sites.get(task.qualname, ())
        yield from self.by_name.get(task.name, ())

    def _site_evidence(self, task: Task, index: int | None, name: str) -> Iterator[Evidence]:
        for path, site in self._sites_of(task):
            if site.target is None:
                continue  # calls by name are judged as blockers only
            matched = _matching_args(site, index, name)
            for arg in matched or ():
                evidence = self._evidence(path, site, arg)
                yield replace(evidence, local=site.form in _LOCAL_FORMS)

    def _evidence(self, path: str, site: CallSite, arg: Arg) -> Evidence:
        origin = arg.origin
        where = f"{path}:{site.line}"
        text = _short(origin.detail or arg.source)
        kind = origin.kind
        registry = self.registry
        if kind in {"id", "none", "queryset", "unknown"}:
            model = registry.concrete(origin.ref) if kind == "queryset" else None
            if kind == "queryset" and model is None and origin.ref is not None:
                kind = "unknown"
            return Evidence(kind, model, where, text or arg.source, origin)
        if kind == "literal":
            return Evidence("other", None, where, text, origin)
        if kind == "user":
            return Evidence("user", registry.user(), where, text, origin)
        if kind == "form_save":
            model = registry.form_model(origin.ref)
            return Evidence("instance" if model else "unknown", model, where, text, origin)
        model = registry.concrete(origin.ref)
        if model is not None:
            return Evidence("instance", model, where, text, origin)
        if origin.ref in {"int", "str", "uuid.UUID", "builtins.int", "builtins.str"}:
            return Evidence("id", None, where, text, origin)
        if registry.class_facts(origin.ref) is not None and registry.model(origin.ref) is None:
            return Evidence("other", None, where, text, origin)
        return Evidence("unknown", None, where, text, origin)

    # --- building the change set ---

    def _build(self, conversion: Conversion, body: TaskBody) -> None:
        task = conversion.task
        changes: list[ParamChange] = []
        for param, model, _ in conversion.params:
            change = self._param_change(task, param, model, body, param.name in conversion.many)
            if isinstance(change, str):
                conversion.blockers.append(f"{task.path}:{task.function.span.line}: {change}")
            else:
                changes.append(change)
        conversion.blockers.extend(self._site_blockers(conversion))
        if conversion.blockers:
            return
        payload = TaskPayload(task.display_name, tuple(changes), self.settings.accept_instances_in_flight)
        span = task.function.span
        conversion.edits.append(Edit(task.path, "FunctionDef", span.line, span.col, CODE, payload))
        conversion.edits.extend(self._call_edits(conversion))

    def _param_change(
        self, task: Task, param: Param, model: ModelInfo | None, body: TaskBody, many: bool = False
    ) -> ParamChange | str:
        new = ids_name(param.name) if many else f"{param.name}_id"
        if new in body.local_names:
            return f"`{new}` is already used in the task; rename by hand"
        use = body.param(param.name) or ParamUse(param.name)
        if many:
            return self._list_change(task, param, model, body, use, new)
        if use.default is not None and use.default != "None":
            return f"`{param.name}` has the default `{use.default}`; convert it by hand"
        default_none = use.default == "None"
        pk_type = model.pk_type if model is not None else None
        annotation = None if pk_type is None else f"{pk_type} | None" if default_none else pk_type
        if model is None or model.qualname == DEFAULT_USER_MODEL:
            user_alias = self._user_alias(task.module)
            return ParamChange(
                param.name,
                new,
                annotation,
                user_alias or "get_user_model()",
                "User",
                import_module=None if user_alias else "django.contrib.auth",
                import_name=None if user_alias else "get_user_model",
                default_none=default_none,
            )
        if model.abstract:
            return f"`{model.name}` is abstract: it has no manager to fetch a row with"
        spelled = self._model_spelling(task.module, model)
        if isinstance(spelled, str):
            return spelled
        expr, import_name, import_as, local = spelled
        return ParamChange(
            old=param.name,
            new=new,
            annotation=annotation,
            model_expr=expr,
            model_label=model.name,
            import_module=model.module if import_name else None,
            import_name=import_name,
            import_as=import_as,
            local_import=local,
            default_none=default_none,
            needs_uuid=pk_type == "uuid.UUID",
        )

    def _list_change(
        self, task: Task, param: Param, model: ModelInfo | None, body: TaskBody, use: ParamUse, new: str
    ) -> ParamChange | str:
        if use.default is not None:
            return f"`{param.name}` has the default `{use.default}`; convert the list by hand"
        if f"{param.name}_by_pk" in body.local_names:
            return f"`{param.name}_by_pk` is already used in the task; rename by hand"
        single = self._param_change(task, param, model, body)
        if isinstance(single, str):
            return single
        annotation = f"list[{single.annotation}]" if single.annotation else None
        return replace(single, new=new, annotation=annotation, many=True)

    def _user_alias(self, module: ModuleFacts) -> str | None:
        """A module-level ``User = get_user_model()``."""
        user = self.registry.user_model
        imported = {local for local, _ in module.imports}
        for name in sorted(module.module_names - imported):
            if user is not None and self.registry.aliases.get(f"{module.module}.{name}") == user:
                return name
        return None

    def _model_spelling(self, module: ModuleFacts, model: ModelInfo) -> tuple[str, str | None, str | None, bool] | str:
        """(expression, name to import, alias, import inside the function)."""
        if model.module == module.module and model.name in module.module_names:
            return model.name, None, None, False
        for local, qualname in module.imports:
            if self.registry.resolve(qualname) == model.qualname or qualname == model.qualname:
                return local, None, None, False
        for local, qualname in module.imports:
            if qualname == model.module:
                return f"{local}.{model.name}", None, None, False
        alias = None
        name = model.name
        if name in module.module_names:
            alias = f"{name}Model"
            if alias in module.module_names:
                return f"`{name}` already means something else in {module.path}"
            name = alias
        inside_function = self._imports_transitively(model.module, module.module)
        return name, model.name, alias, inside_function

    def _imports_transitively(self, start: str, wanted: str) -> bool:
        seen: set[str] = set()
        pending = [start]
        while pending:
            current = pending.pop()
            if current == wanted:
                return True
            if current in seen:
                continue
            seen.add(current)
            facts = self.by_module.get(current)
            if facts is None:
                continue
            for _, qualname in facts.imports:
                target = self._module_of(qualname)
                if target is not None:
                    pending.append(target)
        return False

    def _module_of(self, qualname: str) -> str | None:
        candidate = qualname
        while candidate:
            if candidate in self.by_module:
                return candidate
            candidate = candidate.rpartition(".")[0]
        return None

    def _site_blockers(self, conversion: Conversion) -> Iterator[str]:
        task = conversion.task
        params = dict(_task_params_by_name(task))
        for path, site in self._sites_of(task):
            for param, _, _ in conversion.params:
                reason = _site_blocker(site, params[param.name], param.name)
                if reason is None and site.target is not None:
                    reason = self._deleted_blocker(path, site, params[param.name], param.name)
                if reason is not None:
                    yield f"{path}:{site.line}: {reason}"
                    break
        for path, reference in self.references.get(task.qualname, ()):
            yield f"{path}:{reference.line}: `{reference.source}` is used as a value; where it is called cannot be seen"
        for path, entry in self.beat.get(task.name, ()):
            for param, _, _ in conversion.params:
                index = params[param.name]
                if (
                    entry.positional < 0
                    or entry.dynamic_kwargs
                    or param.name in entry.keywords
                    or (index is not None and index < entry.positional)
                ):
                    yield f"{path}:{entry.line}: a beat entry passes arguments to `{param.name}`"
                    break

    def _deleted_blocker(self, path: str, site: CallSite, index: int | None, name: str) -> str | None:
        for arg in _matching_args(site, index, name) or ():
            evidence = self._evidence(path, site, arg)
            if evidence.deleted:
                return (
                    f"sends `{arg.source}` after its row is deleted ({evidence.text}); "
                    "a primary key would find nothing: pass the data the task needs"
                )
        return None

    def _call_edits(self, conversion: Conversion) -> Iterator[Edit]:
        task = conversion.task
        params = dict(_task_params_by_name(task))
        for path, site in self._sites_of(task):
            if site.target is None:
                continue
            edits: list[ArgEdit] = []
            for param, _, _ in conversion.params:
                item = (
                    (singular(param.name) if singular(param.name) != param.name else "obj")
                    if (param.name in conversion.many)
                    else None
                )
                for arg in _matching_args(site, params[param.name], param.name) or ():
                    new_keyword = conversion.new_name(param.name) if arg.keyword is not None else None
                    edits.append(ArgEdit(arg.index, arg.keyword, new_keyword, arg.origin.kind != "none", item))
            if edits:
                payload = CallPayload(
                    method=_METHOD.get(site.form),
                    container=site.container,
                    arg_count=site.arg_count,
                    edits=tuple(edits),
                    keyword_containers_only=site.form == "retry",
                )
                yield Edit(path, "Call", site.line, site.col, CODE, payload)


_METHOD = {
    "delay": "delay",
    "delay_on_commit": "delay_on_commit",
    "apply_async": "apply_async",
    "apply_async_on_commit": "apply_async_on_commit",
    "apply": "apply",
    "s": "s",
    "si": "si",
    "signature": "signature",
    "run": "run",
    "retry": "retry",
}


def _short(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _attribute_list(attributes: Iterable[str]) -> str:
    names = sorted(attributes)
    shown = ", ".join(f"`.{name}`" for name in names[:4])
    return shown + (" ..." if len(names) > 4 else "")


def _task_params(task: Task) -> Iterator[tuple[int | None, Param]]:
    """Parameters a caller fills, with their position among positional ones (bound ``self`` left out)."""
    position = 0
    skip_first = task.is_bound
    for param in task.function.params:
        if param.kind in ("posonly", "positional"):
            if skip_first:
                skip_first = False
                continue
            yield position, param
            position += 1
        elif param.kind == "kwonly":
            yield None, param


def _task_params_by_name(task: Task) -> Iterator[tuple[str, int | None]]:
    for index, param in _task_params(task):
        yield param.name, index


def _matching_args(site: CallSite, index: int | None, name: str) -> list[Arg] | None:
    """The arguments of ``site`` that reach parameter ``name``; None when they cannot be told."""
    offset = 1 if site.chain_fed else 0
    found: list[Arg] = []
    for arg in site.args:
        if (
            arg.index is not None and not arg.starred and index is not None and arg.index + offset == index
        ) or arg.keyword == name:
            found.append(arg)
    return found


def _site_blocker(site: CallSite, index: int | None, name: str) -> str | None:
    matched = _matching_args(site, index, name) or []
    positional_star = any(
        a.starred and a.index is not None and index is not None and a.index <= index for a in site.args
    )
    keyword_star = any(a.starred and a.index is None for a in site.args)
    if site.target is None:
        if matched or site.dynamic or positional_star or keyword_star:
            return (
                f"sends the task by name (`{site.form}`) with arguments for `{name}`; "
                "callers by name cannot be rewritten"
            )
        return None
    if site.form in {"map", "starmap", "chunks"}:
        return f"`.{site.form}()` sends `{name}` from an iterable; rewrite it by hand"
    if site.chain_fed and index == 0 and not any(a.keyword == name for a in site.args):
        return f"in a chain, the previous task's return value feeds `{name}`"
    if matched:
        return None
    if positional_star:
        return f"`*args` may carry `{name}`"
    if keyword_star:
        return f"`**kwargs` may carry `{name}`"
    if site.dynamic:
        return f"{site.dynamic} may carry `{name}`"
    return None


def model_registry(project: Project) -> ModelRegistry:
    """The static registry, or Django's own when the project carries one (``--django-settings``)."""
    per_module: dict[str, ModuleModelFacts] = {}
    imports: dict[str, dict[str, str]] = {}
    for facts in project.modules.values():
        imports[facts.module] = dict(facts.imports)
        extra = facts.extras.get(CODE)
        if isinstance(extra, ModulePassIds) and extra.models is not None:
            per_module[facts.module] = extra.models
    return build_registry(per_module, imports, project.runtime_models)
