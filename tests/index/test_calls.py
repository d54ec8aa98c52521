from __future__ import annotations

import ast
import pickle
import textwrap

from celery_codemods.index.calls import CallSite, ModuleCalls, extract_calls
from celery_codemods.index.context import ModuleContext
from celery_codemods.index.resolve import ImportResolver


def calls(source: str, module: str = "shop.views") -> ModuleCalls:
    text = textwrap.dedent(source)
    tree = ast.parse(text)
    resolver = ImportResolver(module, is_package=False)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            resolver.add_import(node)
    names = frozenset(
        n.name if isinstance(n, ast.ClassDef | ast.FunctionDef) else n.targets[0].id  # type: ignore[attr-defined]
        for n in tree.body
        if isinstance(n, ast.ClassDef | ast.FunctionDef)
        or (isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Name))
    )
    ctx = ModuleContext("x.py", module, text, text.splitlines(), resolver, names - frozenset(resolver.names))
    found = extract_calls(tree, ctx)
    assert found is not None
    return found


def site(found: ModuleCalls, form: str) -> CallSite:
    return next(s for s in found.sites if s.form == form and s.target == "shop.tasks.send")


HEADER = """\
    from functools import partial

    from celery import chain
    from django.db import transaction
    from django.shortcuts import get_object_or_404

    from shop import tasks
    from shop.models import Order
    from shop.tasks import send, send as alias
"""


def test_call_forms_and_targets_through_module_and_alias() -> None:
    found = calls(
        HEADER
        + """
    def view(request, pk):
        order = Order.objects.get(pk=pk)
        send.delay(order)
        tasks.send.apply_async(args=[order], countdown=3)
        alias.s(order)
        send(order)
        transaction.on_commit(partial(send.delay, order))
        transaction.on_commit(lambda: send.delay_on_commit(order=order))
    """
    )
    forms = sorted(s.form for s in found.sites if s.target == "shop.tasks.send")
    assert forms == ["apply_async", "call", "delay", "delay_on_commit", "partial", "s"]
    for each in found.sites:
        if each.target == "shop.tasks.send":
            assert each.args[0].origin.kind == "instance"
            assert each.args[0].origin.ref == "shop.models.Order"


def test_origins() -> None:
    found = calls(
        HEADER
        + """
    def view(request, pk):
        send.delay(get_object_or_404(Order, pk=pk))
        send.delay(request.user)
        send.delay(Order.objects.filter(paid=True))
        send.delay(pk)
        send.delay(request.user.pk)
        send.delay({"id": 1})
        for order in Order.objects.filter(paid=True):
            send.delay(order)
        obj, created = Order.objects.get_or_create(pk=1)
        send.delay(obj)
    """
    )
    kinds = [(s.args[0].origin.kind, s.args[0].origin.ref) for s in found.sites if s.form == "delay"]
    assert kinds == [
        ("instance", "shop.models.Order"),
        ("user", None),
        ("queryset", "shop.models.Order"),
        ("id", None),
        ("id", None),
        ("literal", None),
        ("instance", "shop.models.Order"),
        ("instance", "shop.models.Order"),
    ]


def test_signal_receiver_instance_and_deletes() -> None:
    found = calls(
        HEADER
        + """
    from django.db.models.signals import post_delete, post_save
    from django.dispatch import receiver

    @receiver(post_delete, sender=Order)
    def gone(sender, instance, **kwargs):
        send.delay(instance)

    def saved(sender, instance, **kwargs):
        send.delay(instance)

    post_save.connect(saved, sender=Order)

    def cancel(order: Order):
        order.delete()
        send.delay(order)
    """
    )
    origins = [s.args[0].origin for s in found.sites if s.form == "delay"]
    assert [(o.kind, o.signal, o.ref) for o in origins[:2]] == [
        ("signal", "post_delete", "shop.models.Order"),
        ("signal", "post_save", "shop.models.Order"),
    ]
    assert origins[2].kind == "annotated" and origins[2].after_delete


def test_chain_members_after_the_first_are_fed() -> None:
    found = calls(
        HEADER
        + """
    def run(order):
        chain(send.s(order), send.s(), send.si(order))()
        (send.s(order) | send.s())()
    """
    )
    fed = [(s.form, s.chain_fed) for s in found.sites if s.target == "shop.tasks.send"]
    assert fed == [("s", False), ("s", True), ("si", False), ("s", False), ("s", True)]


def test_dynamic_arguments_and_references() -> None:
    found = calls(
        HEADER
        + """
    JOBS = [send]

    def run(order, payload, rest):
        send.apply_async(kwargs=payload)
        send.delay(*rest)
        job = tasks.send
    """
    )
    assert site(found, "apply_async").dynamic == "kwargs=payload"
    assert site(found, "delay").args[0].starred
    assert sorted((r.target, r.line) for r in found.references if r.target == "shop.tasks.send") == [
        ("shop.tasks.send", 11),
        ("shop.tasks.send", 16),
    ]


def test_calls_and_references_found_wherever_an_expression_can_hold_them() -> None:
    found = calls(
        HEADER
        + """
    def run(order, extra, n):
        options = {**extra, "a": send.delay(order)}
        total = n + send.delay(order) * 2
        if n < send.delay(order) <= n:
            pass
        label = f"{send.delay(order)!r}"
        picked = [send, alias][n]
        send = n
    """
    )
    sent = [s.line for s in found.sites if s.form == "delay" and s.target == "shop.tasks.send"]
    assert sent == [12, 13, 14, 16]
    referenced = [(r.line, r.source) for r in found.references if r.target == "shop.tasks.send"]
    assert referenced == [(17, "send"), (17, "alias")]  # the assignment to ``send`` is no reference


def test_send_task_and_beat_entries_by_name() -> None:
    found = calls(
        """\
        from proj.celery import app

        app.conf.beat_schedule = {"nightly": {"task": "shop.tasks.send", "schedule": 60, "args": (1,)}}

        def run(order):
            app.send_task("shop.tasks.send", args=[order])
        """
    )
    (sent,) = [s for s in found.sites if s.form == "send_task"]
    assert sent.task_name == "shop.tasks.send" and sent.args[0].source == "order"
    assert [(b.task_name, b.positional) for b in found.beat] == [("shop.tasks.send", 1)]


def test_self_in_a_model_method_and_retry_arguments() -> None:
    found = calls(
        """\
        from celery import shared_task
        from django.db import models
        from shop.tasks import send

        class Order(models.Model):
            def notify(self):
                send.delay(self)

        @shared_task(bind=True)
        def job(self, order):
            self.retry(args=[order])
        """,
        module="shop.models",
    )
    delay = next(s for s in found.sites if s.form == "delay")
    assert (delay.args[0].origin.kind, delay.args[0].origin.ref) == ("self", "shop.models.Order")
    retry = next(s for s in found.sites if s.form == "retry")
    assert retry.target == "shop.models.job" and retry.args[0].source == "order"


_MANY_FORMS = """
    def view(request, pk):
        order = Order.objects.get(pk=pk)
        send.delay(order, note=f"{pk}")
        chain(send.s(order), tasks.send.s())()
        tasks.send.apply_async(args=[order.pk], kwargs={"force": True}, countdown=3)
        app.send_task("shop.tasks.send", args=[pk])
        get_object_or_404(Order, pk=pk)
        job = alias
        return job
"""


def test_call_facts_survive_pickling_between_processes_unchanged() -> None:
    found = calls(HEADER + "    from shop.celery import app\n" + _MANY_FORMS)
    copy = pickle.loads(pickle.dumps(found))
    assert copy == found
    assert copy.sites == found.sites and copy.references == found.references and copy.beat == found.beat
    assert {site.form for site in copy.sites} >= {"delay", "s", "apply_async", "send_task"}
    assert any(arg.origin.kind == "instance" for site in copy.sites for arg in site.args)
    assert repr(copy) == repr(found)


def test_only_the_wanted_sites_and_references_are_built_after_pickling() -> None:
    found = pickle.loads(pickle.dumps(calls(HEADER + "    from shop.celery import app\n" + _MANY_FORMS)))
    wanted = list(found.task_sites(lambda target, name: target == "shop.tasks.send"))
    assert wanted and all(site.target == "shop.tasks.send" for site in wanted)
    assert found._sites is None  # nothing else was built
    by_name = list(found.task_sites(lambda target, name: name == "shop.tasks.send"))
    assert [site.form for site in by_name] == ["send_task"]
    references = list(found.task_references(lambda target: target == "shop.tasks.send"))
    assert [reference.source for reference in references] == ["alias"]
    assert wanted == [site for site in found.sites if site.target == "shop.tasks.send"]
