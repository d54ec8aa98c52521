"""Run fixed task modules for real: an eager Celery app, and a loader for source text."""

from __future__ import annotations

import itertools
import sys
import types
from typing import Any

from celery import Celery

_counter = itertools.count()


def eager_app() -> Celery:
    """A current app that runs tasks in-process; retries run at once, countdowns ignored."""
    app = Celery(f"eager{next(_counter)}", set_as_current=True)
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = False
    return app


def load_tasks(text: str, app: Celery) -> types.ModuleType:
    """Execute ``text`` as a fresh module with ``app`` in scope; task names stay unique per call."""
    name = f"eager_tasks_{next(_counter)}"
    module = types.ModuleType(name)
    module.__dict__["app"] = app
    sys.modules[name] = module
    exec(compile(text, f"<{name}>", "exec"), module.__dict__)
    return module


class RetrySpy:
    """Stands in for ``task.retry``: records its keyword arguments, then raises like Celery does."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, *args: Any, **kwargs: Any) -> Exception:
        from celery.exceptions import Retry

        self.calls.append(kwargs)
        raise Retry("spied", None)
