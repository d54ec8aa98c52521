"""The prefilters that decide which files the index parses."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from celery_codemods.index.facts import ModuleFacts
from celery_codemods.index.reader import FileError, Skipped, definitions_filter, index_file, may_define, names_filter

NAMES = ("check_auth", "check_auth_identity", "check", "send_receipt", "sync_ÿ", "a")


def _plain(names: tuple[str, ...]) -> re.Pattern[bytes]:
    return re.compile(rb"\b(?:" + b"|".join(re.escape(name.encode()) for name in names) + rb")\b")


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
        "sync_",
        "b = 1",
        "(a)",
        "",
    ],
)
def test_names_filter_matches_exactly_the_whole_words_a_plain_alternation_does(text: str) -> None:
    pattern = names_filter(NAMES)
    assert pattern is not None
    expected = _plain(NAMES).search(text.encode()) is not None
    assert (pattern.search(text.encode()) is not None) == expected


def test_names_filter_on_names_sharing_long_prefixes() -> None:
    names = (*(f"task_{i}_{suffix}" for i in range(30) for suffix in ("", "x", "xy")), "task")
    pattern = names_filter(names)
    assert pattern is not None
    for word in ["task", "task_1", "task_1_", "task_1_x", "task_1_xy", "task_1_xyz", "task_31_x", "task_", "tas"]:
        assert (pattern.fullmatch(word.encode()) is not None) == (word in names), word
        assert (pattern.search(word.encode()) is not None) == (_plain(names).search(word.encode()) is not None)


def test_no_names_filter_without_names() -> None:
    assert names_filter(()) is None


def test_second_pass_keeps_only_files_naming_a_task(tmp_path: Path) -> None:
    caller = tmp_path / "caller.py"
    caller.write_bytes("# -*- coding: latin-1 -*-\nfrom x import send_receipt\nsend_receipt('é')\n".encode("latin-1"))
    other = tmp_path / "other.py"
    other.write_text("def helper():\n    return 1\n")
    broken = tmp_path / "broken.py"
    broken.write_bytes(b"send_receipt(\n")
    assert isinstance(index_file(str(caller), (), ("send_receipt",)), ModuleFacts)
    skipped = index_file(str(other), (), ("send_receipt",))
    assert isinstance(skipped, Skipped) and skipped.path == str(other)
    assert isinstance(index_file(str(broken), (), ("send_receipt",)), FileError)
    assert isinstance(index_file(str(tmp_path / "gone.py"), (), ("send_receipt",)), FileError)


@pytest.mark.parametrize(
    "text",
    [
        "from celery import shared_task",
        "import Celery",
        "CELERY_BEAT_SCHEDULE = {}",
        "app.conf.beat_schedule = {}",
        "from django.db import models",
        "from django.db.models import Q",
        "transaction.on_commit(f)",
        "class Order(models.Model):",
        "class Order(Base, TimeStampedModel):",
        "class Order(Base):  # Model",
        "Model = 1",
        "    def ready(self):",
        "def ready_to_go():",
        "CELERY_IMPORTS = ('a',)",
        "@job()\ndef build(): pass",
        "def helper():\n    return 1",
        "",
    ],
)
def test_first_pass_prefilter_agrees_with_its_regex(text: str) -> None:
    raw = text.encode()
    for decorators in ((), ("proj.wrappers.job",)):
        assert may_define(raw, decorators) == (definitions_filter(decorators).search(raw) is not None)
