from __future__ import annotations

from pathlib import Path

from tests.helpers import assert_fixes, assert_unchanged, check_tree

CODE = "CEL404"


def test_int_among_float_schedules_becomes_float(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        app.conf.beat_schedule = {
            "rates": {"task": "fx.tasks.refresh_rates", "schedule": 60.0},
            "metrics": {"task": "metrics.tasks.flush", "schedule": 30.0},
            "mail": {"task": "mail.tasks.send_queued", "schedule": 15.0},
            "stock": {"task": "shop.tasks.sync_stock", "schedule": 300},
            "big": dict(task="shop.tasks.rebuild", schedule=86_400),
        }
        """,
        """\
        app.conf.beat_schedule = {
            "rates": {"task": "fx.tasks.refresh_rates", "schedule": 60.0},
            "metrics": {"task": "metrics.tasks.flush", "schedule": 30.0},
            "mail": {"task": "mail.tasks.send_queued", "schedule": 15.0},
            "stock": {"task": "shop.tasks.sync_stock", "schedule": 300.0},
            "big": dict(task="shop.tasks.rebuild", schedule=86_400.0),
        }
        """,
        CODE,
        name="celery.py",
    )


def test_finding_states_the_counts(tmp_path: Path) -> None:
    source = """\
        CELERY_BEAT_SCHEDULE = {
            "a": {"task": "t", "schedule": 60.0},
            "b": {"task": "t", "schedule": 30.0},
            "c": {"task": "t", "schedule": (300)},
        }
        """
    [finding] = check_tree(tmp_path, {"settings.py": source}, CODE)
    assert (finding.line, finding.col) == (4, 36)
    assert finding.message == (
        "schedule of beat entry 'c' is `300` int seconds, where the project writes numeric schedules as floats "
        "(2 float, 1 int)"
    )


def test_schedule_without_floats_follows_the_project(tmp_path: Path) -> None:
    files = {
        "celery.py": 'app.conf.beat_schedule = {"a": {"task": "t", "schedule": 60.0}, "b": {"schedule": 5.0}}\n',
        "tasks.py": """\
            def setup(sender, **kwargs):
                sender.add_periodic_task(10, ping.s(), name="ping")
            """,
    }
    check = check_tree(tmp_path, dict(files), CODE)
    assert [(f.path.rpartition("/")[2], f.line) for f in check] == [("tasks.py", 2)]
    assert_fixes(
        tmp_path,
        files["tasks.py"],
        """\
        def setup(sender, **kwargs):
            sender.add_periodic_task(10.0, ping.s(), name="ping")
        """,
        CODE,
    )


def test_non_decimal_literal_is_reported_without_fix(tmp_path: Path) -> None:
    source = 'CELERY_BEAT_SCHEDULE = {"a": {"schedule": 0x12C}, "b": {"schedule": 1.0}, "c": {"schedule": 2.0}}\n'
    [finding] = check_tree(tmp_path, {"settings.py": source}, CODE)
    assert finding.fix is None


# --- look-alikes -------------------------------------------------------------------


def test_int_convention_is_left_alone(tmp_path: Path) -> None:
    assert_unchanged(
        tmp_path,
        """\
        CELERY_BEAT_SCHEDULE = {
            "a": {"task": "t", "schedule": 60},
            "b": {"task": "t", "schedule": 300},
            "c": {"task": "t", "schedule": 30.0},
        }
        """,
        CODE,
        name="settings.py",
    )


def test_a_tie_is_no_convention(tmp_path: Path) -> None:
    assert_unchanged(
        tmp_path,
        """\
        CELERY_BEAT_SCHEDULE = {
            "a": {"task": "t", "schedule": 60},
            "b": {"task": "t", "schedule": 30.0},
        }
        """,
        CODE,
        name="settings.py",
    )


def test_timedelta_crontab_and_expressions_are_not_numbers(tmp_path: Path) -> None:
    assert_unchanged(
        tmp_path,
        """\
        from datetime import timedelta

        from celery.schedules import crontab

        CELERY_BEAT_SCHEDULE = {
            "a": {"task": "t", "schedule": timedelta(seconds=300)},
            "b": {"task": "t", "schedule": crontab(minute=5)},
            "c": {"task": "t", "schedule": 5 * 60},
            "d": {"task": "t", "schedule": 30.0},
        }
        """,
        CODE,
        name="settings.py",
    )


def test_other_numbers_in_the_entry_are_not_schedules(tmp_path: Path) -> None:
    assert_unchanged(
        tmp_path,
        """\
        CELERY_BEAT_SCHEDULE = {
            "a": {"task": "t", "schedule": 60.0, "args": (5,), "options": {"expires": 30}},
            "b": {"task": "t", "schedule": 30.0, "kwargs": {"limit": 100}},
        }
        """,
        CODE,
        name="settings.py",
    )


def test_float_arithmetic_counts_toward_the_convention(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        CELERY_BEAT_SCHEDULE = {
            "a": {"task": "t", "schedule": 60.0 * 10},
            "b": {"task": "t", "schedule": 3600.0},
            "c": {"task": "t", "schedule": 24 * 3600 / 4},
            "d": {"task": "t", "schedule": 5 * 60},
            "e": {"task": "t", "schedule": 300},
        }
        """,
        """\
        CELERY_BEAT_SCHEDULE = {
            "a": {"task": "t", "schedule": 60.0 * 10},
            "b": {"task": "t", "schedule": 3600.0},
            "c": {"task": "t", "schedule": 24 * 3600 / 4},
            "d": {"task": "t", "schedule": 5 * 60},
            "e": {"task": "t", "schedule": 300.0},
        }
        """,
        CODE,
        name="settings.py",
    )
