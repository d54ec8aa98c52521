"""Which Celery the analysed project runs: installed, else declared, else unknown.

Read without importing anything: the installed distribution's metadata, then
the requirement files found at and above the scanned code.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

Version = tuple[int, int]

_REQUIREMENT_FILES = ("pyproject.toml", "setup.cfg", "setup.py", "Pipfile", "requirements.txt")
_REQUIREMENT_GLOBS = ("requirements*.txt", "requirements/*.txt", "requirements/*.in", "requirements*.in")
# ``celery==5.4.0``, ``celery[redis]>=5.4``, ``celery = "~=5.4"``, ``"celery>=5.3,<6"``.
_DECLARED = re.compile(
    r"""(?<![\w.-])celery(?:\[[^\]]*\])?["']?\s*(?:=\s*["'])?\s*(?:==|>=|~=|===)\s*(?P<major>\d+)(?:\.(?P<minor>\d+))?""",
    re.IGNORECASE,
)
_SEARCH_UPWARDS = 3


def installed_celery_version() -> Version | None:
    import importlib.metadata  # 0.05 s to import: only when a rule asks

    try:
        text = importlib.metadata.version("celery")
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return None
    return parse_version(text)


def parse_version(text: str) -> Version | None:
    match = re.match(r"(\d+)(?:\.(\d+))?", text.strip())
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2) or 0)


def declared_celery_version(paths: Iterable[str]) -> Version | None:
    """The lowest Celery the requirement files at and above ``paths`` allow, if they pin one."""
    found = [version for file in _requirement_files(paths) if (version := _declared_in(file)) is not None]
    return min(found) if found else None


def _requirement_files(paths: Iterable[str]) -> Iterator[Path]:
    directory = search_directory(paths)
    if directory is not None:
        yield from requirement_files(directory)


def search_directory(paths: Iterable[str]) -> Path | None:
    """Where the search for requirement files starts: the directory around every path."""
    absolute = [os.path.abspath(path) for path in paths]
    if not absolute:
        return None
    try:
        common = Path(os.path.commonpath(absolute))
    except ValueError:
        return None
    return common if common.is_dir() else common.parent


def requirement_files(directory: Path) -> Iterator[Path]:
    """The files that may declare Celery, at and a few levels above ``directory``."""
    for candidate in (directory, *list(directory.parents)[:_SEARCH_UPWARDS]):
        for name in _REQUIREMENT_FILES:
            if (candidate / name).is_file():
                yield candidate / name
        for pattern in _REQUIREMENT_GLOBS:
            yield from sorted(candidate.glob(pattern))


def _declared_in(path: Path) -> Version | None:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    versions = [
        (int(match.group("major")), int(match.group("minor") or 0))
        for line in text.splitlines()
        if not line.lstrip().startswith("#")
        for match in _DECLARED.finditer(line)
    ]
    return min(versions) if versions else None


def celery_version(paths: Iterable[str]) -> Version | None:
    return installed_celery_version() or declared_celery_version(paths)
