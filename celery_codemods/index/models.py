"""Django models, read statically: which classes are models, their primary keys.

The index pass records every module-level class (``extract_classes``); the
plan pass merges them into a ``ModelRegistry``. A class is a model when its
bases reach ``django.db.models.Model`` through imports and project classes,
or a known Django model base (``AbstractUser``...), or a third-party class
imported from a ``models`` module. Nothing of the user's code is imported.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Literal

from msgspec import Struct, field
from msgspec.structs import replace

from celery_codemods.index.context import ModuleContext

PkType = Literal["int", "uuid.UUID", "str"]

MODEL_ROOTS = frozenset({"django.db.models.Model", "django.db.models.base.Model"})
USER_MODEL_FUNCTIONS = frozenset({"django.contrib.auth.get_user_model"})

_INT_FIELDS = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "SmallAutoField",
        "IntegerField",
        "BigIntegerField",
        "SmallIntegerField",
        "PositiveIntegerField",
        "PositiveBigIntegerField",
        "PositiveSmallIntegerField",
    }
)
_STR_FIELDS = frozenset({"CharField", "SlugField", "EmailField", "TextField", "URLField"})


def field_pk_type(field_class: str) -> PkType | None:
    """The type a primary key of this Django field class holds (``UUIDField`` -> ``uuid.UUID``), if known."""
    if field_class in _INT_FIELDS:
        return "int"
    if field_class == "UUIDField":
        return "uuid.UUID"
    if field_class in _STR_FIELDS:
        return "str"
    return None


_RELATION_FIELDS = frozenset({"OneToOneField", "ForeignKey"})
_ALL_RELATIONS = frozenset({"OneToOneField", "ForeignKey", "ManyToManyField", "ParentalKey"})


_USER_ATTRIBUTES = frozenset(
    {
        "username",
        "email",
        "first_name",
        "last_name",
        "password",
        "is_active",
        "is_staff",
        "is_superuser",
        "date_joined",
        "last_login",
        "groups",
        "user_permissions",
        "get_username",
        "get_full_name",
        "get_short_name",
        "get_email_field_name",
        "email_user",
        "check_password",
        "set_password",
        "set_unusable_password",
        "has_usable_password",
        "has_perm",
        "has_perms",
        "has_module_perms",
        "get_all_permissions",
        "get_group_permissions",
        "get_user_permissions",
        "is_authenticated",
        "is_anonymous",
        "natural_key",
        "get_session_auth_hash",
        "normalize_username",
        "EMAIL_FIELD",
        "USERNAME_FIELD",
        "REQUIRED_FIELDS",
        "objects",
    }
)


class BuiltinModel(Struct, frozen=True):
    qualname: str
    abstract: bool = False
    pk_type: PkType = "int"
    attributes: frozenset[str] = frozenset()


# Django's own models (and abstract bases) that project models derive from or
# that tasks receive; their module is where an import should come from.
_DJANGO_MODELS = {
    model.qualname: model
    for model in (
        BuiltinModel("django.contrib.auth.models.User", attributes=_USER_ATTRIBUTES),
        BuiltinModel("django.contrib.auth.models.Group"),
        BuiltinModel("django.contrib.auth.models.Permission"),
        BuiltinModel("django.contrib.auth.models.AbstractUser", abstract=True, attributes=_USER_ATTRIBUTES),
        BuiltinModel("django.contrib.auth.models.AbstractBaseUser", abstract=True, attributes=_USER_ATTRIBUTES),
        BuiltinModel("django.contrib.auth.base_user.AbstractBaseUser", abstract=True, attributes=_USER_ATTRIBUTES),
        BuiltinModel("django.contrib.auth.models.PermissionsMixin", abstract=True),
        BuiltinModel("django.contrib.contenttypes.models.ContentType"),
        BuiltinModel("django.contrib.sites.models.Site"),
        BuiltinModel("django.contrib.admin.models.LogEntry"),
        BuiltinModel("django.contrib.flatpages.models.FlatPage"),
        BuiltinModel("django.contrib.redirects.models.Redirect"),
        BuiltinModel("django.contrib.sessions.models.Session", pk_type="str"),
        BuiltinModel("django.contrib.sessions.base_session.AbstractBaseSession", abstract=True, pk_type="str"),
    )
}
DEFAULT_USER_MODEL = "django.contrib.auth.models.User"
# Attributes every model instance has, whatever its fields.
MODEL_INSTANCE_ATTRIBUTES = frozenset(
    {
        "pk",
        "id",
        "save",
        "delete",
        "refresh_from_db",
        "full_clean",
        "clean",
        "clean_fields",
        "validate_unique",
        "_meta",
        "_state",
        "serializable_value",
        "get_deferred_fields",
        "save_base",
        "arefresh_from_db",
        "asave",
        "adelete",
        "get_absolute_url",
        "__class__",
        "__dict__",
    }
)
_DISPLAY = re.compile(r"^get_\w+_display$|^get_(?:next|previous)_by_\w+$")


class ClassFacts(Struct, frozen=True):
    """A module-level class, as the index sees it."""

    name: str
    qualname: str
    bases: tuple[str, ...]
    """Qualified names of the bases that resolve to names (``models.Model`` -> ``django.db.models.Model``)."""
    abstract: bool = False
    proxy: bool = False
    pk_field: str | None = None
    """Field class of an explicit ``primary_key=True`` field (``UUIDField``), if any."""
    pk_related: str | None = None
    """For ``OneToOneField(Other, primary_key=True)``: the related model's qualified name."""
    attributes: frozenset[str] = frozenset()
    """Names bound in the class body: fields, methods, properties."""
    meta_model: str | None = None
    """``class Meta: model = X`` (ModelForm, serializers): X's qualified name."""
    methods: frozenset[str] = frozenset()
    app_label: str | None = None
    relations: tuple[tuple[str, str], ...] = ()
    """(target, reverse accessor) of its ForeignKey/OneToOne/ManyToMany fields. The target is a
    qualified name, ``"str:<literal>"`` for a string reference, or ``"user"`` for AUTH_USER_MODEL."""


class ModuleModelFacts(Struct, frozen=True):
    classes: tuple[ClassFacts, ...] = ()
    user_model_aliases: tuple[str, ...] = ()
    """Module-level names bound to ``get_user_model()``."""
    auth_user_model: str | None = None
    """``AUTH_USER_MODEL = "app.Model"`` when this module sets it."""


def extract_classes(tree: ast.Module, ctx: ModuleContext) -> ModuleModelFacts | None:
    classes = tuple(_class_facts(node, ctx) for node in tree.body if isinstance(node, ast.ClassDef))
    aliases = tuple(_user_model_aliases(tree, ctx))
    auth_user_model = _auth_user_model(tree)
    if not classes and not aliases and auth_user_model is None:
        return None
    return ModuleModelFacts(classes=classes, user_model_aliases=aliases, auth_user_model=auth_user_model)


def _class_facts(node: ast.ClassDef, ctx: ModuleContext) -> ClassFacts:
    bases = tuple(q for base in node.bases if (q := ctx.qualname(_unsubscript(base))) is not None)
    meta = _meta_options(node, ctx)
    pk_field, pk_related = _primary_key(node, ctx)
    attributes: set[str] = set()
    methods: set[str] = set()
    for statement in node.body:
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
            methods.add(statement.name)
            attributes.add(statement.name)
        else:
            attributes.update(_bound_names(statement))
    model = meta.get("model")
    return ClassFacts(
        name=node.name,
        qualname=f"{ctx.module}.{node.name}" if ctx.module else node.name,
        bases=bases,
        abstract=meta.get("abstract") is True,
        proxy=meta.get("proxy") is True,
        pk_field=pk_field,
        pk_related=pk_related,
        attributes=frozenset(attributes),
        meta_model=model if isinstance(model, str) else None,
        methods=frozenset(methods),
        app_label=label if isinstance(label := meta.get("app_label"), str) else None,
        relations=tuple(_relations(node, ctx)),
    )


def _relations(node: ast.ClassDef, ctx: ModuleContext) -> Iterator[tuple[str, str]]:
    for statement in node.body:
        value = statement.value if isinstance(statement, ast.Assign | ast.AnnAssign) else None
        if not isinstance(value, ast.Call) or not value.args:
            continue
        kind = (ctx.qualname(value.func) or "").rpartition(".")[2]
        if kind not in _ALL_RELATIONS:
            continue
        related = next((k.value for k in value.keywords if k.arg == "related_name"), None)
        if isinstance(related, ast.Constant) and isinstance(related.value, str):
            accessor = related.value
        elif related is None:
            accessor = node.name.lower() if kind == "OneToOneField" else f"{node.name.lower()}_set"
        else:
            continue
        target = value.args[0]
        if isinstance(target, ast.Constant) and isinstance(target.value, str):
            yield f"str:{target.value}", accessor
        elif isinstance(target, ast.Attribute) and target.attr == "AUTH_USER_MODEL":
            yield "user", accessor
        elif isinstance(target, ast.Name | ast.Attribute) and (qualname := ctx.qualname(target)) is not None:
            yield qualname, accessor


def _unsubscript(node: ast.expr) -> ast.expr:
    return node.value if isinstance(node, ast.Subscript) else node


def _bound_names(statement: ast.stmt) -> Iterator[str]:
    if isinstance(statement, ast.Assign):
        for target in statement.targets:
            if isinstance(target, ast.Name):
                yield target.id
    elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
        yield statement.target.id


def _meta_options(node: ast.ClassDef, ctx: ModuleContext) -> dict[str, object]:
    options: dict[str, object] = {}
    for statement in node.body:
        if not (isinstance(statement, ast.ClassDef) and statement.name == "Meta"):
            continue
        for item in statement.body:
            if not (isinstance(item, ast.Assign) and len(item.targets) == 1 and isinstance(item.targets[0], ast.Name)):
                continue
            key, value = item.targets[0].id, item.value
            if key == "model" and isinstance(value, ast.Name | ast.Attribute):
                options[key] = ctx.qualname(value)
            elif isinstance(value, ast.Constant):
                options[key] = value.value
    return options


def _primary_key(node: ast.ClassDef, ctx: ModuleContext) -> tuple[str | None, str | None]:
    for statement in node.body:
        value = statement.value if isinstance(statement, ast.Assign | ast.AnnAssign) else None
        if not isinstance(value, ast.Call) or not _is_primary_key(value):
            continue
        field_name = (ctx.qualname(value.func) or "").rpartition(".")[2]
        related = None
        if field_name in _RELATION_FIELDS and value.args and isinstance(value.args[0], ast.Name | ast.Attribute):
            related = ctx.qualname(value.args[0])
        return field_name, related
    return None, None


def _is_primary_key(call: ast.Call) -> bool:
    return any(
        keyword.arg == "primary_key" and isinstance(keyword.value, ast.Constant) and keyword.value.value is True
        for keyword in call.keywords
    )


def _user_model_aliases(tree: ast.Module, ctx: ModuleContext) -> Iterator[str]:
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and ctx.qualname(node.value.func) in USER_MODEL_FUNCTIONS
        ):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    yield target.id


def _auth_user_model(tree: ast.Module) -> str | None:
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "AUTH_USER_MODEL" for t in node.targets)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            return node.value.value
    return None


class ModelInfo(Struct, frozen=True):
    qualname: str
    abstract: bool = False
    proxy: bool = False
    pk_type: PkType | None = "int"
    """None when the primary key's type could not be told."""
    attributes: frozenset[str] = frozenset()
    """Fields, methods and properties declared on it and its project bases."""
    in_project: bool = True

    @property
    def module(self) -> str:
        return self.qualname.rpartition(".")[0]

    @property
    def name(self) -> str:
        return self.qualname.rpartition(".")[2]

    def has_attribute(self, attribute: str) -> bool:
        return (
            attribute in self.attributes
            or attribute in MODEL_INSTANCE_ATTRIBUTES
            or attribute.endswith("_id")
            or attribute.endswith("_set")
            or _DISPLAY.match(attribute) is not None
        )


class ModelRegistry(Struct):
    """Every model the project defines or derives from, by qualified name."""

    models: dict[str, ModelInfo] = field(default_factory=dict)
    forms: dict[str, str] = field(default_factory=dict)
    """Class qualname -> ``Meta.model`` qualname (ModelForms and the like)."""
    aliases: dict[str, str] = field(default_factory=dict)
    """Re-exports and ``get_user_model()`` aliases: qualname -> the qualname it stands for."""
    user_model: str | None = DEFAULT_USER_MODEL
    """The user model's qualname; None when AUTH_USER_MODEL names a model the index cannot find."""
    classes: dict[str, ClassFacts] = field(default_factory=dict)

    def resolve(self, qualname: str | None) -> str | None:
        seen: set[str] = set()
        while qualname is not None and qualname in self.aliases and qualname not in seen:
            seen.add(qualname)
            qualname = self.aliases[qualname]
        return qualname

    def model(self, qualname: str | None) -> ModelInfo | None:
        resolved = self.resolve(qualname)
        return self.models.get(resolved) if resolved is not None else None

    def concrete(self, qualname: str | None) -> ModelInfo | None:
        """A model that has a manager and rows: not abstract."""
        model = self.model(qualname)
        return model if model is not None and not model.abstract else None

    def form_model(self, qualname: str | None) -> ModelInfo | None:
        resolved = self.resolve(qualname)
        return self.concrete(self.forms.get(resolved)) if resolved is not None else None

    def user(self) -> ModelInfo | None:
        return self.concrete(self.user_model)

    def by_name(self, name: str) -> list[ModelInfo]:
        """Concrete models whose class name matches a parameter name (``order`` -> ``Order``)."""
        wanted = name.replace("_", "").lower()
        return [m for m in self.models.values() if not m.abstract and m.name.lower() == wanted]

    def class_facts(self, qualname: str | None) -> ClassFacts | None:
        resolved = self.resolve(qualname)
        return self.classes.get(resolved) if resolved is not None else None

    def class_overrides(self, qualname: str | None, methods: Iterable[str]) -> bool:
        """Whether a project class (or a project base of it) defines any of ``methods``."""
        wanted = set(methods)
        pending = [qualname]
        seen: set[str] = set()
        while pending:
            facts = self.class_facts(pending.pop())
            if facts is None or facts.qualname in seen:
                continue
            seen.add(facts.qualname)
            if facts.methods & wanted:
                return True
            pending.extend(facts.bases)
        return False


class RuntimeModels(Struct, frozen=True):
    """The models Django itself reports after ``django.setup()`` (``--django-settings``)."""

    settings_module: str
    models: tuple[ModelInfo, ...]
    user_model: str | None
    """The qualname of ``get_user_model()``; None when it could not be told."""


def build_registry(
    per_module: Mapping[str, ModuleModelFacts],
    module_imports: Mapping[str, Mapping[str, str]],
    runtime: RuntimeModels | None = None,
) -> ModelRegistry:
    """Merge per-module facts (keyed by module name) into a registry.

    ``module_imports`` maps a module name to its imports (local name ->
    qualified name), to follow re-exports such as ``shop.models.Order``
    defined in ``shop/models/order.py``. With ``runtime``, the models and the
    user model are Django's own; classes, forms and aliases still come from
    the index (they say how the project's code spells things).
    """
    registry = ModelRegistry()
    for module, facts in per_module.items():
        for cls in facts.classes:
            registry.classes[cls.qualname] = cls
            if cls.meta_model is not None:
                registry.forms[cls.qualname] = cls.meta_model
        for alias in facts.user_model_aliases:
            registry.aliases[f"{module}.{alias}" if module else alias] = "<user>"
    for module, imports in module_imports.items():
        for local, target in imports.items():
            if target != f"{module}.{local}":
                registry.aliases.setdefault(f"{module}.{local}", target)
    if runtime is None:
        _classify(registry)
        user = _user_model(registry, [f.auth_user_model for f in per_module.values() if f.auth_user_model])
        registry.user_model = user
        _add_reverse_accessors(registry)
    else:
        registry.models = {model.qualname: model for model in runtime.models}
        user = registry.user_model = runtime.user_model
    for alias, target in list(registry.aliases.items()):
        if target == "<user>":
            if user is None:
                del registry.aliases[alias]
            else:
                registry.aliases[alias] = user
    return registry


def _classify(registry: ModelRegistry) -> None:
    for qualname, builtin in _DJANGO_MODELS.items():
        registry.models[qualname] = ModelInfo(
            qualname,
            abstract=builtin.abstract,
            pk_type=builtin.pk_type,
            attributes=builtin.attributes,
            in_project=False,
        )
    for qualname in registry.classes:
        _model_info(registry, qualname, set())


def _model_info(registry: ModelRegistry, qualname: str, visiting: set[str]) -> ModelInfo | None:
    """The model for ``qualname`` (computed once, memoised in ``registry.models``), or None."""
    resolved = registry.resolve(qualname) or qualname
    if resolved in registry.models:
        return registry.models[resolved]
    facts = registry.classes.get(resolved)
    if facts is None or resolved in visiting:
        return None
    visiting.add(resolved)
    base_models: list[ModelInfo] = []
    is_model = False
    for base in facts.bases:
        target = registry.resolve(base) or base
        if target in MODEL_ROOTS:
            is_model = True
            continue
        info = _model_info(registry, target, visiting)
        if info is not None:
            is_model = True
            base_models.append(info)
        elif target not in registry.classes and _third_party_model_base(target):
            is_model = True
    if not is_model:
        return None
    attributes = set(facts.attributes)
    for base_model in base_models:
        attributes |= base_model.attributes
    info = ModelInfo(
        qualname=resolved,
        abstract=facts.abstract,
        proxy=facts.proxy,
        pk_type=_pk_type(registry, facts, base_models, visiting),
        attributes=frozenset(attributes),
    )
    registry.models[resolved] = info
    return info


def _add_reverse_accessors(registry: ModelRegistry) -> None:
    """``order.lines`` exists when OrderLine declares ``ForeignKey(Order, related_name="lines")``."""
    added: dict[str, set[str]] = {}
    for facts in registry.classes.values():
        for target, accessor in facts.relations:
            resolved = _relation_target(registry, facts, target)
            if resolved is not None:
                added.setdefault(resolved, set()).add(accessor)
    for qualname, accessors in added.items():
        model = registry.models.get(qualname)
        if model is not None:
            registry.models[qualname] = replace(model, attributes=model.attributes | accessors)
    for qualname, model in list(registry.models.items()):
        inherited = set(model.attributes)
        for base in _model_bases(registry, qualname):
            inherited |= added.get(base, set())
        if inherited != model.attributes:
            registry.models[qualname] = replace(model, attributes=frozenset(inherited))


def _model_bases(registry: ModelRegistry, qualname: str) -> Iterator[str]:
    """Project bases of a model, transitively (a proxy has its concrete model's reverse accessors)."""
    pending = list(registry.classes[qualname].bases) if qualname in registry.classes else []
    seen: set[str] = set()
    while pending:
        base = registry.resolve(pending.pop()) or ""
        if base in seen or base not in registry.models:
            continue
        seen.add(base)
        yield base
        if base in registry.classes:
            pending.extend(registry.classes[base].bases)


def _relation_target(registry: ModelRegistry, facts: ClassFacts, target: str) -> str | None:
    if target == "user":
        return registry.user_model
    if not target.startswith("str:"):
        return registry.resolve(target)
    spelled = target[4:]
    if spelled == "self":
        return facts.qualname
    if "." not in spelled:
        return f"{facts.qualname.rpartition('.')[0]}.{spelled}"
    label, _, name = spelled.rpartition(".")
    found = [
        m.qualname for m in registry.models.values() if m.name == name and _app_label(registry, m.qualname) == label
    ]
    return found[0] if len(found) == 1 else None


def _third_party_model_base(qualname: str) -> bool:
    """A base imported from another package's ``models`` module (``model_utils.models.TimeStampedModel``)."""
    parts = qualname.split(".")
    return len(parts) >= 2 and parts[-2] == "models" and not qualname.startswith(("django.db.", "django.forms."))


def _pk_type(
    registry: ModelRegistry, facts: ClassFacts, base_models: list[ModelInfo], visiting: set[str]
) -> PkType | None:
    if facts.pk_field is not None:
        known = field_pk_type(facts.pk_field)
        if known is not None:
            return known
        if facts.pk_related is not None:
            related = _model_info(registry, facts.pk_related, visiting)
            return related.pk_type if related is not None else None
        return None
    for base in base_models:
        if base.pk_type != "int" or base.in_project:
            return base.pk_type
    return "int"


def _user_model(registry: ModelRegistry, settings_values: list[str]) -> str | None:
    values = set(settings_values)
    if not values:
        return DEFAULT_USER_MODEL
    if len(values) > 1:
        return None
    label, _, name = values.pop().rpartition(".")
    candidates = [
        model.qualname
        for model in registry.models.values()
        if model.name == name and not model.abstract and _app_label(registry, model.qualname) == label
    ]
    return candidates[0] if len(candidates) == 1 else None


def _app_label(registry: ModelRegistry, qualname: str) -> str:
    """Django's default label: the app package's last name (``shop`` for ``project.shop.models``)."""
    facts = registry.classes.get(qualname)
    if facts is not None and facts.app_label:
        return facts.app_label
    parts = qualname.split(".")[:-1]
    if "models" in parts:
        parts = parts[: parts.index("models")]
    return parts[-1] if parts else ""
