"""LibCST edits for pass-ids: the task's signature and fetch, and each call site's arguments."""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst

from celery_codemods.rewrite import EditContext
from celery_codemods.rules._pass_ids import ArgEdit, CallPayload, ParamChange, TaskPayload

# --- the task ---------------------------------------------------------------------------------


def apply_task(node: cst.FunctionDef, payload: TaskPayload, ctx: EditContext) -> cst.FunctionDef:
    renamed = {change.old: change for change in payload.changes}
    params = node.params.with_changes(
        params=[_rename(p, renamed) for p in node.params.params],
        posonly_params=[_rename(p, renamed) for p in node.params.posonly_params],
        kwonly_params=[_rename(p, renamed) for p in node.params.kwonly_params],
    )
    statements: list[cst.BaseStatement] = []
    for change in payload.changes:
        statements.extend(_fetch(change, payload, ctx))
    return node.with_changes(params=params, body=_prepend(node.body, statements))


def _rename(param: cst.Param, renamed: dict[str, ParamChange]) -> cst.Param:
    change = renamed.get(param.name.value)
    if change is None:
        return param
    annotation = cst.Annotation(cst.parse_expression(change.annotation)) if change.annotation else None
    return param.with_changes(name=cst.Name(change.new), annotation=annotation)


def _fetch(change: ParamChange, payload: TaskPayload, ctx: EditContext) -> list[cst.BaseStatement]:
    if change.needs_uuid:
        ctx.add_import("uuid")
    lines: list[str] = []
    if change.import_name is not None and change.import_module is not None:
        spelled = change.import_name + (f" as {change.import_as}" if change.import_as else "")
        if change.local_import:
            lines.append(f"from {change.import_module} import {spelled}")
        else:
            ctx.add_import(change.import_module, change.import_name, change.import_as)
    logger = ctx.logger_name()
    if change.many:
        if payload.in_flight:
            lines.append(f'{change.new} = [getattr(pk, "pk", pk) for pk in {change.new}]')
        source = "".join(f"{line}\n" for line in lines) + _fetch_many(change, payload.task, logger)
        return list(cst.parse_module(source).body)
    if payload.in_flight:
        lines.append(f'{change.new} = getattr({change.new}, "pk", {change.new})')
    model = change.model_expr
    fetch = (
        f"try:\n"
        f"    {change.old} = {model}._default_manager.get(pk={change.new})\n"
        f"except {model}.DoesNotExist:\n"
        f'    {logger}.warning("{payload.task}: {change.model_label} %s does not exist; skipping", {change.new})\n'
        f"    return None\n"
    )
    if change.default_none:
        indented = "".join(f"    {line}\n" for line in fetch.splitlines())
        fetch = f"{change.old} = None\nif {change.new} is not None:\n{indented}"
    source = "".join(f"{line}\n" for line in lines) + fetch
    return list(cst.parse_module(source).body)


def _fetch_many(change: ParamChange, task: str, logger: str) -> str:
    """The rows in the order (and multiplicity) the caller sent, skipping those gone since."""
    by_pk = f"{change.old}_by_pk"
    return (
        f"{by_pk} = {change.model_expr}._default_manager.in_bulk({change.new})\n"
        f"{change.old} = [{by_pk}[pk] for pk in {change.new} if pk in {by_pk}]\n"
        f"if len({change.old}) < len({change.new}):\n"
        f'    {logger}.warning("{task}: %s {change.model_label} rows do not exist; skipping them", '
        f"len({change.new}) - len({change.old}))\n"
    )


def _prepend(body: cst.BaseSuite, statements: Sequence[cst.BaseStatement]) -> cst.BaseSuite:
    if isinstance(body, cst.SimpleStatementSuite):
        existing: list[cst.BaseStatement] = [
            cst.SimpleStatementLine(body=[s.with_changes(semicolon=cst.MaybeSentinel.DEFAULT) for s in body.body])
        ]
        body = cst.IndentedBlock(body=existing)
    assert isinstance(body, cst.IndentedBlock)
    lines = list(body.body)
    at = 1 if lines and _is_docstring(lines[0]) else 0
    return body.with_changes(body=[*lines[:at], *statements, *lines[at:]])


def _is_docstring(statement: cst.BaseStatement) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, cst.SimpleString | cst.ConcatenatedString)
    )


# --- call sites -------------------------------------------------------------------------------


def apply_call(node: cst.Call, payload: CallPayload) -> cst.Call:
    if not _is_the_site(node, payload):
        return node
    if payload.container == "args_kwargs":
        return _edit_containers(node, payload)
    skip = 1 if payload.container == "partial" else 0
    positional = [i for i, arg in enumerate(node.args) if arg.keyword is None and not arg.star][skip:]
    args = list(node.args)
    for edit in payload.edits:
        if edit.index is not None and edit.index < len(positional):
            where = positional[edit.index]
            args[where] = args[where].with_changes(value=_maybe_pk(args[where].value, edit))
        elif edit.keyword is not None:
            for where, arg in enumerate(args):
                if arg.keyword is not None and arg.keyword.value == edit.keyword:
                    args[where] = arg.with_changes(
                        keyword=cst.Name(edit.new_keyword or edit.keyword), value=_maybe_pk(arg.value, edit)
                    )
    return node.with_changes(args=args)


def _is_the_site(node: cst.Call, payload: CallPayload) -> bool:
    """Edits are found by start position, shared by ``t.s(x)`` and ``t.s(x).set(...)``: check the shape."""
    func = node.func
    if payload.method is not None and not (isinstance(func, cst.Attribute) and func.attr.value == payload.method):
        return False
    if (
        payload.method is None
        and payload.container != "partial"
        and isinstance(func, cst.Attribute)
        and func.attr.value in {"delay", "apply_async", "s", "si", "set", "signature", "apply", "run"}
    ):
        return False
    positional = sum(1 for arg in node.args if not arg.keyword and arg.star != "**")
    return positional == payload.arg_count


def _edit_containers(node: cst.Call, payload: CallPayload) -> cst.Call:
    args = list(node.args)
    positional = [i for i, arg in enumerate(args) if arg.keyword is None and not arg.star]
    if payload.keyword_containers_only:
        positional = []
    args_at = _keyword_index(args, "args")
    if args_at is None and positional:
        args_at = positional[0]
    kwargs_at = _keyword_index(args, "kwargs")
    if kwargs_at is None and len(positional) > 1:
        kwargs_at = positional[1]
    for edit in payload.edits:
        if edit.index is not None and args_at is not None:
            args[args_at] = args[args_at].with_changes(value=_edit_sequence(args[args_at].value, edit))
        elif edit.keyword is not None and kwargs_at is not None:
            args[kwargs_at] = args[kwargs_at].with_changes(value=_edit_dict(args[kwargs_at].value, edit))
    return node.with_changes(args=args)


def _keyword_index(args: list[cst.Arg], name: str) -> int | None:
    return next((i for i, arg in enumerate(args) if arg.keyword is not None and arg.keyword.value == name), None)


def _edit_sequence(value: cst.BaseExpression, edit: ArgEdit) -> cst.BaseExpression:
    if not isinstance(value, cst.List | cst.Tuple) or edit.index is None or edit.index >= len(value.elements):
        return value
    elements = list(value.elements)
    element = elements[edit.index]
    if isinstance(element, cst.Element):
        elements[edit.index] = element.with_changes(value=_maybe_pk(element.value, edit))
    return value.with_changes(elements=elements)


def _edit_dict(value: cst.BaseExpression, edit: ArgEdit) -> cst.BaseExpression:
    if not isinstance(value, cst.Dict):
        return value
    elements = list(value.elements)
    for where, element in enumerate(elements):
        if not (isinstance(element, cst.DictElement) and isinstance(element.key, cst.SimpleString)):
            continue
        if element.key.evaluated_value != edit.keyword:
            continue
        quote = element.key.quote
        prefix = element.key.prefix
        key = cst.SimpleString(f"{prefix}{quote}{edit.new_keyword or edit.keyword}{quote}")
        elements[where] = element.with_changes(key=key, value=_maybe_pk(element.value, edit))
    return value.with_changes(elements=elements)


def _maybe_pk(value: cst.BaseExpression, edit: ArgEdit) -> cst.BaseExpression:
    if not edit.wrap:
        return value
    if edit.item is not None:
        item = cst.Name(edit.item)
        element = cst.Attribute(value=item, attr=cst.Name("pk"))
        return cst.ListComp(elt=element, for_in=cst.CompFor(target=item, iter=value))
    if not isinstance(value, cst.Name | cst.Attribute | cst.Call | cst.Subscript) and not value.lpar:
        value = value.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return cst.Attribute(value=value, attr=cst.Name("pk"))
