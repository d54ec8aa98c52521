"""Hostile configuration: every mistake is a ConfigError naming the file and key, and exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from celery_codemods.api import enabled_rules
from celery_codemods.cli import app
from celery_codemods.settings import ConfigError, Settings, load_settings


def config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "pyproject.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_valid_table_is_read(tmp_path: Path) -> None:
    path = config(
        tmp_path,
        '[tool.celery-codemod]\nselect = ["CEL0"]\nmax-retries = 3\nlogger-factory = "get_task_logger"\n'
        'exclude = ["legacy/"]\nunsafe-fixes = true\n',
    )
    settings = load_settings(path)
    assert (settings.select, settings.max_retries, settings.logger_factory) == (("CEL0",), 3, "get_task_logger")
    assert (settings.exclude, settings.unsafe_fixes) == (("legacy/",), True)


def test_no_table_means_defaults(tmp_path: Path) -> None:
    path = config(tmp_path, "[project]\nname = 'x'\n")
    assert load_settings(path) == Settings(config_file=path)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("selct = ['CEL001']", r"\[tool.celery-codemod\] selct: unknown key"),
        ("select = 'CEL001'", r"select: expected a list of strings, got 'CEL001'"),
        ("select = ['CEL001', 3]", r"select: expected a list of strings"),
        ("unsafe-fixes = 'yes'", r"unsafe-fixes: expected true or false, got 'yes'"),
        ("jobs = -1", r"jobs: expected a non-negative integer, got -1"),
        ("max-retries = true", r"max-retries: expected a non-negative integer, got True"),
        ("retry-backoff-max = 1.5", r"retry-backoff-max: expected a non-negative integer, got 1.5"),
        ("logger-factory = 'print'", r"logger-factory: expected one of getLogger, get_task_logger, got 'print'"),
        ("django-settings = 3", r"django-settings: expected a string, got 3"),
        ("exclude = ['ok/', '!']", r"exclude: '!' is not a valid gitignore pattern"),
        ("[tool.celery-codemod.select]\nx = 1", r"select: expected a list of strings, got \{'x': 1\}"),
    ],
)
def test_bad_value_names_file_and_key(tmp_path: Path, body: str, message: str) -> None:
    if not body.startswith("["):
        body = f"[tool.celery-codemod]\n{body}\n"
    path = config(tmp_path, body)
    with pytest.raises(ConfigError, match=message) as raised:
        load_settings(path)
    assert str(raised.value).startswith(str(path))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("tool = 1\n", r"\[tool\] must be a table"),
        ("[tool]\ncelery-codemod = 'on'\n", r"\[tool.celery-codemod\] must be a table"),
        ("[tool.celery-codemod\nselect = 1\n", "not valid TOML"),
    ],
)
def test_malformed_document_is_a_config_error(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(config(tmp_path, body))


def test_undecodable_config_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_bytes(b"[tool.celery-codemod]\nselect = ['\xff']\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(path)


@pytest.mark.parametrize("selector", ["CEL999", "XYZ", "cel001x"])
def test_unknown_rule_code_in_select_or_ignore(selector: str) -> None:
    with pytest.raises(ConfigError, match=f"unknown rule code or prefix '{selector}'"):
        enabled_rules(Settings(select=(selector,)))
    with pytest.raises(ConfigError, match=f"unknown rule code or prefix '{selector}'"):
        enabled_rules(Settings(ignore=(selector,)))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["check", "--select", "CEL001,NOPE"], "unknown rule code or prefix 'NOPE'"),
        (["fix", "--ignore", "CEL9"], "unknown rule code or prefix 'CEL9'"),
        (["check", "--exclude", "!"], "exclude pattern '!' is not valid gitignore syntax"),
        (["check", "--config", "missing.toml"], "missing.toml: no such config file"),
    ],
)
def test_cli_config_errors_exit_2_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.py").write_text("x = 1\n", encoding="utf-8")
    result = CliRunner().invoke(app, [*args, "a.py"])
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_cli_bad_config_file_exits_2_naming_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config(tmp_path, "[tool.celery-codemod]\nmax-retries = 'five'\n")
    (tmp_path / "a.py").write_text("x = 1\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["check", "a.py"])
    assert result.exit_code == 2
    assert "max-retries: expected a non-negative integer, got 'five'" in result.stderr
