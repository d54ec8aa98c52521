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
