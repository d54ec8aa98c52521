"""Reading and writing a source keeps what is not ours to change: encoding, BOM, endings, mode, links."""

from __future__ import annotations

import codecs
import errno
import os
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from celery_codemods import sourcefile
from celery_codemods.index.context import LINE_BREAK, source_lines
from celery_codemods.sourcefile import (
    SourceError,
    StaleFileError,
    decode_source,
    read_source,
    write_source,
)


def write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_utf8_without_cookie(tmp_path: Path) -> None:
    source = read_source(write_bytes(tmp_path / "a.py", "x = 'café'\n".encode()))
    assert (source.encoding, source.has_bom, source.text) == ("utf-8", False, "x = 'café'\n")


def test_bom_is_dropped_from_the_text_and_kept_on_write(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "a.py", codecs.BOM_UTF8 + "x = 'é'\n".encode())
    source = read_source(path)
    assert (source.encoding, source.has_bom, source.text) == ("utf-8", True, "x = 'é'\n")
    write_source(source, "x = 'è'\n")
    assert path.read_bytes() == codecs.BOM_UTF8 + "x = 'è'\n".encode()


@pytest.mark.parametrize(
    ("cookie", "encoding"),
    [("# -*- coding: latin-1 -*-\n", "iso-8859-1"), ("# vim: set fileencoding=cp1252 :\n", "cp1252")],
)
def test_cookie_on_line_one_or_two_decodes_and_encodes_back(tmp_path: Path, cookie: str, encoding: str) -> None:
    for prefix in ("", "#!/usr/bin/env python\n"):
        text = f"{prefix}{cookie}x = 'café'\n"
        path = write_bytes(tmp_path / "a.py", text.encode(encoding))
        source = read_source(path)
        assert (source.encoding, source.text) == (encoding, text)
        write_source(source, text.replace("café", "crème"))
        assert path.read_bytes() == text.replace("café", "crème").encode(encoding)


def test_cookie_on_line_three_is_not_a_cookie(tmp_path: Path) -> None:
    raw = b"#!/usr/bin/env python\n\n# -*- coding: latin-1 -*-\nx = '\xe9'\n"
    with pytest.raises(SourceError, match="cannot decode as utf-8"):
        decode_source(tmp_path / "a.py", raw)


def test_undecodable_bytes_are_an_error_naming_the_encoding(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="cannot decode as utf-8"):
        decode_source(tmp_path / "a.py", b"x = '\xff'\n")


def test_unknown_cookie_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="bad encoding declaration"):
        decode_source(tmp_path / "a.py", b"# -*- coding: klingon -*-\nx = 1\n")


def test_nul_bytes_mean_binary(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="binary"):
        decode_source(tmp_path / "a.py", b"\x7fELF\x00\x00\x01")


def test_text_outside_the_encoding_is_refused_and_the_file_kept(tmp_path: Path) -> None:
    raw = b"# -*- coding: latin-1 -*-\nx = '\xe9'\n"
    path = write_bytes(tmp_path / "a.py", raw)
    source = read_source(path)
    assert source.unencodable("x = 'μ'\n") == "the rewrite has characters iso-8859-1 cannot encode ('μ')"
    with pytest.raises(SourceError, match="cannot encode"):
        write_source(source, "# -*- coding: latin-1 -*-\nx = 'μ'\n")
    assert path.read_bytes() == raw


def test_crlf_and_mixed_endings_are_written_as_given(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "a.py", b"a = 1\r\nb = 2\n")
    source = read_source(path)
    assert source.text == "a = 1\r\nb = 2\n"
    write_source(source, "a = 1\r\nb = 3\n")
    assert path.read_bytes() == b"a = 1\r\nb = 3\n"


def test_stale_file_is_not_overwritten(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "a.py", b"a = 1\n")
    source = read_source(path)
    path.write_bytes(b"a = 2  # edited by a person meanwhile\n")
    with pytest.raises(StaleFileError):
        write_source(source, "a = 3\n")
    assert path.read_bytes() == b"a = 2  # edited by a person meanwhile\n"


def test_mode_is_kept(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "a.py", b"a = 1\n")
    path.chmod(0o751)
    write_source(read_source(path), "a = 2\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o751


def test_read_only_file_is_refused_and_not_chmodded(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "a.py", b"a = 1\n")
    path.chmod(0o444)
    with pytest.raises(SourceError, match="read-only"):
        write_source(read_source(path), "a = 2\n")
    assert path.read_bytes() == b"a = 1\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o444


def test_symlink_is_written_through_and_stays_a_link(tmp_path: Path) -> None:
    target = write_bytes(tmp_path / "real.py", b"a = 1\n")
    link = tmp_path / "link.py"
    link.symlink_to("real.py")
    write_source(read_source(link), "a = 2\n")
    assert link.is_symlink()
    assert target.read_bytes() == b"a = 2\n"


def test_disk_full_keeps_the_old_content_and_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_bytes(tmp_path / "a.py", b"a = 1\n")
    source = read_source(path)

    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(sourcefile.os, "fsync", no_space)
    with pytest.raises(SourceError, match="No space left on device"):
        write_source(source, "a = 2\n")
    assert path.read_bytes() == b"a = 1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["a.py"]


def test_unwritable_directory_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_bytes(tmp_path / "a.py", b"a = 1\n")

    def denied(*args: object, **kwargs: object) -> tuple[int, str]:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(sourcefile.tempfile, "mkstemp", denied)
    with pytest.raises(SourceError, match="Permission denied"):
        write_source(read_source(path), "a = 2\n")
    assert path.read_bytes() == b"a = 1\n"


def test_unreadable_file_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_bytes(tmp_path / "a.py", b"a = 1\n")

    def denied(self: Path) -> bytes:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(SourceError, match="cannot read: Permission denied"):
        read_source(path)


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("a\nb\n", ["a", "b", ""]),
        ("a\r\nb\rc", ["a", "b", "c"]),
        ("\x0c\nx = 1\n", ["\x0c", "x = 1", ""]),
        ("# a\u2028b\x85c\x1cd\nx\n", ["# a\u2028b\x85c\x1cd", "x", ""]),
    ],
)
def test_source_lines_split_only_where_python_does(text: str, lines: list[str]) -> None:
    assert source_lines(text) == lines


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="a \n\r\x0c\x0b\x85\u2028\u2029\x1cé"))
def test_source_lines_are_the_line_break_split_whatever_the_text(text: str) -> None:
    assert source_lines(text) == LINE_BREAK.split(text)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")
def test_owner_and_group_are_kept(tmp_path: Path) -> None:
    # A fix run as root (in a container, on a mounted checkout) must not leave files owned by root.
    path = write_bytes(tmp_path / "a.py", b"a = 1\n")
    os.chown(path, 12345, 23456)
    write_source(read_source(path), "a = 2\n")
    info = path.stat()
    assert (info.st_uid, info.st_gid) == (12345, 23456)
    assert path.read_bytes() == b"a = 2\n"
