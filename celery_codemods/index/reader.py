"""Turn one file on disk into module facts, or a reason it could not be read.

Runs in worker processes: takes and returns only picklable values, never raises.
"""

from __future__ import annotations

import ast
import os
import re
import string
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Literal

from msgspec import Struct

from celery_codemods.discovery import looks_generated
from celery_codemods.findings import FileError
from celery_codemods.index.build import index_module
from celery_codemods.index.facts import ModuleFacts
from celery_codemods.index.resolve import module_name_for
from celery_codemods.rules import all_rules
from celery_codemods.rules._ast_walk import forget_walks
from celery_codemods.sourcefile import SourceError, SourceFile, read_source

# First pass: files that can define a task, a Celery app or a beat schedule, or
# enqueue on commit, or load modules (AppConfig.ready(), CELERY_IMPORTS), are
# indexed in full. Files that can only define a model are outlined: other modules
# need their classes and imports, not their functions or calls, unless they call a
# task. The second pass adds the files (outlined ones included) that mention a
# task found by the first (its callers), by name.
#
# Plain substrings, not a regex of alternatives: a regex tries every alternative at
# every position of the file, ``bytes in`` scans the file once per word, much faster.
_DEFINITION_WORDS = (
    b"task",
    b"Celery",
    b"celery",
    b"BEAT_SCHEDULE",
    b"beat_schedule",
    b"on_commit",
    b"def ready(",
    b"CELERY_IMPORTS",
)
_MODEL_CLASS = re.compile(rb"class\s+\w+\([^)]*Model\b")

Tier = Literal["full", "outline"]


class Skipped(Struct, frozen=True):
    """The prefilter showed the file cannot matter; ``digest`` keys the cache."""

    path: str
    digest: str


class Unchanged(Struct, frozen=True):
    """The file's content hash matches the one the caller already has facts for."""

    path: str


IndexResult = ModuleFacts | FileError | Skipped


@lru_cache(maxsize=8)
def _definition_words(extra_names: tuple[str, ...]) -> tuple[bytes, ...]:
    return _DEFINITION_WORDS + tuple(name.rpartition(".")[2].encode() for name in extra_names)


def definitions_tier(raw: bytes, extra_names: tuple[str, ...] = ()) -> Tier | None:
    """The first-pass prefilter: index the file in full, outline it (it can only define a model), or skip it."""
    if any(word in raw for word in _definition_words(extra_names)):
        return "full"
    if b"django.db import" in raw or (b"Model" in raw and _MODEL_CLASS.search(raw)):
        return "outline"
    return None


def may_define(raw: bytes, extra_names: tuple[str, ...] = ()) -> bool:
    """The file can define a task, app, model or schedule."""
    return definitions_tier(raw, extra_names) is not None


# Bytes that can be part of an identifier: ASCII letters, digits, ``_``, and every byte of a
# non-ASCII character (a regex's ``\b`` counts those as boundaries, splitting ``sync_ÿ``).
_IDENTIFIER_BYTES = frozenset((string.ascii_letters + string.digits + "_").encode()) | frozenset(range(128, 256))
_WORDS_ONLY = bytes(byte if byte in _IDENTIFIER_BYTES else 0x20 for byte in range(256))


def words(raw: bytes) -> list[bytes]:
    """The file's identifier-like words, in order (every other byte separates them)."""
    return raw.translate(_WORDS_ONLY).split()


@lru_cache(maxsize=8)
def _encoded(names: tuple[str, ...]) -> frozenset[bytes]:
    return frozenset(name.encode() for name in names)


def mentions(raw: bytes, names: tuple[str, ...]) -> bool:
    """One of ``names`` is a whole word of the file: twice as fast as a regex, even a trie's."""
    return not _encoded(names).isdisjoint(words(raw))


# A module that neither defines a task nor star-imports one reaches it only through
# an import (``from shop.tasks import send``) or an attribute (``tasks.send.delay``,
# ``from .send import x``): calls by registered name and beat entries are in files the
# first pass indexes. A bare ``send`` elsewhere is a method, a parameter or a word.
_ATTRIBUTE = rb"\.[\s\\]*"
_PARENTHESIZED_IMPORT = rb"\bimport[\s\\]*\((?:[^)#]|#[^\n]*)*?"
_IMPORT_LINE = rb"\bimport\b(?:[^\r\n;\\]|\\[\s\S])*?"  # to the end of its line, continuations followed
_STAR_IMPORT = re.compile(rb"\bimport[\s\\]*\*")


@lru_cache(maxsize=8)
def references_filter(names: tuple[str, ...]) -> re.Pattern[bytes] | None:
    """Any of ``names`` where it can refer to another module's object: imported, or an attribute.

    A trie of the names, so each position tries one branch, not every name.
    """
    if not names:
        return None
    return re.compile(b"(?:" + b"|".join((_ATTRIBUTE, _PARENTHESIZED_IMPORT, _IMPORT_LINE)) + b")" + _any_name(names))


def refers_to(raw: bytes, names: tuple[str, ...]) -> bool:
    """The file can refer to one of ``names`` defined elsewhere (the second-pass prefilter)."""
    if not mentions(raw, names):
        return False
    if _STAR_IMPORT.search(raw):  # a star-imported name is read bare
        return True
    narrow = references_filter(names)
    return narrow is not None and narrow.search(raw) is not None


def _any_name(names: tuple[str, ...]) -> bytes:
    trie: _Trie = {}
    for name in names:
        node = trie
        for byte in name.encode():
            node = node.setdefault(byte, {})
        node[_END] = {}
    return _NOT_AFTER_A_WORD + b"(?:" + _trie_pattern(trie) + b")" + _NOT_BEFORE_A_WORD


_NOT_AFTER_A_WORD = rb"(?<![\w\x80-\xff])"
_NOT_BEFORE_A_WORD = rb"(?![\w\x80-\xff])"


_END = -1
_Trie = dict[int, "_Trie"]


def _trie_pattern(node: _Trie) -> bytes:
    branches = [re.escape(bytes([byte])) + _trie_pattern(child) for byte, child in sorted(node.items()) if byte != _END]
    if not branches:
        return b""
    body = branches[0] if len(branches) == 1 else b"(?:" + b"|".join(branches) + b")"
    if _END not in node:
        return body
    return b"(?:" + body + b")?"


@lru_cache(maxsize=4096)
def _is_package_dir(directory: str) -> bool:
    return os.path.isfile(os.path.join(directory, "__init__.py"))


def module_name(path: Path) -> tuple[str, bool]:
    absolute = Path(os.path.abspath(path))
    parents = absolute.parents
    package_flags = tuple(_is_package_dir(str(parent)) for parent in reversed(parents[: len(absolute.parts) - 1]))
    return module_name_for(absolute.parts[1:], package_flags[1:]), absolute.name == "__init__.py"


def index_file(
    path: str,
    task_decorators: tuple[str, ...] = (),
    names: tuple[str, ...] | None = None,
    known_digest: str | None = None,
    eager: bool = False,
) -> IndexResult | Unchanged:
    """Facts for ``path``, or Skipped when the prefilter shows it cannot matter.

    Without ``names`` the first-pass filter applies; with them, the file is
    kept only when it can refer to one of those names (a known task) defined
    elsewhere: it imports one, or reaches one as an attribute (``refers_to``).
    With ``eager``, no filter applies and every task candidate gets the rules'
    facts (see ``index_module``).
    """
    if eager:
        try:
            return index_source(path, read_source(Path(path)), task_decorators, eager=True)
        except SourceError as exc:
            return FileError(path, str(exc))
    if names is not None:
        return _index_if_named(path, task_decorators, names)
    try:
        source = read_source(Path(path))
    except SourceError as exc:
        return FileError(path, str(exc))
    if known_digest is not None and source.digest == known_digest:
        return Unchanged(path)
    tier = definitions_tier(source.raw, task_decorators)
    if tier is None or looks_generated(source.raw):
        return Skipped(path, source.digest)
    return index_source(path, source, task_decorators, outline=tier == "outline")


def _index_if_named(path: str, task_decorators: tuple[str, ...], names: tuple[str, ...]) -> IndexResult:
    """The second pass: most files do not name a task, and need neither decoding nor a hash."""
    try:
        raw = Path(path).read_bytes()
    except OSError:
        raw = b""  # read_source below says why
    if raw and not refers_to(raw, names):
        return Skipped(path, "")
    try:
        source = read_source(Path(path))
    except SourceError as exc:
        return FileError(path, str(exc))
    if (not raw and not refers_to(source.raw, names)) or looks_generated(source.raw):  # raw: tested above
        return Skipped(path, source.digest)
    return index_source(path, source, task_decorators)


def index_source(
    path: str,
    source: SourceFile,
    task_decorators: tuple[str, ...] = (),
    *,
    outline: bool = False,
    eager: bool = False,
    tree: ast.Module | None = None,
) -> ModuleFacts | FileError:
    """Facts for the file; with ``outline``, only what other modules need (see ``index_module``).

    ``tree`` is the text's ast when the caller has parsed it already.
    """
    module, is_package = module_name(Path(path))
    try:
        if tree is None:
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
        return index_module(
            path,
            module,
            is_package,
            source.text,
            source.digest,
            tree,
            all_rules(),
            task_decorators,
            outline=outline,
            eager=eager,
        )
    except RecursionError:
        return FileError(path, "too deeply nested to analyse; skipped")
    except Exception as exc:  # noqa: BLE001 - a bug in one extractor must not end the run
        return FileError(path, f"internal error while indexing: {type(exc).__name__}: {exc}")
    finally:
        forget_walks()
