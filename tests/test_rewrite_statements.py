"""Statement-level rewrites: only the edited top-level statements go through LibCST.

The whole-file rewrite is the reference: wherever the statement-level one
answers, it must answer the same text, and it must step aside (None) for
what needs the whole module.
"""

from __future__ import annotations

import ast
import codecs
import textwrap
from collections import defaultdict
from pathlib import Path

import libcst as cst
import pytest

from celery_codemods import rewrite
from celery_codemods.api import analyze, fix_allowed, plan_fixes
from celery_codemods.findings import Edit
from celery_codemods.sourcefile import read_source
from celery_codemods.toplevel import (
    SourceLines,
    default_indent,
    default_newline,
    statement_spans,
    top_level_statements,
)
from tests.helpers import settings_for, write_tree

CORPUS = Path(__file__).parent.parent / "corpus"

SHAPES = {
    "decorators, footer comments, joined statements": (
        "# header\n\nimport os\n\n\n@a.b(\n    x=1,\n)  # trailing\n@c\ndef f():\n    pass\n    # footer\n"
        "\n# next statement's\nA = 1; B = 2\n"
    ),
    "footer after a less indented comment": "def f():\n    x\n# top\n    # deep\ny = 1\n",
    "whitespace-only line at block indent": "def f():\n    x\n    \n# top\ny = 1\n",
    "elif block": "if a:\n  x\nelif b:\n    y\n  # two\n    # four\nz = 1\n",
    "else holding an if": "if a:\n  x\nelse:\n  if b:\n      y\n  # two\nz = 1\n",
    "try with finally": "try:\n    x\nexcept E:\n  y\nfinally:\n        z\n        # eight\n    # four\nw = 1\n",
    "suite on the clause line": "class A: pass\n    # indented, after a suite\nB = 1\n",
    "comments at the end of the file": "def f():\n    x\n    # deep\n\n# top\n",
    "no final newline": "import os\n\ndef f():\n    return 1",
    "crlf": "import os\r\n\r\n@d\r\ndef f():\r\n    x\r\n    # deep\r\n\r\ny = 1\r\n",
    "tabs": "if a:\n\tb\n\t# tab\nc = 1\n",
    "first indent after a one-line compound": "if a: b\nx = [\n        1]\nif c:\n   d\n",
    "no indented block": "x = 1\ny = 2\n",
    "async and with": "async def f():\n    async with a:\n        pass\n  # two\nwith b:\n  pass\n",
}


def _assert_cut_like_libcst(text: str) -> None:
    module = cst.parse_module(text)
    lines = SourceLines(text)
    spans = top_level_statements(ast.parse(text), lines)
    assert spans is not None
    assert len(spans) == len(module.body)
    assert default_newline(text) == module.default_newline
    assert default_indent(text, spans, lines) == module.default_indent
    for span, statement in zip(spans, module.body, strict=True):
        whole = module.code_for_node(statement)
        leading = "".join(module.code_for_node(line) for line in statement.leading_lines)
        cut = text[lines.offset(span.first) : lines.offset(span.last + 1)]
        if not module.has_trailing_newline and statement is module.body[-1] and not module.footer:
            cut += module.default_newline  # code_for_node ends every statement with a line break
        assert cut == whole[len(leading) :]


@pytest.mark.parametrize("text", SHAPES.values(), ids=SHAPES.keys())
def test_statements_are_cut_where_libcst_cuts_them(text: str) -> None:
    _assert_cut_like_libcst(text)


@pytest.mark.parametrize("path", sorted(CORPUS.rglob("*.py")), ids=lambda path: str(path.relative_to(CORPUS)))
def test_corpus_files_are_cut_where_libcst_cuts_them(path: Path) -> None:
    _assert_cut_like_libcst(read_source(path).text)


def _assert_class_body_cut_like_libcst(text: str) -> int:
    """Each statement of each top-level class is cut where LibCST cuts it; how many were checked."""
    module = cst.parse_module(text)
    lines = SourceLines(text)
    tree = ast.parse(text)
    checked = 0
    for node, statement in zip(tree.body, module.body, strict=False):
        if not isinstance(node, ast.ClassDef) or not isinstance(statement, cst.ClassDef):
            continue
        block = statement.body
        spans = statement_spans(node.body, lines)
        if not isinstance(block, cst.IndentedBlock) or spans is None:
            continue
        assert len(spans) == len(block.body)
        for span, inner in zip(spans, block.body, strict=True):
            alone = inner.with_changes(leading_lines=[])
            made_up = cst.ClassDef(
                name=cst.Name("_"), body=block.with_changes(body=[alone], footer=[], header=cst.TrailingWhitespace())
            )
            expected = cst.Module(body=[made_up], default_newline=module.default_newline).code
            cut = text[lines.offset(span.first) : lines.offset(span.last + 1)]
            if not cut.endswith(("\n", "\r")):
                cut += module.default_newline
            assert "class _:" + module.default_newline + cut == expected
            checked += 1
    return checked


CLASS_BODY_SHAPES = {name: text for name, text in SHAPES.items() if not text.startswith("class A: pass")}


@pytest.mark.parametrize("text", CLASS_BODY_SHAPES.values(), ids=CLASS_BODY_SHAPES.keys())
def test_class_body_statements_are_cut_where_libcst_cuts_them(text: str) -> None:
    indented = "".join(f"    {line}" if line.strip() else line for line in text.splitlines(keepends=True))
    assert _assert_class_body_cut_like_libcst("class Holder:\n" + indented + "\n\nAFTER = 1\n") > 0


def test_corpus_class_bodies_are_cut_where_libcst_cuts_them() -> None:
    checked = sum(_assert_class_body_cut_like_libcst(read_source(path).text) for path in sorted(CORPUS.rglob("*.py")))
    assert checked > 50


def test_a_top_level_match_statement_is_left_to_the_whole_file() -> None:
    text = "match x:\n    case 1:\n        pass\n"
    assert top_level_statements(ast.parse(text), SourceLines(text)) is None


def _both_rewrites(
    root: Path, files: dict[str, str], select: str | tuple[str, ...], name: str
) -> tuple[str | None, str]:
    """The statement-level and the whole-file rewrite of ``name``, from the same plan."""
    write_tree(root, files)
    analysis = analyze([root], settings_for(select, unsafe_fixes=True))
    path = str(root / name)
    edits: list[Edit] = []
    for finding in analysis.findings:
        if fix_allowed(finding, analysis.settings) and finding.fix is not None:
            edits.extend(edit for edit in finding.fix.edits if edit.path == path and edit not in edits)
    assert edits, "the case must plan edits in the file"
    facts = analysis.project.modules[path]
    text = read_source(Path(path)).text
    by_key = rewrite._edits_by_key(edits)
    partial = rewrite._rewrite_statements(text, facts, by_key, analysis.rules, analysis.settings)
    if partial is not None:  # the ast it returns is that of its text
        assert ast.dump(partial[1]) == ast.dump(ast.parse(partial[0]))
    whole = rewrite._rewrite_module(text, facts, edits, by_key, analysis.rules, analysis.settings)
    assert whole.new_text is not None, whole.error
    assert whole.tree is not None and ast.dump(whole.tree) == ast.dump(ast.parse(whole.new_text))
    return (partial[0] if partial is not None else None), whole.new_text


TASKS = """\
\"\"\"Tasks.\"\"\"
from celery import shared_task

TIMEOUT = 5; RETRIES = 2


@shared_task(
    bind=True,
)  # the task
def first(self, x):
    try:
        x()
    except Exception:
        pass
    # the end of first


class Unrelated:
    def method(self):
        try:
            pass
        except Exception:
            pass


# comment above last
@shared_task
def last(x):
    return x
"""


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(lambda text: text, id="lf"),
        pytest.param(lambda text: text.replace("\n", "\r\n"), id="crlf"),
        pytest.param(lambda text: text.rstrip("\n"), id="no-final-newline"),
        pytest.param(lambda text: text.replace("    ", "  "), id="two-space-indent"),
        pytest.param(lambda text: "import logging\n" + text, id="logging-imported-above-the-docstring"),
        pytest.param(lambda text: text.replace('"""Tasks."""\n', "# only a comment\n"), id="no-docstring"),
    ],
)
def test_statement_level_rewrite_matches_the_whole_file(tmp_path: Path, variant: object) -> None:
    assert callable(variant)
    partial, whole = _both_rewrites(tmp_path, {"tasks.py": variant(TASKS)}, ("CEL001", "CEL002"), "tasks.py")
    assert partial is not None
    assert partial == whole


def test_an_edit_in_the_module_head_shares_its_region_with_the_new_imports(tmp_path: Path) -> None:
    source = "from celery import shared_task\n\nshared_task(lambda: 1)\n\n\n@shared_task\ndef ping():\n    return 1\n"
    partial, whole = _both_rewrites(tmp_path, {"tasks.py": source}, "CEL002", "tasks.py")
    assert partial == whole


CELERY_LAYOUT = {
    "shop/__init__.py": "from .celery import app as celery_app\n",
    "shop/celery.py": "from celery import Celery\n\napp = Celery('shop')\n",
    "notifications/__init__.py": "",
    "notifications/apps.py": "from django.apps import AppConfig\n\n\nclass C(AppConfig):\n    name = 'notifications'\n",
}


def test_removing_an_unused_import_is_left_to_the_whole_file(tmp_path: Path) -> None:
    tasks = "from shop.celery import app\n\n\n@app.task\ndef send_digest(user_id):\n    pass\n"
    files = {**CELERY_LAYOUT, "notifications/tasks.py": tasks}
    partial, whole = _both_rewrites(tmp_path, files, "CEL502", "notifications/tasks.py")
    assert partial is None
    assert "from celery import shared_task" in whole


def test_a_module_edit_is_left_to_the_whole_file(tmp_path: Path) -> None:
    source = "from celery.task import task\n\n\n@task\ndef ping():\n    return 1\n"
    partial, whole = _both_rewrites(tmp_path, {"tasks.py": source}, "CEL501", "tasks.py")
    assert partial is None
    assert "celery.task" not in whole


def test_a_region_whose_line_ending_is_not_the_files_is_left_to_the_whole_file(tmp_path: Path) -> None:
    # New lines take the module's first line ending; a region starting with another would take that one.
    source = (
        "from celery import shared_task\n\n\nclass A:\n    pass\n\n\n@shared_task\r\ndef ping():\r\n    return 1\r\n"
    )
    partial, whole = _both_rewrites(tmp_path, {"tasks.py": source}, "CEL002", "tasks.py")
    assert partial is None
    assert '    logger.info("ping started")\n' in whole


def test_mixed_line_endings_inside_the_head_region_still_match(tmp_path: Path) -> None:
    source = "from celery import shared_task\n\n\n@shared_task\r\ndef ping():\r\n    return 1\r\n"
    partial, whole = _both_rewrites(tmp_path, {"tasks.py": source}, "CEL002", "tasks.py")
    assert partial == whole


@pytest.fixture
def whole_file_counter(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How many files went through the whole-file rewrite, by name."""
    calls: dict[str, int] = defaultdict(int)
    original = rewrite._rewrite_module

    def counting(text: str, facts, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls[Path(facts.path).name] += 1
        return original(text, facts, *args, **kwargs)

    monkeypatch.setattr(rewrite, "_rewrite_module", counting)
    return calls


def test_a_statement_level_file_next_to_a_whole_file_one(tmp_path: Path, whole_file_counter: dict[str, int]) -> None:
    files = {
        **CELERY_LAYOUT,
        "notifications/tasks.py": "from shop.celery import app\n\n\n@app.task\ndef send_digest(user_id):\n    pass\n",
        "notifications/other.py": "from celery import shared_task\n\n\n@shared_task\ndef ping():\n    return 1\n",
    }
    write_tree(tmp_path, files)
    plan = plan_fixes(analyze([tmp_path], settings_for(("CEL002", "CEL502"))))
    assert not plan.errors and not plan.withheld
    new = {Path(change.path).name: change.new_text for change in plan.changes}
    assert dict(whole_file_counter) == {"tasks.py": 1}
    assert new["other.py"] == textwrap.dedent(
        """\
        from celery import shared_task
        import logging

        logger = logging.getLogger(__name__)


        @shared_task
        def ping():
            logger.info("ping started")
            logger.info("ping completed")
            return 1
        """
    )
    assert new["tasks.py"] == "from celery import shared_task\n\n\n@shared_task\ndef send_digest(user_id):\n    pass\n"


def test_a_bom_crlf_file_without_final_newline_is_rewritten_statement_by_statement(
    tmp_path: Path, whole_file_counter: dict[str, int]
) -> None:
    source = (
        '"""Doc."""\r\nfrom celery import shared_task\r\n\r\n\r\n@shared_task(\r\n    bind=True,\r\n)  # trailing\r\n'
        "def ping(self, x):\r\n    try:\r\n        x()\r\n    except Exception:\r\n        pass\r\n"
        "    # footer comment\r\n\r\n# between\r\nOTHER = 1; MORE = 2\r\n\r\n"
        "@shared_task\r\ndef last(x):\r\n    return x"
    )
    (tmp_path / "tasks.py").write_bytes(codecs.BOM_UTF8 + source.encode())
    plan = plan_fixes(analyze([tmp_path], settings_for(("CEL001", "CEL002"), unsafe_fixes=True)))
    assert not whole_file_counter
    (change,) = plan.changes
    expected = (
        '"""Doc."""\r\nfrom celery import shared_task\r\nimport logging\r\n\r\nlogger = logging.getLogger(__name__)\r\n'
        "\r\n\r\n@shared_task(\r\n    bind=True,\r\n)  # trailing\r\n"
        'def ping(self, x):\r\n    logger.info("ping started")\r\n    try:\r\n        x()\r\n    except Exception:\r\n'
        '        logger.exception("ping: exception ignored")\r\n    logger.info("ping completed")\r\n'
        "    # footer comment\r\n\r\n# between\r\nOTHER = 1; MORE = 2\r\n\r\n@shared_task\r\ndef last(x):\r\n"
        '    logger.info("last started")\r\n    result = x\r\n    logger.info("last completed")\r\n    return result'
    )
    assert change.new_text == expected
    assert change.source.encode(change.new_text).startswith(codecs.BOM_UTF8)


def test_a_file_with_a_top_level_match_statement_is_rewritten_whole(tmp_path: Path) -> None:
    source = "from celery import shared_task\n\nmatch 1:\n    case 1:\n        pass\n\n\n"
    source += "@shared_task\ndef ping():\n    return 1\n"
    partial, whole = _both_rewrites(tmp_path, {"tasks.py": source}, "CEL002", "tasks.py")
    assert partial is None
    assert '    logger.info("ping started")\n' in whole


def test_the_head_is_parsed_on_its_own_when_only_later_statements_are_edited(tmp_path: Path) -> None:
    source = (
        "from celery import shared_task\n\n\nclass Unrelated:\n    pass\n\n\n@shared_task\ndef ping():\n    return 1\n"
    )
    partial, whole = _both_rewrites(tmp_path, {"tasks.py": source}, "CEL002", "tasks.py")
    assert partial == whole
    assert whole.startswith("from celery import shared_task\nimport logging\n\nlogger = logging.getLogger(__name__)\n")


def test_a_region_indented_unlike_the_files_first_block_is_left_to_the_whole_file(tmp_path: Path) -> None:
    # New blocks take the module's first indent ("  " here); the task's region alone would say four spaces.
    source = "from celery import shared_task\n\n\nclass A:\n  pass\n\n\n@shared_task\ndef ping(x):\n    return x\n"
    partial, whole = _both_rewrites(tmp_path, {"tasks.py": source}, "CEL002", "tasks.py")
    assert partial is None
    assert '    logger.info("ping started")\n' in whole


VIEWS = """\
from django.db import transaction

from shop.tasks import send_receipt


def before():  # the module head ends here: its region takes whole statements
    return 0


class OrderViewSet:
    \"\"\"Orders.\"\"\"

    queryset = None; ordering = ("id",)

    @action(
        detail=True,
    )  # the route
    def pay(self, request, pk):
        with transaction.atomic():
            order = Order.objects.get(pk=pk)
            send_receipt.delay(order.pk)
        # after the block

    class Meta:
        abstract = True

    def refund(self, request, pk):
        return None
    # the class's footer


def after():
    return 1
"""
TASKS_FOR_VIEWS = "from celery import shared_task\n\n\n@shared_task\ndef send_receipt(order_id):\n    pass\n"


@pytest.fixture
def parsed_texts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every text LibCST parses during the test."""
    texts: list[str] = []
    original = rewrite.cst.parse_module  # the placeholder of _lazy.py when LibCST loaded late: patch what it uses

    def spy(source: str, *args: object, **kwargs: object) -> cst.Module:
        texts.append(source)
        return original(source, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(rewrite.cst, "parse_module", spy)
    return texts


@pytest.fixture
def no_call_regions(monkeypatch: pytest.MonkeyPatch) -> None:
    """Edited calls go through their statement's region, as every other edit does."""
    monkeypatch.setattr(rewrite, "_call_regions", lambda *args: None)


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(lambda text: text, id="lf"),
        pytest.param(lambda text: text.replace("\n", "\r\n"), id="crlf"),
        pytest.param(lambda text: text.replace("    ", "\t"), id="tabs"),
    ],
)
def test_an_edit_in_a_method_parses_the_method_not_its_class(
    tmp_path: Path, parsed_texts: list[str], no_call_regions: None, variant: object
) -> None:
    assert callable(variant)
    files = {"shop/__init__.py": "", "shop/tasks.py": TASKS_FOR_VIEWS, "shop/views.py": variant(VIEWS)}
    partial, whole = _both_rewrites(tmp_path, files, "CEL510", "shop/views.py")
    assert partial == whole
    assert "transaction.on_commit(" in whole
    method_only = [text for text in parsed_texts if text.startswith("class _:")]
    assert len(method_only) == 1
    assert "def pay(" in method_only[0] and "refund" not in method_only[0]


def test_only_edits_inside_class_body_statements_cut_the_class() -> None:
    text = VIEWS
    lines = SourceLines(text)
    tree = ast.parse(text)
    spans = top_level_statements(tree, lines)
    assert spans is not None
    (span,) = [span for span in spans if lines.line(span.first).startswith("class OrderViewSet")]
    style = ("\n", "    ")

    def regions(*edit_lines: int) -> list[tuple[int, int]] | None:
        found = rewrite._class_body_regions(tree, span, lines, list(edit_lines), style)
        return None if found is None else [(region.spans[0].first, region.spans[0].last) for region in found]

    line = {text: number for number, text in enumerate(text.splitlines(), start=1)}
    pay, refund = line["    def pay(self, request, pk):"], line["        return None"]
    assert regions(pay + 2) == [(pay - 3, line["        # after the block"])]
    assert regions(pay + 2, refund) == [(pay - 3, line["        # after the block"]), (refund - 1, refund)]
    assert regions(span.first) is None  # the class header
    assert regions(line["    # the class's footer"]) is None
    one_line = ast.parse("class A: x = 1\n")
    (one,) = top_level_statements(one_line, SourceLines("class A: x = 1\n")) or []
    assert rewrite._class_body_regions(one_line, one, SourceLines("class A: x = 1\n"), [1], style) is None


def test_a_method_whose_line_endings_are_not_the_files_is_parsed_alone(
    tmp_path: Path, parsed_texts: list[str], no_call_regions: None
) -> None:
    head, _, rest = VIEWS.partition("class OrderViewSet:")
    source = head + ("class OrderViewSet:" + rest).replace("\n", "\r\n")  # new nodes take the file's "\n"
    files = {"shop/__init__.py": "", "shop/tasks.py": TASKS_FOR_VIEWS, "shop/views.py": source}
    partial, whole = _both_rewrites(tmp_path, files, "CEL510", "shop/views.py")
    assert partial == whole
    assert [text for text in parsed_texts if text.startswith("class _:\n    @action(\r\n")]


def test_a_rewrite_is_indexed_again_from_the_ast_it_was_checked_with(tmp_path: Path) -> None:
    """The second-run check indexes the new text from the tree the rewrite parsed: the same facts."""
    import pickle

    from celery_codemods.api import _rewrite_file
    from celery_codemods.index.reader import index_source
    from celery_codemods.sourcefile import decode_source

    write_tree(tmp_path, {"tasks.py": TASKS})
    analysis = analyze([tmp_path], settings_for(("CEL001", "CEL002")))
    path = str(tmp_path / "tasks.py")
    edits = [edit for f in analysis.findings if f.fix is not None for edit in f.fix.edits]
    result = _rewrite_file(path, analysis.project.modules[path], edits, analysis.rules, analysis.settings)
    assert result.new_text is not None and result.again is not None
    from_text = index_source(path, decode_source(Path(path), result.new_text.encode()))
    assert pickle.dumps(result.again) == pickle.dumps(from_text)


@pytest.mark.parametrize(("select", "resolved"), [("CEL002", []), (("CEL001", "CEL002"), ["first"])])
def test_a_def_edited_only_on_itself_needs_no_position_resolution(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, select: str | tuple[str, ...], resolved: list[str]
) -> None:
    """CEL002 edits the task itself: its position comes from the ast. CEL001 edits inside `first`."""
    from libcst.metadata import MetadataWrapper

    seen: list[str] = []
    statement_level = [False]
    real_resolve = MetadataWrapper.resolve
    real_statements = rewrite._rewrite_statements

    def resolve(self: MetadataWrapper, provider: type) -> object:
        if statement_level[0]:
            seen.extend(s.name.value for s in self.module.body if isinstance(s, cst.FunctionDef))
        return real_resolve(self, provider)

    def statements(*args: object) -> object:
        statement_level[0] = True
        try:
            return real_statements(*args)  # type: ignore[arg-type]
        finally:
            statement_level[0] = False

    monkeypatch.setattr(MetadataWrapper, "resolve", resolve)
    monkeypatch.setattr(rewrite, "_rewrite_statements", statements)
    partial, whole = _both_rewrites(tmp_path, {"tasks.py": TASKS}, select, "tasks.py")
    assert partial is not None
    assert partial == whole
    assert seen == resolved


CALL_VIEWS = """\
from django.db import transaction

from shop.tasks import send_receipt


def before():  # the module head ends here
    return 0


class OrderViewSet:
    def pay(self, request, pk):
        with transaction.atomic():
            order = Order.objects.get(pk=pk)
            if order.paid:
                send_receipt.apply_async(
                    args=(order.pk,),
                    countdown=5,  # later
                )
            send_receipt.delay(order.pk)
        return order


def refund(pk):
    with transaction.atomic():
        send_receipt.delay(pk); log(pk)
"""


def _statement_level(parsed_texts: list[str], source: str) -> list[str]:
    """What LibCST parsed before the whole-file rewrite parsed ``source`` (see ``_both_rewrites``)."""
    return parsed_texts[: parsed_texts.index(source)]


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(lambda text: text, id="lf"),
        pytest.param(lambda text: text.replace("\n", "\r\n"), id="crlf"),
        pytest.param(lambda text: text.replace("    ", "\t"), id="tabs"),
        pytest.param(lambda text: text.replace("    ", "  "), id="two-space-indent"),
        pytest.param(
            lambda text: text.replace("send_receipt.delay(pk); log(pk)", "note = 'réçu'; send_receipt.delay(pk)"),
            id="non-ascii-before-the-call",
        ),
    ],
)
def test_an_edited_call_is_parsed_alone_not_its_function(
    tmp_path: Path, parsed_texts: list[str], variant: object
) -> None:
    assert callable(variant)
    source = variant(CALL_VIEWS)
    files = {"shop/__init__.py": "", "shop/tasks.py": TASKS_FOR_VIEWS, "shop/views.py": source}
    partial, whole = _both_rewrites(tmp_path, files, "CEL510", "shop/views.py")
    assert partial == whole
    assert whole.count("transaction.on_commit(") == 3
    statement_level = _statement_level(parsed_texts, source)
    calls = sorted(text.split("_:", 1)[1].strip().split("(")[0] for text in statement_level if text.startswith("if _:"))
    assert calls == ["send_receipt.apply_async", "send_receipt.delay", "send_receipt.delay"]
    assert not [text for text in statement_level if "def pay" in text or "def refund" in text]


def test_a_decorator_call_at_module_level_is_parsed_alone(tmp_path: Path, parsed_texts: list[str]) -> None:
    source = (
        "from celery import shared_task\n\n\ndef before():\n    return 0\n\n\n"
        "@shared_task(\n    autoretry_for=(OSError,),\n    retry_backoff=True,\n)\n"
        "def sync(order_id):\n    return order_id\n"
    )
    partial, whole = _both_rewrites(tmp_path, {"tasks.py": source}, "CEL303", "tasks.py")
    assert partial == whole
    assert "max_retries=5" in whole
    assert [text for text in _statement_level(parsed_texts, source) if "def sync" in text] == []
    assert "shared_task(\n    autoretry_for=(OSError,),\n    retry_backoff=True,\n)\n" in parsed_texts


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param("(send_receipt.delay(pk))", id="parenthesized"),
        pytest.param("(send_receipt.delay(pk)  # sent\n        )", id="closed-after-a-comment"),
    ],
)
def test_a_parenthesized_call_takes_its_statement(tmp_path: Path, parsed_texts: list[str], statement: str) -> None:
    """LibCST gives the parentheses to the call: the rule sees them, so the statement is parsed."""
    views = (
        "from django.db import transaction\n\nfrom shop.tasks import send_receipt\n\n\n"
        "def before():\n    return 0\n\n\n"
        f"def refund(pk):\n    with transaction.atomic():\n        {statement}\n"
    )
    files = {"shop/__init__.py": "", "shop/tasks.py": TASKS_FOR_VIEWS, "shop/views.py": views}
    partial, whole = _both_rewrites(tmp_path, files, "CEL510", "shop/views.py")
    assert partial is not None
    assert partial == whole
    assert "transaction.on_commit(" in whole
    statement_level = _statement_level(parsed_texts, views)
    assert [text for text in statement_level if text.startswith("def refund(pk):")]
    assert not [text for text in statement_level if text.startswith("if _:")]


def _call_regions(source: str, *keys: tuple[int, int]) -> list[tuple[str, str]] | None:
    """The code and indentation of each call region ``_call_regions`` cuts for edits at ``keys``."""
    by_key = {("Call", line, col): [] for line, col in keys}
    tree, lines = ast.parse(source), SourceLines(source)
    spans = top_level_statements(tree, lines)
    assert spans is not None
    regions = rewrite._call_regions(source, tree, spans[-1], lines, by_key)  # type: ignore[arg-type]
    return None if regions is None else [(source[region.start : region.end], region.indent) for region in regions]


def test_call_regions_are_the_edited_calls_exactly() -> None:
    source = 'def f(x):\n    if x:\n        y = a.delay(\n            x,\n        ) + 1; b.s(\n    "é")\n'
    assert _call_regions(source, (3, 12), (5, 15)) == [
        ("a.delay(\n            x,\n        )", "        "),
        ('b.s(\n    "é")', "        "),
    ]
    assert _call_regions("@app.task(bind=True)\ndef f(self):\n    pass\n", (1, 1)) == [("app.task(bind=True)", "")]
    assert _call_regions('def f():\n    é = "é"; a.delay(é)\n', (2, 13)) == [("a.delay(é)", "    ")]


@pytest.mark.parametrize(
    ("source", "keys"),
    [
        pytest.param("def f():\n    a.b(x)(y)\n", [(2, 4)], id="two-calls-start-together"),
        pytest.param("def f():\n    a.delay(b.delay(1))\n", [(2, 4), (2, 12)], id="nested-edits"),
        pytest.param('def f():\n    log(f"{a.delay(1)}")\n', [(2, 11)], id="in-an-f-string"),
        pytest.param("def f():\n    log(a.delay(1))\n", [(2, 8)], id="closed-right-after"),
        pytest.param("def f():\n    a.delay(1)\n", [(2, 5)], id="no-call-starts-there"),
        pytest.param("def f():\n    x = a\n", [(2, 8)], id="no-call-at-all"),
    ],
)
def test_calls_that_cannot_be_cut_out_alone_get_no_region(source: str, keys: list[tuple[int, int]]) -> None:
    assert _call_regions(source, *keys) is None


def test_an_edit_that_is_not_on_a_call_keeps_the_statement_whole() -> None:
    source = "def f():\n    a.delay(1)\n"
    tree, lines = ast.parse(source), SourceLines(source)
    spans = top_level_statements(tree, lines)
    assert spans is not None
    by_key = {("Call", 2, 4): [], ("FunctionDef", 1, 0): []}
    assert rewrite._call_regions(source, tree, spans[0], lines, by_key) is None  # type: ignore[arg-type]


RETRYING_TASK = (
    "import logging\n\nfrom celery import shared_task\n\nlogger = logging.getLogger(__name__)\n\n\n"
    "def before():\n    return 0\n\n\n"
    "@shared_task(bind=True, max_retries=5, name='t.refund', acks_late=False)\n"
    "def refund(self, order_id):\n    logger.info('refund %s', order_id)\n    try:\n        go(order_id)\n"
)


def test_a_retry_in_its_handler_block_is_parsed_alone(tmp_path: Path, parsed_texts: list[str]) -> None:
    source = RETRYING_TASK + "    except ConnectionError as exc:\n        raise self.retry(exc=exc)\n"
    partial, whole = _both_rewrites(tmp_path, {"tasks.py": source}, ("CEL304", "CEL305"), "tasks.py")
    assert partial == whole
    assert "countdown=" in whole
    assert [text for text in _statement_level(parsed_texts, source) if text.startswith("if _:")]


@pytest.mark.parametrize(
    ("handler", "block"),
    [
        pytest.param(
            "    except (ConnectionError,\n            OSError) as exc: raise self.retry(exc=exc)\n",
            "    ",
            id="on-a-header-over-two-lines",
        ),
        pytest.param(
            "    except (ConnectionError,\n            OSError) as exc: raise self.retry(\n        exc=exc)\n",
            "    ",
            id="arguments-at-the-block-indent",
        ),
        pytest.param(
            "    except ConnectionError as exc:\n        logger.warning('x'); \\\n  raise self.retry(exc=exc)\n",
            None,
            id="after-a-backslash",
        ),
        pytest.param(
            "    except ConnectionError as exc:\n        logger.warning(\n  'x'); raise self.retry(exc=exc)\n",
            "        ",
            id="after-a-statement-over-two-lines",
        ),
    ],
)
def test_a_call_whose_statement_does_not_start_its_line_is_indented_from_its_block(
    tmp_path: Path, parsed_texts: list[str], handler: str, block: str | None
) -> None:
    """New lines inside the call are indented from the block, whose indentation is that of the line
    the call's logical line starts on (the try's, for a suite on an except line); after a backslash
    no line shows it, and the statement's rewrite finds it."""
    source = RETRYING_TASK + handler
    partial, whole = _both_rewrites(tmp_path, {"tasks.py": source}, ("CEL304", "CEL305"), "tasks.py")
    assert partial == whole
    assert "countdown=" in whole
    calls = [text for text in _statement_level(parsed_texts, source) if text.startswith("if _:")]
    call = handler.partition("raise ")[2]
    assert calls == ([] if block is None else [f"if _:\n{block}{call}"])


def test_a_module_level_call_with_other_line_endings_is_not_parsed_alone(
    tmp_path: Path, parsed_texts: list[str]
) -> None:
    """LibCST takes a text's first line ending for the new lines: the call's own would win."""
    source = (
        "import logging\r\n\r\nfrom celery import shared_task\r\n\r\nlogger = logging.getLogger(__name__)\r\n\r\n\r\n"
        "def before():\r\n    return 0\r\n\r\n\r\n"
        "@shared_task(\n    name='t.sync',\n    autoretry_for=(OSError,),\n    retry_backoff=True,\n)\r\n"
        "def sync(order_id):\r\n    logger.info('sync %s', order_id)\r\n    return order_id\r\n"
    )
    partial, whole = _both_rewrites(tmp_path, {"tasks.py": source}, "CEL303", "tasks.py")
    assert partial is None  # the decorated function's own region has the same problem: the whole file
    assert "max_retries=5,\n" in whole
    assert "shared_task(\n    name='t.sync'" not in parsed_texts
