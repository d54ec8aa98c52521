"""Run the real pipeline on small projects written into a temporary directory."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path
from typing import Any

from celery_codemods.api import analyze, plan_fixes, write_changes
from celery_codemods.findings import Finding
from celery_codemods.settings import Settings


def write_tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


def settings_for(select: str | tuple[str, ...], **options: Any) -> Settings:
    chosen = (select,) if isinstance(select, str) else select
    return Settings(select=chosen, jobs=1, cache=False, **options)


def check_tree(root: Path, files: dict[str, str], select: str | tuple[str, ...], **options: Any) -> list[Finding]:
    write_tree(root, files)
    return list(analyze([root], settings_for(select, **options)).findings)


def fix_tree(root: Path, files: dict[str, str], select: str | tuple[str, ...], **options: Any) -> dict[str, str]:
    """Write ``files``, run ``fix`` once, return every file's new text by name.

    Also asserts what every fix must satisfy: the output parses and a second
    run changes nothing.
    """
    write_tree(root, files)
    settings = settings_for(select, **options)
    _fix_once(root, settings)
    after = {name: (root / name).read_text(encoding="utf-8") for name in files}
    for name, text in after.items():
        ast.parse(text, filename=name)
    _fix_once(root, settings)
    again = {name: (root / name).read_text(encoding="utf-8") for name in files}
    assert again == after, "a second fix changed the files again"
    return after


def _fix_once(root: Path, settings: Settings) -> None:
    plan = plan_fixes(analyze([root], settings))
    assert not plan.errors, plan.errors
    _, errors = write_changes(plan.changes)
    assert not errors, errors


def assert_fixes(
    root: Path, before: str, after: str, select: str | tuple[str, ...], name: str = "tasks.py", **options: Any
) -> None:
    result = fix_tree(root, {name: before}, select, **options)
    assert result[name] == textwrap.dedent(after)


def assert_unchanged(
    root: Path, source: str, select: str | tuple[str, ...], name: str = "tasks.py", **options: Any
) -> None:
    result = fix_tree(root, {name: source}, select, **options)
    assert result[name] == textwrap.dedent(source)
