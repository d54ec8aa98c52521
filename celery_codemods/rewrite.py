"""Apply planned edits to one file with LibCST, and verify the result.

Edits find their node by kind and start position in the original source
(positions from ``PositionProvider`` match the index's ``ast`` positions).
Children are edited before parents, so edits of nested nodes compose: a rule
editing a function sees the function with its handlers already edited.
"""

from __future__ import annotations

import ast
import bisect
import re
import warnings
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import pairwise
from typing import TYPE_CHECKING

import libcst as cst
from msgspec import Struct

if TYPE_CHECKING:
    from typing import TypeAlias

    from libcst.codemod import CodemodContext
    from libcst.metadata import CodeRange

    StatementLines: TypeAlias = Iterable[tuple[cst.BaseStatement, int, int]]
    """Each top-level statement with its first line (its leading lines included) and its last line."""

from celery_codemods.bindings import bound_once_and_read
from celery_codemods.findings import Edit
from celery_codemods.imports import ImportRequest, add_imports
from celery_codemods.index.build import iter_statements
from celery_codemods.index.context import LINE_BREAK as _LINE_BREAK
from celery_codemods.index.context import char_column
from celery_codemods.index.facts import ModuleFacts
from celery_codemods.rules.base import Rule
from celery_codemods.settings import Settings
from celery_codemods.toplevel import (
    SourceLines,
    StatementSpan,
    default_indent,
    default_newline,
    statement_spans,
    top_level_statements,
)

_BARE_CR = re.compile(r"\r(?!\n)")
_LOGGER_SPELLINGS = ("logger", "log", "LOGGER", "LOG", "_logger", "_log")


class EditContext:
    """What a rule's ``apply`` may ask for beyond its own node."""

    def __init__(self, facts: ModuleFacts, settings: Settings) -> None:
        self.facts = facts
        self.settings = settings
        self.new_logger: str | None = None
        self.imports_to_add: list[ImportRequest] = []
        self.imports_to_remove: list[ImportRequest] = []

    def add_import(self, module: str, obj: str | None = None, asname: str | None = None) -> None:
        if module == "__future__" and obj is None:
            raise ValueError("Cannot import __future__ directly!")
        self.imports_to_add.append(ImportRequest(module, obj, asname))

    def remove_import_if_unused(self, module: str, obj: str | None = None, asname: str | None = None) -> None:
        """Drop ``from module import obj`` (or ``import module``) if nothing uses it after the edits."""
        self.imports_to_remove.append(ImportRequest(module, obj, asname))

    def codemod_context(self) -> CodemodContext:
        """LibCST's context holding the requests, for its import visitors (importing libcst.codemod costs 0.25 s)."""
        from libcst.codemod import CodemodContext
        from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor

        context = CodemodContext(full_module_name=self.facts.module, full_package_name=self.facts.module)
        for request in self.imports_to_add:
            AddImportsVisitor.add_needed_import(context, *request)
        for request in self.imports_to_remove:
            RemoveImportsVisitor.remove_unused_import(context, *request)
        return context

    def logger_name(self) -> str:
        """The module's logger, created after the imports when it has none."""
        existing = self.existing_logger(self.facts)
        if existing is not None:
            return existing
        if self.new_logger is None:
            self.new_logger = "logger" if "logger" not in self.facts.module_names else "task_logger"
        return self.new_logger

    @staticmethod
    def existing_logger(facts: ModuleFacts) -> str | None:
        for spelling in _LOGGER_SPELLINGS:
            if spelling in facts.loggers:
                return spelling
        if facts.loggers:
            return facts.loggers[0]
        imported = dict(facts.imports)
        return next((s for s in _LOGGER_SPELLINGS if s in imported), None)


class RewriteOutcome(Struct, frozen=True):
    new_text: str | None = None
    error: str | None = None
    tree: ast.Module | None = None
    """``new_text`` parsed by ``ast`` (checking it parses), for indexing it again without a second parse."""


def rewrite_source(
    text: str,
    facts: ModuleFacts,
    edits: Sequence[Edit],
    rules: Mapping[str, Rule],
    settings: Settings,
) -> RewriteOutcome:
    """The new text of one file, or why it could not be produced. Never raises."""
    try:
        return _rewrite(text, facts, edits, rules, settings)
    except RecursionError:
        return RewriteOutcome(error="too deeply nested to rewrite safely")
    except Exception as exc:  # noqa: BLE001 - a rule bug must not lose the run
        return RewriteOutcome(error=f"internal error while rewriting: {type(exc).__name__}: {exc}")


def _edit_applier(
    edits: Mapping[tuple[str, int, int], list[Edit]],
    positions: Mapping[cst.CSTNode, object],
    rules: Mapping[str, Rule],
    ctx: EditContext,
    applied: set[int],
    top_level: set[int],
    edited: set[int],
) -> cst.CSTTransformer:
    # Defined here, not at import: subclassing needs LibCST loaded, and a
    # `check` must not load it (see _lazy.py).
    class _EditApplier(cst.CSTTransformer):
        def __init__(
            self,
            edits: Mapping[tuple[str, int, int], list[Edit]],
            positions: Mapping[cst.CSTNode, object],
            rules: Mapping[str, Rule],
            ctx: EditContext,
        ) -> None:
            super().__init__()
            self.edits = edits
            self.positions = positions
            self.rules = rules
            self.ctx = ctx
            self.applied = applied
            self.edit_lines = sorted({line for kind, line, _ in edits if kind != "Module"})
            self.top_level = top_level
            self.edited = edited

        def on_visit(self, node: cst.CSTNode) -> bool:
            # A subtree holding no edit is not walked: on a large file that is most of the tree.
            if isinstance(node, cst.Module):
                return True
            if id(node) in self.top_level:
                return id(node) in self.edited
            position = self.positions.get(node)
            if position is None:
                return True
            first: int = position.start.line  # type: ignore[attr-defined]
            decorators = getattr(node, "decorators", ())
            if decorators and decorators[0] in self.positions:  # decorators lie before a def's own start
                first = min(first, self.positions[decorators[0]].start.line)  # type: ignore[attr-defined]
            index = bisect.bisect_left(self.edit_lines, first)
            return index < len(self.edit_lines) and self.edit_lines[index] <= position.end.line  # type: ignore[attr-defined]

        def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode) -> cst.CSTNode:  # type: ignore[override]
            key = self._key(original_node)
            if key is None:
                return updated_node
            node = updated_node
            for edit in self.edits.get(key, ()):
                node = self.rules[edit.rule].apply(node, edit, self.ctx)
                self.applied.add(id(edit))
            return node

        def _key(self, node: cst.CSTNode) -> tuple[str, int, int] | None:
            kind = type(node).__name__
            if kind == "Module":
                return ("Module", 0, 0)
            position = self.positions.get(node)
            if position is None:
                return None
            start = position.start  # type: ignore[attr-defined]
            return (kind, start.line, start.column)

    return _EditApplier(edits, positions, rules, ctx)


def _rewrite(
    text: str, facts: ModuleFacts, edits: Sequence[Edit], rules: Mapping[str, Rule], settings: Settings
) -> RewriteOutcome:
    by_key = _edits_by_key(edits)
    partial = _rewrite_statements(text, facts, by_key, rules, settings)
    if partial is not None:
        new_text, tree = partial
        return RewriteOutcome(new_text=new_text, tree=tree)
    return _rewrite_module(text, facts, edits, by_key, rules, settings)


def _edits_by_key(edits: Sequence[Edit]) -> dict[tuple[str, int, int], list[Edit]]:
    by_key: dict[tuple[str, int, int], list[Edit]] = defaultdict(list)
    for edit in sorted(edits, key=lambda e: e.rule):
        by_key[("Module", 0, 0) if edit.node == "Module" else (edit.node, edit.line, edit.col)].append(edit)
    return by_key


def _rewrite_module(
    text: str,
    facts: ModuleFacts,
    edits: Sequence[Edit],
    by_key: Mapping[tuple[str, int, int], list[Edit]],
    rules: Mapping[str, Rule],
    settings: Settings,
) -> RewriteOutcome:
    """The whole file parsed and transformed: for what the statement-level rewrite does not handle."""
    try:
        original = cst.parse_module(text)
    except cst.ParserSyntaxError as exc:
        return RewriteOutcome(error=f"LibCST cannot parse it: {exc.message} (line {exc.raw_line})")
    except cst.CSTValidationError as exc:  # valid to ast, not to Python's compiler (`except:` not last)
        return RewriteOutcome(error=f"LibCST cannot parse it: {exc}")
    ctx = EditContext(facts, settings)
    applied: set[int] = set()
    edit_lines = sorted({line for kind, line, _ in by_key if kind != "Module"})
    positions, edited = _positions_of_edited_statements(
        original, edit_lines, _whole_file_lines(original, text, edit_lines)
    )
    top_level = {id(statement) for statement in original.body}
    module = original.visit(_edit_applier(by_key, positions, rules, ctx, applied, top_level, edited))
    missed = [edit for edit in edits if id(edit) not in applied]
    if missed:
        first = missed[0]
        return RewriteOutcome(error=f"{first.rule}: no {first.node} at {first.line}:{first.col} (file changed?)")
    if ctx.new_logger is not None:
        module = _add_logger(module, ctx)
    if ctx.imports_to_add:
        module = _add_imports(module, ctx)
    if ctx.imports_to_remove:
        module = _remove_unused_imports(module, ctx)
    new_text = _keep_final_newline(text, module.code)
    tree = _checked_parse(new_text)
    if isinstance(tree, str):
        return RewriteOutcome(error=f"the rewrite would not parse ({tree}); not written")
    return RewriteOutcome(new_text=new_text, tree=tree)


class _Region(Struct):
    """Consecutive statements (``spans``) parsed alone: ``prefix + text[start:end]``.

    Top-level statements have no prefix. The statements of a class body get
    a made-up class header (``_CLASS_BODY``), parsed with them and cut off
    the new code: a method of a large class is parsed without the class.
    """

    start: int
    end: int
    spans: Sequence[StatementSpan]
    module: cst.Module | None = None
    prefix: str = ""

    def new_code(self) -> str | None:
        assert self.module is not None
        code = self.module.code
        return code[len(self.prefix) :] if code.startswith(self.prefix) else None


_CLASS_BODY = "class _:"


class _CallRegion(Struct):
    """An edited call cut out of the text and parsed alone: ``text[start:end]`` is exactly its code.

    A call edited inside a long function would otherwise take the whole
    function through LibCST's parse, positions and code generation. Only a
    call that stands unparenthesized is cut out (LibCST gives the parentheses
    around an expression to the expression itself, so an edit could move them).
    LibCST never sees the statement around the call, so one it would refuse
    (an ``except:`` before another handler, which Python's compiler refuses
    too; a block indented with equivalent tabs and spaces) no longer stops the
    call's rewrite, as statements without edits never stopped a file's.
    """

    start: int
    end: int
    key: tuple[str, int, int]
    indent: str
    """The indentation of the block holding the call's logical line (``_block_indent``): new lines
    inside the call continue from there."""
    node: cst.BaseExpression | None = None
    newline: str = "\n"

    def edit(
        self,
        text: str,
        by_key: Mapping[tuple[str, int, int], list[Edit]],
        rules: Mapping[str, Rule],
        ctx: EditContext,
        applied: set[int],
        style: tuple[str, str],
    ) -> bool:
        """Parse the call and apply its edits; False when it does not parse alone as the call it is."""
        node = self._parsed(text, style[0])
        if not isinstance(node, cst.Call) or node.lpar:
            return False
        for edit in by_key[self.key]:
            node = rules[edit.rule].apply(node, edit, ctx)  # type: ignore[assignment]
            applied.add(id(edit))
        self.node, self.newline = node, style[0]
        return True

    def _parsed(self, text: str, newline: str) -> cst.BaseExpression | None:
        """The call parsed in a made-up block indented as its statement is: LibCST keeps the whitespace
        of continuation lines relative to the block's indentation, and a rule may copy it elsewhere."""
        head = "if _:" + newline + self.indent if self.indent else ""
        try:
            module = cst.parse_module(head + text[self.start : self.end] + newline)
        except (cst.ParserSyntaxError, cst.CSTValidationError):
            return None
        if len(module.body) != 1 or module.footer or module.default_newline != newline:
            return None  # new nodes take the module's newline: it must be the file's
        statement: cst.BaseStatement = module.body[0]
        if self.indent:
            if not isinstance(statement, cst.If) or not isinstance(statement.body, cst.IndentedBlock):
                return None
            indent = statement.body.indent or module.default_indent  # None: the module's own, which it is here
            if len(statement.body.body) != 1 or statement.body.footer or indent != self.indent:
                return None
            statement = statement.body.body[0]
        if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
            return None
        expression = statement.body[0]
        return expression.value if isinstance(expression, cst.Expr) else None

    def new_code(self) -> str | None:
        """The call's code as LibCST writes it in place: in a block indented as its statement is."""
        assert self.node is not None
        statement: cst.SimpleStatementLine | cst.If = cst.SimpleStatementLine(body=[cst.Expr(value=self.node)])
        head = ""
        if self.indent:
            statement = cst.If(test=cst.Name("_"), body=cst.IndentedBlock(body=[statement], indent=self.indent))
            head = "if _:" + self.newline + self.indent
        code = cst.Module(body=[statement], default_newline=self.newline).code
        if not code.startswith(head) or not code.endswith(self.newline):
            return None
        return code[len(head) : -len(self.newline)]


def _call_regions(
    text: str,
    tree: ast.Module,
    span: StatementSpan,
    lines: SourceLines,
    by_key: Mapping[tuple[str, int, int], list[Edit]],
) -> list[_CallRegion] | None:
    """The top-level statement's edits as call regions; None unless every one of them is on a call that
    can be cut out alone (found once by the ast, apart from the others, outside an f-string, unparenthesized)."""
    keys = {key for key in by_key if key[0] != "Module" and span.first <= key[1] <= span.last}
    if not keys or any(kind != "Call" for kind, _, _ in keys):
        return None
    found: dict[tuple[str, int, int], list[_CallRegion]] = {key: [] for key in keys}
    wanted = sorted(line for _, line, _ in keys)
    statements = [node for node in tree.body if span.first <= node.lineno <= span.last]
    for call, line_start in _calls_on_lines(statements, wanted[0], wanted[-1], lines):
        key = ("Call", call.lineno, _char_col(lines, call.lineno, call.col_offset))
        if key in found and call.end_lineno is not None and call.end_col_offset is not None:
            indent = _block_indent(line_start, lines)
            if indent is None:
                return None
            end = lines.offset(call.end_lineno) + _char_col(lines, call.end_lineno, call.end_col_offset)
            found[key].append(_CallRegion(lines.offset(call.lineno) + key[2], end, key, indent))
    if any(len(places) != 1 for places in found.values()):
        return None  # missing, or two calls starting at one place (``f(a)(b)``): the whole statement decides
    regions = sorted((places[0] for places in found.values()), key=lambda region: region.start)
    for before, after in pairwise(regions):
        if after.start < before.end:
            return None  # nested edited calls compose inside the statement's own rewrite
    if any(_closed_right_after(text, region.end) for region in regions):
        return None
    return regions


def _calls_on_lines(
    statements: Sequence[ast.stmt], first: int, last: int, lines: SourceLines
) -> Iterator[tuple[ast.Call, ast.stmt]]:
    """The calls of ``statements`` that may start on lines ``first``..``last``, each with the statement
    its logical line starts with (``_line_starts``); f-strings are not entered (Python 3.11 places
    nodes inside them imprecisely)."""
    stack: list[tuple[ast.AST, ast.stmt]] = list(reversed(_line_starts(statements, None, lines)))
    while stack:
        node, line_start = stack.pop()
        if isinstance(node, ast.JoinedStr):
            continue
        decorators: list[ast.expr] = getattr(node, "decorator_list", [])
        start: int | None = decorators[0].lineno if decorators else getattr(node, "lineno", None)
        end: int | None = getattr(node, "end_lineno", None)
        if start is not None and end is not None and (end < first or start > last):
            continue
        if isinstance(node, ast.Call):
            yield node, line_start
        children: list[tuple[ast.AST, ast.stmt]] = []
        for _, value in ast.iter_fields(node):
            if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                children.extend(_line_starts(value, line_start, lines))
            elif isinstance(value, list):
                children.extend((item, line_start) for item in value if isinstance(item, ast.AST))
            elif isinstance(value, ast.AST):
                children.append((value, line_start))
        stack.extend(reversed(children))


def _line_starts(
    body: Sequence[ast.stmt], enclosing: ast.stmt | None, lines: SourceLines
) -> list[tuple[ast.stmt, ast.stmt]]:
    """Each statement of a block with the statement its logical line starts with: itself, the one
    before it on its line (``a; b``), or, in a suite on its header's line (``except E: b``), the
    enclosing statement's."""
    starts: list[tuple[ast.stmt, ast.stmt]] = []
    for statement in body:
        if starts and starts[-1][0].end_lineno == statement.lineno:
            starts.append((statement, starts[-1][1]))
        elif _text_before(statement, lines).strip(" \t\f") and enclosing is not None:
            starts.append((statement, enclosing))
        else:
            starts.append((statement, statement))
    return starts


def _text_before(statement: ast.stmt, lines: SourceLines) -> str:
    return lines.line(statement.lineno)[: _char_col(lines, statement.lineno, statement.col_offset)]


def _block_indent(line_start: ast.stmt, lines: SourceLines) -> str | None:
    """The indentation of the block holding a logical line, where LibCST takes it when it writes new
    lines inside it: the whitespace before the line's first statement; None when that statement does
    not start its physical line (after a backslash, say), whose indentation then is no block's."""
    before = _text_before(line_start, lines)
    if before.strip(" \t\f") or (line_start.lineno > 1 and lines.line(line_start.lineno - 1).endswith("\\")):
        return None
    return before


def _char_col(lines: SourceLines, line: int, byte_col: int) -> int:
    return char_column(lines.line(line), byte_col)


_AFTER_AN_EXPRESSION = re.compile(r"(?:[ \t\f\r\n]|\\\r?\n|\\\r|#[^\r\n]*)*")


def _closed_right_after(text: str, end: int) -> bool:
    """The next token after ``end`` is ``)``: the call may be parenthesized (or an argument's last)."""
    after = _AFTER_AN_EXPRESSION.match(text, end)
    position = after.end() if after else end
    return text.startswith(")", position)


def _rewrite_statements(
    text: str,
    facts: ModuleFacts,
    by_key: Mapping[tuple[str, int, int], list[Edit]],
    rules: Mapping[str, Rule],
    settings: Settings,
) -> tuple[str, ast.Module] | None:
    """The new text and its ast, LibCST parsing only the top-level statements with edits; None to do the whole file.

    Parsing, resolving positions and generating code for a whole large file
    cost far more than the edits. Statements are cut where LibCST cuts them
    (``toplevel``) and their new code spliced into the untouched text. The
    module head (leading simple statements and the first compound one) is
    parsed too when imports or a logger are added; in a class, only the body
    statements with edits are (``_class_body_regions``); where every edit of a
    statement is on a call, only the calls are (``_call_regions``). What needs
    the whole module (a Module edit, removing an import the edits left unused)
    falls back to it, and so does anything unexpected: the whole-file rewrite
    is the reference.
    """
    if ("Module", 0, 0) in by_key or "\f" in text or _BARE_CR.search(text):
        return None
    lines = SourceLines(text)
    tree = _parse_ast(text)
    spans = top_level_statements(tree, lines) if tree is not None else None
    if tree is None or not spans:
        return None
    edit_lines = sorted({line for _, line, _ in by_key})
    holding = _spans_holding(spans, edit_lines)
    indent = default_indent(text, spans, lines)
    if holding is None or indent is None:
        return None
    style = (default_newline(text), indent)
    head = _head_region(spans, lines)
    regions = {0: head} if min(holding) < len(head.spans) else {}
    in_classes: list[_Region] = []
    calls: list[_CallRegion] = []
    for index in sorted(holding):
        if index >= len(head.spans):
            span = spans[index]
            alone = _call_regions(text, tree, span, lines, by_key)
            if alone is not None:
                calls.extend(alone)
                continue
            regions[index] = _Region(lines.offset(span.first), lines.offset(span.last + 1), [span])
            parts = _class_body_regions(tree, span, lines, edit_lines, style)
            if parts is not None and _parse_regions(text, parts, style):
                del regions[index]
                in_classes.extend(parts)
    ctx = EditContext(facts, settings)
    applied: set[int] = set()
    for region in [*regions.values(), *in_classes]:
        module = region.module or _parse_region(text, region, style)
        if module is None:
            return None
        statement_lines = list(_region_lines(module, region))
        own = {} if region.prefix else _edited_only_themselves(statement_lines, by_key, tree)
        positions, edited = _positions_of_edited_statements(module, edit_lines, statement_lines, own)
        if region.prefix:  # the made-up class header is no node of the file
            positions = {node: at for node, at in positions.items() if at.start.line >= region.spans[0].first}
        top_level = {id(statement) for statement in module.body}
        region.module = module.visit(_edit_applier(by_key, positions, rules, ctx, applied, top_level, edited))
    for call in calls:
        if not call.edit(text, by_key, rules, ctx, applied, style):
            return None
    if len(applied) != sum(len(group) for group in by_key.values()):
        return None
    adds_imports = ctx.new_logger is not None or ctx.imports_to_add
    if adds_imports and not _edit_head(text, regions, head, style, ctx):
        return None
    new_text = _splice(text, sorted([*regions.values(), *in_classes, *calls], key=lambda region: region.start))
    if new_text is None:
        return None
    new_tree = _parse_ast(new_text)
    if new_tree is None or _removals_pending(new_tree, ctx.imports_to_remove):
        return None  # removing an import the edits left unused takes the whole module
    return new_text, new_tree


def _removals_pending(tree: ast.Module, requests: Sequence[ImportRequest]) -> list[ImportRequest]:
    """The removal requests LibCST's RemoveImportsVisitor still has to decide (a scope analysis).

    Settled without it: ``from module import obj`` that the module no longer
    holds (nothing to remove), or whose name has no other binding in the
    module and is read somewhere (still used: the visitor would keep it).
    """
    return [request for request in requests if not _settled(tree, request)]


def _settled(tree: ast.Module, request: ImportRequest) -> bool:
    if request.obj_name is None:
        return False
    held = any(
        isinstance(node, ast.ImportFrom)
        and (node.level > 0 or node.module == request.module)
        and any(alias.name == request.obj_name and alias.asname == request.alias for alias in node.names)
        for node in iter_statements(tree.body)
    )
    return not held or bound_once_and_read(tree, request.alias or request.obj_name)


def _remove_unused_imports(module: cst.Module, ctx: EditContext) -> cst.Module:
    tree = _parse_ast(module.code)
    pending = ctx.imports_to_remove if tree is None else _removals_pending(tree, ctx.imports_to_remove)
    if not pending:
        return module
    from libcst.codemod.visitors import RemoveImportsVisitor

    ctx.imports_to_remove = pending
    return RemoveImportsVisitor(ctx.codemod_context()).transform_module(module)


def _parse_ast(text: str) -> ast.Module | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _spans_holding(spans: Sequence[StatementSpan], edit_lines: Sequence[int]) -> set[int] | None:
    """Indexes of the statements holding an edit; None when an edit lies in none of them."""
    firsts = [span.first for span in spans]
    holding: set[int] = set()
    for line in edit_lines:
        index = bisect.bisect_right(firsts, line) - 1
        if index < 0 or line > spans[index].last:
            return None
        holding.add(index)
    return holding or None


def _class_body_regions(
    tree: ast.Module, span: StatementSpan, lines: SourceLines, edit_lines: Sequence[int], style: tuple[str, str]
) -> list[_Region] | None:
    """The statements of a top-level class that hold its edits, as regions; None to take the whole class.

    Only when every edit of the class lies in one of its body's statements
    (none in its header), each on lines of its own.
    """
    statements = [node for node in tree.body if span.first <= node.lineno <= span.last]
    if len(statements) != 1 or not isinstance(statements[0], ast.ClassDef):
        return None
    body = statements[0].body
    if body[0].lineno <= statements[0].lineno or lines.line(body[0].lineno)[: body[0].col_offset].strip(" \t"):
        return None  # `class A: pass`: a suite on the header's line
    inner = statement_spans(body, lines)
    if inner is None:
        return None
    mine = [line for line in edit_lines if span.first <= line <= span.last]
    holding = _spans_holding(inner, mine)
    if holding is None:
        return None  # an edit in the class header, between statements or in a footer
    prefix = _CLASS_BODY + style[0]
    return [
        _Region(lines.offset(inner[index].first), lines.offset(inner[index].last + 1), [inner[index]], prefix=prefix)
        for index in sorted(holding)
    ]


def _parse_regions(text: str, regions: Sequence[_Region], style: tuple[str, str]) -> bool:
    """Parse each region (``region.module``); False when one does not parse as in the whole file."""
    for region in regions:
        region.module = _parse_region(text, region, style)
        if region.module is None:
            return False
    return True


def _region_lines(module: cst.Module, region: _Region) -> StatementLines:
    if not region.prefix:
        return _lines_from_spans(module, region.spans)
    # The made-up header takes the line before the region's first.
    return [(module.body[0], region.spans[0].first - 1, region.spans[-1].last)]


def _head_region(spans: Sequence[StatementSpan], lines: SourceLines) -> _Region:
    """From the file's start through its first compound statement: where imports and a logger go."""
    count = next((index + 1 for index, span in enumerate(spans) if span.compound), len(spans))
    return _Region(0, lines.offset(spans[count - 1].last + 1), spans[:count])


def _parse_region(text: str, region: _Region, style: tuple[str, str]) -> cst.Module | None:
    """The region parsed alone, or None unless LibCST sees it as it would in the whole file."""
    try:
        module = cst.parse_module(region.prefix + text[region.start : region.end])
    except (cst.ParserSyntaxError, cst.CSTValidationError):
        return None
    # New nodes take the module's newline and indent: the region's must be the file's.
    if (module.default_newline, module.default_indent) != style:
        return None
    if module.footer or (region.start and module.header):
        return None
    statements: Sequence[cst.BaseStatement] = module.body
    if region.prefix:
        made_up = module.body[0] if len(module.body) == 1 else None
        if not isinstance(made_up, cst.ClassDef) or not isinstance(made_up.body, cst.IndentedBlock):
            return None
        if made_up.body.footer:
            return None
        statements = made_up.body.body
    return module if len(statements) == len(region.spans) else None


def _edit_head(text: str, regions: dict[int, _Region], head: _Region, style: tuple[str, str], ctx: EditContext) -> bool:
    if 0 not in regions:
        head.module = _parse_region(text, head, style)
        if head.module is None:
            return False
        regions[0] = head
    module = regions[0].module
    assert module is not None
    if ctx.new_logger is not None:
        module = _add_logger(module, ctx)
    regions[0].module = _add_imports(module, ctx)
    return True


def _splice(text: str, regions: Sequence[_Region | _CallRegion]) -> str | None:
    pieces: list[str] = []
    cursor = 0
    for region in regions:
        code = region.new_code()
        if code is None:
            return None
        pieces.append(text[cursor : region.start])
        pieces.append(_keep_final_newline(text[region.start : region.end], code))
        cursor = region.end
    pieces.append(text[cursor:])
    return "".join(pieces)


def _whole_file_lines(module: cst.Module, text: str, edit_lines: Sequence[int]) -> StatementLines:
    """The statements' lines from the ast when it cuts them as LibCST did, else from their code."""
    if not edit_lines:  # only Module edits: no statement needs positions
        return ()
    tree = _parse_ast(text)
    spans = top_level_statements(tree, SourceLines(text)) if tree is not None else None
    if spans is not None and len(spans) == len(module.body):
        return _lines_from_spans(module, spans)
    return _lines_from_code(module)


def _lines_from_code(module: cst.Module) -> StatementLines:
    first = 1 + len(module.header)
    for statement in module.body:
        code = module.code_for_node(statement)
        breaks = len(_LINE_BREAK.findall(code))
        last = first + max(breaks - (1 if code.endswith(("\n", "\r")) else 0), 0)
        yield statement, first, last
        first = first + breaks if code.endswith(("\n", "\r")) else last + 1


def _lines_from_spans(module: cst.Module, spans: Sequence[StatementSpan]) -> StatementLines:
    for statement, span in zip(module.body, spans, strict=True):
        yield statement, span.first - len(statement.leading_lines), span.last


def _positions_of_edited_statements(
    module: cst.Module,
    edit_lines: Sequence[int],
    statement_lines: StatementLines,
    own: Mapping[int, tuple[int, int]] | None = None,
) -> tuple[dict[cst.CSTNode, CodeRange], set[int]]:
    """Positions of the nodes in top-level statements that hold an edit, and those statements' ids.

    PositionProvider on a whole large file cost more than everything else in
    a rewrite; each top-level statement's lines are known (from its code, or
    from the file's ast), so only statements with edits are resolved, alone,
    and shifted. A statement whose only edit is on itself (``own``: its id to
    its line and column) needs no more than its own position, and is not
    walked into (the returned ids are the statements to walk into).
    """
    from libcst.metadata import CodePosition, CodeRange, MetadataWrapper, PositionProvider

    positions: dict[cst.CSTNode, CodeRange] = {}
    edited: set[int] = set()
    for statement, first, last in statement_lines:
        index = bisect.bisect_left(edit_lines, first)
        if own and id(statement) in own:  # not walked into (not in ``edited``): nothing inside is edited
            line, column = own[id(statement)]
            positions[statement] = CodeRange(CodePosition(line, column), CodePosition(last, 0))
        elif index < len(edit_lines) and edit_lines[index] <= last:
            alone = module.with_changes(body=[statement], header=[], footer=[])
            shift = first - 1
            for node, where in MetadataWrapper(alone, unsafe_skip_copy=True).resolve(PositionProvider).items():
                positions[node] = CodeRange(
                    CodePosition(where.start.line + shift, where.start.column),
                    CodePosition(where.end.line + shift, where.end.column),
                )
            edited.add(id(statement))
    return positions, edited


def _edited_only_themselves(
    statement_lines: StatementLines, by_key: Mapping[tuple[str, int, int], list[Edit]], tree: ast.Module
) -> dict[int, tuple[int, int]]:
    """Top-level ``def`` and ``class`` statements whose one edit is on the statement itself (a task's
    decorator or signature, say): their id to their position, which the file's ast gives."""
    keys = [key for key in by_key if key[0] != "Module"]
    own: dict[int, tuple[int, int]] = {}
    for statement, first, last in statement_lines:
        inside = [key for key in keys if first <= key[1] <= last]
        if len(inside) != 1 or inside[0][0] != type(statement).__name__:
            continue
        node = next((n for n in tree.body if first <= n.lineno <= last), None)
        if isinstance(node, ast.FunctionDef | ast.ClassDef) and inside[0][1:] == (node.lineno, node.col_offset):
            own[id(statement)] = (node.lineno, node.col_offset)
    return own


def _keep_final_newline(old: str, new: str) -> str:
    """LibCST drops the final line ending of a file whose lines end in a bare CR."""
    if old.endswith("\r") and not new.endswith(("\r", "\n")):
        return new + "\r"
    return new


def _checked_parse(text: str) -> ast.Module | str:
    """The text's ast, or why it does not parse."""
    # ast is the authority on what Python accepts; a second LibCST parse would double the cost.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escape sequences are the project's business, not an error
            return ast.parse(text)
    except SyntaxError as exc:
        return f"{exc.msg} at line {exc.lineno}"
    except (ValueError, RecursionError, MemoryError) as exc:
        return f"{type(exc).__name__}: {exc}"


def _add_imports(module: cst.Module, ctx: EditContext) -> cst.Module:
    """AddImportsVisitor's result (``imports.add_imports``, or the visitor) on the leading simple statements only.

    New imports go after the leading import block and merge into its
    ``from`` imports, so nothing past the first compound statement matters;
    visiting the whole tree cost as much as parsing it on large files.
    """
    split = next(
        (index for index, statement in enumerate(module.body) if not isinstance(statement, cst.SimpleStatementLine)),
        len(module.body),
    )
    head = module.with_changes(body=module.body[:split])
    new_head = add_imports(head, ctx.imports_to_add, ctx.facts.module)
    if new_head is None:
        from libcst.codemod.visitors import AddImportsVisitor

        new_head = AddImportsVisitor(ctx.codemod_context()).transform_module(head)
    return new_head.with_changes(body=[*new_head.body, *module.body[split:]])


def _add_logger(module: cst.Module, ctx: EditContext) -> cst.Module:
    name = ctx.new_logger
    if ctx.settings.logger_factory == "get_task_logger":
        ctx.add_import("celery.utils.log", "get_task_logger")
        statement = cst.parse_statement(f"{name} = get_task_logger(__name__)")
    else:
        ctx.add_import("logging")
        statement = cst.parse_statement(f"{name} = logging.getLogger(__name__)")
    body = list(module.body)
    insert_at = _after_leading_imports(body)
    previous = body[insert_at - 1] if insert_at else None
    if previous is not None and isinstance(statement, cst.SimpleStatementLine):
        statement = statement.with_changes(leading_lines=[cst.EmptyLine()])
    if insert_at < len(body):
        following = body[insert_at]
        if not following.leading_lines and isinstance(following, cst.SimpleStatementLine | cst.BaseCompoundStatement):
            body[insert_at] = following.with_changes(leading_lines=[cst.EmptyLine(), cst.EmptyLine()])
    body.insert(insert_at, statement)
    return module.with_changes(body=body)


def _after_leading_imports(body: Sequence[cst.BaseStatement]) -> int:
    """Index after the docstring, ``__future__`` and the leading block of imports."""
    index = 0
    for position, statement in enumerate(body):
        if not isinstance(statement, cst.SimpleStatementLine):
            break
        small = statement.body[0]
        is_docstring = (
            position == 0
            and isinstance(small, cst.Expr)
            and isinstance(small.value, cst.SimpleString | cst.ConcatenatedString)
        )
        if isinstance(small, cst.Import | cst.ImportFrom) or is_docstring:
            index = position + 1
        else:
            break
    return index
