"""Property tests: on any module the tool never raises, every rewrite parses, a second run changes nothing;
and rewriting only the edited statements (or calls) gives what rewriting the whole file gives.

Two sources of modules: hypothesmith (arbitrary valid Python, from the grammar and
from LibCST's node types) and a grammar of task shapes below (decorators, bound and
unbound tasks, handlers, retries, loggers, call sites, beat schedules, odd layout).

The budget is small by default, to keep this module under a minute on two cores.
For a long run by hand, set the number of examples per test:

    CELERY_CODEMOD_FUZZ_EXAMPLES=2000 python -m pytest tests/test_fuzz.py

Last long run: 1000 examples per test, 15.5 minutes on two busy cores, no failure;
500 of the statement-level comparison and of the task grammar with call sites, 1.6 minutes.
"""

from __future__ import annotations

import ast
import os
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hypothesmith
import libcst as cst
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from libcst.metadata import MetadataWrapper, PositionProvider

from celery_codemods import rewrite
from celery_codemods.api import analyze, fix_allowed, plan_fixes, write_changes
from celery_codemods.findings import Edit
from celery_codemods.index.context import ModuleContext, source_lines
from celery_codemods.index.resolve import ImportResolver
from celery_codemods.settings import Settings
from celery_codemods.sourcefile import read_source

EVERYTHING = Settings(select=("ALL",), preview=True, unsafe_fixes=True, jobs=1, cache=False)
LONG_RUN = int(os.environ.get("CELERY_CODEMOD_FUZZ_EXAMPLES", "0"))


def budget(examples: int) -> Callable[[Any], Any]:
    return settings(
        max_examples=LONG_RUN or examples,
        deadline=None,
        database=None,
        derandomize=not LONG_RUN,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    )


def write_files(root: Path, files: dict[str, str | bytes]) -> None:
    """The files as given, byte for byte (text as UTF-8)."""
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)


def fix_twice(files: dict[str, str | bytes]) -> None:
    """Run the whole pipeline twice on ``files`` and check the three properties."""
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        write_files(root, files)
        first = _fix_once(root)
        for change in first:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ast.parse(change, filename="rewritten")
            cst.parse_module(change)
        second = _fix_once(root)
        assert second == [], "a second fix changed the files again"


def _fix_once(root: Path) -> list[str]:
    analysis = analyze([root], EVERYTHING)
    plan = plan_fixes(analysis)
    _, write_errors = write_changes(plan.changes)
    problems = [*analysis.errors, *plan.errors, *write_errors]
    internal = [str(error) for error in problems if "internal error" in error.message or "bug" in error.message]
    assert internal == []
    assert write_errors == []
    return [change.new_text for change in plan.changes]


# --- arbitrary Python ----------------------------------------------------------------------------

# The prefilter skips files without a Celery-ish word; this header keeps every module in play.
HEADER = "from celery import shared_task  # celery task\n"


@pytest.mark.filterwarnings("ignore::SyntaxWarning")
@budget(60)
@given(source=hypothesmith.from_grammar())
def test_generated_modules_from_the_grammar(source: str) -> None:
    fix_twice({"gen.py": HEADER + source})


@pytest.mark.filterwarnings("ignore::SyntaxWarning")
@budget(40)
@given(source=hypothesmith.from_node())
def test_generated_modules_from_libcst_nodes(source: str) -> None:
    fix_twice({"gen.py": HEADER + source})


@budget(60)
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes_never_crash(data: bytes) -> None:
    fix_twice({"junk.py": b"# celery\n" + data})


# --- ast and LibCST agree on where a node starts -------------------------------------------------

_SPAN_KINDS = (ast.Call, ast.Dict, ast.ExceptHandler, ast.Return, ast.Assign, ast.ClassDef, ast.FunctionDef)


def _ast_starts(text: str) -> set[tuple[str, int, int]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tree = ast.parse(text)
    ctx = ModuleContext(
        path="m.py",
        module="m",
        text=text,
        lines=source_lines(text),
        resolver=ImportResolver("m", False),
        module_names=frozenset(),
    )
    starts = set()
    for node in ast.walk(tree):
        if isinstance(node, _SPAN_KINDS):
            span = ctx.span(node)
            starts.add((type(node).__name__, span.line, span.col))
    return starts


def _cst_starts(text: str) -> set[tuple[str, int, int]]:
    wrapper = MetadataWrapper(cst.parse_module(text))
    names = {kind.__name__ for kind in _SPAN_KINDS}
    return {
        (type(node).__name__, position.start.line, position.start.column)
        for node, position in wrapper.resolve(PositionProvider).items()
        if type(node).__name__ in names
    }


ODD_TEXT = st.sampled_from(["é", "☃", "日本", "\t", "\x0c", "\u2028", "\N{MATHEMATICAL FRAKTUR CAPITAL U}", "  ", "ß"])


@st.composite
def odd_lines(draw: st.DrawFn) -> str:
    """A module whose lines carry tabs, form feeds, non-ASCII text and separators before nodes."""
    odd = draw(st.lists(ODD_TEXT, min_size=1, max_size=4))
    pieces = [
        f"x = {{'{odd[0]}': f('{''.join(odd)}')}}  # {odd[-1]}\n",
        f"\x0c\ndef g():\n\treturn h('{odd[0]}', {{1: k()}})  # {odd[0]}\n",
        f"class C(B):  # {''.join(odd)}\n    y = [m('{odd[-1]}'), n()]\n",
        f"try: p('{odd[0]}'); q()\nexcept E: r('{odd[-1]}')\n",
        f"s = '{odd[0]}'; t = u(v('{''.join(odd)}'))\n",
    ]
    chosen = draw(st.lists(st.sampled_from(pieces), min_size=1, max_size=5))
    return "".join(chosen).replace("\u2028", "\\u2028") if draw(st.booleans()) else "".join(chosen)


@budget(150)
@given(text=odd_lines())
def test_ast_spans_match_libcst_positions_on_odd_lines(text: str) -> None:
    assert _ast_starts(text) == _cst_starts(text)


# --- a grammar of task shapes --------------------------------------------------------------------

HEADERS = (
    "import logging",
    "from celery import shared_task",
    "from celery import Celery, current_task",
    "from celery.utils.log import get_task_logger",
    "from celery.exceptions import Ignore, Reject, Retry",
    "from celery.schedules import crontab",
    "from django.db import transaction",
    "from shop.models import Order",
    "import celery",
    "app = Celery('shop')",
    "logger = logging.getLogger(__name__)",
    "log = get_task_logger(__name__)",
    "logger = get_task_logger(__name__)",
)
PARAMS = ("order", "order_id", "user", "pk", "items", "payload", "x=None", "*args", "**kwargs", "retries=3")
DECORATORS = (
    ("@shared_task", False),
    ("@shared_task()", False),
    ("@shared_task(bind=True)", True),
    ("@app.task", False),
    ("@app.task(bind=True, max_retries=3, default_retry_delay=60)", True),
    ("@app.task(name='shop.sync', autoretry_for=(Exception,), retry_backoff=True)", False),
    ("@shared_task(ignore_result=True, acks_late=True)", False),
    ("@celery.shared_task", False),
    ("@app.task(\n    bind=True,\n    queue='slow',\n)", True),
)
HANDLER_TYPES = ("Exception", "BaseException", "", "ValueError", "(Retry, Exception)", "Retry", "Exception as exc")


def _simple_statements(bound: bool, task: str, in_loop: bool, in_handler: bool) -> list[str]:
    me = "self" if bound else task
    lines = [
        "pass",
        "...",
        "return",
        "return None",
        "value = compute(order_id)",
        "logger.info('processing %s', order_id)",
        "log.warning('slow')",
        "print(order_id)",
        "obj = Order.objects.get(pk=order_id)",
        f"{task}.delay(order_id)",
        f"{task}.apply_async(args=(order_id,), countdown=10)",
        f"transaction.on_commit(lambda: {task}.delay(order_id))",
        "current_task.update_state(state='PROGRESS')",
        f"request_id = {me}.request.id",
        f"{me}.retry(countdown=60)",
        f"raise {me}.retry(countdown=2 ** {me}.request.retries)",
        "raise Ignore()",
        "raise Reject('bad', requeue=False)",
        "x = {'a': 1, 'b': [1, 2, {3: 4}]}",
        "total = sum(item.price for item in items)",
        "logger.info('café ☃ %s', order_id)",
        f"note = '日本 ☃'; {task}.delay(order_id)",
        f"label = 'é'\t; {task}.apply_async((order_id,), countdown=5)",
    ]
    if in_loop:
        lines += ["continue", "break"]
    if in_handler:
        lines += ["raise", f"raise {me}.retry(exc=exc)", "logger.exception('failed')"]
    return lines


@st.composite
def task_body(draw: st.DrawFn, bound: bool, task: str, indent: str, depth: int, flags: tuple[bool, bool]) -> str:
    in_loop, in_handler = flags
    count = draw(st.integers(min_value=1, max_value=3))
    out = []
    for _ in range(count):
        kinds = ["simple", "simple", "try", "for", "with", "if", "def"] if depth < 3 else ["simple"]
        kind = draw(st.sampled_from(kinds))
        pad = indent * depth
        if kind == "simple":
            line = draw(st.sampled_from(_simple_statements(bound, task, in_loop, in_handler)))
            comment = draw(st.sampled_from(["", "", "  # note", "  # noqa: CEL001", "  # celery-codemod: ignore"]))
            out.append(f"{pad}{line}{comment}\n")
        elif kind == "try":
            out.append(f"{pad}try:\n")
            out.append(draw(task_body(bound, task, indent, depth + 1, (in_loop, in_handler))))
            handlers = draw(st.lists(st.sampled_from(HANDLER_TYPES), min_size=1, max_size=3, unique=True))
            for handler in sorted(handlers, key=lambda h: h == ""):  # a bare `except:` must come last
                out.append(f"{pad}except {handler}:\n" if handler else f"{pad}except:\n")
                out.append(draw(task_body(bound, task, indent, depth + 1, (in_loop, "exc" in handler))))
            if draw(st.booleans()):
                out.append(f"{pad}finally:\n{pad}{indent}cleanup()\n")
        elif kind == "for":
            out.append(f"{pad}for item in items:\n")
            out.append(draw(task_body(bound, task, indent, depth + 1, (True, in_handler))))
        elif kind == "with":
            out.append(f"{pad}with transaction.atomic():\n")
            out.append(draw(task_body(bound, task, indent, depth + 1, flags)))
        elif kind == "if":
            out.append(f"{pad}if order_id:\n")
            out.append(draw(task_body(bound, task, indent, depth + 1, flags)))
            out.append(f"{pad}else:\n{pad}{indent}pass\n")
        else:
            out.append(f"{pad}def inner():\n")
            out.append(draw(task_body(bound, task, indent, depth + 1, (False, False))))
    return "".join(out)


@st.composite
def task_definition(draw: st.DrawFn, name: str, indent: str) -> str:
    decorator, bound = draw(st.sampled_from(DECORATORS))
    params = draw(st.lists(st.sampled_from(PARAMS), unique=True, max_size=3))
    params.sort(key=lambda p: (p.startswith("**"), p.startswith("*"), "=" in p))
    if bound:
        params.insert(0, "self")
    keyword = draw(st.sampled_from(["def", "def", "async def"]))
    docstring = draw(st.sampled_from(["", f'{indent}"""Do the {name} work."""\n']))
    body = draw(task_body(bound, name, indent, 1, (False, False)))
    return f"{decorator}\n{keyword} {name}({', '.join(params)}):\n{docstring}{body}"


@st.composite
def beat_schedule(draw: st.DrawFn, tasks: list[str]) -> str:
    entries = []
    for index in range(draw(st.integers(min_value=1, max_value=3))):
        task = draw(st.sampled_from([*tasks, "shop.tasks.missing"]))
        schedule = draw(st.sampled_from(["30", "30.0", "60 * 5", "crontab(minute=0)", "timedelta(minutes=5)"]))
        args = draw(st.sampled_from(["", "'args': (1,), ", "'args': (1), ", "'args': [1, 2], ", "'args': 'x', "]))
        extra = draw(st.sampled_from(["", "'options': {'queue': 'beat'}, ", "'optoins': {}, "]))
        entries.append(f"    'entry-{index}': {{'task': '{task}', 'schedule': {schedule}, {args}{extra}}},\n")
    target = draw(st.sampled_from(["app.conf.beat_schedule", "CELERY_BEAT_SCHEDULE"]))
    return f"{target} = {{\n{''.join(entries)}}}\n"


CALL_SHAPES = (
    "{task}.delay(order.pk)",
    "{task}.apply_async((order,), countdown=5)",
    "{task}.apply_async(\n{pad}    (order,),  # the order\n{pad}    countdown=5,\n{pad})",
    "{task}.apply_async(\n{pad}    kwargs={{'order_id': order.pk}},\n{pad}    countdown=5,\n{pad})",
    "({task}.delay(order.pk))",
    "note = 'reçu'; {task}.delay(order)",
    "{task}.delay(\n{pad}order.pk)",
    "log({task}.delay(order))",
)


@st.composite
def call_site(draw: st.DrawFn, task: str) -> str:
    """A view calling ``task``: in a transaction or not, in a method or a function, in odd shapes."""
    in_class = draw(st.booleans())
    pad = "        " if in_class else "    "
    head = "class View:\n    def post(self, order):\n" if in_class else "def view(order):\n"
    if draw(st.booleans()):
        head += pad + "with transaction.atomic():\n"
        pad += "    "
    shapes = draw(st.lists(st.sampled_from(CALL_SHAPES), min_size=1, max_size=3))
    return head + "".join(pad + shape.format(task=task, pad=pad) + "\n" for shape in shapes) + "\n\n"


@st.composite
def task_project(draw: st.DrawFn) -> dict[str, str | bytes]:
    indent = draw(st.sampled_from(["    ", "  ", "\t"]))
    headers = draw(st.lists(st.sampled_from(HEADERS), unique=True, max_size=len(HEADERS)))
    names = draw(st.lists(st.sampled_from(["sync", "send_mail", "charge", "cleanup_täsk"]), unique=True, min_size=1))
    separator = draw(st.sampled_from(["\n\n", "\n\n\n", "\n\x0c\n"]))
    tasks = [draw(task_definition(name, indent)) for name in names]
    module = "\n".join(headers) + "\n\n\n" + separator.join(tasks)
    if draw(st.booleans()):
        module += "\n\n" + draw(beat_schedule([f"shop.tasks.{name}" for name in names]))
    if draw(st.booleans()):
        module = module.replace("\n", "\r\n")
    if draw(st.booleans()):
        module = module.rstrip("\r\n")
    caller = "from django.db import transaction\n\nfrom shop.tasks import " + ", ".join(names) + "\n\n\n"
    caller += "".join(draw(call_site(name)) for name in names)
    files: dict[str, str | bytes] = {"shop/__init__.py": "", "shop/tasks.py": module, "shop/views.py": caller}
    if draw(st.booleans()):
        files["shop/tasks.py"] = "# -*- coding: latin-1 -*-\n" + module.replace("☃", "").replace("日本", "")
        files["shop/tasks.py"] = files["shop/tasks.py"].encode("latin-1", errors="replace")  # type: ignore[union-attr]
    return files


@budget(100)
@given(files=task_project())
def test_generated_task_modules(files: dict[str, str | bytes]) -> None:
    tasks = files["shop/tasks.py"]
    text = tasks.decode("latin-1") if isinstance(tasks, bytes) else tasks
    cst.parse_module(text)  # the generator itself only makes valid modules
    fix_twice(files)


def test_generated_task_modules_reach_the_rules() -> None:
    """The grammar is not vacuous: a sample of its projects gets findings from most rules."""
    codes: set[str] = set()

    @settings(max_examples=150, deadline=None, database=None, derandomize=True)
    @given(files=task_project())
    def collect(files: dict[str, str | bytes]) -> None:
        with tempfile.TemporaryDirectory() as directory:
            write_files(Path(directory), files)
            codes.update(finding.code for finding in analyze([Path(directory)], EVERYTHING).findings)

    collect()
    assert {"CEL001", "CEL002", "CEL201"} <= codes
    assert len({code for code in codes if code.startswith("CEL4")}) >= 3


def statement_level_matches_whole_file(files: dict[str, str | bytes]) -> int:
    """Each file's statement-level rewrite (regions, class bodies, calls alone) equals the whole-file
    rewrite of the same edits; returns how many files it compared."""
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        write_files(root, files)
        analysis = analyze([root], EVERYTHING)
        edits: dict[str, list[Edit]] = {}
        for finding in analysis.findings:
            if finding.fix is not None and fix_allowed(finding, analysis.settings):
                for edit in finding.fix.edits:
                    if edit not in edits.setdefault(edit.path, []):
                        edits[edit.path].append(edit)
        compared = 0
        for path, file_edits in edits.items():
            facts = analysis.project.modules[path]
            text = read_source(Path(path)).text
            by_key = rewrite._edits_by_key(file_edits)
            partial = rewrite._rewrite_statements(text, facts, by_key, analysis.rules, analysis.settings)
            if partial is None:
                continue
            whole = rewrite._rewrite_module(text, facts, file_edits, by_key, analysis.rules, analysis.settings)
            assert whole.error is None, whole.error
            assert partial[0] == whole.new_text, path
            compared += 1
        return compared


@budget(60)
@given(files=task_project())
def test_statement_level_rewrites_match_the_whole_file(files: dict[str, str | bytes]) -> None:
    statement_level_matches_whole_file(files)


def test_statement_level_comparison_is_not_vacuous() -> None:
    """The generated projects do get statement-level rewrites, calls alone among them."""
    compared: list[int] = []
    cut_out: list[int] = []
    real_call_regions = rewrite._call_regions

    def counting(*args: Any) -> Any:
        regions = real_call_regions(*args)
        cut_out.append(len(regions or ()))
        return regions

    @settings(max_examples=40, deadline=None, database=None, derandomize=True)
    @given(files=task_project())
    def collect(files: dict[str, str | bytes]) -> None:
        compared.append(statement_level_matches_whole_file(files))

    rewrite._call_regions = counting  # type: ignore[assignment]
    try:
        collect()
    finally:
        rewrite._call_regions = real_call_regions
    assert sum(compared) >= 30
    assert sum(cut_out) >= 30
