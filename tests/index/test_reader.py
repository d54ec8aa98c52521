"""The prefilters that decide which files the index parses."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from celery_codemods.findings import FileError
from celery_codemods.index.facts import ModuleFacts
from celery_codemods.index.reader import (
    Skipped,
    definitions_tier,
    index_file,
    may_define,
    mentions,
    references_filter,
    refers_to,
)

NAMES = ("check_auth", "check_auth_identity", "check", "send_receipt", "sync_ÿ", "a")


def _whole_words(text: bytes) -> set[bytes]:
    return set(re.findall(rb"[\w\x80-\xff]+", text))


@pytest.mark.parametrize(
    "text",
    [
        "check_auth.delay(1)",
        "x.check_auth_identity(1)",
        "check_auth_identities()",
        "check_authx",
        "xcheck_auth",
        "check_auth2",
        "rechecked = True",
        "import check",
        "send_receipts",
        "send_receip",
        "sync_ÿ()",
        "sync_ÿx()",
        "ÿcheck_auth",
        "sync_",
        "b = 1",
        "(a)",
        "",
    ],
)
def test_mentions_finds_exactly_the_names_that_are_whole_words(text: str) -> None:
    """Non-ASCII characters belong to words: ``sync_ÿ`` is found, ``sync_ÿx`` is another name."""
    raw = text.encode()
    assert mentions(raw, NAMES) == any(name.encode() in _whole_words(raw) for name in NAMES)
    assert mentions(raw, ()) is False


def test_the_references_trie_on_names_sharing_long_prefixes() -> None:
    names = (*(f"task_{i}_{suffix}" for i in range(30) for suffix in ("", "x", "xy")), "task")
    pattern = references_filter(names)
    assert pattern is not None
    for word in ["task", "task_1", "task_1_", "task_1_x", "task_1_xy", "task_1_xyz", "task_31_x", "task_", "tas"]:
        assert (pattern.fullmatch(b"." + word.encode()) is not None) == (word in names), word


def test_no_references_filter_without_names() -> None:
    assert references_filter(()) is None


@pytest.mark.parametrize(
    ("text", "refers"),
    [
        ("from shop.tasks import send_receipt\n", True),
        ("from shop.tasks import other as o, send_receipt as send\n", True),
        ("    from shop.tasks import send_receipt\n", True),
        ("from shop.tasks import (\n    other,  # see other() (and send)\n    send_receipt,\n)\n", True),
        ("from shop.tasks import other, \\\n    send_receipt\n", True),
        ("from shop.tasks import \\\n    (other, send_receipt)\n", True),
        ("from shop import tasks\ntasks.send_receipt.delay(1)\n", True),
        ("(tasks\n    . send_receipt.delay(1))\n", True),
        ("import shop.send_receipt\n", True),
        ("from .send_receipt import notify\n", True),
        ("from shop.tasks import sync_ÿ\n", True),
        ("from shop.tasks import sync_ÿx\n", False),
        ("from shop.tasks import *\nsend_receipt.delay(1)\n", True),
        ("from shop.tasks import\\\n*\nsend_receipt.delay(1)\n", True),
        ("class Order:\n    def send_receipt(self):\n        pass\n", False),
        ("def view(send_receipt):\n    send_receipt(1)\n", False),
        ("# send_receipt runs later\n", False),
        ("x = 'send_receipt'\n", False),
        ("import os\nsend_receipt(1)\n", False),
        ("import os\r\nsend_receipt(1)\r\n", False),
        ("import os\rsend_receipt(1)\r", False),
        ("from shop.tasks import (other)\nsend_receipt.delay(1)\n", False),
        ("from shop.tasks import other; send_receipt.delay(1)\n", False),
        ("from shop.tasks import send_receipts\n", False),
        ("important = send_receipt\n", False),
        ("tasks.other.delay(1)\n", False),
    ],
)
def test_second_pass_keeps_files_that_can_reach_a_task_defined_elsewhere(text: str, refers: bool) -> None:
    """Imported, star-imported or reached as an attribute; a bare name is a method, a parameter or a word."""
    raw = text.encode()
    assert refers_to(raw, NAMES) == refers
    assert not refers or mentions(raw, NAMES)
    assert refers_to(raw, ()) is False


def test_second_pass_indexes_only_files_naming_a_task(tmp_path: Path) -> None:
    caller = tmp_path / "caller.py"
    caller.write_bytes("# -*- coding: latin-1 -*-\nfrom x import send_receipt\nsend_receipt('é')\n".encode("latin-1"))
    other = tmp_path / "other.py"
    other.write_text("def helper():\n    return 1\n")
    broken = tmp_path / "broken.py"
    broken.write_bytes(b"from shop.tasks import send_receipt\nsend_receipt(\n")
    assert isinstance(index_file(str(caller), (), ("send_receipt",)), ModuleFacts)
    skipped = index_file(str(other), (), ("send_receipt",))
    assert isinstance(skipped, Skipped) and skipped.path == str(other)
    assert isinstance(index_file(str(broken), (), ("send_receipt",)), FileError)
    assert isinstance(index_file(str(tmp_path / "gone.py"), (), ("send_receipt",)), FileError)


@pytest.mark.parametrize(
    ("text", "tier", "tier_with_job_decorator"),
    [
        ("from celery import shared_task", "full", "full"),
        ("import Celery", "full", "full"),
        ("CELERY_BEAT_SCHEDULE = {}", "full", "full"),
        ("app.conf.beat_schedule = {}", "full", "full"),
        ("transaction.on_commit(f)", "full", "full"),
        ("    def ready(self):", "full", "full"),
        ("CELERY_IMPORTS = ('a',)", "full", "full"),
        ("from django.db import models", "outline", "outline"),
        ("class Order(models.Model):", "outline", "outline"),
        ("class Order(Base, TimeStampedModel):", "outline", "outline"),
        ("class Order(models.Model):\n    pass\nsend_receipt_task.delay(1)", "full", "full"),
        ("from django.db import models\n@job()\ndef build(): pass", "outline", "full"),
        ("@job()\ndef build(): pass", None, "full"),
        ("from django.db.models import Q", None, None),
        ("class Order(Base):  # Model", None, None),
        ("Model = 1", None, None),
        ("def ready_to_go():", None, None),
        ("def helper():\n    return 1", None, None),
        ("", None, None),
    ],
)
def test_first_pass_tiers(text: str, tier: str | None, tier_with_job_decorator: str | None) -> None:
    """In full what can define a task, app or schedule; an outline of what can only define a model."""
    raw = text.encode()
    assert definitions_tier(raw) == tier
    assert definitions_tier(raw, ("proj.wrappers.job",)) == tier_with_job_decorator
    assert may_define(raw) == (tier is not None)


def test_an_outline_keeps_what_other_modules_read(tmp_path: Path) -> None:
    models = tmp_path / "models.py"
    models.write_text(
        "from django.db import models\n\nfrom shop.mail import notify\n\n"
        "class PaymentDeclined(ValueError):\n    pass\n\n\n"
        "class Order(models.Model):\n"
        "    def ship(self):\n"
        "        try:\n            push(self)\n        except Exception:\n            pass\n"
        "        notify.delay(self)\n"
    )
    facts = index_file(str(models))
    assert isinstance(facts, ModuleFacts) and facts.outline
    assert facts.import_map() == {"models": "django.db.models", "notify": "shop.mail.notify"}
    assert facts.functions == () and facts.wrappers == () and facts.loggers == ()
    pass_ids = facts.extras["CEL101"]
    assert pass_ids.calls is None
    assert [cls.qualname.rpartition(".")[2] for cls in pass_ids.models.classes] == ["PaymentDeclined", "Order"]
    assert dict(facts.extras["CEL308"].classes)["models.PaymentDeclined"] == ("ValueError",)
    assert dict(facts.extras["CEL510"].django_task_classes)["models.Order"] == ("django.db.models.Model",)
    assert set(facts.extras) == {"CEL101", "CEL308", "CEL510"}

    full = index_file(str(models), (), ("notify",))  # the second pass: it names a task
    assert isinstance(full, ModuleFacts) and not full.outline
    assert full.extras["CEL101"].calls is not None
