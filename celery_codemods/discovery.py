"""Which files to look at: walk the paths, honour .gitignore and excludes.

Skipped by default: version-control and tool directories, virtualenvs (any
directory holding ``pyvenv.cfg``), ``site-packages`` and Django migrations.
Files named explicitly on the command line are always kept.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import pathspec
from msgspec import Struct

DEFAULT_EXCLUDES = (
    ".git/",
    ".hg/",
    ".svn/",
    ".tox/",
    ".nox/",
    ".venv/",
    "venv/",
    ".eggs/",
    "node_modules/",
    "__pycache__/",
    "site-packages/",
    "migrations/",
    ".mypy_cache/",
    ".ruff_cache/",
    ".pytest_cache/",
    ".celery_codemod_cache/",
    "build/",
    "dist/",
)


_DEFAULT_EXCLUDED_DIRS = frozenset(pattern.rstrip("/") for pattern in DEFAULT_EXCLUDES)


class Discovery(Struct, frozen=True):
    files: tuple[Path, ...]
    missing: tuple[Path, ...]
    unreadable: tuple[tuple[Path, str], ...] = ()
    """Directories that could not be listed, with the reason."""
    outside: tuple[Path, ...] = ()
    """Files reached through a symlink whose target lies outside every path given: read, never written."""


class PatternError(ValueError):
    """An exclude pattern that is not valid gitignore syntax."""


def pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` is not a valid gitignore pattern, or None."""
    try:
        pathspec.GitIgnoreSpec.from_lines([pattern])
    except ValueError as exc:
        return str(exc)
    return None


def _exclude_spec(patterns: Iterable[str]) -> pathspec.GitIgnoreSpec | None:
    """The user's patterns; the defaults are directory names, checked by name (much cheaper)."""
    patterns = tuple(patterns)
    for pattern in patterns:
        problem = pattern_problem(pattern)
        if problem is not None:
            raise PatternError(f"exclude pattern {pattern!r} is not valid gitignore syntax: {problem}")
    return pathspec.GitIgnoreSpec.from_lines(patterns) if patterns else None


def _lenient_spec(lines: list[str]) -> pathspec.GitIgnoreSpec:
    """A .gitignore as git reads it: a line that is not a valid pattern is skipped."""
    try:
        return pathspec.GitIgnoreSpec.from_lines(lines)
    except ValueError:
        return pathspec.GitIgnoreSpec.from_lines([line for line in lines if pattern_problem(line) is None])


def discover(paths: Iterable[Path], exclude: Iterable[str] = ()) -> Discovery:
    """Raises PatternError for an invalid exclude pattern; every other problem is in the result.

    Symlinks are followed once: a file reached twice is listed once, a directory
    loop is walked once. A symlinked directory whose target lies outside every
    directory given is not walked; a symlinked file whose target does is read
    (it may define tasks) but listed in ``outside`` so it is never written,
    unless it was itself given.
    """
    given_paths = list(paths)
    walker = _Walker(_exclude_spec(tuple(exclude)), _project_roots(given_paths))
    seen: set[str] = set()
    files: list[Path] = []
    real_paths: list[str] = []
    missing: list[Path] = []
    for given in given_paths:
        if not given.exists():
            missing.append(given)
            continue
        candidates = [(given, os.path.realpath(given))] if given.is_file() else walker.walk(given)
        for path, real in candidates:
            if real not in seen:
                seen.add(real)
                files.append(path)
                real_paths.append(real)
    asked = {os.path.realpath(path) for path in given_paths if path.is_file()}
    outside = [
        path for path, real in zip(files, real_paths, strict=True) if not walker.inside(real) and real not in asked
    ]
    return Discovery(
        files=tuple(files), missing=tuple(missing), unreadable=tuple(walker.unreadable), outside=tuple(outside)
    )


def _project_roots(paths: Iterable[Path]) -> tuple[str, ...]:
    return tuple(os.path.realpath(path) for path in paths if path.is_dir())


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


class _Ignore(Struct, frozen=True):
    """A .gitignore, and how to turn a path relative to the walked root into one relative to its directory."""

    spec: pathspec.GitIgnoreSpec
    prefix: str
    """The walked root relative to the .gitignore's directory (for one above the root)."""
    strip: int
    """Characters to drop: the .gitignore's directory relative to the walked root (for one inside it)."""

    def ignores(self, relative: str) -> bool:
        return self.spec.match_file(self.prefix + relative[self.strip :])


class _Walker:
    """Walks with strings, not Paths, and resolves symlinks only where there is one.

    Each directory's real path is its parent's plus its name unless it is a
    symlink, so a realpath call (a stat per component) is needed only for
    the root and for symlinks.
    """

    def __init__(self, exclude_spec: pathspec.GitIgnoreSpec | None, roots: tuple[str, ...]) -> None:
        self.exclude_spec = exclude_spec
        self.roots = roots
        self.visited: set[tuple[int, int]] = set()
        self.unreadable: list[tuple[Path, str]] = []

    def inside(self, real_path: str) -> bool:
        return any(_within(real_path, root) for root in self.roots)

    def walk(self, root: Path) -> Iterator[tuple[Path, str]]:
        """Each file under ``root`` (as ``root`` joined with its relative path) and its real path."""
        absolute_root = os.path.abspath(root)
        ignores = _parent_gitignores(Path(absolute_root))
        for relative, real in self._walk_dir(absolute_root, "", os.path.realpath(absolute_root), ignores):
            yield root / relative, real

    def _walk_dir(
        self, root: str, relative_dir: str, real_dir: str, ignores: list[_Ignore]
    ) -> Iterator[tuple[str, str]]:
        """``relative_dir`` is empty or ends with a slash; it is ``real_dir`` once symlinks are resolved."""
        directory = os.path.join(root, relative_dir) if relative_dir else root
        try:
            info = os.stat(directory)
            if (info.st_dev, info.st_ino) in self.visited:  # a symlink loop, or a directory linked twice
                return
            self.visited.add((info.st_dev, info.st_ino))
            entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
        except OSError as exc:
            self.unreadable.append((Path(directory), exc.strerror or str(exc)))
            return
        own = _read_gitignore(Path(directory))
        if own:
            ignores = [*ignores, _Ignore(own, "", len(relative_dir))]
        for entry in entries:
            is_dir = _is_dir(entry)
            if is_dir and entry.name in _DEFAULT_EXCLUDED_DIRS:
                continue
            if not is_dir and not entry.name.endswith(".py"):
                continue  # before any pattern matching: most entries of a tree are not Python
            relative = relative_dir + entry.name
            matched = relative + "/" if is_dir else relative
            if self.exclude_spec is not None and self.exclude_spec.match_file(matched):
                continue
            if any(ignore.ignores(matched) for ignore in ignores):
                continue
            real = os.path.realpath(entry.path) if _is_symlink(entry) else os.path.join(real_dir, entry.name)
            if is_dir:
                if self._walkable(entry, real):
                    yield from self._walk_dir(root, relative + "/", real, ignores)
            elif _is_file(entry):
                yield relative, real

    def _walkable(self, entry: os.DirEntry[str], real: str) -> bool:
        if os.path.exists(os.path.join(entry.path, "pyvenv.cfg")):
            return False
        return not _is_symlink(entry) or self.inside(real)


def _is_symlink(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_symlink()
    except OSError:
        return False


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _is_file(entry: os.DirEntry[str]) -> bool:
    """A regular file (through symlinks): not a FIFO or device that would block a read."""
    try:
        return entry.is_file()
    except OSError:
        return False


def _read_gitignore(directory: Path) -> pathspec.GitIgnoreSpec | None:
    try:
        lines = (directory / ".gitignore").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    return _lenient_spec(lines)


def _parent_gitignores(root: Path) -> list[_Ignore]:
    """.gitignore files above root (absolute), up to the repository top."""
    found: list[_Ignore] = []
    for parent in root.parents:
        spec = _read_gitignore(parent)
        if spec is not None:
            found.append(_Ignore(spec, root.relative_to(parent).as_posix() + "/", 0))
        if (parent / ".git").exists():
            break
    found.reverse()
    return found


GENERATED_MARKER = re.compile(rb"@generated|DO NOT EDIT|Generated by Django \d")


def looks_generated(raw: bytes) -> bool:
    return GENERATED_MARKER.search(raw[:512]) is not None
