from __future__ import annotations

from pathlib import Path

from tests.helpers import assert_fixes, assert_unchanged, check_tree

CODE = "CEL403"


def test_parenthesized_int_gets_its_trailing_comma(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        CELERY_BEAT_SCHEDULE = {
            "expire-carts": {
                "task": "shop.tasks.expire_carts",
                "schedule": 600.0,
                "args": (30),  # minutes
            },
        }
        """,
        """\
        CELERY_BEAT_SCHEDULE = {
            "expire-carts": {
                "task": "shop.tasks.expire_carts",
                "schedule": 600.0,
                "args": (30,),  # minutes
            },
        }
        """,
        CODE,
        name="settings.py",
    )


def test_parenthesized_string_in_dict_call(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        app.conf.beat_schedule = {
            "report": dict(task="reports.tasks.build", schedule=3600.0, args=( "daily" )),
        }
        """,
        """\
        app.conf.beat_schedule = {
            "report": dict(task="reports.tasks.build", schedule=3600.0, args=( "daily", )),
        }
        """,
        CODE,
        name="celery.py",
    )


def test_subscript_entry_with_nested_parentheses(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        app.conf.beat_schedule["report"] = {"task": "t", "schedule": 1.0, "args": ((7))}
        """,
        """\
        app.conf.beat_schedule["report"] = {"task": "t", "schedule": 1.0, "args": ((7,))}
        """,
        CODE,
        name="celery.py",
    )


def test_finding_message_and_position(tmp_path: Path) -> None:
    source = 'CELERY_BEAT_SCHEDULE = {"x": {"task": "t", "schedule": 1.0, "args": (30)}}\n'
    [finding] = check_tree(tmp_path, {"settings.py": source}, CODE)
    assert (finding.line, finding.col) == (1, 69)
    assert finding.message == (
        "`args` of beat entry 'x' is `(30)`, a parenthesized value, not a tuple: "
        "Celery raises TypeError when it sends the task; write `(30,)`"
    )
    assert finding.fix is not None
    assert finding.fix.safety == "safe"


def test_falsy_value_fix_is_unsafe(tmp_path: Path) -> None:
    source = 'CELERY_BEAT_SCHEDULE = {"x": {"task": "t", "schedule": 1.0, "args": (0)}}\n'
    [finding] = check_tree(tmp_path, {"settings.py": source}, CODE)
    assert finding.fix is not None
    assert finding.fix.safety == "unsafe"
    assert_unchanged(tmp_path, source, CODE, name="settings.py")
    assert_fixes(
        tmp_path,
        source,
        'CELERY_BEAT_SCHEDULE = {"x": {"task": "t", "schedule": 1.0, "args": (0,)}}\n',
        CODE,
        name="settings.py",
        unsafe_fixes=True,
    )


def test_bare_scalar_is_reported_without_fix(tmp_path: Path) -> None:
    source = 'CELERY_BEAT_SCHEDULE = {"x": {"task": "t", "schedule": 1.0, "args": "daily"}}\n'
    [finding] = check_tree(tmp_path, {"settings.py": source}, CODE)
    assert finding.fix is None
    assert finding.message == (
        "`args` of beat entry 'x' is `\"daily\"`, not a tuple or list: Celery raises TypeError when it sends the task"
    )
    assert_unchanged(tmp_path, source, CODE, name="settings.py")


# --- look-alikes -------------------------------------------------------------------


def test_tuples_lists_and_none_are_left_alone(tmp_path: Path) -> None:
    assert_unchanged(
        tmp_path,
        """\
        CELERY_BEAT_SCHEDULE = {
            "a": {"task": "t", "schedule": 1.0, "args": (30,)},
            "b": {"task": "t", "schedule": 1.0, "args": [30]},
            "c": {"task": "t", "schedule": 1.0, "args": ()},
            "d": {"task": "t", "schedule": 1.0, "args": None},
            "e": {"task": "t", "schedule": 1.0, "args": (1, 2)},
        }
        """,
        CODE,
        name="settings.py",
    )


def test_parenthesized_names_and_calls_may_hold_tuples(tmp_path: Path) -> None:
    assert_unchanged(
        tmp_path,
        """\
        DEFAULT_ARGS = (1, 2)
        CELERY_BEAT_SCHEDULE = {
            "a": {"task": "t", "schedule": 1.0, "args": (DEFAULT_ARGS)},
            "b": {"task": "t", "schedule": 1.0, "args": (build_args())},
        }
        """,
        CODE,
        name="settings.py",
    )


def test_parenthesized_kwargs_and_options_are_not_args(tmp_path: Path) -> None:
    assert_unchanged(
        tmp_path,
        """\
        CELERY_BEAT_SCHEDULE = {
            "a": {"task": "t", "schedule": (30), "options": ({"queue": "q"}), "kwargs": ({"n": (5)})},
        }
        """,
        CODE,
        name="settings.py",
    )


def test_function_local_dict_is_not_a_schedule(tmp_path: Path) -> None:
    assert_unchanged(
        tmp_path,
        """\
        def build():
            beat_schedule = {"a": {"task": "t", "args": (30)}}
            return beat_schedule
        """,
        CODE,
        name="settings.py",
    )


def test_composes_with_the_int_seconds_fix_on_the_same_entry(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        CELERY_BEAT_SCHEDULE = {
            "a": {"task": "t", "schedule": 60.0},
            "b": {"task": "t", "schedule": 30.0},
            "c": {"task": "t", "schedule": 300, "args": (5)},
        }
        """,
        """\
        CELERY_BEAT_SCHEDULE = {
            "a": {"task": "t", "schedule": 60.0},
            "b": {"task": "t", "schedule": 30.0},
            "c": {"task": "t", "schedule": 300.0, "args": (5,)},
        }
        """,
        ("CEL403", "CEL404"),
        name="settings.py",
    )
