from __future__ import annotations

from pathlib import Path

from celery_codemods.findings import Finding
from tests.helpers import check_tree

CODE = "CEL405"

TASKS = """\
    from celery import shared_task


    @shared_task
    def expire_carts(older_than_minutes, dry_run=False):
        pass


    @shared_task(bind=True)
    def rebuild(self, index_name):
        pass


    @shared_task
    def flexible(*args, **kwargs):
        pass
    """


def findings(tmp_path: Path, schedule: str) -> list[Finding]:
    files = {
        "shop/__init__.py": "",
        "shop/tasks.py": TASKS,
        "config/__init__.py": "",
        "config/settings.py": "CELERY_BEAT_SCHEDULE = " + schedule,
    }
    return check_tree(tmp_path, files, CODE)


def test_renamed_keyword_is_reported_with_the_closest_parameter(tmp_path: Path) -> None:
    schedule = """{
    "expire": {"task": "shop.tasks.expire_carts", "schedule": 600.0, "kwargs": {"older_than_minute": 30}},
}
"""
    [finding] = findings(tmp_path, schedule)
    assert (finding.line, finding.col) == (2, 79)
    assert finding.message == (
        "beat entry 'expire' calls task `expire_carts` (shop.tasks.expire_carts), which has no parameter "
        "'older_than_minute' (did you mean 'older_than_minutes'?): the call raises TypeError on every run"
    )


def test_too_many_positional_arguments(tmp_path: Path) -> None:
    schedule = '{"expire": {"task": "shop.tasks.expire_carts", "schedule": 1.0, "args": (30, True, 1)}}\n'
    [finding] = findings(tmp_path, schedule)
    assert "which takes 2 positional arguments but is given 3" in finding.message


def test_missing_required_argument(tmp_path: Path) -> None:
    schedule = '{"expire": {"task": "shop.tasks.expire_carts", "schedule": 1.0}}\n'
    [finding] = findings(tmp_path, schedule)
    assert "which requires 'older_than_minutes', not given" in finding.message


def test_same_parameter_twice(tmp_path: Path) -> None:
    schedule = """{
    "expire": dict(task="shop.tasks.expire_carts", schedule=1.0, args=[30], kwargs=dict(older_than_minutes=5)),
}
"""
    [finding] = findings(tmp_path, schedule)
    assert "gets 'older_than_minutes' both by position and by keyword" in finding.message


def test_bound_task_self_is_not_an_argument(tmp_path: Path) -> None:
    schedule = '{"rebuild": {"task": "shop.tasks.rebuild", "schedule": 1.0, "args": ("products", "x")}}\n'
    [finding] = findings(tmp_path, schedule)
    assert "which takes 1 positional argument but is given 2" in finding.message


def test_add_periodic_task_signature_arguments(tmp_path: Path) -> None:
    files = {
        "shop/__init__.py": "",
        "shop/tasks.py": TASKS,
        "shop/beat.py": """\
            from shop.tasks import expire_carts


            def setup(sender, **kwargs):
                sender.add_periodic_task(60.0, expire_carts.s(30))
                sender.add_periodic_task(60.0, expire_carts.s(minutes=30))
            """,
    }
    [finding] = check_tree(tmp_path, files, CODE)
    assert finding.line == 6
    assert finding.message.startswith("periodic task calls task `expire_carts`")


# --- look-alikes -------------------------------------------------------------------


def test_matching_arguments_are_fine(tmp_path: Path) -> None:
    schedule = """{
    "a": {"task": "shop.tasks.expire_carts", "schedule": 1.0, "args": (30,)},
    "b": {"task": "shop.tasks.expire_carts", "schedule": 1.0, "kwargs": {"older_than_minutes": 30, "dry_run": True}},
    "c": {"task": "shop.tasks.rebuild", "schedule": 1.0, "args": ["products"]},
    "d": {"task": "shop.tasks.flexible", "schedule": 1.0, "args": (1, 2, 3), "kwargs": {"x": 1}},
}
"""
    assert findings(tmp_path, schedule) == []


def test_computed_arguments_are_not_guessed(tmp_path: Path) -> None:
    schedule = """{
    "a": {"task": "shop.tasks.expire_carts", "schedule": 1.0, "args": DEFAULT_ARGS},
    "b": {"task": "shop.tasks.expire_carts", "schedule": 1.0, "args": (*EXTRA,)},
    "c": {"task": "shop.tasks.expire_carts", "schedule": 1.0, "kwargs": {**DEFAULTS}},
    "d": {"task": "shop.tasks.expire_carts", "schedule": 1.0, "args": (30)},
}
"""
    assert findings(tmp_path, schedule) == []


def test_unknown_task_or_extra_decorators_are_not_checked(tmp_path: Path) -> None:
    files = {
        "shop/__init__.py": "",
        "shop/tasks.py": """\
            from celery import shared_task

            from shop.utils import inject_user


            @shared_task
            @inject_user
            def notify(user):
                pass
            """,
        "config/settings.py": """\
            CELERY_BEAT_SCHEDULE = {
                "a": {"task": "shop.tasks.notify", "schedule": 1.0},
                "b": {"task": "shop.tasks.missing", "schedule": 1.0, "args": (1, 2)},
            }
            """,
    }
    assert check_tree(tmp_path, files, CODE) == []
