"""Where each top-level statement lies in a file's text, as LibCST would cut it (no LibCST needed).

A rewrite parses with LibCST only the top-level statements it edits, so it
needs their boundaries from the stdlib ``ast``: a statement starts at its
first decorator (the comments above it stay outside), statements joined by
``;`` are one, and a compound statement keeps the comment lines after its
last block that LibCST gives to that block's footer: every line up to the
last one that starts with the block's indentation.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Sequence

from msgspec import Struct

from celery_codemods.index.context import LINE_BREAK

_COMMENT_OR_BLANK = re.compile(r"[ \t\f]*(?:#.*)?")
_COMPOUND = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.If,
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.With,
    ast.AsyncWith,
    ast.Try,
    ast.Match,
    ast.TryStar,
)


class StatementSpan(Struct, frozen=True):
    """One LibCST top-level statement: lines ``first``..``last`` (1-based, inclusive)."""

    first: int
    last: int
    compound: bool


class SourceLines:
    """Line starts of a text, with Python's line breaks (``\\r\\n``, ``\\r``, ``\\n``; not form feeds)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0, *(match.end() for match in LINE_BREAK.finditer(text))]

    def __len__(self) -> int:
        return len(self.starts)

    def line(self, number: int) -> str:
        """Line ``number`` without its line break."""
        start = self.starts[number - 1]
        end = self.starts[number] if number < len(self.starts) else len(self.text)
        return self.text[start:end].rstrip("\r\n")

    def offset(self, line: int) -> int:
        """Where line ``line`` starts; past the last line, the end of the text."""
        return self.starts[line - 1] if line <= len(self.starts) else len(self.text)


def top_level_statements(tree: ast.Module, lines: SourceLines) -> list[StatementSpan] | None:
    """The module's top-level statements in order, or None for a shape this does not handle."""
    return statement_spans(tree.body, lines)


def statement_spans(body: Sequence[ast.stmt], lines: SourceLines) -> list[StatementSpan] | None:
    """The statements of a block (a module's, a class's) as LibCST cuts them, or None (see above)."""
    spans: list[StatementSpan] = []
    for statement in body:
        first = statement.lineno
        decorators: Sequence[ast.expr] = getattr(statement, "decorator_list", ())
        if decorators:
            first = min(first, decorators[0].lineno)
        last = statement.end_lineno or statement.lineno
        if isinstance(statement, ast.Match):
            return None  # a match statement's footer rules differ; rare at this level
        if spans and first <= spans[-1].last:  # `a = 1; b = 2`: one line, one LibCST statement
            previous = spans.pop()
            first, compound = previous.first, previous.compound or isinstance(statement, _COMPOUND)
        else:
            compound = isinstance(statement, _COMPOUND)
        spans.append(StatementSpan(first, _with_block_footer(statement, last, lines), compound))
    return spans


def _with_block_footer(statement: ast.stmt, last: int, lines: SourceLines) -> int:
    indent = _last_block_indent(statement, lines)
    if not indent:
        return last
    end = last
    for number in range(last + 1, len(lines) + 1):
        text = lines.line(number)
        if not _COMMENT_OR_BLANK.fullmatch(text):
            break
        if text.startswith(indent):
            end = number
    return end


def _last_block_indent(statement: ast.stmt, lines: SourceLines) -> str | None:
    """The indentation of the statement's last indented block, or None when it has none."""
    node: ast.stmt = statement
    while isinstance(node, ast.If) and len(node.orelse) == 1 and _is_elif(node.orelse[0], lines):
        node = node.orelse[0]
    block = _last_block(node)
    if not block:
        return None
    first = block[0]
    line = lines.line(first.lineno)
    prefix = line[: first.col_offset]
    if prefix.strip(" \t\f"):  # on the clause's own line: a suite, which has no footer
        return None
    return prefix


def _is_elif(node: ast.stmt, lines: SourceLines) -> bool:
    return (
        isinstance(node, ast.If)
        and lines.line(node.lineno)[: node.col_offset].strip() == ""
        and (lines.line(node.lineno)[node.col_offset :].startswith("elif"))
    )


def _last_block(node: ast.stmt) -> list[ast.stmt]:
    if isinstance(node, ast.Try | ast.TryStar):
        return node.finalbody or node.orelse or (node.handlers[-1].body if node.handlers else node.body)
    if isinstance(node, ast.If | ast.For | ast.AsyncFor | ast.While):
        return node.orelse or node.body
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.With | ast.AsyncWith):
        return node.body
    return []


def default_newline(text: str) -> str:
    """LibCST's default newline for a module: its first line break."""
    match = LINE_BREAK.search(text)
    return match.group(0) if match else "\n"


def default_indent(text: str, spans: Sequence[StatementSpan], lines: SourceLines) -> str | None:
    """LibCST's default indent for a module: its first INDENT token (four spaces when none).

    Only multi-line compound statements can hold one, so tokenizing starts at
    the first of them and stops at the first INDENT. None when it cannot tell.
    """
    start = next((span for span in spans if span.compound and span.last > span.first), None)
    if start is None:
        return " " * 4
    rest = text[lines.offset(start.first) :]
    try:
        for token in tokenize.generate_tokens(io.StringIO(rest, newline="").readline):
            if token.type == tokenize.INDENT:
                return token.string
    except (tokenize.TokenError, SyntaxError, ValueError):
        return None
    return " " * 4
