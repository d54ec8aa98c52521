"""What an extractor sees of the module being indexed."""

from __future__ import annotations

import ast
import re
import unicodedata
from functools import cached_property

from msgspec import Struct

from celery_codemods.index.facts import Span
from celery_codemods.index.resolve import ImportResolver

LINE_BREAK = re.compile(r"\r\n|\r|\n")


# Where str.splitlines breaks a line and Python's tokenizer does not.
_NOT_PYTHON_LINE_BREAKS = ("\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")


def spelled_as_read(text: str) -> bool:
    """Every identifier is spelled in ``text`` as Python reads it (NFKC-normalised): ASCII, or
    normalised already. Then a text search finds every use of a name, and can stand in for a walk."""
    return text.isascii() or unicodedata.is_normalized("NFKC", text)


def source_lines(text: str) -> list[str]:
    """Lines as the tokenizer counts them (``str.splitlines`` also breaks at form feeds)."""
    if any(character in text for character in _NOT_PYTHON_LINE_BREAKS):
        return LINE_BREAK.split(text)
    lines = text.splitlines()  # twice as fast as the regex, where it agrees
    if not text or text.endswith(("\n", "\r")):
        lines.append("")
    return lines


def char_column(line: str, byte_col: int) -> int:
    """ast columns count UTF-8 bytes; LibCST counts characters."""
    if line.isascii():
        return byte_col
    return len(line.encode("utf-8")[:byte_col].decode("utf-8", errors="replace"))


class ModuleContext(Struct, dict=True):  # dict: room for its cached properties
    path: str
    module: str
    text: str
    lines: list[str]
    resolver: ImportResolver
    module_names: frozenset[str]
    task_decorators: tuple[str, ...] = ()

    def qualname(self, node: ast.expr) -> str | None:
        return self.resolver.qualname(node, self.module_names)

    def col(self, line: int, byte_col: int) -> int:
        if line < 1 or line > len(self.lines):
            return byte_col
        return char_column(self.lines[line - 1], byte_col)

    def span(self, node: ast.AST) -> Span:
        line: int = getattr(node, "lineno", 1)
        end_line: int = getattr(node, "end_lineno", None) or line
        return Span(
            line=line,
            col=self.col(line, getattr(node, "col_offset", 0)),
            end_line=end_line,
            end_col=self.col(end_line, getattr(node, "end_col_offset", None) or 0),
        )

    def segment(self, node: ast.AST) -> str:
        """The source text of ``node`` (``ast.get_source_segment`` re-splits the whole file per call)."""
        start: int | None = getattr(node, "lineno", None)
        end: int | None = getattr(node, "end_lineno", None)
        if start is None or end is None or end > len(self.lines):
            return ""
        first = self.lines[start - 1].encode("utf-8")
        start_col: int = getattr(node, "col_offset", 0)
        end_col: int = getattr(node, "end_col_offset", 0)
        if start == end:
            return first[start_col:end_col].decode("utf-8", errors="replace")
        middle = self.lines[start : end - 1]
        last = self.lines[end - 1].encode("utf-8")[:end_col].decode("utf-8", errors="replace")
        return "\n".join([first[start_col:].decode("utf-8", errors="replace"), *middle, last])

    @cached_property
    def spelled_as_read(self) -> bool:
        """See ``spelled_as_read``: whether ``mentions`` and other text searches are exact enough."""
        return spelled_as_read(self.text)

    def mentions(self, first_line: int, last_line: int, words: tuple[str, ...]) -> bool:
        """Whether those lines contain any of ``words`` (cheap, before a walk)."""
        return any(word in line for line in self.lines[first_line - 1 : last_line] for word in words)
