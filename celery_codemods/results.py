"""What ``check`` prints, and a cache of it: an unchanged repository re-checks without loading a rule.

A run's findings and errors are stored in one small pickle in the user's cache
directory (never inside the repository), keyed by everything that chooses
them: the tool's code, the Python running it, the working directory and the
paths given, and every setting except the number of jobs. They are reused
only when the files discovered now are the very files of that run, each with
the same size, mtime, ctime and inode, and when the other inputs rules read
are unchanged: the requirement files that declare a Celery version and the
installed packages (``sys.path`` directories change whenever one is
installed or removed). ``--django-settings`` imports the project, which no
stat can vouch for: such runs are never cached.

Stored findings keep their fix's description and safety but not its edits,
which only planning needs (formats that print fixes do not use this cache).
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from msgspec import Struct, structs

from celery_codemods import __version__
from celery_codemods.cache import code_signature, read_pickle, user_cache_dir, write_pickle
from celery_codemods.discovery import Discovery, PatternError, discover
from celery_codemods.findings import FileError, Finding
from celery_codemods.settings import Settings

if TYPE_CHECKING:
    from celery_codemods.api import Analysis

_NOT_RESULT_SETTINGS = frozenset({"jobs", "cache"})
"""Settings that change how a run goes, never what it finds."""

Signature = tuple[int, int, int, int] | None
"""size, mtime, ctime and inode of a file; None when it does not exist."""


class CheckResult(Struct, frozen=True):
    settings: Settings
    findings: tuple[Finding, ...]
    errors: tuple[FileError, ...]
    files_discovered: int
    files_indexed: int
    outside: frozenset[str] = frozenset()
    """Files read through a symlink to outside the paths given: never written."""

    @classmethod
    def of(cls, analysis: Analysis) -> CheckResult:
        return cls(
            analysis.settings,
            analysis.findings,
            analysis.errors,
            analysis.files_discovered,
            analysis.files_indexed,
            analysis.outside,
        )


class _Stored(Struct, frozen=True):
    files: str
    """Digest of the discovered files, each with its signature."""
    inputs: tuple[tuple[str, Signature], ...]
    """Other files the rules read (requirement files), with their signatures."""
    input_search: str | None
    """The directory those files were searched from, to notice one that appeared."""
    findings: tuple[Finding, ...]
    errors: tuple[FileError, ...]
    files_indexed: int


def check_result(
    paths: Sequence[Path], settings: Settings, progress: Callable[[int, int], None] | None = None
) -> CheckResult:
    """``analyze``'s findings and errors, from the result cache when nothing they depend on changed.

    Raises ConfigError like ``analyze``.
    """
    try:
        found: Discovery | None = discover(paths, settings.exclude)
    except PatternError:
        found = None  # analyze reports it, after any other configuration error, as always
    cache = _ResultCache.for_run(paths, settings, found)
    if cache is not None and found is not None:
        hit = cache.load(found, settings)
        if hit is not None:
            return hit
    from celery_codemods.api import analyze  # the rules and the index: only when the cache cannot answer

    analysis = analyze(paths, settings, progress, found)
    result = CheckResult.of(analysis)
    if cache is not None and found is not None:
        cache.store(found, result, analysis.project.modules)
    return result


class _ResultCache:
    def __init__(self, file: Path) -> None:
        self.file = file

    @classmethod
    def for_run(cls, paths: Sequence[Path], settings: Settings, found: Discovery | None) -> _ResultCache | None:
        if not settings.cache or settings.django_settings is not None or found is None:
            return None
        chosen = {f.name: getattr(settings, f.name) for f in structs.fields(settings)}
        key_text = repr(
            (
                __version__,
                code_signature(),
                sys.version,
                sys.executable,
                os.getcwd(),
                [str(path) for path in paths],
                sorted((name, value) for name, value in chosen.items() if name not in _NOT_RESULT_SETTINGS),
                _installed_packages(),
            )
        )
        key = hashlib.blake2b(key_text.encode(), digest_size=12).hexdigest()
        return cls(user_cache_dir() / f"check-{key}.pickle")

    def load(self, found: Discovery, settings: Settings) -> CheckResult | None:
        stored = read_pickle(self.file)
        if not isinstance(stored, _Stored) or stored.files != _files_digest(found):
            return None
        if stored.inputs != _signed(_requirement_files(stored.input_search)):
            return None
        outside = frozenset(str(path) for path in found.outside)
        return CheckResult(settings, stored.findings, stored.errors, len(found.files), stored.files_indexed, outside)

    def store(self, found: Discovery, result: CheckResult, module_paths: Iterable[str]) -> None:
        from celery_codemods.rules._celery_version import search_directory

        directory = search_directory(module_paths)
        search = str(directory) if directory is not None else None
        findings = tuple(_without_edits(finding) for finding in result.findings)
        stored = _Stored(
            files=_files_digest(found),
            inputs=_signed(_requirement_files(search)),
            input_search=search,
            findings=findings,
            errors=result.errors,
            files_indexed=result.files_indexed,
        )
        write_pickle(self.file, stored)


def _without_edits(finding: Finding) -> Finding:
    """Edits carry each rule's own payload: loading them would import the rules."""
    if finding.fix is None:
        return finding
    return structs.replace(finding, fix=structs.replace(finding.fix, edits=()))


def _signature(path: str) -> Signature:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino)


def _signed(paths: Iterable[str]) -> tuple[tuple[str, Signature], ...]:
    return tuple((path, _signature(path)) for path in paths)


def _files_digest(found: Discovery) -> str:
    digest = hashlib.blake2b(digest_size=16)
    for path in found.files:
        digest.update(f"{path}\0{_signature(str(path))}\n".encode())
    for label, group in (("missing", found.missing), ("outside", found.outside)):
        digest.update(f"{label}\0{[str(path) for path in group]}\n".encode())
    digest.update(f"unreadable\0{[(str(path), reason) for path, reason in found.unreadable]}\n".encode())
    return digest.hexdigest()


def _requirement_files(search: str | None) -> list[str]:
    if search is None:
        return []
    from celery_codemods.rules._celery_version import requirement_files

    return [str(path) for path in requirement_files(Path(search))]


def _installed_packages() -> list[tuple[str, int | None]]:
    """Each import directory's mtime: installing or removing a package (Celery's version) changes it."""
    here = os.getcwd()
    entries = [entry for entry in sys.path if entry and os.path.abspath(entry) != here]
    return [(entry, _mtime(entry)) for entry in entries]


def _mtime(path: str) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None
