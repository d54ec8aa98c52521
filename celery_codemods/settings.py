"""Settings: ``[tool.celery-codemod]`` in pyproject.toml, overridden by flags.

Every key is validated; an unknown key or a wrong type is a ConfigError that
names the key, so a typo never silently turns a rule off.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from msgspec import Struct
from msgspec.structs import fields, replace

from celery_codemods.discovery import pattern_problem

LoggerFactory = Literal["getLogger", "get_task_logger"]
SilentExceptMode = Literal["log", "reraise"]


class ConfigError(Exception):
    """Invalid configuration; the message names the file and key."""


class Settings(Struct, frozen=True):
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    unsafe_fixes: bool = False
    preview: bool = False
    jobs: int = 0
    cache: bool = True
    django_settings: str | None = None
    task_decorators: tuple[str, ...] = ()
    retry_backoff_max: int = 600
    max_retries: int = 5
    logger_factory: LoggerFactory = "getLogger"
    silent_except_mode: SilentExceptMode = "log"
    accept_instances_in_flight: bool = False
    config_file: Path | None = None

    def with_overrides(self, **overrides: Any) -> Settings:
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    def fingerprint(self) -> str:
        """What the index facts depend on (for the cache key)."""
        return repr(sorted(self.task_decorators))


_STR_LIST_KEYS = {"select", "ignore", "exclude", "task-decorators"}
_BOOL_KEYS = {"unsafe-fixes", "preview", "cache", "accept-instances-in-flight"}
_INT_KEYS = {"jobs", "retry-backoff-max", "max-retries"}
_CHOICE_KEYS: dict[str, tuple[str, ...]] = {
    "logger-factory": ("getLogger", "get_task_logger"),
    "silent-except-mode": ("log", "reraise"),
}
_OPTIONAL_STR_KEYS = {"django-settings"}
KNOWN_KEYS = _STR_LIST_KEYS | _BOOL_KEYS | _INT_KEYS | set(_CHOICE_KEYS) | _OPTIONAL_STR_KEYS


def find_config(start: Path) -> Path | None:
    """The nearest pyproject.toml with a [tool.celery-codemod] table, upwards from start."""
    directory = start if start.is_dir() else start.parent
    for candidate in (directory, *directory.parents):
        pyproject = candidate / "pyproject.toml"
        if pyproject.is_file() and b"celery-codemod" in _read_bytes(pyproject):
            return pyproject
    return None


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


def load_settings(config_file: Path | None) -> Settings:
    if config_file is None:
        return Settings()
    try:
        document = tomllib.loads(config_file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{config_file}: cannot read: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{config_file}: not valid TOML: {exc}") from None
    tool = document.get("tool", {})
    if not isinstance(tool, dict):
        raise ConfigError(f"{config_file}: [tool] must be a table, got {tool!r}")
    table = tool.get("celery-codemod", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{config_file}: [tool.celery-codemod] must be a table")
    values = {key.replace("-", "_"): _validate(config_file, key, value) for key, value in table.items()}
    return Settings(config_file=config_file, **values)


def _validate(path: Path, key: str, value: Any) -> Any:
    where = f"{path}: [tool.celery-codemod] {key}"
    if key not in KNOWN_KEYS:
        known = ", ".join(sorted(KNOWN_KEYS))
        raise ConfigError(f"{where}: unknown key (known keys: {known})")
    if key in _STR_LIST_KEYS:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ConfigError(f"{where}: expected a list of strings, got {value!r}")
        if key == "exclude":
            _check_patterns(where, value)
        return tuple(value)
    if key in _BOOL_KEYS:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if key in _INT_KEYS:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(f"{where}: expected a non-negative integer, got {value!r}")
        return value
    if key in _CHOICE_KEYS:
        if value not in _CHOICE_KEYS[key]:
            choices = ", ".join(_CHOICE_KEYS[key])
            raise ConfigError(f"{where}: expected one of {choices}, got {value!r}")
        return value
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected a string, got {value!r}")
    return value


def _check_patterns(where: str, patterns: list[str]) -> None:
    for pattern in patterns:
        problem = pattern_problem(pattern)
        if problem is not None:
            raise ConfigError(f"{where}: {pattern!r} is not a valid gitignore pattern ({problem})")


def effective_jobs(settings: Settings) -> int:
    return settings.jobs or (os.cpu_count() or 1)


SETTING_NAMES = tuple(f.name for f in fields(Settings))
