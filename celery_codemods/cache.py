"""A cache of index facts, so an unchanged repository re-checks in a blink.

One pickle per project root, in the user's cache directory (never inside the
repository: a cloned repository cannot plant a pickle for us to load). An
entry is reused when the file's size and mtime are unchanged, or when its
content hash is; the key covers the tool version, its own source files and
the settings the facts depend on. Writes replace the file atomically, so
concurrent runs only ever see a whole cache (the last writer wins).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import sys
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from msgspec import Struct
from msgspec.structs import replace

from celery_codemods import __version__

if TYPE_CHECKING:  # a warm `check` answered from the result cache never loads the facts' classes
    from celery_codemods.index.facts import ModuleFacts

_PACKAGE_DIR = Path(__file__).resolve().parent


class Entry(Struct, frozen=True):
    size: int
    mtime_ns: int
    digest: str
    definitions_hit: bool
    """The first-pass prefilter kept the file."""
    facts: ModuleFacts | bytes | None
    """What the first pass made of the file: its facts (or an outline of them; pickled, when a worker
    made them: see ``loaded``), or None (skipped)."""
    names_key: str = ""
    """The task names the file was last checked against (second pass: skipped and outlined files)."""
    names_hit: bool = False
    named_facts: ModuleFacts | bytes | None = None
    """The file's full facts, when it names one of those tasks (maybe pickled)."""


def user_cache_dir() -> Path:
    override = os.environ.get("CELERY_CODEMOD_CACHE_DIR")
    if override:
        return Path(override)
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "celery-codemod"


@cache  # the tool's files do not change during a run; a cold check asks twice (result and index caches)
def code_signature() -> str:
    """Changes whenever the tool's own code does (version bumps alone miss edits)."""
    digest = hashlib.blake2b(__version__.encode(), digest_size=12)
    for path in sorted(_PACKAGE_DIR.rglob("*.py")):
        info = path.stat()
        digest.update(f"{path.relative_to(_PACKAGE_DIR)}:{info.st_size}:{info.st_mtime_ns}".encode())
    return digest.hexdigest()


class IndexCache:
    def __init__(self, file: Path | None) -> None:
        self.file = file
        self.entries: dict[str, Entry] = self._load() if file is not None else {}
        self.dirty = False

    @classmethod
    def for_project(cls, root: Path, settings_fingerprint: str, enabled: bool) -> IndexCache:
        if not enabled:
            return cls(None)
        key = hashlib.blake2b(
            f"{os.path.abspath(root)}|{settings_fingerprint}|{code_signature()}".encode(), digest_size=12
        ).hexdigest()
        return cls(user_cache_dir() / f"index-{key}.pickle")

    def _load(self) -> dict[str, Entry]:
        assert self.file is not None
        loaded = read_pickle(self.file)
        return loaded if isinstance(loaded, dict) else {}

    def lookup(self, path: str) -> Entry | None:
        """The entry for ``path`` if the file on disk is provably the same."""
        entry = self.entries.get(os.path.abspath(path))
        if entry is None:
            return None
        try:
            info = os.stat(path)
        except OSError:
            return None
        if info.st_size == entry.size and info.st_mtime_ns == entry.mtime_ns:
            return entry
        return None

    def digest_of(self, path: str) -> str | None:
        entry = self.entries.get(os.path.abspath(path))
        return entry.digest if entry is not None else None

    def store(self, path: str, digest: str, definitions_hit: bool, facts: ModuleFacts | bytes | None) -> Entry | None:
        if self.file is None:
            return None
        try:
            info = os.stat(path)
        except OSError:
            return None
        key = os.path.abspath(path)
        old = self.entries.get(key)
        if old is not None and old.digest == digest:
            entry = replace(old, size=info.st_size, mtime_ns=info.st_mtime_ns, facts=facts or old.facts)
        else:
            entry = Entry(info.st_size, info.st_mtime_ns, digest, definitions_hit, facts)
        self.entries[key] = entry
        self.dirty = True
        return entry

    def remember_names(self, path: str, names_key: str, hit: bool, facts: ModuleFacts | bytes | None) -> None:
        key = os.path.abspath(path)
        entry = self.entries.get(key)
        if self.file is None or entry is None:
            return
        self.entries[key] = replace(entry, names_key=names_key, names_hit=hit, named_facts=facts)
        self.dirty = True

    def save(self) -> None:
        if self.file is None or not self.dirty:
            return
        write_pickle(self.file, self.entries)


def loaded(facts: ModuleFacts | bytes | None) -> ModuleFacts | None:
    """Facts as stored: a worker's pickle is loaded here (a corrupt one counts as none)."""
    if not isinstance(facts, bytes):
        return facts
    from celery_codemods.index.facts import ModuleFacts  # only indexing asks: a warm `check` never loads it

    try:
        value = pickle.loads(facts)  # from our own cache file, as read_pickle's
    except UNPICKLING_ERRORS:
        return None
    return value if isinstance(value, ModuleFacts) else None


UNPICKLING_ERRORS = (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError, TypeError, ValueError)
"""What loading a truncated, corrupt or outdated cache file can raise."""


def read_pickle(file: Path) -> object:
    """The file's contents, or None when it is missing or unreadable."""
    try:
        with file.open("rb") as handle:
            return pickle.load(handle)
    except UNPICKLING_ERRORS:
        return None


def write_pickle(file: Path, value: object) -> None:
    """Replace ``file`` atomically: concurrent runs only ever read a whole file (the last writer wins)."""
    import tempfile  # only runs that write pay for it

    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=file.parent, prefix=f".{file.stem}-", suffix=".tmp")
    except OSError:
        return  # a cache that cannot be written is only a slower next run
    try:
        with os.fdopen(fd, "wb") as handle:
            pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, file)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
