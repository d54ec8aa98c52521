"""# model-instance-argument-withheld (CEL102)

## What it does
Reports a task that receives a model instance (see CEL101) whose change set
cannot be made, and names each blocking site as `path:line: why`. Nothing of
the task or its callers is rewritten: a task that takes `order_id` while one
caller still sends an instance is worse than the task as it was.

Blocking sites: `send_task("name", ...)` or `signature("name", ...)` with
arguments for the parameter (callers by name, possibly in other services);
`*args` / `**kwargs` at a call; `args=some_list` / `kwargs=some_dict`; a
beat entry passing arguments to it; a chain where the previous task's
return value feeds the parameter; `.map()` / `.starmap()` / `.chunks()`;
the task used as a value (`job = send_receipt`), so it is called where the
index cannot see; and an instance sent from a `pre_delete`/`post_delete`
receiver or after `obj.delete()`, whose row is gone when the task runs.

## Why is this bad?
The same as CEL101: the instance is pickled (or refused by JSON) and the
task works on a stale snapshot.

## Example
```python
@receiver(post_delete, sender=Order)
def order_deleted(sender, instance, **kwargs):
    archive_deleted_order.delay(instance)
```

## Use instead
For a deleted row, pass the data the task needs (`instance.reference`,
`instance.customer_id`), not a key. For the other blockers, rewrite the
blocking site so it passes the key explicitly; the next run then converts
the task and every caller.

## Fix safety
No fix: the finding says what to change by hand.

## References
- CEL101 (model-instance-argument)
"""

from __future__ import annotations

from collections.abc import Iterator

from celery_codemods.findings import Finding
from celery_codemods.index.project import Project
from celery_codemods.rules._pass_ids import plan_for
from celery_codemods.rules.base import Rule
from celery_codemods.rules.model_instance_argument import describe_params


class ModelInstanceArgumentWithheld(Rule):
    code = "CEL102"
    name = "model-instance-argument-withheld"
    summary = "Task receives a model instance, but some call sites cannot be rewritten"

    def check(self, project: Project) -> Iterator[Finding]:
        for conversion in plan_for(project, self.settings).conversions:
            if not conversion.blockers:
                continue
            task = conversion.task
            count = len(conversion.blockers)
            yield Finding(
                path=task.path,
                line=task.function.span.line,
                col=task.function.span.col,
                code=self.code,
                name=self.name,
                message=(
                    f"task `{task.display_name}` receives {describe_params(conversion)}; not rewritten: "
                    f"{count} site{'s' if count != 1 else ''} cannot be changed with it"
                ),
                blockers=tuple(conversion.blockers),
                suppress_lines=tuple(d.span.line for d in task.function.decorators),
            )
