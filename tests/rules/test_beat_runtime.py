"""What Celery really does with the beat entries CEL402-CEL405 report (pinned, Celery in-process)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from celery import Celery
from celery.beat import Scheduler
from celery.schedules import maybe_schedule


def scheduler() -> Scheduler:
    app = Celery("beat_facts", broker="memory://", set_as_current=False)
    return Scheduler(app, lazy=True)


def test_unknown_entry_key_raises_type_error() -> None:
    with pytest.raises(TypeError, match="option"):
        scheduler().update_from_dict({"x": {"task": "t", "schedule": 1.0, "option": {}}})


def test_name_key_is_replaced_by_the_entry_key() -> None:
    beat = scheduler()
    beat.update_from_dict({"x": {"task": "t", "schedule": 1.0, "name": "other"}})
    assert beat.schedule["x"].name == "x"


def test_every_accepted_key_builds_an_entry() -> None:
    entry: dict[str, Any] = {"task": "t", "schedule": 1.0, "args": (1,), "kwargs": {}, "options": {}, "relative": False}
    beat = scheduler()
    beat.update_from_dict({"x": entry})
    assert beat.schedule["x"].args == (1,)


def test_parenthesized_args_fail_when_sent() -> None:
    app = Celery("beat_facts", broker="memory://", set_as_current=False)
    with pytest.raises(TypeError, match="task args must be a list or tuple"):
        app.amqp.as_task_v2("id", "t", args=(5))
    with pytest.raises(TypeError, match="task args must be a list or tuple"):
        app.amqp.as_task_v2("id", "t", args=("daily"))
    message = app.amqp.as_task_v2("id", "t", args=(5,))
    assert message.headers["argsrepr"] == "(5,)"


def test_falsy_parenthesized_args_mean_no_arguments() -> None:
    app = Celery("beat_facts", broker="memory://", set_as_current=False)
    message = app.amqp.as_task_v2("id", "t", args=(0))
    assert message.headers["argsrepr"] == "()"


def test_argument_check_rejects_a_mismatch_at_send_time() -> None:
    app = Celery("beat_facts", broker="memory://", set_as_current=False)

    @app.task(name="beat_facts.expire")
    def expire(older_than_minutes: int) -> None:
        pass

    with pytest.raises(TypeError):
        expire.apply_async(kwargs={"minutes": 30})


def test_int_and_float_seconds_are_the_same_schedule() -> None:
    assert maybe_schedule(300).run_every == maybe_schedule(300.0).run_every == timedelta(seconds=300)
