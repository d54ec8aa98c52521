"""# model-instance-argument-unclear (CEL103)

## What it does
Reports a task parameter that may receive a model instance when the
evidence is too weak or contradicts itself for CEL101 to rewrite it: call
sites sending instances of different models, or an instance at one site and
a key at another; a parameter named like a model whose body uses attributes
the model does not declare; `.save()` on a parameter no model is named
like; a queryset or list of instances the task does more with than
iterate (or of UUID-keyed models); an abstract model annotation; a task
whose `base=` class is the project's own and overrides `__call__`/`run` (or
is named like it loads objects), which may turn ids into objects itself.

## Why is this bad?
If the parameter does receive an instance, it has CEL101's problem. The
tool does not guess: a wrong rewrite breaks every caller.

## Example
```python
@shared_task
def notify(target):
    target.save()
```

## Use instead
Decide what the task should receive, then pass primary keys (or a payload)
explicitly; annotating the parameter with its model lets CEL101 convert it.

## Fix safety
No fix.

## References
- CEL101 (model-instance-argument)
"""

from __future__ import annotations

from collections.abc import Iterator

from celery_codemods.findings import Finding
from celery_codemods.index.project import Project
from celery_codemods.rules._pass_ids import plan_for
from celery_codemods.rules.base import Rule


class ModelInstanceArgumentUnclear(Rule):
    code = "CEL103"
    name = "model-instance-argument-unclear"
    summary = "Task parameter may receive a model instance; the evidence is weak or conflicting"

    def check(self, project: Project) -> Iterator[Finding]:
        for unclear in plan_for(project, self.settings).unclear:
            task = unclear.task
            yield self.task_finding(
                task,
                unclear.message,
                line=task.function.span.line,
                col=task.function.span.col,
            )
