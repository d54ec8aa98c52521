"""Bad input through the whole pipeline: reported, never crashed on, never written when it should not be."""

from __future__ import annotations

import codecs
import errno
import os
import sys
import warnings
from pathlib import Path

import libcst as cst
import pytest
from typer.testing import CliRunner

from celery_codemods import sourcefile
from celery_codemods.api import Analysis, analyze, plan_fixes, write_changes
from celery_codemods.cli import app
from celery_codemods.findings import Edit
from celery_codemods.index.facts import ModuleFacts
from celery_codemods.rewrite import EditContext, rewrite_source
from celery_codemods.rules.base import Rule
from celery_codemods.settings import Settings

SETTINGS = Settings(select=("CEL001",), jobs=1, cache=False)

SILENT = """\
import logging
from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task
def sync():
    try:
        push()
    except Exception:
        pass
"""
FIXED = SILENT.replace("        pass\n", '        logger.exception("sync: exception ignored")\n')


def put(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return path


def run_fix(*paths: Path) -> tuple[Analysis, list[str]]:
    """Analyse, plan and write; return the analysis and every error message (path: reason)."""
    analysis = analyze(list(paths), SETTINGS)
    plan = plan_fixes(analysis)
    _, write_errors = write_changes(plan.changes)
    errors = [*analysis.errors, *plan.errors, *write_errors]
    withheld = [f"withheld: {reason}" for _, reason in plan.withheld]
    return analysis, [str(error) for error in errors] + withheld


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, [*args, "--select", "CEL001", "--no-cache", "--color", "never"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


# --- files that are not Python -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("from celery import task\n\ndef f(:\n    pass\n", "3: syntax error"),
        ("from celery import task\nprint 'py2'\n", "2: syntax error"),
        (b"\x7fELF\x02\x01\x01\x00\x00celery task", "binary file"),
        (b"celery = '\xff\xfe'\n", "cannot decode as utf-8"),
        ("# -*- coding: bogus -*-\ncelery = 1\n", "bad encoding declaration"),
        ("import celery\nx = 1\n\tindented = 2\n", "3: syntax error: unexpected indent"),
    ],
)
def test_unparseable_file_is_reported_left_alone_and_the_run_goes_on(
    tmp_path: Path, content: str | bytes, reason: str
) -> None:
    bad = put(tmp_path / "bad.py", content)
    before = bad.read_bytes()
    put(tmp_path / "tasks.py", SILENT)
    _, errors = run_fix(tmp_path)
    assert len(errors) == 1
    assert errors[0].startswith(f"{bad}:")
    assert reason in errors[0]
    assert bad.read_bytes() == before
    assert (tmp_path / "tasks.py").read_text(encoding="utf-8") == FIXED


def test_file_ast_parses_but_python_rejects_is_reported_not_crashed(tmp_path: Path) -> None:
    # `except:` before another handler: ast.parse accepts it, the compiler and LibCST do not.
    text = SILENT.replace(
        "    except Exception:\n        pass\n", "    except:\n        pass\n    except Exception:\n        pass\n"
    )
    path = put(tmp_path / "tasks.py", text)
    _, errors = run_fix(tmp_path)
    reason = f"{path}: LibCST cannot parse it: The bare except: handler must be the last one."
    assert errors == [reason, f"withheld: {reason}"]
    assert path.read_text(encoding="utf-8") == text


def test_invalid_escape_sequence_warns_nothing_and_does_not_block_the_fix(tmp_path: Path) -> None:
    # The suite turns warnings into errors: a warning while verifying the rewrite would withhold it.
    text = SILENT.replace("push()", "push(r'\\d', '\\d')")
    path = put(tmp_path / "tasks.py", text)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, errors = run_fix(tmp_path)
    assert errors == []
    assert path.read_text(encoding="utf-8") == FIXED.replace("push()", "push(r'\\d', '\\d')")


@pytest.mark.parametrize("content", ["", "# only a comment about celery tasks\n# and another\n", "\n\n\n"])
def test_empty_and_comment_only_files_are_fine(tmp_path: Path, content: str) -> None:
    put(tmp_path / "empty.py", content)
    analysis, errors = run_fix(tmp_path)
    assert errors == []
    assert analysis.findings == ()
    assert (tmp_path / "empty.py").read_text(encoding="utf-8") == content


def test_unparseable_file_sets_the_exit_code(tmp_path: Path) -> None:
    put(tmp_path / "bad.py", "import celery\ndef f(:\n")
    code, output = cli("check", str(tmp_path))
    assert code == 1
    assert f"error: {tmp_path / 'bad.py'}:2: syntax error" in output


# --- encodings -----------------------------------------------------------------------------------


def test_cp1252_cookie_file_is_fixed_and_stays_cp1252(tmp_path: Path) -> None:
    text = "#!/usr/bin/env python\n# vim: set fileencoding=cp1252 :\n" + SILENT.replace("push()", "push('€ café')")
    path = put(tmp_path / "tasks.py", text.encode("cp1252"))
    _, errors = run_fix(tmp_path)
    assert errors == []
    expected = "#!/usr/bin/env python\n# vim: set fileencoding=cp1252 :\n" + FIXED.replace("push()", "push('€ café')")
    assert path.read_bytes() == expected.encode("cp1252")


def test_bom_file_is_fixed_and_keeps_its_bom(tmp_path: Path) -> None:
    path = put(tmp_path / "tasks.py", codecs.BOM_UTF8 + SILENT.encode())
    _, errors = run_fix(tmp_path)
    assert errors == []
    assert path.read_bytes() == codecs.BOM_UTF8 + FIXED.encode()


def test_rewrite_the_file_encoding_cannot_hold_is_withheld_not_crashed(tmp_path: Path) -> None:
    # Python normalises identifiers (NFKC): the latin-1 micro sign becomes a Greek mu, which
    # latin-1 cannot encode, and the log message names the task by its normalised name.
    text = "# -*- coding: latin-1 -*-\n" + SILENT.replace("def sync", "def \N{MICRO SIGN}sync")
    path = put(tmp_path / "tasks.py", text.encode("latin-1"))
    _, errors = run_fix(tmp_path)
    assert any("iso-8859-1 cannot encode" in error for error in errors), errors
    assert path.read_bytes() == text.encode("latin-1")


def test_undecodable_line_after_the_first_two(tmp_path: Path) -> None:
    path = put(tmp_path / "tasks.py", SILENT.encode() + b"# caf\xe9\n")
    _, errors = run_fix(tmp_path)
    assert len(errors) == 1
    assert "cannot decode as utf-8" in errors[0]
    assert path.read_bytes() == SILENT.encode() + b"# caf\xe9\n"


# --- line endings and whitespace -----------------------------------------------------------------


def test_crlf_file_stays_crlf_including_lines_the_fix_adds(tmp_path: Path) -> None:
    text = "from celery import shared_task\n\n\n@shared_task\ndef sync():\n    try:\n        push()\n"
    text += "    except Exception:\n        pass\n"
    path = put(tmp_path / "tasks.py", text.replace("\n", "\r\n"))
    _, errors = run_fix(tmp_path)
    assert errors == []
    new = path.read_bytes()
    assert b"logging.getLogger(__name__)\r\n" in new
    assert b'logger.exception("sync: exception ignored")\r\n' in new
    assert new.count(b"\n") == new.count(b"\r\n")


def test_mixed_endings_are_kept_on_lines_not_edited(tmp_path: Path) -> None:
    lines = SILENT.splitlines(keepends=True)
    mixed = "".join(line.replace("\n", "\r\n") if i % 2 else line for i, line in enumerate(lines))
    path = put(tmp_path / "tasks.py", mixed)
    _, errors = run_fix(tmp_path)
    assert errors == []
    fixed = mixed.replace("        pass\r\n", '        logger.exception("sync: exception ignored")\r\n')
    assert path.read_bytes() == fixed.encode()


def test_tabs_form_feeds_and_missing_final_newline_are_kept(tmp_path: Path) -> None:
    text = SILENT.replace("\n\n@shared_task", "\n\x0c\n@shared_task").replace("    ", "\t").rstrip("\n")
    path = put(tmp_path / "tasks.py", text)
    _, errors = run_fix(tmp_path)
    assert errors == []
    assert path.read_text(encoding="utf-8") == text.replace(
        "\t\tpass", '\t\tlogger.exception("sync: exception ignored")'
    )


def test_suppression_after_a_form_feed_line_is_honoured(tmp_path: Path) -> None:
    # str.splitlines() splits on form feeds, which shifted every later line number by one.
    text = SILENT.replace("\n\n@shared_task", "\n\x0c\n@shared_task").replace(
        "except Exception:", "except Exception:  # celery-codemod: ignore[CEL001]"
    )
    put(tmp_path / "tasks.py", text)
    assert analyze([tmp_path], SETTINGS).findings == ()


def test_line_separator_in_a_comment_does_not_shift_columns(tmp_path: Path) -> None:
    call = "push()  # caf\N{LATIN SMALL LETTER E WITH ACUTE} \u2028 \N{SNOWMAN}"
    text = SILENT.replace("push()", call)
    path = put(tmp_path / "tasks.py", text)
    analysis, errors = run_fix(tmp_path)
    assert errors == []
    assert [(f.line, f.col) for f in analysis.findings] == [(11, 4)]
    assert path.read_text(encoding="utf-8") == FIXED.replace("push()", call)


def test_non_ascii_and_tabs_before_a_node_on_the_same_line(tmp_path: Path) -> None:
    text = SILENT.replace("    try:\n        push()\n    except", "\ttry: push('\N{SNOWMAN}\N{SNOWMAN}')\n\texcept")
    text = text.replace("        pass", "\t\tpass")
    path = put(tmp_path / "tasks.py", text)
    _, errors = run_fix(tmp_path)
    assert errors == []
    assert path.read_text(encoding="utf-8").endswith('\t\tlogger.exception("sync: exception ignored")\n')


# --- paths ---------------------------------------------------------------------------------------


def test_names_with_spaces_and_non_ascii_are_fixed(tmp_path: Path) -> None:
    path = put(tmp_path / "my app" / "tâches été.py", SILENT)
    _, errors = run_fix(tmp_path)
    assert errors == []
    assert path.read_text(encoding="utf-8") == FIXED


def test_a_path_given_twice_is_fixed_once(tmp_path: Path) -> None:
    path = put(tmp_path / "tasks.py", SILENT)
    analysis, errors = run_fix(tmp_path, path, tmp_path)
    assert errors == []
    assert len(analysis.findings) == 1
    assert path.read_text(encoding="utf-8") == FIXED


def test_missing_path_is_a_clear_error_with_exit_2(tmp_path: Path) -> None:
    put(tmp_path / "tasks.py", SILENT)
    for command in ("check", "fix"):
        code, output = cli(command, str(tmp_path), str(tmp_path / "nope"))
        assert code == 2
        assert f"error: {tmp_path / 'nope'}: no such file or directory" in output
    assert (tmp_path / "tasks.py").read_text(encoding="utf-8") == SILENT


def test_symlink_inside_the_project_is_fixed_through_and_stays_a_link(tmp_path: Path) -> None:
    real = put(tmp_path / "real" / "tasks.py", SILENT)
    (tmp_path / "alias.py").symlink_to(real)
    analysis, errors = run_fix(tmp_path)
    assert errors == []
    assert len(analysis.findings) == 1
    assert (tmp_path / "alias.py").is_symlink()
    assert real.read_text(encoding="utf-8") == FIXED


def test_symlink_to_a_file_outside_the_project_is_not_written_unless_given(tmp_path: Path) -> None:
    outside = put(tmp_path / "elsewhere" / "tasks.py", SILENT)
    project = tmp_path / "project"
    project.mkdir()
    (project / "tasks.py").symlink_to(outside)
    analysis, errors = run_fix(project)
    assert len(analysis.findings) == 1
    assert errors == [
        f"withheld: {project / 'tasks.py'} is a symlink to a file outside the paths given;"
        " name it on the command line to fix it"
    ]
    assert outside.read_text(encoding="utf-8") == SILENT
    _, errors = run_fix(project, project / "tasks.py")
    assert errors == []
    assert outside.read_text(encoding="utf-8") == FIXED
    assert (project / "tasks.py").is_symlink()


def test_symlink_loop_terminates(tmp_path: Path) -> None:
    path = put(tmp_path / "pkg" / "tasks.py", SILENT)
    (tmp_path / "pkg" / "again").symlink_to(tmp_path)
    analysis, errors = run_fix(tmp_path)
    assert errors == []
    assert analysis.files_discovered == 1
    assert path.read_text(encoding="utf-8") == FIXED


def test_read_only_file_is_reported_not_chmodded_and_others_are_written(tmp_path: Path) -> None:
    locked = put(tmp_path / "a_locked.py", SILENT)
    locked.chmod(0o444)
    other = put(tmp_path / "b_tasks.py", SILENT)
    code, output = cli("fix", str(tmp_path))
    assert code == 1
    assert f"error: {locked}: file is read-only; not written" in output
    assert locked.read_text(encoding="utf-8") == SILENT
    assert oct(locked.stat().st_mode & 0o777) == oct(0o444)
    assert other.read_text(encoding="utf-8") == FIXED


def test_unreadable_file_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    put(tmp_path / "locked.py", SILENT)
    put(tmp_path / "tasks.py", SILENT)
    real_read = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self.name == "locked.py":
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
        return real_read(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    _, errors = run_fix(tmp_path)
    assert errors == [f"{tmp_path / 'locked.py'}: cannot read: Permission denied"]
    assert real_read(tmp_path / "tasks.py") == FIXED.encode()


# --- changes on disk and failing writes ----------------------------------------------------------


def test_file_changed_between_analysis_and_plan_is_withheld(tmp_path: Path) -> None:
    path = put(tmp_path / "tasks.py", SILENT)
    analysis = analyze([tmp_path], SETTINGS)
    edited = SILENT + "# edited meanwhile\n"
    path.write_text(edited, encoding="utf-8")
    plan = plan_fixes(analysis)
    assert plan.changes == ()
    assert [reason for _, reason in plan.withheld] == [f"{path}: changed on disk since it was analysed; run again"]
    assert path.read_text(encoding="utf-8") == edited


def test_file_changed_between_plan_and_write_is_not_overwritten(tmp_path: Path) -> None:
    path = put(tmp_path / "tasks.py", SILENT)
    plan = plan_fixes(analyze([tmp_path], SETTINGS))
    edited = SILENT + "# edited meanwhile\n"
    path.write_text(edited, encoding="utf-8")
    written, errors = write_changes(plan.changes)
    assert written == []
    assert [str(error) for error in errors] == [f"{path}: changed on disk since it was read; not written"]
    assert path.read_text(encoding="utf-8") == edited


def test_disk_full_mid_run_keeps_the_old_content_and_reports_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = put(tmp_path / "a.py", SILENT)
    second = put(tmp_path / "b.py", SILENT)
    real_fsync = os.fsync
    calls = []

    def fsync(fd: int) -> None:
        calls.append(fd)
        if len(calls) == 1:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(sourcefile.os, "fsync", fsync)
    plan = plan_fixes(analyze([tmp_path], SETTINGS))
    written, errors = write_changes(plan.changes)
    assert [str(error) for error in errors] == [f"{first}: cannot write: No space left on device"]
    assert [change.path for change in written] == [str(second)]
    assert first.read_text(encoding="utf-8") == SILENT
    assert second.read_text(encoding="utf-8") == FIXED
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.py", "b.py"]


# --- size and depth ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expression",
    ["(" * 150 + "1" + ")" * 150, "(" * 1000 + ")" * 1000, "1" + " + 1" * 100_000, "-" * 100_000 + "1"],
)
def test_deeply_nested_expression_does_not_crash(tmp_path: Path, expression: str) -> None:
    path = put(tmp_path / "tasks.py", SILENT + f"value = {expression}\n")
    analysis, errors = run_fix(tmp_path)
    assert len(errors) <= 1
    text = path.read_text(encoding="utf-8")
    if errors:
        assert "nested" in errors[0], errors
        assert text == SILENT + f"value = {expression}\n"
    else:
        assert len(analysis.findings) == 1
        assert text == FIXED + f"value = {expression}\n"


def test_large_file_is_analysed_and_fixed(tmp_path: Path) -> None:
    filler = "".join(f"def helper_{i}(x):\n    return x + {i}\n\n\n" for i in range(3_000))
    path = put(tmp_path / "tasks.py", SILENT + "\n\n" + filler)
    analysis, errors = run_fix(tmp_path)
    assert errors == []
    assert len(analysis.findings) == 1
    assert path.read_text(encoding="utf-8") == FIXED + "\n\n" + filler


# --- never running the project's code ------------------------------------------------------------


def test_project_code_is_never_imported(tmp_path: Path) -> None:
    marker = tmp_path / "imported"
    trap = f"open({str(marker)!r}, 'w').close()\nraise SystemExit('imported!')\n"
    put(tmp_path / "shop" / "__init__.py", trap)
    put(tmp_path / "shop" / "settings.py", trap)
    put(tmp_path / "shop" / "celery.py", trap + "from celery import Celery\napp = Celery('shop')\n")
    put(tmp_path / "shop" / "tasks.py", trap + SILENT)
    put(tmp_path / "conftest.py", trap)
    put(tmp_path / "manage.py", trap)
    before = set(sys.modules)
    code, _ = cli("fix", "--diff", str(tmp_path))
    assert code == 1
    _, errors = run_fix(tmp_path)
    assert errors == []
    assert not marker.exists()
    assert not {name for name in set(sys.modules) - before if name == "shop" or name.startswith("shop.")}


# --- locating edits ------------------------------------------------------------------------------


class _RenameCall(Rule):
    code = "CEL999"
    name = "rename-call"
    summary = "test rule"

    def apply(self, node: cst.CSTNode, edit: Edit, ctx: EditContext) -> cst.CSTNode:
        assert isinstance(node, cst.Call)
        return node.with_changes(func=cst.Name(edit.payload))


def test_edits_inside_decorators_and_deep_in_a_large_file_are_found(tmp_path: Path) -> None:
    # Rewriting skips subtrees holding no edit; a def's decorators lie before the def's own start.
    filler = "".join(f"def helper_{i}(x):\n    return x + {i}\n\n\n" for i in range(200))
    text = "@app.task(\n    bind=True)\n# a comment\n@other(1)\ndef f(self):\n    return g(h(1))\n\n\n" + filler
    text += "class C(\n        Base):\n    @staticmethod\n    def m():\n        return last(2)\n"
    edits = [
        Edit("t.py", "Call", 1, 1, "CEL999", "task"),
        Edit("t.py", "Call", 4, 1, "CEL999", "decorated"),
        Edit("t.py", "Call", 6, 13, "CEL999", "inner"),
        Edit("t.py", "Call", 813, 15, "CEL999", "final"),
    ]
    facts = ModuleFacts(path="t.py", module="t", digest="", is_package=False, imports=())
    outcome = rewrite_source(text, facts, edits, {"CEL999": _RenameCall(SETTINGS)}, SETTINGS)
    assert outcome.error is None
    expected = text.replace("app.task(", "task(").replace("other(1)", "decorated(1)").replace("h(1)", "inner(1)")
    assert outcome.new_text == expected.replace("last(2)", "final(2)")


def test_diff_of_a_file_with_form_feeds_and_line_separators_is_a_valid_patch(tmp_path: Path) -> None:
    # str.splitlines also splits at \f, \x1c, \x85 and U+2028: the diff had a stray
    # "No newline at end of file" in the middle and hunk line numbers off by one.
    text = SILENT.replace("\n\n@shared_task", "\n\x0c\n@shared_task").replace("push()", "push()  # a\u2028b\x85c")
    put(tmp_path / "tasks.py", text)
    code, output = cli("fix", "--diff", str(tmp_path / "tasks.py"))
    assert code == 1
    assert "No newline" not in output
    hunk = output[output.index("@@") :]
    assert hunk.startswith("@@ -9,4 +9,4 @@\n     try:\n         push()  # a\u2028b\x85c\n     except Exception:\n")


def test_cr_only_file_keeps_its_final_line_ending(tmp_path: Path) -> None:
    # LibCST drops the last "\r" of a file whose lines end in a bare CR, even with no edit.
    path = put(tmp_path / "tasks.py", SILENT.replace("\n", "\r"))
    _, errors = run_fix(tmp_path)
    assert errors == []
    assert path.read_bytes() == FIXED.replace("\n", "\r").encode()
