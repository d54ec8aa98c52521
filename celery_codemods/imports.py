"""Add imports to a module the way LibCST's ``AddImportsVisitor`` does, without its fixed cost.

Building that visitor and the gatherer it runs introspects every method of
both classes (LibCST's matcher machinery): about 40 ms a file, more than the
rest of a small file's rewrite. Only the module's leading import block
matters to it, so this reads that block directly and gives the same result:
names merge into the block's first ``from`` import of the same module,
other imports go after the block (plain, then aliased, then ``from``
imports), and the statement after the block gets an empty line above it.
``tests/test_imports.py`` holds it to the visitor's output. Anything it does
not handle (relative or ``__future__`` requests, one name asked for with and
without an alias) returns None, and the caller runs the visitor.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, NamedTuple

import libcst as cst
from msgspec import Struct, field

if TYPE_CHECKING:
    from typing import TypeAlias

    _Statement: TypeAlias = cst.SimpleStatementLine | cst.BaseCompoundStatement


class ImportRequest(NamedTuple):
    """An import a rule needs: ``import module [as alias]`` or ``from module import obj_name [as alias]``."""

    module: str
    obj_name: str | None = None
    alias: str | None = None


class _Wanted(Struct):
    modules: set[str] = field(default_factory=set)
    """``import module``"""
    names: dict[str, set[str]] = field(default_factory=dict)
    """``from module import name``, by module in sorted order"""
    module_aliases: dict[str, str] = field(default_factory=dict)
    """``import module as alias``, in the order asked"""
    aliased_names: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    """``from module import name as alias``, by module in sorted order"""

    @classmethod
    def of(cls, requests: Sequence[ImportRequest]) -> _Wanted:
        wanted = cls()
        for item in requests:
            if item.obj_name is None and item.alias is None:
                wanted.modules.add(item.module)
            elif item.obj_name is None and item.alias is not None:
                wanted.module_aliases[item.module] = item.alias
        names = [(item.module, item.obj_name, item.alias) for item in requests if item.obj_name is not None]
        for module in sorted({module for module, _, alias in names if alias is None}):
            wanted.names[module] = {name for other, name, alias in names if other == module and alias is None}
        for module in sorted({module for module, _, alias in names if alias is not None}):
            wanted.aliased_names[module] = [
                (name, alias) for other, name, alias in names if other == module and alias is not None
            ]
        return wanted

    def drop_present(self, block: Iterable[cst.Import | cst.ImportFrom], package: str | None) -> None:
        """Forget what the leading import block already imports."""
        have = _Wanted()
        for statement in block:
            if isinstance(statement, cst.Import):
                for imported in statement.names:
                    if imported.asname is None:
                        have.modules.add(imported.evaluated_name)
                    else:
                        have.module_aliases[imported.evaluated_name] = imported.evaluated_alias or ""
            else:
                _gather_from_import(statement, package, have)
        self.modules -= have.modules
        for module, alias in have.module_aliases.items():
            if self.module_aliases.get(module) == alias:
                del self.module_aliases[module]
        for module, pairs in have.aliased_names.items():
            for pair in pairs:
                if pair in self.aliased_names.get(module, ()):
                    self.aliased_names[module].remove(pair)
                    if not self.aliased_names[module]:
                        del self.aliased_names[module]
        for module, names in have.names.items():
            if module in self.names:
                self.names[module] = set() if "*" in names else self.names[module] - names
                if not self.names[module]:
                    del self.names[module]

    def __bool__(self) -> bool:
        return bool(self.modules or self.names or self.module_aliases or self.aliased_names)


def _gather_from_import(statement: cst.ImportFrom, package: str | None, have: _Wanted) -> None:
    from libcst.helpers import get_absolute_module_from_package_for_import

    module = get_absolute_module_from_package_for_import(package, statement)
    if module is None:
        return
    if isinstance(statement.names, cst.ImportStar):
        have.names[module] = {"*"}
        return
    pairs = [(alias.evaluated_name, alias.evaluated_alias or "") for alias in statement.names if alias.asname]
    if pairs:
        have.aliased_names.setdefault(module, []).extend(pairs)
    plain = {alias.evaluated_name for alias in statement.names if alias.asname is None}
    if plain:
        present = have.names.setdefault(module, set())
        if "*" in present:
            have.names[module] = {"*"}
        else:
            present.update(plain)


def add_imports(module: cst.Module, requests: Sequence[ImportRequest], package: str | None) -> cst.Module | None:
    """``module`` with ``requests`` imported, as AddImportsVisitor makes it; None for what this leaves to it."""
    if any(item.module.startswith(".") or item.module == "__future__" for item in requests):
        return None
    wanted = _Wanted.of(requests)
    for module_name, pairs in wanted.aliased_names.items():
        if {name for name, _ in pairs} & wanted.names.get(module_name, set()):
            return None  # the visitor cannot sort (name, alias) next to (name, None)
    start = 1 if _docstring_or_strict_first(module.body) else 0
    block_end = start
    while block_end < len(module.body) and _single_import(module.body[block_end]) is not None:
        block_end += 1
    block = [_single_import(statement) for statement in module.body[start:block_end]]
    wanted.drop_present([statement for statement in block if statement is not None], package)
    body = list(module.body)
    for index in range(start, block_end):
        body[index] = _merged(body[index], wanted, package)
    if not wanted:
        return module.with_changes(body=body)
    config = module.config_for_parsing
    added = [cst.parse_statement(f"import {name}", config=config) for name in sorted(wanted.modules)]
    added += [
        cst.parse_statement(f"import {name} as {alias}", config=config) for name, alias in wanted.module_aliases.items()
    ]
    added += [cst.parse_statement(line, config=config) for line in _from_import_lines(wanted)]
    return module.with_changes(body=[*body[:block_end], *added, *_with_empty_line_above(body[block_end:])])


def _single_import(statement: _Statement) -> cst.Import | cst.ImportFrom | None:
    if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
        small = statement.body[0]
        if isinstance(small, cst.Import | cst.ImportFrom):
            return small
    return None


def _docstring_or_strict_first(body: Sequence[_Statement]) -> bool:
    if not body or not isinstance(body[0], cst.SimpleStatementLine) or len(body[0].body) != 1:
        return False
    small = body[0].body[0]
    if isinstance(small, cst.Expr):
        return isinstance(small.value, cst.SimpleString)
    if isinstance(small, cst.Assign) and len(small.targets) == 1:
        target = small.targets[0].target
        return isinstance(target, cst.Name) and target.value == "__strict__"
    return False


def _merged(statement: _Statement, wanted: _Wanted, package: str | None) -> _Statement:
    """A ``from`` import of a module with names still wanted, with those names first."""
    from libcst.helpers import get_absolute_module_from_package_for_import

    node = _single_import(statement)
    if not isinstance(node, cst.ImportFrom) or isinstance(node.names, cst.ImportStar):
        return statement
    module = get_absolute_module_from_package_for_import(package, node)
    if module is None or (module not in wanted.names and module not in wanted.aliased_names):
        return statement
    plain = sorted(wanted.names.pop(module, ()))
    aliased = sorted(wanted.aliased_names.pop(module, ()))
    names = [
        *(cst.ImportAlias(name=cst.Name(name)) for name in plain),
        *(cst.ImportAlias(name=cst.Name(name), asname=cst.AsName(name=cst.Name(alias))) for name, alias in aliased),
        *node.names,
    ]
    assert isinstance(statement, cst.SimpleStatementLine)
    return statement.with_changes(body=[node.with_changes(names=names)])


def _from_import_lines(wanted: _Wanted) -> list[str]:
    pairs: dict[str, list[tuple[str, str | None]]] = {}
    for module, aliased in wanted.aliased_names.items():
        pairs.setdefault(module, []).extend(aliased)
    for module, names in wanted.names.items():
        pairs.setdefault(module, []).extend((name, None) for name in names)
    lines = []
    for module, items in pairs.items():
        ordered = sorted(items, key=lambda item: (item[0], item[1] or ""))
        imported = ", ".join(name if alias is None else f"{name} as {alias}" for name, alias in ordered)
        lines.append(f"from {module} import {imported}")
    return lines


def _with_empty_line_above(statements: list[_Statement]) -> list[_Statement]:
    if not statements:
        return statements
    first = statements[0]
    if not first.leading_lines:
        return [first.with_changes(leading_lines=(cst.EmptyLine(),)), *statements[1:]]
    if first.leading_lines[0].comment is None:
        return statements
    return [first.with_changes(leading_lines=(cst.EmptyLine(), *first.leading_lines)), *statements[1:]]
