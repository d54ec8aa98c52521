"""``--django-settings``: the model registry from ``django.setup()``, and never importing without it.

Django can be set up once per process, so every run that sets it up is a
subprocess (the same interpreter, this tree on ``sys.path``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from celery_codemods.api import analyze
from celery_codemods.index.django_models import project_roots
from celery_codemods.settings import Settings
from tests.helpers import write_tree

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "corpus"

pytestmark = pytest.mark.slow

# Prints {"static": ..., "django": ...}: each registry's models as (abstract, proxy, pk type), and its user model.
REGISTRIES = """
import json, sys
from pathlib import Path
from celery_codemods.api import analyze
from celery_codemods.rules._pass_ids import model_registry
from celery_codemods.settings import Settings

def describe(django_settings):
    settings = Settings(select=("CEL1",), jobs=1, cache=False, django_settings=django_settings)
    analysis = analyze([Path(sys.argv[1])], settings)
    registry = model_registry(analysis.project)
    models = {
        name: [m.abstract, m.proxy, m.pk_type]
        for name, m in registry.models.items()
        if m.in_project
    }
    return {"models": models, "user": registry.user_model, "findings": [f.message for f in analysis.findings]}

print(json.dumps({"static": describe(None), "django": describe("shop.settings")}))
"""


def _python(code: str, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=120
    )


def _cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return _python("from celery_codemods.cli import main; main()", *args, cwd=cwd)


def _copy_corpus(tmp_path: Path) -> Path:
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS, target, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache", "*.sqlite3"))
    return target


def test_django_registry_matches_the_static_one_on_the_corpus(tmp_path: Path) -> None:
    project = _copy_corpus(tmp_path)
    result = _python(REGISTRIES, str(project))
    assert result.returncode == 0, result.stderr
    registries = json.loads(result.stdout)
    static, django = registries["static"], registries["django"]
    assert django["models"]["orders.models.Order"] == [False, False, "int"]
    assert django["models"]["orders.models.PaidOrder"] == [False, True, "int"]
    assert django["models"]["notifications.models.Notification"] == [False, False, "uuid.UUID"]
    assert django["models"]["shop.basemodels.TimeStamped"] == [True, False, "int"]
    assert django["user"] == static["user"] == "django.contrib.auth.models.User"
    assert django["models"] == static["models"]
    assert django["findings"] == static["findings"]
    assert len(django["findings"]) >= 10


def test_cli_option_gives_the_same_fix(tmp_path: Path) -> None:
    static_copy = _copy_corpus(tmp_path / "static")
    django_copy = _copy_corpus(tmp_path / "django")
    static = _cli("fix", "--diff", "--select", "CEL1", "--no-cache", ".", cwd=static_copy)
    django = _cli(
        "fix", "--diff", "--select", "CEL1", "--no-cache", "--django-settings", "shop.settings", ".", cwd=django_copy
    )
    assert static.returncode == django.returncode == 1, django.stderr
    assert "def send_receipt(order_id: int):" in django.stdout
    assert django.stdout == static.stdout


def test_settings_module_that_does_not_import_is_a_clear_error(tmp_path: Path) -> None:
    project = _copy_corpus(tmp_path)
    (project / "shop" / "broken_settings.py").write_text("from shop.settings import *\nimport not_installed_anywhere\n")
    result = _cli("check", "--no-cache", "--django-settings", "shop.broken_settings", str(project))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "--django-settings shop.broken_settings: the settings module does not import" in result.stderr
    assert "ModuleNotFoundError: No module named 'not_installed_anywhere'" in result.stderr
    assert f"Project roots put on sys.path: {project}" in result.stderr
    assert "leave out --django-settings" in result.stderr
    assert result.stdout == ""


def test_setup_failure_is_a_clear_error(tmp_path: Path) -> None:
    project = _copy_corpus(tmp_path)
    (project / "shop" / "noapp_settings.py").write_text(
        "from shop.settings import *\nINSTALLED_APPS = [*INSTALLED_APPS, 'no_such_app']\n"
    )
    result = _cli("check", "--no-cache", "--django-settings", "shop.noapp_settings", str(project))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "--django-settings shop.noapp_settings: django.setup() failed: ModuleNotFoundError" in result.stderr
    assert "no_such_app" in result.stderr
    assert "python manage.py check" in result.stderr


def test_config_key_sets_it_up_too(tmp_path: Path) -> None:
    project = _copy_corpus(tmp_path)
    (project / "pyproject.toml").write_text('[tool.celery-codemod]\ndjango-settings = "shop.nosuch"\n')
    result = _cli("check", "--no-cache", str(project))
    assert result.returncode == 2
    assert "--django-settings shop.nosuch: the settings module does not import" in result.stderr


BOOM = """\
from pathlib import Path

Path(__file__).with_name("imported.flag").write_text("imported")
raise RuntimeError("project code was imported")
"""

BOOM_PROJECT = {
    "boom/__init__.py": BOOM,
    "boom/settings.py": BOOM,
    "boom/models.py": BOOM
    + textwrap.dedent(
        """\
        from django.db import models


        class Order(models.Model):
            total = models.IntegerField()
        """
    ),
    "boom/tasks.py": BOOM
    + textwrap.dedent(
        """\
        from celery import shared_task

        from boom.models import Order


        @shared_task
        def send_receipt(order):
            return order.total


        def view(pk):
            send_receipt.delay(Order.objects.get(pk=pk))
        """
    ),
}


def test_without_the_option_no_project_code_is_imported(tmp_path: Path) -> None:
    write_tree(tmp_path, BOOM_PROJECT)
    (tmp_path / "pyproject.toml").write_text("[tool.celery-codemod]\nselect = ['CEL1']\n")
    for command, exit_code in ((["check"], 1), (["fix", "--diff"], 1), (["fix"], 0)):
        result = _cli(*command, "--no-cache", "--jobs", "2", ".", cwd=tmp_path)
        assert result.returncode == exit_code, result.stderr
        assert not (tmp_path / "boom" / "imported.flag").exists()
    assert "order_id: int" in (tmp_path / "boom" / "tasks.py").read_text()
    findings = analyze([tmp_path], Settings(select=("CEL1",), jobs=1, cache=False)).findings
    assert not any(name == "boom" or name.startswith("boom.") for name in sys.modules)
    assert not (tmp_path / "boom" / "imported.flag").exists()
    assert findings == ()  # already fixed above


def test_project_roots_are_the_config_directory_and_each_top_package_parent(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "src/app/__init__.py": "",
            "src/app/models.py": "",
            "src/app/sub/__init__.py": "",
            "src/app/sub/tasks.py": "",
            "tools/script.py": "",
            "pyproject.toml": "",
        },
    )
    files = [tmp_path / p for p in ("src/app/__init__.py", "src/app/sub/tasks.py", "tools/script.py")]
    roots = project_roots(tmp_path / "pyproject.toml", files)
    assert roots == [tmp_path.resolve(), tmp_path / "src"]
