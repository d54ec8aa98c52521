"""Qualified names on the stdlib ``ast``: enough import tracking for the index.

LibCST's QualifiedNameProvider is exact but costs several times a parse; the
index needs only "what does this dotted name refer to", which imports and
module-level bindings answer.
"""

from __future__ import annotations

import ast


def module_name_for(path_parts: tuple[str, ...], package_dirs: tuple[bool, ...]) -> str:
    """Dotted module name from a path's parts and which of its parents are packages.

    ``package_dirs[i]`` tells whether the directory ``path_parts[: i + 1]`` holds
    an ``__init__.py``; the name starts at the outermost package in an unbroken
    run of packages ending at the file.
    """
    stem = path_parts[-1].removesuffix(".py")
    names = [] if stem == "__init__" else [stem]
    for part, is_package in zip(reversed(path_parts[:-1]), reversed(package_dirs), strict=False):
        if not is_package:
            break
        names.insert(0, part)
    return ".".join(names) or stem


class ImportResolver:
    def __init__(self, module: str, is_package: bool) -> None:
        self.module = module
        self.package = module if is_package else module.rpartition(".")[0]
        self.names: dict[str, str] = {}

    def add_import(self, node: ast.Import | ast.ImportFrom) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    self.names[alias.asname] = alias.name
                else:
                    top = alias.name.partition(".")[0]
                    self.names[top] = top
            return
        base = self._absolute(node.module, node.level)
        for alias in node.names:
            if alias.name != "*":
                self.names[alias.asname or alias.name] = f"{base}.{alias.name}" if base else alias.name

    def _absolute(self, module: str | None, level: int) -> str:
        if level == 0:
            return module or ""
        parts = self.package.split(".") if self.package else []
        if level > 1:
            parts = parts[: len(parts) - (level - 1)]
        if module:
            parts.append(module)
        return ".".join(parts)

    def qualname(self, node: ast.expr, local_names: frozenset[str] = frozenset()) -> str | None:
        """``a.b.c`` resolved through imports; module-level names get the module prefix."""
        if type(node) is ast.Name:  # most often: no parts to join
            return self._resolved(node.id, local_names)
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):  # a call, a subscript, a literal...
            return None
        parts.reverse()
        return ".".join([self._resolved(node.id, local_names), *parts])

    def _resolved(self, head: str, local_names: frozenset[str]) -> str:
        imported = self.names.get(head)
        if imported is not None:
            return imported
        return f"{self.module}.{head}" if head in local_names and self.module else head


def callee(node: ast.expr) -> ast.expr:
    """The decorator expression without its call: ``app.task`` for ``app.task(bind=True)``."""
    return node.func if isinstance(node, ast.Call) else node
