from __future__ import annotations

from pathlib import Path

from tests.helpers import check_tree

CODE = "CEL503"


def _findings(tmp_path: Path, files: dict[str, str]) -> list[tuple[str, int, str]]:
    findings = check_tree(tmp_path, files, CODE, preview=True)
    return [(Path(f.path).relative_to(tmp_path).as_posix(), f.line, f.message) for f in findings]


def test_preview_only(tmp_path: Path) -> None:
    files = {
        "shop/__init__.py": "",
        "shop/views.py": "from celery import shared_task\n\n@shared_task\ndef f():\n    pass\n",
    }
    assert check_tree(tmp_path, files, CODE) == []


def test_task_in_views_is_reported(tmp_path: Path) -> None:
    files = {
        "shop/__init__.py": "",
        "shop/views.py": """\
        from celery import shared_task


        @shared_task
        def send_receipt(order_id):
            pass
        """,
    }
    assert _findings(tmp_path, files) == [
        (
            "shop/views.py",
            4,
            "task `send_receipt` is defined in `shop.views`, not in a `tasks` module: `autodiscover_tasks()` "
            "does not import it, so the worker knows it only if something else does",
        )
    ]


def test_tasks_module_package_app_module_and_tests_are_not_reported(tmp_path: Path) -> None:
    task = "from celery import shared_task\n\n\n@shared_task\ndef job():\n    pass\n"
    files = {
        "shop/__init__.py": "",
        "shop/tasks.py": task,
        "shop/tasks/__init__.py": "",
        "shop/tasks/emails.py": task,
        "shop/tests/__init__.py": "",
        "shop/tests/test_jobs.py": task,
        "proj/__init__.py": "",
        "proj/celery.py": """\
        from celery import Celery

        app = Celery("proj")


        @app.task(bind=True)
        def debug_task(self):
            pass
        """,
    }
    assert _findings(tmp_path, files) == []


def test_modules_loaded_by_configuration_or_ready_are_not_reported(tmp_path: Path) -> None:
    task = "from celery import shared_task\n\n\n@shared_task\ndef job():\n    pass\n"
    files = {
        "proj/__init__.py": "",
        "proj/settings.py": 'CELERY_IMPORTS = ("shop.jobs",)\n',
        "shop/__init__.py": "",
        "shop/jobs.py": task,
        "shop/services/__init__.py": "",
        "shop/services/billing.py": task,
        "shop/apps.py": """\
        from django.apps import AppConfig


        class ShopConfig(AppConfig):
            name = "shop"

            def ready(self):
                from .services import billing  # noqa: F401
        """,
        "shop/services/stock.py": task,
    }
    assert [(path, line) for path, line, _ in _findings(tmp_path, files)] == [("shop/services/stock.py", 4)]


def test_include_argument_of_the_app_counts(tmp_path: Path) -> None:
    files = {
        "proj/__init__.py": "",
        "proj/worker.py": 'from celery import Celery\n\napp = Celery("proj", include=["proj.jobs"])\n',
        "proj/jobs.py": "from proj.worker import app\n\n\n@app.task\ndef job():\n    pass\n",
    }
    assert _findings(tmp_path, files) == []
