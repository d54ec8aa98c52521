"""The result cache: a warm `check` prints exactly what a cold one does, and anything that matters invalidates it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from celery_codemods import api
from celery_codemods.cli import app
from tests.helpers import write_tree
from tests.test_review import BARE, TASK

runner = CliRunner()

FORMATS = (
    ("--output-format", "text"),
    ("--output-format", "github"),
    ("--statistics",),
    ("--statistics", "--output-format", "json"),
)


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "cache"
    monkeypatch.setenv("CELERY_CODEMOD_CACHE_DIR", str(directory))
    return directory


@pytest.fixture
def project(tmp_path: Path, cache_dir: Path) -> Path:
    root = tmp_path / "project"
    write_tree(root, {"alpha.py": TASK.format(name="alpha"), "loose.py": BARE})
    return root


def check(*args: str | Path) -> tuple[int, str, str]:
    result = runner.invoke(app, ["check", *(str(arg) for arg in args)], env={"NO_COLOR": ""})
    return result.exit_code, result.stdout, result.stderr


class _Analyses:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        real = api.analyze

        def counted(*args: object, **kwargs: object) -> api.Analysis:
            self.count += 1
            return real(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(api, "analyze", counted)


@pytest.fixture
def analyses(monkeypatch: pytest.MonkeyPatch) -> _Analyses:
    return _Analyses(monkeypatch)


@pytest.mark.parametrize("options", FORMATS)
def test_a_warm_check_prints_byte_for_byte_what_a_cold_one_does(
    project: Path, analyses: _Analyses, options: tuple[str, ...]
) -> None:
    cold = check(*options, "--no-cache", project)
    first = check(*options, project)
    warm = check(*options, project)
    assert cold == first == warm
    assert cold[0] == 1 and "CEL001" in cold[1]
    assert analyses.count == 2, "the third run is answered from the cache"


def test_json_plans_the_fixes_every_time(project: Path, analyses: _Analyses) -> None:
    first = check("--output-format", "json", project)
    second = check("--output-format", "json", project)
    assert first == second
    assert '"diff"' in first[1]
    assert analyses.count == 2


def test_no_cache_reads_and_writes_no_result(project: Path, cache_dir: Path, analyses: _Analyses) -> None:
    check("--no-cache", project)
    check("--no-cache", project)
    assert analyses.count == 2
    assert not list(cache_dir.glob("check-*.pickle"))


def test_a_touched_file_is_analysed_again(project: Path, analyses: _Analyses) -> None:
    check(project)
    info = (project / "alpha.py").stat()
    os.utime(project / "alpha.py", ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))
    check(project)
    assert analyses.count == 2


def test_an_edited_file_shows_its_new_findings(project: Path) -> None:
    _, before, _ = check(project)
    (project / "alpha.py").write_text(TASK.format(name="alpha").replace("        pass\n", "        raise\n"))
    _, after, _ = check(project)
    assert "alpha.py:12:5: CEL001" in before
    assert "alpha.py:12:5: CEL001" not in after
    assert after == check("--no-cache", project)[1]


def test_a_new_file_is_found(project: Path) -> None:
    check(project)
    write_tree(project, {"beta.py": TASK.format(name="beta")})
    _, out, _ = check(project)
    assert "beta.py" in out


def test_a_removed_file_is_forgotten(project: Path) -> None:
    check(project)
    (project / "alpha.py").unlink()
    _, out, _ = check(project)
    assert "alpha.py" not in out
    assert "loose.py" in out


def test_an_edited_settings_file_is_read_again(project: Path, analyses: _Analyses) -> None:
    config = project / "pyproject.toml"
    config.write_text('[tool.celery-codemod]\nselect = ["CEL001"]\n')
    _, before, _ = check(project)
    config.write_text('[tool.celery-codemod]\nselect = ["CEL001"]\nignore = ["CEL001"]\n')
    _, after, _ = check(project)
    assert "CEL001" in before
    assert after == ""
    assert analyses.count == 2


def test_another_selection_is_analysed_again(project: Path, analyses: _Analyses) -> None:
    _, everything, _ = check(project)
    _, selected, _ = check("--select", "CEL201", project)
    assert "CEL001" in everything
    assert "CEL001" not in selected
    check("--unsafe-fixes", project)
    assert analyses.count == 3


def test_an_edited_requirement_file_is_read_again(project: Path, analyses: _Analyses) -> None:
    requirements = project / "requirements.txt"
    requirements.write_text("celery==5.3\n")
    check(project)
    requirements.write_text("celery==5.4.0\n")
    check(project)
    assert analyses.count == 2


def test_a_new_requirement_file_is_read(project: Path, analyses: _Analyses) -> None:
    check(project)
    (project / "requirements-dev.txt").write_text("celery==5.4.0\n")
    check(project)
    assert analyses.count == 2


@pytest.mark.parametrize("garbage", [b"", b"not a pickle", b"\x80\x05K\x01."])
def test_a_corrupt_cache_file_is_ignored(project: Path, cache_dir: Path, analyses: _Analyses, garbage: bytes) -> None:
    expected = check(project)
    for file in cache_dir.glob("check-*.pickle"):
        file.write_bytes(garbage)
    assert check(project) == expected
    assert analyses.count == 2
