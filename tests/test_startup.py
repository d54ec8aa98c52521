"""`check` stays fast: it never loads LibCST, which only the rewrite pass needs."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_check_does_not_load_libcst(tmp_path: Path) -> None:
    source = (
        "from celery import shared_task\n\n@shared_task\ndef job(x):\n"
        "    try:\n        x()\n    except:\n        pass\n"
    )
    # every rule's check runs on this task: none of them may need LibCST
    (tmp_path / "tasks.py").write_text(source)
    script = textwrap.dedent(
        f"""
        import sys
        from typer.testing import CliRunner
        from celery_codemods.cli import app
        result = CliRunner().invoke(app, ["check", "--no-cache", {str(tmp_path)!r}])
        assert result.exit_code == 1, result.output
        loaded = "libcst._nodes.base" in sys.modules
        print("loaded" if loaded else "deferred")
        """
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.stdout.strip() == "deferred", result.stdout + result.stderr


def test_a_libcst_submodule_imported_first_loads_the_real_package() -> None:
    script = (
        "import celery_codemods, sys\n"
        "assert type(sys.modules['libcst']).__name__ == '_DeferredModule'\n"
        "from libcst._nodes.expression import ExpressionPosition\n"
        "from libcst.metadata import PositionProvider\n"
        "assert hasattr(sys.modules['libcst._nodes'], 'whitespace'), 'a package body ran twice'\n"
        "import libcst\n"
        "assert libcst.parse_module('x = 1\\n').code == 'x = 1\\n'\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.stdout.strip() == "ok", result.stdout + result.stderr


def test_the_placeholder_shows_the_real_contents_once_loaded() -> None:
    script = (
        "import celery_codemods, sys\n"
        "import libcst\n"
        "assert 'Module' not in dir(libcst)\n"
        "libcst.Module\n"
        "assert 'Module' in dir(libcst) and libcst.Module is sys.modules['libcst'].Module\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.stdout.strip() == "ok", result.stdout + result.stderr


def _loaded_after_check(tmp_path: Path, extra: list[str], heavy: list[str], env: dict[str, str] | None = None) -> str:
    """Run `check` on a one-task project in a fresh interpreter; which of ``heavy`` it imported, or 'light'."""
    tasks = tmp_path / "tasks.py"
    if not tasks.exists():  # rewriting it would be a change the result cache must notice
        tasks.write_text("from celery import shared_task\n\n@shared_task\ndef job():\n    pass\n")
    script = (
        "import sys, runpy\n"
        f"sys.argv = ['celery-codemod', 'check', '-q', *{extra!r}, {str(tmp_path)!r}]\n"
        "try:\n    runpy.run_module('celery_codemods', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        f"print(' '.join(name for name in {heavy!r} if name in sys.modules) or 'light')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False, env=env
    )
    lines = result.stdout.strip().splitlines()
    assert lines, result.stderr
    return lines[-1]


def test_check_does_not_load_pydantic(tmp_path: Path) -> None:
    """A CLI library that validates options with pydantic costs a seventh of a second per run."""
    assert _loaded_after_check(tmp_path, ["--no-cache"], ["pydantic"]) == "light"


def test_a_warm_check_loads_neither_the_rules_nor_the_index(tmp_path: Path) -> None:
    """Nothing changed since the last run: the result cache answers, the rules and facts stay unimported."""
    heavy = ["celery_codemods.api", "celery_codemods.rules.silent_except", "celery_codemods.index.facts"]
    env = {**os.environ, "CELERY_CODEMOD_CACHE_DIR": str(tmp_path / "cache")}
    assert _loaded_after_check(tmp_path, [], heavy, env) != "light", "the first run analyses"
    assert _loaded_after_check(tmp_path, [], heavy, env) == "light"
