"""The model registry from Django itself: ``django.setup()`` and ``apps.get_models()``.

Opt-in (``--django-settings MODULE``), because it imports the project's
settings and every installed app: it runs once, in the main process, never
in the index workers. The project's roots go first on ``sys.path``, as
``manage.py`` puts its own directory there: the config file's directory,
then every directory that holds a top-level package of the files analysed
(``corpus/`` for ``corpus/shop/settings.py``), so the names Django reports
are the names the index gives the same files.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from celery_codemods.index.models import ModelInfo, PkType, RuntimeModels, field_pk_type
from celery_codemods.index.reader import module_name

_LOADED: dict[str, RuntimeModels] = {}


class DjangoSetupError(Exception):
    """The settings module did not import or ``django.setup()`` failed; the message says what to try."""


def project_roots(config_file: Path | None, files: Iterable[Path]) -> list[Path]:
    """Directories to put on ``sys.path``: the config file's, then each top-level package's parent."""
    roots: list[Path] = []
    if config_file is not None:
        roots.append(config_file.resolve().parent)
    found: set[Path] = set()
    for path in files:
        name, is_package = module_name(path)
        depth = name.count(".") + (1 if is_package else 0)
        if depth:
            found.add(Path(os.path.abspath(path)).parents[depth])
    roots.extend(sorted(found - set(roots), key=lambda root: (len(root.parts), str(root))))
    return roots


def load_runtime_models(settings_module: str, roots: Sequence[Path], project_modules: Iterable[str]) -> RuntimeModels:
    """Django's models for ``settings_module``; raises DjangoSetupError. Computed once per process."""
    if settings_module in _LOADED:
        return _LOADED[settings_module]
    _refuse_other_settings(settings_module)
    with _on_sys_path(roots), contextlib.redirect_stdout(sys.stderr):
        _import_settings(settings_module, roots)
        _setup(settings_module)
        loaded = _read_models(settings_module, frozenset(project_modules))
    _LOADED[settings_module] = loaded
    return loaded


def _refuse_other_settings(settings_module: str) -> None:
    settings = importlib.import_module("django.conf").settings
    configured = settings.SETTINGS_MODULE if settings.configured else None
    if configured is not None and configured != settings_module:
        raise DjangoSetupError(
            f"--django-settings {settings_module}: Django is already set up with {configured} in this process"
        )


@contextlib.contextmanager
def _on_sys_path(roots: Sequence[Path]) -> Iterator[None]:
    saved = list(sys.path)
    sys.path[:0] = [str(root) for root in roots if str(root) not in sys.path]
    try:
        yield
    finally:
        sys.path[:] = saved


def _import_settings(settings_module: str, roots: Sequence[Path]) -> None:
    try:
        importlib.import_module(settings_module)
    except (Exception, SystemExit) as exc:
        searched = ", ".join(str(root) for root in roots) or "(none)"
        raise DjangoSetupError(
            f"--django-settings {settings_module}: the settings module does not import: {_describe(exc)}. "
            f"Project roots put on sys.path: {searched}. Try: name the directory that holds manage.py "
            "(or the config file next to it) on the command line, check the module name, set the environment "
            "variables the settings read, or leave out --django-settings to use the static model registry."
        ) from exc


def _setup(settings_module: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    try:
        importlib.import_module("django").setup()
    except (Exception, SystemExit) as exc:
        raise DjangoSetupError(
            f"--django-settings {settings_module}: django.setup() failed: {_describe(exc)}. "
            f"Try: `DJANGO_SETTINGS_MODULE={settings_module} python manage.py check` to see the whole error, "
            "or leave out --django-settings to use the static model registry."
        ) from exc


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _read_models(settings_module: str, project_modules: frozenset[str]) -> RuntimeModels:
    apps = importlib.import_module("django.apps").apps
    get_user_model = importlib.import_module("django.contrib.auth").get_user_model
    improperly_configured = importlib.import_module("django.core.exceptions").ImproperlyConfigured
    concrete = list(apps.get_models())
    infos: dict[str, ModelInfo] = {}
    for model in concrete:
        for cls in (model, *_abstract_bases(model)):
            name = _qualname(cls)
            if name not in infos:
                infos[name] = _model_info(cls, project_modules)
    try:
        user: str | None = _qualname(get_user_model())
    except improperly_configured:  # AUTH_USER_MODEL names a model that is not installed
        user = None
    return RuntimeModels(settings_module, tuple(infos.values()), user)


def _abstract_bases(model: type[Any]) -> Iterator[type[Any]]:
    for base in model.__mro__[1:]:
        meta = getattr(base, "_meta", None)
        if meta is not None and getattr(meta, "abstract", False):
            yield base


def _qualname(cls: type[Any]) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _model_info(model: type[Any], project_modules: frozenset[str]) -> ModelInfo:
    meta = model._meta
    return ModelInfo(
        qualname=_qualname(model),
        abstract=bool(meta.abstract),
        proxy=bool(meta.proxy),
        pk_type=_pk_type(meta.pk) if meta.pk is not None else ("int" if meta.abstract else None),
        attributes=frozenset(name for name in dir(model) if not name.startswith("__")),
        in_project=model.__module__ in project_modules,
    )


def _pk_type(pk: Any) -> PkType | None:
    field = pk
    for _ in range(8):  # a OneToOne primary key (multi-table inheritance) has its target's type
        if not getattr(field, "is_relation", False) or getattr(field, "target_field", None) is None:
            break
        field = field.target_field
    return field_pk_type(field.get_internal_type())
