from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from celery_codemods.findings import Safety
from tests.helpers import check_tree, fix_tree

CODE = "CEL502"

CELERY_LAYOUT = {
    "shop/__init__.py": "from .celery import app as celery_app\n\n__all__ = ('celery_app',)\n",
    "shop/celery.py": "from celery import Celery\n\napp = Celery('shop')\napp.autodiscover_tasks()\n",
    "notifications/__init__.py": "",
    "notifications/apps.py": (
        "from django.apps import AppConfig\n\n\nclass NotificationsConfig(AppConfig):\n    name = 'notifications'\n"
    ),
}


def _fix(tmp_path: Path, tasks: str, select: str | tuple[str, ...] = CODE, **extra: Any) -> str:
    """Fix ``notifications/tasks.py`` in the Django layout; return its new text."""
    files = {**CELERY_LAYOUT, **extra.pop("files", {}), "notifications/tasks.py": tasks}
    return fix_tree(tmp_path, files, select, **extra)["notifications/tasks.py"]


def _check(tmp_path: Path, tasks: str, files: dict[str, str] | None = None) -> list[Any]:
    return check_tree(tmp_path, {**CELERY_LAYOUT, **(files or {}), "notifications/tasks.py": tasks}, CODE)


def test_bare_decorator_becomes_shared_task_and_the_app_import_goes(tmp_path: Path) -> None:
    before = """\
    from shop.celery import app


    @app.task
    def send_digest(user_id):
        pass
    """
    after = """\
    from celery import shared_task


    @shared_task
    def send_digest(user_id):
        pass
    """
    assert _fix(tmp_path, textwrap.dedent(before)) == textwrap.dedent(after)


def test_options_alias_and_existing_shared_task_import_are_kept(tmp_path: Path) -> None:
    before = """\
    from celery import group, shared_task
    from shop.celery import app as celery_app


    @celery_app.task(acks_late=True, ignore_result=True)
    def send_digest(user_id):
        pass


    @shared_task
    def fan_out(ids):
        group(send_digest.s(i) for i in ids)()
    """
    after = """\
    from celery import group, shared_task


    @shared_task(acks_late=True, ignore_result=True)
    def send_digest(user_id):
        pass


    @shared_task
    def fan_out(ids):
        group(send_digest.s(i) for i in ids)()
    """
    assert _fix(tmp_path, textwrap.dedent(before)) == textwrap.dedent(after)


def test_composes_with_bind_and_retry_rules_on_the_same_decorator(tmp_path: Path) -> None:
    before = """\
    from django.db.utils import OperationalError

    from shop.celery import app


    @app.task
    def send_digest(user_id):
        if user_id is None:
            send_digest.retry(countdown=5)


    @app.task(autoretry_for=(OperationalError,))
    def purge(user_id):
        pass
    """
    after = """\
    from django.db.utils import OperationalError
    from celery import shared_task


    @shared_task(bind=True, max_retries=5)
    def send_digest(self, user_id):
        if user_id is None:
            self.retry(countdown=5)


    @shared_task(autoretry_for=(OperationalError,), default_retry_delay=10, max_retries=5)
    def purge(user_id):
        pass
    """
    result = _fix(tmp_path, textwrap.dedent(before), ("CEL2", "CEL3", CODE))
    assert result == textwrap.dedent(after)


def test_composes_with_implicit_task_name(tmp_path: Path) -> None:
    before = """\
    from shop.celery import app


    @app.task(acks_late=True)
    def send_digest(user_id):
        pass
    """
    after = """\
    from celery import shared_task


    @shared_task(acks_late=True, name="notifications.tasks.send_digest")
    def send_digest(user_id):
        pass
    """
    assert _fix(tmp_path, textwrap.dedent(before), ("CEL504", CODE)) == textwrap.dedent(after)


def test_app_found_through_models_package_in_a_nested_tasks_package(tmp_path: Path) -> None:
    files = {
        **CELERY_LAYOUT,
        "billing/__init__.py": "",
        "billing/models/__init__.py": "",
        "billing/tasks/__init__.py": "",
        "billing/tasks/invoices.py": (
            "from shop.celery import app\n\n\n@app.task\ndef send_invoice(invoice_id):\n    pass\n"
        ),
    }
    findings = check_tree(tmp_path, files, CODE)
    assert [(f.path.endswith("invoices.py"), f.line) for f in findings] == [(True, 4)]
    assert "Django app `billing`" in findings[0].message
    assert findings[0].fix is not None and findings[0].fix.safety is Safety.SAFE


def test_without_the_start_up_import_the_fix_is_unsafe(tmp_path: Path) -> None:
    tasks = "from shop.celery import app\n\n\n@app.task\ndef send_digest(user_id):\n    pass\n"
    no_import = {"shop/__init__.py": ""}
    findings = _check(tmp_path / "check", tasks, no_import)
    assert len(findings) == 1 and findings[0].fix is not None
    assert findings[0].fix.safety is Safety.UNSAFE
    assert _fix(tmp_path / "safe", tasks, files=no_import) == tasks
    fixed = _fix(tmp_path / "unsafe", tasks, files=no_import, unsafe_fixes=True)
    assert fixed == "from celery import shared_task\n\n\n@shared_task\ndef send_digest(user_id):\n    pass\n"


def test_with_a_second_celery_app_the_fix_is_unsafe(tmp_path: Path) -> None:
    tasks = "from shop.celery import app\n\n\n@app.task\ndef send_digest(user_id):\n    pass\n"
    second = {"shop/reports.py": "from celery import Celery\n\nreports = Celery('reports')\n"}
    findings = _check(tmp_path, tasks, second)
    assert len(findings) == 1 and findings[0].fix is not None
    assert findings[0].fix.safety is Safety.UNSAFE


def test_a_test_suites_own_app_does_not_make_it_unsafe(tmp_path: Path) -> None:
    tasks = "from shop.celery import app\n\n\n@app.task\ndef send_digest(user_id):\n    pass\n"
    test_app = {"tests/__init__.py": "", "tests/conftest.py": "from celery import Celery\n\napp = Celery('t')\n"}
    findings = _check(tmp_path, tasks, test_app)
    assert len(findings) == 1 and findings[0].fix is not None
    assert findings[0].fix.safety is Safety.SAFE


def test_finding_names_the_task_the_app_and_the_django_app(tmp_path: Path) -> None:
    tasks = "from shop.celery import app\n\n\n@app.task(acks_late=True)\ndef send_digest(user_id):\n    pass\n"
    [finding] = _check(tmp_path, tasks)
    assert (finding.code, finding.line, finding.col) == (CODE, 4, 1)
    assert finding.message == (
        "task `send_digest` in the Django app `notifications` is registered with `app.task` of "
        "`shop.celery.app`: use `@shared_task`, so the app does not import the project's Celery module"
    )


# Look-alikes: reported without a fix, and left as they are.


def _assert_reported_unchanged(tmp_path: Path, tasks: str, reason: str, files: dict[str, str] | None = None) -> None:
    findings = _check(tmp_path / "check", tasks, files)
    assert findings, "expected a finding"
    assert all(f.fix is None and f"not rewritten: {reason}" in f.message for f in findings), findings
    assert _fix(tmp_path / "fix", tasks, files=files or {}, unsafe_fixes=True) == tasks


def test_registration_call_is_reported_not_rewritten(tmp_path: Path) -> None:
    tasks = "from shop.celery import app\n\n\ndef purge(user_id):\n    pass\n\n\npurge = app.task(purge)\n"
    # No ``@app.task`` at all: the module is not even looked at.
    assert _check(tmp_path / "plain", tasks) == []
    with_decorator = tasks + "\n\n@app.task\ndef other():\n    pass\n"
    findings = _check(tmp_path / "mixed", with_decorator)
    assert [f.fix for f in findings] == [None, None]
    assert "`app.task(func)` registers it" in findings[0].message
    assert _fix(tmp_path / "fix", with_decorator, unsafe_fixes=True) == with_decorator


def test_app_used_for_more_than_the_decorator_is_reported(tmp_path: Path) -> None:
    tasks = """\
    from shop.celery import app


    @app.task
    def send_digest(user_id):
        app.send_task("mail.send", args=(user_id,))
    """
    _assert_reported_unchanged(tmp_path, textwrap.dedent(tasks), "`app` is used for more than `@app.task`")


def test_app_rebound_in_the_module_is_reported(tmp_path: Path) -> None:
    tasks = """\
    from shop.celery import app

    if True:
        from shop.celery import app


    @app.task
    def send_digest(user_id):
        pass
    """
    _assert_reported_unchanged(tmp_path, textwrap.dedent(tasks), "`app` is used for more than `@app.task`")


def test_method_in_a_class_is_reported(tmp_path: Path) -> None:
    tasks = """\
    from shop.celery import app


    class Jobs:
        @app.task
        def send_digest(user_id):
            pass
    """
    _assert_reported_unchanged(tmp_path, textwrap.dedent(tasks), "it is defined in a class")


def test_shared_task_naming_something_else_is_reported(tmp_path: Path) -> None:
    tasks = """\
    from shop.celery import app
    from shop.taskutils import shared_task


    @app.task
    def send_digest(user_id):
        pass
    """
    _assert_reported_unchanged(tmp_path, textwrap.dedent(tasks), "`shared_task` names something else")


def test_app_imported_from_the_tasks_module_elsewhere_is_reported(tmp_path: Path) -> None:
    tasks = "from shop.celery import app\n\n\n@app.task\ndef send_digest(user_id):\n    pass\n"
    importer = {"notifications/views.py": "from notifications.tasks import app, send_digest\n"}
    _assert_reported_unchanged(tmp_path, tasks, "other modules import `notifications.tasks.app`", importer)


def test_dotted_app_decorator_is_reported(tmp_path: Path) -> None:
    tasks = "import shop.celery\n\n\n@shop.celery.app.task\ndef send_digest(user_id):\n    pass\n"
    _assert_reported_unchanged(tmp_path, tasks, "the decorator is written `shop.celery.app.task`")


# Look-alikes: not reported at all.


def _assert_not_reported(tmp_path: Path, files: dict[str, str]) -> None:
    tree = {**CELERY_LAYOUT, **files}
    assert check_tree(tmp_path / "check", tree, CODE) == []
    after = fix_tree(tmp_path / "fix", tree, CODE, unsafe_fixes=True)
    assert after == {name: textwrap.dedent(text) for name, text in tree.items()}


def test_app_inside_the_project_package_is_not_reported(tmp_path: Path) -> None:
    inner_app = {
        "shop/orders/__init__.py": "",
        "shop/orders/models.py": "",
        "shop/orders/tasks.py": "from shop.celery import app\n\n\n@app.task\ndef ship(order_id):\n    pass\n",
    }
    _assert_not_reported(tmp_path, inner_app)


def test_the_celery_module_itself_is_not_reported(tmp_path: Path) -> None:
    celery_module = (
        "from celery import Celery\n\napp = Celery('shop')\n\n\n@app.task(bind=True)\ndef debug_task(self):\n    pass\n"
    )
    _assert_not_reported(tmp_path, {"shop/models.py": "", "shop/celery.py": celery_module})


def test_module_outside_any_django_app_is_not_reported(tmp_path: Path) -> None:
    plain_package = {
        "jobs/__init__.py": "",
        "jobs/tasks.py": "from shop.celery import app\n\n\n@app.task\ndef ship(order_id):\n    pass\n",
    }
    _assert_not_reported(tmp_path, plain_package)


def test_shared_task_and_project_wrapper_named_task_are_not_reported(tmp_path: Path) -> None:
    files = {
        "shop/taskutils.py": (
            "from celery import shared_task\n\n\ndef task(**opts):\n"
            "    def wrap(func):\n        return shared_task(**opts)(func)\n\n    return wrap\n"
        ),
        "notifications/tasks.py": (
            "from celery import shared_task\n\nfrom shop import taskutils\n\n\n"
            "@shared_task\ndef send_digest(user_id):\n    pass\n\n\n"
            "@taskutils.task(acks_late=True)\ndef purge(user_id):\n    pass\n"
        ),
    }
    _assert_not_reported(tmp_path, files)


def test_suppression_comment_is_honoured(tmp_path: Path) -> None:
    tasks = "from shop.celery import app\n\n\n@app.task  # noqa: CEL502\ndef send_digest(user_id):\n    pass\n"
    assert _check(tmp_path / "check", tasks) == []
    assert _fix(tmp_path / "fix", tasks) == tasks


@pytest.mark.parametrize(
    "source",
    [
        "from shop.celery import app\n\n\n@app.task\ndef a():\n    pass\n\n\n"
        "@app.task(bind=True)\ndef b(self):\n    pass\n",
        "from shop.celery import app\n\n\n@app.task\ndef a():\n    return app.conf\n",
        "from shop.celery import app\n\napp = app\n\n\n@app.task\ndef a():\n    pass\n",
        "from shop.celery import app as celery_app\n\n\n@celery_app.task\ndef a():\n    pass\n",
        "def f():\n    from shop.celery import app\n\n\n@app.task\ndef a():\n    pass\n",
        # Full-width letters spell `app` too (Python reads identifiers NFKC-normalised): a use.
        "from shop.celery import app\n\n\n@app.task\ndef a():\n    return \uff41\uff50\uff50.conf\n",
    ],
)
def test_decorator_only_imports_read_from_the_text_agree_with_a_walk(source: str) -> None:
    """When names appear only in their decorators and once more, the text answers; else a walk does."""
    import ast

    from celery_codemods.rules.app_task_in_app import _decorator_only_imports

    tree = ast.parse(source)
    from_text = list(_decorator_only_imports(tree, source))
    if not source.isascii():
        assert from_text == []  # the full-width spelling is a use of the import
    from_walk = list(_decorator_only_imports(tree, source + "# app celery_app\n"))  # spelled more: the walk
    assert from_text == from_walk
