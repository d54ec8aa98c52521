"""What an extractor sees of the module being indexed."""

from __future__ import annotations

import ast
from dataclasses import dataclass

from celery_codemods.index.facts import Span
from celery_codemods.index.resolve import ImportResolver


@dataclass
class ModuleContext:
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
        """ast columns count UTF-8 bytes; LibCST counts characters."""
        if line < 1 or line > len(self.lines):
            return byte_col
        text = self.lines[line - 1]
        if text.isascii():
            return byte_col
        return len(text.encode("utf-8")[:byte_col].decode("utf-8", errors="replace"))

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
        return ast.get_source_segment(self.text, node) or ""
