"""Run the index pass over many files: two prefilter passes, a process pool, the cache.

First pass: files that can define a task, app or schedule, in full, and an
outline of those that can only define a model. Second pass: the skipped and
outlined files that import a task found by the first, or reach it as an
attribute (its callers), in full. Most files of a large repository are read but never parsed.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor

from msgspec import Struct

from celery_codemods._gc import collect_less
from celery_codemods.cache import IndexCache, loaded
from celery_codemods.findings import FileError
from celery_codemods.index.facts import ModuleFacts
from celery_codemods.index.project import Project
from celery_codemods.index.reader import IndexResult, Skipped, Unchanged, index_file

_FILES_PER_WORKER = 48
_MAX_NAME_ROUNDS = 4

Job = tuple[str, tuple[str, ...], tuple[str, ...] | None, str | None, bool]
"""path, task decorators, names for the second pass, known content hash, eager"""


class IndexRun(Struct, frozen=True):
    modules: tuple[ModuleFacts, ...]
    errors: tuple[FileError, ...]
    first_pass_kept: int
    """Indexed or outlined by the first pass."""
    second_pass_kept: int
    """Indexed in full by the second pass (skipped or outlined by the first)."""
    outlined: int = 0


class Pickled(Struct, frozen=True):
    """Module facts as a worker pickled them: sent as they are, and cached as they are (not pickled again)."""

    blob: bytes

    def load(self) -> ModuleFacts:
        facts = pickle.loads(self.blob)  # written by our own worker process
        assert isinstance(facts, ModuleFacts)
        return facts


def _unpacked(result: ModuleFacts | Pickled) -> tuple[ModuleFacts, ModuleFacts | bytes]:
    """The facts, and what the cache stores of them: a worker's bytes as they are."""
    if isinstance(result, Pickled):
        return result.load(), result.blob
    return result, result


def _work(
    path: str, decorators: tuple[str, ...], names: tuple[str, ...] | None, known_digest: str | None, eager: bool
) -> IndexResult | Unchanged | Pickled:
    result = index_file(path, decorators, names, known_digest, eager)
    if isinstance(result, ModuleFacts):
        return Pickled(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
    return result


Progress = Callable[[int, int], None]
"""Called with (files read, files in all) as the first pass goes."""


def index_paths(
    paths: Sequence[str], decorators: tuple[str, ...], jobs: int, cache: IndexCache, progress: Progress | None = None
) -> IndexRun:
    workers = min(jobs, max(1, len(paths) // _FILES_PER_WORKER))
    if workers <= 1:
        return _run(paths, decorators, cache, _serial, progress)
    with ProcessPoolExecutor(max_workers=workers, initializer=collect_less) as pool:  # spawned workers too
        return _run(paths, decorators, cache, _pooled(pool, workers), progress)


Mapper = Callable[[list[Job]], Iterator[IndexResult | Unchanged | Pickled]]


def _serial(
    tasks: list[Job],
) -> Iterator[IndexResult | Unchanged | Pickled]:
    return (index_file(*task) for task in tasks)


def _pooled(pool: Executor, workers: int) -> Mapper:
    def run(
        tasks: list[Job],
    ) -> Iterator[IndexResult | Unchanged | Pickled]:
        if not tasks:
            return iter(())
        columns = [list(column) for column in zip(*tasks, strict=True)]
        return pool.map(_work, *columns, chunksize=max(1, len(tasks) // (workers * 24)))

    return run


def _run(
    paths: Sequence[str], decorators: tuple[str, ...], cache: IndexCache, mapper: Mapper, progress: Progress | None
) -> IndexRun:
    modules: dict[str, ModuleFacts] = {}
    errors: list[FileError] = []
    unnamed: list[str] = []
    todo: list[Job] = []
    for path in paths:
        entry = cache.lookup(path)
        facts = loaded(entry.facts) if entry is not None and entry.definitions_hit else None
        if entry is None or (entry.definitions_hit and facts is None):  # unknown, or facts unreadable
            todo.append((path, decorators, None, cache.digest_of(path) if entry is None else None, False))
        elif facts is not None:
            modules[path] = facts
            if facts.outline:
                unnamed.append(path)
        else:
            unnamed.append(path)
    cached = len(paths) - len(todo)
    todo.sort(key=lambda job: -file_size(job[0]))  # large files first: no large one left for the end
    for done, result in enumerate(mapper(todo), start=1):
        _first_pass_result(result, cache, modules, unnamed, errors)
        if progress is not None:
            progress(cached + done, len(paths))
    first_kept = len(modules)
    outlined = sum(1 for facts in modules.values() if facts.outline)
    names: tuple[str, ...] = ()
    for _ in range(_MAX_NAME_ROUNDS):  # callers may define tasks (through wrappers) that others call
        wider = reference_names(Project(modules.values(), decorators))
        if wider == names or not unnamed:
            break
        names = wider
        unnamed = _second_pass(unnamed, names, decorators, cache, mapper, modules, errors)
    _extract_deferred(modules, decorators, mapper, errors)
    ordered = tuple(modules[path] for path in paths if path in modules)
    cache.save()
    still_outlined = sum(1 for facts in ordered if facts.outline)
    position = {path: index for index, path in enumerate(paths)}
    errors.sort(key=lambda error: position.get(error.path, len(paths)))  # in the order of the files, whatever ran first
    return IndexRun(ordered, tuple(errors), first_kept, len(modules) - first_kept + outlined - still_outlined, outlined)


def _first_pass_result(
    result: IndexResult | Unchanged | Pickled,
    cache: IndexCache,
    modules: dict[str, ModuleFacts],
    unnamed: list[str],
    errors: list[FileError],
) -> None:
    if isinstance(result, FileError):
        errors.append(result)
    elif isinstance(result, Unchanged):
        entry = cache.entries.get(_abs(result.path))
        digest = entry.digest if entry is not None else ""
        refreshed = cache.store(result.path, digest, entry.definitions_hit if entry else False, None)
        facts = loaded(refreshed.facts) if refreshed is not None and refreshed.definitions_hit else None
        if facts is not None:
            modules[result.path] = facts
            if facts.outline:
                unnamed.append(result.path)
        else:
            unnamed.append(result.path)
    elif isinstance(result, Skipped):
        cache.store(result.path, result.digest, False, None)
        unnamed.append(result.path)
    else:
        facts, stored = _unpacked(result)
        cache.store(facts.path, facts.digest, True, stored)
        modules[facts.path] = facts
        if facts.outline:
            unnamed.append(facts.path)


def _second_pass(
    unnamed: list[str],
    names: tuple[str, ...],
    decorators: tuple[str, ...],
    cache: IndexCache,
    mapper: Mapper,
    modules: dict[str, ModuleFacts],
    errors: list[FileError],
) -> list[str]:
    """Index in full the unnamed and outlined files that mention ``names``; return the others."""
    names_key = hashlib.blake2b("\n".join(names).encode(), digest_size=12).hexdigest()
    todo: list[Job] = []
    still_unnamed: list[str] = []
    for path in unnamed:
        entry = cache.entries.get(_abs(path))
        named = loaded(entry.named_facts) if entry is not None and entry.names_hit else None
        if entry is None or entry.names_key != names_key or (entry.names_hit and named is None):
            todo.append((path, decorators, names, None, False))
        elif named is not None:
            modules[path] = named
        else:
            still_unnamed.append(path)
    for result in mapper(todo):
        if isinstance(result, FileError):
            errors.append(result)
        elif isinstance(result, ModuleFacts | Pickled):
            facts, stored = _unpacked(result)
            cache.remember_names(facts.path, names_key, True, stored)
            modules[facts.path] = facts
        elif isinstance(result, Skipped):
            cache.remember_names(result.path, names_key, False, None)
            still_unnamed.append(result.path)
    return still_unnamed


def _extract_deferred(
    modules: dict[str, ModuleFacts], decorators: tuple[str, ...], mapper: Mapper, errors: list[FileError]
) -> None:
    """Index again, every candidate with the rules' facts, the few modules where a project wrapper
    not named like a task decorator (``@job()``) makes a task. Not cached: the next run does it again."""
    project = Project(modules.values(), decorators)
    paths = sorted({task.path for task in project.tasks if task.function.deferred})
    for result in mapper([(path, decorators, None, None, True) for path in paths]):
        if isinstance(result, FileError):  # it changed or went away since the first read
            errors.append(result)
            modules.pop(result.path, None)
        elif isinstance(result, ModuleFacts | Pickled):
            facts, _ = _unpacked(result)
            modules[facts.path] = facts


def reference_names(project: Project) -> tuple[str, ...]:
    """Names a caller of a known task must spell, and the project's own task decorators."""
    names: set[str] = {decorator.rpartition(".")[2] for decorator in project.task_decorators}
    for task in project.tasks:
        names.update((task.function.name, task.function.object_name, task.name.rpartition(".")[2]))
    names.update(_imported_as(frozenset(task.qualname for task in project.tasks), project))
    return tuple(sorted(name for name in names if name.isidentifier()))


def _imported_as(tasks: frozenset[str], project: Project) -> set[str]:
    """The names modules import a task under (``from shop.jobs import cleanup as clean``), re-exports followed."""
    imported = {
        f"{module.module}.{local}": target for module in project.modules.values() for local, target in module.imports
    }
    return {
        alias.rpartition(".")[2] for alias, target in imported.items() if _resolve(target, imported, tasks) in tasks
    }


def _resolve(target: str, imported: dict[str, str], tasks: frozenset[str]) -> str:
    seen: set[str] = set()
    while target not in tasks and target in imported and target not in seen:
        seen.add(target)
        target = imported[target]
    return target


def file_size(path: str) -> int:
    """Its size in bytes, 0 when it cannot be told (only to order work, largest first)."""
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _abs(path: str) -> str:
    return os.path.abspath(path)
