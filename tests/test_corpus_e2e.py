"""End to end on the bundled legacy project: fix a copy, then run its own suite.

The corpus suite passes before the fix (pickle, as legacy projects run) and
must pass after it, also under JSON, where kombu refuses model instances: a
call site the fix missed fails there. Look-alikes (marked ``# look-alike:``)
must come out byte for byte the same.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from celery_codemods.cli import app

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"

pytestmark = pytest.mark.slow


def _copy_corpus(tmp_path: Path) -> Path:
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS, target, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache", "*.sqlite3"))
    return target


def _run_corpus_suite(project: Path, serializer: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CORPUS_SERIALIZER": serializer}
    env.pop("COV_CORE_SOURCE", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:cov"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def _snapshot(project: Path) -> dict[str, str]:
    return {
        str(path.relative_to(project)): path.read_text(encoding="utf-8")
        for path in sorted(project.rglob("*.py"))
        if "__pycache__" not in path.parts
    }


def _look_alike_blocks(text: str) -> list[str]:
    """Each ``# look-alike:`` comment with the lines after it, up to a blank line or the next marker."""
    blocks = []
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if re.search(r"#\s*look-alike:", line):
            block = [line]
            for following in lines[index + 1 :]:
                if not following.strip() or re.search(r"#\s*(look-alike|antipattern):", following):
                    break
                block.append(following)
            blocks.append("\n".join(block))
    return blocks


@pytest.fixture(scope="module")
def fixed_corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], dict[str, str]]:
    project = _copy_corpus(tmp_path_factory.mktemp("e2e"))
    before = _snapshot(project)
    result = CliRunner().invoke(app, ["fix", "--jobs", "1", str(project)])
    assert result.exit_code in (0, 1), result.output
    return project, before, _snapshot(project)


def test_corpus_suite_passes_before_the_fix(tmp_path: Path) -> None:
    result = _run_corpus_suite(_copy_corpus(tmp_path), "pickle")
    assert result.returncode == 0, result.stdout + result.stderr


def test_fix_rewrites_the_corpus(fixed_corpus: tuple[Path, dict[str, str], dict[str, str]]) -> None:
    _, before, after = fixed_corpus
    changed = [name for name in before if before[name] != after[name]]
    assert any(name.endswith("tasks.py") for name in changed), changed


def test_second_fix_changes_nothing(fixed_corpus: tuple[Path, dict[str, str], dict[str, str]]) -> None:
    project, _, after = fixed_corpus
    result = CliRunner().invoke(app, ["fix", "--diff", "--jobs", "1", str(project)])
    assert "+++ " not in result.output, result.output
    assert _snapshot(project) == after


def test_nothing_safely_fixable_is_left(fixed_corpus: tuple[Path, dict[str, str], dict[str, str]]) -> None:
    project, _, _ = fixed_corpus
    result = CliRunner().invoke(app, ["check", "--jobs", "1", str(project)])
    assert "[*]" not in result.output, result.output


def test_look_alikes_are_untouched(fixed_corpus: tuple[Path, dict[str, str], dict[str, str]]) -> None:
    _, before, after = fixed_corpus
    checked = 0
    for name, text in before.items():
        for block in _look_alike_blocks(text):
            assert block in after[name], f"{name}: look-alike changed:\n{block}"
            checked += 1
    assert checked >= 10, "the corpus should mark its look-alikes"


@pytest.mark.parametrize("serializer", ["pickle", "json"])
def test_corpus_suite_passes_after_the_fix(
    fixed_corpus: tuple[Path, dict[str, str], dict[str, str]], serializer: str
) -> None:
    project, _, _ = fixed_corpus
    result = _run_corpus_suite(project, serializer)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
