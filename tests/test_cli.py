"""Every user-visible behaviour of the command line, through typer's runner."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from celery_codemods.cli import app
from tests.helpers import write_tree
from tests.test_review import BARE, TASK, changed

runner = CliRunner()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write_tree(tmp_path, {f"{name}.py": TASK.format(name=name) for name in ("alpha", "beta")})
    write_tree(tmp_path, {"loose.py": BARE})
    return tmp_path


def invoke(*args: str | Path, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(arg) for arg in args], env={"NO_COLOR": "", **(env or {})})
    return result.exit_code, result.stdout, result.stderr


def test_interactive_without_a_terminal_is_a_usage_error(project: Path) -> None:
    code, _, err = invoke("fix", "-i", "--no-cache", project)
    assert code == 2
    assert "--interactive needs a terminal on standard input" in err
    assert changed(project) == set()


def test_interactive_and_diff_together_are_a_usage_error(project: Path) -> None:
    code, _, err = invoke("fix", "--interactive", "--diff", project)
    assert code == 2
    assert "cannot be used together" in err


def test_fix_writes_safe_fixes_and_exits_1_while_an_unsafe_one_remains(project: Path) -> None:
    code, out, err = invoke("fix", "--select", "CEL001", "--no-cache", project)
    assert code == 1
    assert changed(project) == {"alpha", "beta"}
    assert "loose.py:12:5: CEL001" in out
    assert "Fixed 2 findings in 2 files." in err


def test_fix_with_unsafe_fixes_leaves_nothing_and_exits_0(project: Path) -> None:
    code, _, _ = invoke("fix", "--unsafe-fixes", "--select", "CEL001", "--no-cache", project)
    assert code == 0
    assert changed(project) == {"alpha", "beta", "loose"}


def test_check_lists_findings_and_exits_1_with_a_plain_summary_off_a_terminal(project: Path) -> None:
    code, out, err = invoke("check", "--select", "CEL001", "--no-cache", project)
    assert code == 1
    assert out.count("CEL001") == 3
    assert f"{project / 'alpha.py'}:12:5: CEL001 `except Exception: pass`" in out
    assert out.rstrip().endswith("[unsafe fix]")
    assert "Found 3 findings in 3 files scanned." in err
    assert "  CEL001 silent-except: 3 (2 fixable)" in err
    assert "\x1b[" not in out + err
    assert "┃" not in err  # no table in a log


def test_check_on_a_clean_project_exits_0(tmp_path: Path) -> None:
    write_tree(tmp_path, {"ok.py": "from celery import shared_task\n"})
    code, out, err = invoke("check", "--no-cache", tmp_path)
    assert (code, out) == (0, "")
    assert "All checks passed (1 files scanned)." in err


def test_quiet_drops_the_summary_but_keeps_findings(project: Path) -> None:
    code, out, err = invoke("check", "-q", "--select", "CEL001", "--no-cache", project)
    assert code == 1
    assert out.count("CEL001") == 3
    assert err == ""


def test_statistics_counts_by_rule(project: Path) -> None:
    code, out, _ = invoke("check", "--statistics", "--select", "CEL001", "--no-cache", project)
    assert code == 1
    assert out == "    3  CEL001  silent-except\n"


def test_show_fixes_lists_each_fix_applied(project: Path) -> None:
    code, _, err = invoke("fix", "--show-fixes", "--select", "CEL001", "--no-cache", project)
    assert code == 1
    assert f"fixed {project / 'alpha.py'}:12: CEL001 log it with its traceback" in err
    assert err.count("fixed ") == 2


def test_fix_diff_writes_nothing_exits_1_and_says_would(project: Path) -> None:
    code, out, err = invoke("fix", "--diff", "--show-fixes", "--select", "CEL001", "--no-cache", project)
    assert code == 1
    assert out.startswith(f"--- a/{project / 'alpha.py'}")
    assert changed(project) == set()
    assert "would fix " in err
    assert "Would fix 2 findings in 2 files." in err
    assert "to fix" in err


def test_fix_diff_with_nothing_to_do_exits_0(tmp_path: Path) -> None:
    write_tree(tmp_path, {"ok.py": "from celery import shared_task\n"})
    code, out, _ = invoke("fix", "--diff", "--no-cache", tmp_path)
    assert (code, out) == (0, "")


def test_fix_summary_names_files_rules_and_remaining(project: Path) -> None:
    _, _, err = invoke("fix", "--select", "CEL001", "--no-cache", project)
    assert "Files scanned: 3, changed: 2" in err
    assert "  CEL001 silent-except: 3 found, 2 fixed, 1 remaining" in err
    assert "1 more fixable with `--unsafe-fixes`." in err


def test_summary_is_a_table_on_a_terminal(project: Path) -> None:
    _, _, err = invoke("check", "--select", "CEL001", "--no-cache", project, env={"FORCE_COLOR": "1"})
    assert "┃" in err and "Fixable" in err
    assert "\x1b[" in err


def test_color_always_colours_even_off_a_terminal(project: Path) -> None:
    _, out, _ = invoke("check", "--color", "always", "--select", "CEL001", "--no-cache", project)
    assert "\x1b[1;31mCEL001" in out


def test_color_always_wins_over_no_color(project: Path) -> None:
    _, out, _ = invoke("check", "--color", "always", "--select", "CEL001", project, env={"NO_COLOR": "1"})
    assert "\x1b[1;31mCEL001" in out


def test_no_color_is_honoured_on_a_terminal(project: Path) -> None:
    _, out, err = invoke(
        "check", "--select", "CEL001", "--no-cache", project, env={"FORCE_COLOR": "1", "NO_COLOR": "1"}
    )
    assert "31m" not in out and "32m" not in err
    assert "┃" in err  # still a terminal: the table stays, without colour


def test_color_never_on_a_terminal_has_no_colour(project: Path) -> None:
    _, out, _ = invoke("check", "--color", "never", "--select", "CEL001", project, env={"FORCE_COLOR": "1"})
    assert "31m" not in out


def test_progress_bar_on_a_terminal_for_many_files(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("celery_codemods.cli.PROGRESS_MIN_FILES", 2)
    _, _, err = invoke("check", "--select", "CEL001", "--no-cache", project, env={"FORCE_COLOR": "1"})
    assert "reading files" in err


def test_no_progress_bar_off_a_terminal_or_when_quiet(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("celery_codemods.cli.PROGRESS_MIN_FILES", 2)
    assert "reading files" not in invoke("check", "--select", "CEL001", "--no-cache", project)[2]
    quiet = invoke("check", "-q", "--select", "CEL001", "--no-cache", project, env={"FORCE_COLOR": "1"})
    assert quiet[2] == ""


def test_no_progress_bar_for_few_files(project: Path) -> None:
    _, _, err = invoke("check", "--select", "CEL001", "--no-cache", project, env={"FORCE_COLOR": "1"})
    assert "reading files" not in err


def test_bad_config_is_exit_2(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.celery-codemod]\nselekt = ["CEL001"]\n')
    code, _, err = invoke("check", project)
    assert code == 2
    assert "selekt: unknown key" in err


def test_unknown_rule_code_is_exit_2(project: Path) -> None:
    code, _, err = invoke("fix", "--select", "CEL999", project)
    assert code == 2
    assert "unknown rule code or prefix 'CEL999'" in err


def test_missing_path_is_exit_2(tmp_path: Path) -> None:
    code, _, err = invoke("check", tmp_path / "nope")
    assert code == 2
    assert "no such file or directory" in err


def test_report_writes_a_markdown_summary_for_a_pull_request(project: Path) -> None:
    report = project / "report.md"
    code, _, _ = invoke("fix", "--select", "CEL001", "--no-cache", "--report", report, project)
    assert code == 1
    text = report.read_text(encoding="utf-8")
    assert text.startswith("## celery-codemod: 2 fixes in 2 files\n")
    assert "### What changed\n- **CEL001 silent-except** (2)\n" in text
    assert f"  - `{project / 'alpha.py'}:12`: log it with its traceback" in text
    assert "### Left for a person" in text
    assert "(unsafe fix: apply with `--unsafe-fixes`" in text
    assert "### Before deploying\n- [ ] Run the test suite" in text


def test_report_with_diff_says_would_change(project: Path) -> None:
    report = project / "report.md"
    invoke("fix", "--diff", "--select", "CEL001", "--no-cache", "--report", report, project)
    assert "3 files scanned, 2 would change." in report.read_text(encoding="utf-8")
    assert changed(project) == set()


def test_report_that_cannot_be_written_is_exit_2(project: Path) -> None:
    code, _, err = invoke("fix", "--select", "CEL001", "--no-cache", "--report", project / "no" / "r.md", project)
    assert code == 2
    assert "cannot write the report" in err


def test_version_and_rules_and_explain(project: Path) -> None:
    assert invoke("--version")[1].startswith("celery-codemod ")
    code, out, _ = invoke("rules")
    assert code == 0 and "CEL001" in out and "silent-except" in out
    code, out, _ = invoke("explain", "CEL001")
    assert code == 0 and "## Fix safety" in out
    assert invoke("explain", "CEL999")[0] == 2


def test_pre_commit_hooks_run_the_installed_script(project: Path) -> None:
    import tomllib

    import yaml

    root = Path(__file__).resolve().parent.parent
    hooks = {hook["id"]: hook for hook in yaml.safe_load((root / ".pre-commit-hooks.yaml").read_text())}
    assert set(hooks) == {"celery-codemod-check", "celery-codemod-fix"}
    scripts = tomllib.loads((root / "pyproject.toml").read_text())["project"]["scripts"]
    for hook in hooks.values():
        assert (hook["language"], hook["types"], hook["require_serial"]) == ("python", ["python"], True)
        assert hook["entry"].split()[0] in scripts
    files = [str(project / "alpha.py")]  # pre-commit passes the staged files
    check_code, _, _ = invoke(*hooks["celery-codemod-check"]["entry"].split()[1:], "--select", "CEL001", *files)
    assert check_code == 1 and changed(project) == set()
    fix_code, _, _ = invoke(*hooks["celery-codemod-fix"]["entry"].split()[1:], "--select", "CEL001", *files)
    assert fix_code == 0 and changed(project) == {"alpha"}


def test_rules_piped_prints_one_line_per_rule(project: Path) -> None:
    from celery_codemods.rules import all_rules

    code, out, _ = invoke("rules")
    lines = out.splitlines()
    assert code == 0 and len(lines) == len(all_rules())
    first = all_rules()[0]
    assert lines[0].startswith(first.code) and lines[0].endswith(first.summary)
