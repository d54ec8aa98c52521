"""# beat-unknown-key (CEL402)

## What it does
Finds keys in a beat schedule entry that Celery does not accept. An entry
takes `task`, `schedule`, `args`, `kwargs`, `options` and `relative`
(`last_run_at` and `total_run_count` are accepted too, though beat keeps
them itself). The closest accepted key is given as a hint.

## Why is this bad?
Beat builds each entry with `ScheduleEntry(**entry)`: any other key raises
`TypeError` when beat starts, so no periodic task runs at all. `name` and
`app` do not raise but are silently replaced (beat sets them itself). A
misspelt `kwarg` or `option` is the usual cause; options such as `queue` or
`expires` belong inside `options`.

## Example
```python
app.conf.beat_schedule = {
    "send-digest": {
        "task": "mail.tasks.send_digest",
        "schedule": 3600.0,
        "queue": "mail",
    },
}
```

## Use instead
```python
app.conf.beat_schedule = {
    "send-digest": {
        "task": "mail.tasks.send_digest",
        "schedule": 3600.0,
        "options": {"queue": "mail"},
    },
}
```

## Fix safety
No fix: moving a key into `options` or renaming it is a guess at intent.

When the project uses django-celery-beat (`django_celery_beat` appears in
its code or settings), its `DatabaseScheduler` stores extra keys as
`PeriodicTask` fields, so those field names (`enabled`, `description`,
`queue`, `expires`, `one_off`, ...) are accepted too. Entries spread from
another dict (`**base`) are checked only for the keys written out.

## References
- Celery: "Periodic Tasks", "Available Fields"; `celery.beat.ScheduleEntry`
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from celery_codemods.findings import Finding
from celery_codemods.index.project import Project
from celery_codemods.rules._beat import (
    ACCEPTED_KEYS,
    DJANGO_CELERY_BEAT_FIELDS,
    TOLERATED_KEYS,
    BeatEntry,
    Key,
    all_entries,
    uses_django_celery_beat,
)
from celery_codemods.rules.base import Rule

_OVERRIDDEN = frozenset({"name", "app"})


class BeatUnknownKey(Rule):
    code = "CEL402"
    name = "beat-unknown-key"
    summary = "Beat entry has a key Celery does not accept"

    def check(self, project: Project) -> Iterator[Finding]:
        accepted = set(ACCEPTED_KEYS) | TOLERATED_KEYS
        if uses_django_celery_beat(project):
            accepted |= DJANGO_CELERY_BEAT_FIELDS
        for module, entry in all_entries(project):
            if entry.periodic:
                continue
            for key in entry.keys:
                if key.name not in accepted:
                    yield Finding(
                        path=module.path,
                        line=key.span.line,
                        col=key.span.col,
                        end_line=key.span.end_line,
                        end_col=key.span.end_col,
                        code=self.code,
                        name=self.name,
                        message=_message(entry, key),
                    )


def _message(entry: BeatEntry, key: Key) -> str:
    if key.name in _OVERRIDDEN:
        return f"{entry.label} has key {key.name!r}, which beat silently replaces with its own"
    message = f"{entry.label} has key {key.name!r}, which Celery does not accept (TypeError when beat starts)"
    closest = difflib.get_close_matches(key.name, ACCEPTED_KEYS, n=1, cutoff=0.6)
    if closest:
        return f"{message}; did you mean {closest[0]!r}?"
    return f"{message}; accepted: {', '.join(ACCEPTED_KEYS)} (task options go in 'options')"
