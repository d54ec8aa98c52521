"""Adding and removing keywords of a task decorator, composable across rules.

Several rules may edit the same decorator in one run (``bind=True`` from one,
``max_retries=5`` from another). Each edit targets the decorator *expression*
(``Call`` for ``@x(...)``, ``Name``/``Attribute`` for a bare ``@x``, located by
``Decorator.span``), adds only the keywords still absent and removes only its
own, so the edits compose in any order and a repeat changes nothing. A bare
decorator becomes a call: ``@shared_task`` -> ``@shared_task(bind=True)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst
from msgspec import Struct

from celery_codemods.findings import Edit, NodeKind
from celery_codemods.index.facts import Decorator


class KeywordEdit(Struct, frozen=True):
    callee_attr: str
    """Last segment of the decorator's name: tells ``a.b.task`` from its inner ``a.b``."""
    add: tuple[tuple[str, str], ...] = ()
    """(keyword, value source) pairs, added in this order when absent."""
    remove: tuple[str, ...] = ()


def decorator_edit(
    path: str,
    decorator: Decorator,
    rule: str,
    add: Sequence[tuple[str, str]] = (),
    remove: Sequence[str] = (),
) -> Edit:
    """An edit of ``decorator``'s expression; apply it with ``apply_keyword_edit``."""
    written = decorator.callee or decorator.qualname
    kind: NodeKind = "Call" if decorator.called else ("Attribute" if "." in written else "Name")
    span = decorator.span
    payload = KeywordEdit(callee_attr=written.rpartition(".")[2], add=tuple(add), remove=tuple(remove))
    return Edit(path, kind, span.line, span.col, rule, payload)


def apply_keyword_edit(node: cst.CSTNode, payload: KeywordEdit) -> cst.CSTNode:
    if isinstance(node, cst.Call):
        if not _callee_matches(node.func, payload.callee_attr):
            return node
        return _edit_call(node, payload)
    if isinstance(node, cst.Name | cst.Attribute) and _callee_matches(node, payload.callee_attr):
        if not payload.add:
            return node
        return _edit_call(cst.Call(func=node), payload)
    return node


def _callee_matches(func: cst.BaseExpression, attr: str) -> bool:
    if isinstance(func, cst.Attribute):
        return func.attr.value == attr
    return isinstance(func, cst.Name) and func.value == attr


def keyword_arg(name: str, source: str) -> cst.Arg:
    return cst.Arg(
        keyword=cst.Name(name),
        value=cst.parse_expression(source),
        equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")),
    )


LONG_LINE = 88
"""A one-line call that grows past this many characters gets one argument a line."""


def _edit_call(call: cst.Call, payload: KeywordEdit) -> cst.Call:
    present = {arg.keyword.value for arg in call.args if arg.keyword is not None}
    kept = [arg for arg in call.args if arg.keyword is None or arg.keyword.value not in payload.remove]
    added = [keyword_arg(name, source) for name, source in payload.add if name not in present]
    if len(kept) == len(call.args) and not added:
        return call
    edited = call.with_changes(args=_join(call, kept, added))
    if added and is_one_line(call) and len(_code(edited)) > LONG_LINE:
        return one_argument_a_line(edited)
    return edited


def _code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)


def is_one_line(call: cst.Call) -> bool:
    return "\n" not in _code(call)


def line_break(depth: int) -> cst.ParenthesizedWhitespace:
    """A newline, then the enclosing block's indentation plus ``depth`` levels."""
    return cst.ParenthesizedWhitespace(indent=True, last_line=cst.SimpleWhitespace("    " * depth))


def one_argument_a_line(call: cst.Call, depth: int = 1) -> cst.Call:
    """``f(a, b)`` -> ``f(\n    a,\n    b,\n)``, the closing parenthesis at ``depth - 1``."""
    args = [
        arg.with_changes(
            comma=cst.Comma(whitespace_after=line_break(depth)), whitespace_after_arg=cst.SimpleWhitespace("")
        )
        for arg in call.args
    ]
    if args:
        args[-1] = args[-1].with_changes(comma=cst.Comma(whitespace_after=line_break(depth - 1)))
    return call.with_changes(whitespace_before_args=line_break(depth), args=args)


def _join(call: cst.Call, kept: list[cst.Arg], added: list[cst.Arg]) -> list[cst.Arg]:
    """``kept + added`` with commas in the call's own style (one line, or one argument a line)."""
    args = [*kept, *added]
    if not args:
        return []
    original = list(call.args)
    closing = original[-1].comma if original else cst.MaybeSentinel.DEFAULT
    # Before ``)`` sits the original last argument's trailing whitespace (a newline when
    # the parenthesis has a line of its own): it stays with whichever argument ends up last.
    closing_space = original[-1].whitespace_after_arg if original else cst.SimpleWhitespace("")
    separator = _separator(call, original)
    joined = [
        arg.with_changes(comma=separator, whitespace_after_arg=cst.SimpleWhitespace(""))
        if original and arg is original[-1]
        else arg.with_changes(comma=separator)
        for arg in args[:-1]
    ]
    joined.append(args[-1].with_changes(comma=closing, whitespace_after_arg=closing_space))
    return joined


def _separator(call: cst.Call, args: Sequence[cst.Arg]) -> cst.Comma:
    inner = [arg.comma for arg in args[:-1] if isinstance(arg.comma, cst.Comma)]
    if inner:
        return inner[-1]
    if isinstance(call.whitespace_before_args, cst.ParenthesizedWhitespace):
        return cst.Comma(whitespace_after=call.whitespace_before_args)
    return cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
