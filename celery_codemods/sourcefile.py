"""Reading and writing Python sources without changing what is not ours to change.

A file is decoded the way Python decodes it (BOM, PEP 263 cookie), and written
back with the same encoding, BOM and line endings, atomically, only when it is
unchanged on disk since it was read.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import io
import os
import stat
import tempfile
import tokenize
from pathlib import Path

from msgspec import Struct


class SourceFile(Struct, frozen=True):
    path: Path
    raw: bytes
    text: str
    encoding: str
    has_bom: bool

    @property
    def digest(self) -> str:
        return hashlib.blake2b(self.raw, digest_size=16).hexdigest()

    def encode(self, text: str) -> bytes:
        """Raises UnicodeEncodeError when ``text`` has characters the file's encoding lacks."""
        data = text.encode(self.encoding)
        return codecs.BOM_UTF8 + data if self.has_bom else data

    def unencodable(self, text: str) -> str | None:
        """Why ``text`` cannot be written in this file's encoding, or None when it can."""
        try:
            text.encode(self.encoding)
        except UnicodeEncodeError as exc:
            bad = exc.object[exc.start : exc.end]
            return f"the rewrite has characters {self.encoding} cannot encode ({bad!r})"
        return None


class SourceError(Exception):
    """A file that cannot be read or decoded; the message says why."""


def decode_source(path: Path, raw: bytes) -> SourceFile:
    if b"\x00" in raw:
        raise SourceError("binary file (contains NUL bytes)")
    has_bom = raw.startswith(codecs.BOM_UTF8)
    body = raw[len(codecs.BOM_UTF8) :] if has_bom else raw
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
    except SyntaxError as exc:
        # Also raised for undecodable bytes in the first two lines of a file without a cookie.
        _decode(body, "utf-8")
        raise SourceError(f"bad encoding declaration: {exc.msg}") from None
    if encoding == "utf-8-sig":
        encoding = "utf-8"
    text = _decode(body, encoding)
    return SourceFile(path=path, raw=raw, text=text, encoding=encoding, has_bom=has_bom)


def _decode(body: bytes, encoding: str) -> str:
    try:
        return body.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise SourceError(f"cannot decode as {encoding}: {exc}") from None


def read_source(path: Path) -> SourceFile:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"cannot read: {exc.strerror or exc}") from None
    return decode_source(path, raw)


class StaleFileError(SourceError):
    """The file changed on disk after it was analysed."""


def write_source(source: SourceFile, new_text: str) -> None:
    """Replace ``source.path`` with ``new_text`` atomically.

    Refuses when the file on disk no longer holds the bytes that were analysed;
    keeps the file mode; on any failure the old content stays in place. A
    symlink is written through: its target gets the new content, the link stays.
    """
    problem = source.unencodable(new_text)
    if problem is not None:
        raise SourceError(f"{problem}; not written")
    data = source.encode(new_text)
    path = Path(os.path.realpath(source.path))
    try:
        current = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"cannot re-read before writing: {exc.strerror or exc}") from None
    if current != source.raw:
        raise StaleFileError("changed on disk since it was read; not written")
    try:
        info = path.stat()
        mode = stat.S_IMODE(info.st_mode)
        if _read_only(path, mode):
            raise SourceError("file is read-only; not written (its mode is left alone)")
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise SourceError(f"cannot write: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        _keep_owner(tmp_name, info)
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, path)
    except OSError as exc:
        _remove_quietly(tmp_name)
        raise SourceError(f"cannot write: {exc.strerror or exc}") from None
    except BaseException:
        _remove_quietly(tmp_name)
        raise


def _keep_owner(name: str, info: os.stat_result) -> None:
    """Give the new file the old one's owner and group, as far as we may (root may; others keep theirs)."""
    if (info.st_uid, info.st_gid) != (os.geteuid(), os.getegid()):
        with contextlib.suppress(OSError):
            os.chown(name, info.st_uid, info.st_gid)


def _read_only(path: Path, mode: int) -> bool:
    # os.access says yes to root whatever the mode; no write bit at all means read-only to us too.
    return not os.access(path, os.W_OK) or not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


def _remove_quietly(name: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(name)
