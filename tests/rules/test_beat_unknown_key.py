from __future__ import annotations

from pathlib import Path

from tests.helpers import check_tree

CODE = "CEL402"


def test_misspelt_key_is_reported_with_the_closest_accepted_key(tmp_path: Path) -> None:
    source = """\
        CELERY_BEAT_SCHEDULE = {
            "digest": {
                "task": "mail.tasks.send_digest",
                "schedule": 3600.0,
                "kwarg": {"limit": 10},
            },
        }
        """
    [finding] = check_tree(tmp_path, {"settings.py": source}, CODE)
    assert (finding.line, finding.col) == (5, 8)
    assert finding.message == (
        "beat entry 'digest' has key 'kwarg', which Celery does not accept (TypeError when beat starts); "
        "did you mean 'kwargs'?"
    )


def test_task_option_at_entry_level_points_to_options(tmp_path: Path) -> None:
    source = """\
        from celery import Celery

        app = Celery("proj")
        app.conf.beat_schedule = {
            "digest": dict(task="mail.tasks.send_digest", schedule=3600.0, queue="mail"),
        }
        """
    [finding] = check_tree(tmp_path, {"celery.py": source}, CODE)
    assert (finding.line, finding.col) == (5, 67)
    assert finding.message == (
        "beat entry 'digest' has key 'queue', which Celery does not accept (TypeError when beat starts); "
        "accepted: task, schedule, args, kwargs, options, relative (task options go in 'options')"
    )


def test_name_key_is_silently_replaced(tmp_path: Path) -> None:
    source = """\
        app.conf.update(beat_schedule={"digest": {"task": "t", "schedule": 1.0, "name": "Digest"}})
        """
    [finding] = check_tree(tmp_path, {"celery.py": source}, CODE)
    assert finding.message == "beat entry 'digest' has key 'name', which beat silently replaces with its own"


def test_entries_added_by_subscript_and_update(tmp_path: Path) -> None:
    source = """\
        app.conf.beat_schedule["a"] = {"task": "t", "schedule": 1.0, "tsk": 1}
        app.conf.beat_schedule.update({"b": {"task": "t", "schedules": 1.0}})
        """
    found = check_tree(tmp_path, {"celery.py": source}, CODE)
    assert [(f.line, f.message.split(",")[0]) for f in found] == [
        (1, "beat entry 'a' has key 'tsk'"),
        (2, "beat entry 'b' has key 'schedules'"),
    ]


def test_config_class_attribute(tmp_path: Path) -> None:
    source = """\
        class Config:
            beat_schedule = {"a": {"task": "t", "schedule": 1.0, "option": {}}}
        """
    [finding] = check_tree(tmp_path, {"celeryconfig.py": source}, CODE)
    assert finding.message.endswith("did you mean 'options'?")


# --- look-alikes -------------------------------------------------------------------


def test_every_accepted_key_passes(tmp_path: Path) -> None:
    source = """\
        from celery.schedules import crontab

        CELERY_BEAT_SCHEDULE = {
            "digest": {
                "task": "mail.tasks.send_digest",
                "schedule": crontab(minute=0),
                "args": (1,),
                "kwargs": {"limit": 10},
                "options": {"queue": "mail", "expires": 60},
                "relative": False,
            },
        }
        """
    assert check_tree(tmp_path, {"settings.py": source}, CODE) == []


def test_django_celery_beat_fields_are_accepted_when_it_is_installed(tmp_path: Path) -> None:
    source = """\
        INSTALLED_APPS = ["django_celery_beat"]
        CELERY_BEAT_SCHEDULE = {
            "digest": {"task": "mail.tasks.send_digest", "schedule": 60.0, "enabled": False, "description": "x"},
        }
        """
    assert check_tree(tmp_path, {"settings.py": source}, CODE) == []


def test_spread_and_computed_keys_are_not_guessed(tmp_path: Path) -> None:
    source = """\
        BASE = {"options": {"queue": "beat"}}
        CELERY_BEAT_SCHEDULE = {"digest": {**BASE, "task": "t", KEY: 1.0}}
        """
    assert check_tree(tmp_path, {"settings.py": source}, CODE) == []


def test_other_dicts_are_not_schedules(tmp_path: Path) -> None:
    source = """\
        CELERY_TASK_ROUTES = {"mail.tasks.*": {"queue": "mail"}}
        my_beat_schedule_backup = {"a": {"when": 1}}


        def build():
            beat_schedule = {"a": {"when": 1}}
            return beat_schedule
        """
    assert check_tree(tmp_path, {"settings.py": source}, CODE) == []


def test_add_periodic_task_keywords_are_options(tmp_path: Path) -> None:
    source = """\
        def setup(sender, **kwargs):
            sender.add_periodic_task(10.0, ping.s(), name="ping", expires=5)
        """
    assert check_tree(tmp_path, {"celery.py": source}, CODE) == []
