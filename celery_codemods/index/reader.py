"""Turn one file on disk into module facts, or a reason it could not be read.

Runs in worker processes: takes and returns only picklable values, never raises.
"""

from __future__ import annotations

import ast
import os
import re
import warnings
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from celery_codemods.index.build import index_module
from celery_codemods.index.facts import ModuleFacts
from celery_codemods.index.resolve import module_name_for
from celery_codemods.rules import all_rules
from celery_codemods.sourcefile import SourceError, SourceFile, read_source

_RELEVANT = (
    rb"celery|task|delay|apply_async|beat|BEAT_SCHEDULE|on_commit|signature|send_task|Model|models|retry|logger|logging"
)


@dataclass(frozen=True)
class FileError:
    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"


@cache
def prefilter(extra_names: tuple[str, ...]) -> re.Pattern[bytes]:
    extra = b"".join(b"|" + re.escape(name.rpartition(".")[2].encode()) for name in extra_names)
    return re.compile(_RELEVANT + extra)


@lru_cache(maxsize=4096)
def _is_package_dir(directory: str) -> bool:
    return os.path.isfile(os.path.join(directory, "__init__.py"))


def module_name(path: Path) -> tuple[str, bool]:
    absolute = Path(os.path.abspath(path))
    parents = absolute.parents
    package_flags = tuple(_is_package_dir(str(parent)) for parent in reversed(parents[: len(absolute.parts) - 1]))
    return module_name_for(absolute.parts[1:], package_flags[1:]), absolute.name == "__init__.py"


def index_file(path: str, task_decorators: tuple[str, ...] = ()) -> ModuleFacts | FileError | None:
    """Facts for ``path``; None when the prefilter shows it cannot matter."""
    try:
        source = read_source(Path(path))
    except SourceError as exc:
        return FileError(path, str(exc))
    if prefilter(task_decorators).search(source.raw) is None:
        return None
    return index_source(path, source, task_decorators)


def index_source(path: str, source: SourceFile, task_decorators: tuple[str, ...] = ()) -> ModuleFacts | FileError:
    module, is_package = module_name(Path(path))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escape sequences are the project's business
            tree = ast.parse(source.text, filename=path)
    except SyntaxError as exc:
        return FileError(path, f"syntax error: {exc.msg}", exc.lineno)
    except (RecursionError, MemoryError):
        return FileError(path, "too deeply nested to parse; skipped")
    except ValueError as exc:
        return FileError(path, f"cannot parse: {exc}")
    try:
        return index_module(path, module, is_package, source.text, source.digest, tree, all_rules(), task_decorators)
    except RecursionError:
        return FileError(path, "too deeply nested to analyse; skipped")
    except Exception as exc:  # noqa: BLE001 - a bug in one extractor must not end the run
        return FileError(path, f"internal error while indexing: {type(exc).__name__}: {exc}")
