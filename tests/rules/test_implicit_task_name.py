from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest
from celery import Celery

from celery_codemods.api import enabled_rules
from celery_codemods.settings import Settings
from tests.helpers import assert_unchanged, check_tree, fix_tree

CODE = "CEL504"


def test_off_by_default() -> None:
    assert CODE not in enabled_rules(Settings())
    assert CODE in enabled_rules(Settings(select=(CODE,)))


def test_name_added_is_the_one_celery_derives_now(tmp_path: Path) -> None:
    files = {
        "mail/__init__.py": "",
        "mail/tasks.py": """\
        from celery import shared_task
        from proj.celery import app


        @shared_task
        def send_digest(user_id):
            pass


        @app.task(acks_late=True)
        def send_welcome(user_id):
            pass


        def _purge():
            pass


        purge = app.task(_purge)
        """,
    }
    result = fix_tree(tmp_path, files, CODE)
    assert result["mail/tasks.py"] == (
        "from celery import shared_task\n"
        "from proj.celery import app\n"
        "\n\n"
        '@shared_task(name="mail.tasks.send_digest")\n'
        "def send_digest(user_id):\n"
        "    pass\n"
        "\n\n"
        '@app.task(acks_late=True, name="mail.tasks.send_welcome")\n'
        "def send_welcome(user_id):\n"
        "    pass\n"
        "\n\n"
        "def _purge():\n"
        "    pass\n"
        "\n\n"
        'purge = app.task(name="mail.tasks._purge")(_purge)\n'
    )


def test_name_matches_celery_registration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Import the module the way a worker does: Celery registers it under the name the finding gives."""
    files = {
        "billing/__init__.py": "",
        "billing/jobs.py": "from celery import shared_task\n\n\n@shared_task\ndef charge():\n    pass\n",
    }
    findings = check_tree(tmp_path, files, CODE)
    monkeypatch.syspath_prepend(str(tmp_path))
    app = Celery("pinned", set_as_current=False)
    importlib.import_module("billing.jobs")
    try:
        app.finalize()
        assert "billing.jobs.charge" in app.tasks
    finally:
        for module in ("billing.jobs", "billing"):
            sys.modules.pop(module, None)
    assert [f.message for f in findings] == [
        "task `charge` is registered as `billing.jobs.charge`, derived from where it lives: moving or renaming it "
        "orphans queued messages and beat entries; pin it with `name=`"
    ]


def test_composes_with_bind_self(tmp_path: Path) -> None:
    result = fix_tree(
        tmp_path,
        {
            "tasks.py": """\
            from celery import shared_task


            @shared_task
            def sync(order_id):
                sync.retry()
            """
        },
        ("CEL201", CODE),
    )
    assert result["tasks.py"] == (
        "from celery import shared_task\n\n\n"
        '@shared_task(bind=True, name="tasks.sync")\n'
        "def sync(self, order_id):\n"
        "    self.retry()\n"
    )


def test_explicit_name_and_hidden_options_are_left_alone(tmp_path: Path) -> None:
    assert_unchanged(
        tmp_path,
        """\
        from celery import shared_task

        OPTIONS = {"name": "x.y"}


        @shared_task(name="mail.send")
        def send():
            pass


        @shared_task(**OPTIONS)
        def hidden():
            pass
        """,
        CODE,
    )


def test_project_wrapper_and_unknown_inner_decorator_are_left_alone(tmp_path: Path) -> None:
    assert_unchanged(
        tmp_path,
        """\
        from celery import shared_task
        from proj.utils import timed


        def instrumented_task(**options):
            return shared_task(**options)


        @instrumented_task(queue="low")
        def wrapped():
            pass


        @shared_task
        @timed
        def decorated():
            pass
        """,
        CODE,
    )


def test_method_in_a_class_is_left_alone(tmp_path: Path) -> None:
    assert_unchanged(
        tmp_path,
        """\
        from celery import shared_task


        class Jobs:
            @shared_task
            def run():
                pass
        """,
        CODE,
    )


def test_atomic_under_the_task_decorator_keeps_the_name(tmp_path: Path) -> None:
    findings = check_tree(
        tmp_path,
        {
            "tasks.py": """\
            from celery import shared_task
            from django.db import transaction


            @shared_task
            @transaction.atomic
            def charge():
                pass
            """
        },
        CODE,
    )
    assert [(f.line, f.fix is not None) for f in findings] == [(5, True)]
