"""Edits find their node when only the edited top-level statements get positions."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import fix_tree

BEFORE = (
    "# header comment\r\n"
    "\r\n"
    'DOC = """one\r\ntwo\r\nthree"""\r\n'
    "import logging\r\n"
    "from celery import shared_task\r\n"
    "\r\n"
    "log = logging.getLogger(__name__)\r\n"
    "\r\n"
    "\r\n"
    "class Unrelated:\r\n"
    "    def method(self):\r\n"
    "        try:\r\n"
    "            pass\r\n"
    "        except Exception:\r\n"
    "            pass\r\n"
    "\r\n"
    "\r\n"
    "@shared_task\r\n"
    "def first(x):\r\n"
    "    try:\r\n"
    "        x()\r\n"
    "    except Exception:\r\n"
    "        pass\r\n"
    "\r\n"
    "\r\n"
    "@shared_task\r\n"
    "def last(x):\r\n"
    "    try:\r\n"
    "        x()\r\n"
    "    except Exception: pass"
)


def test_edits_land_in_the_right_statements_with_crlf_and_no_final_newline(tmp_path: Path) -> None:
    (tmp_path / "tasks.py").write_bytes(BEFORE.encode())
    fix_tree(tmp_path, {}, "CEL001")
    after = (tmp_path / "tasks.py").read_bytes().decode()
    expected = BEFORE.replace(
        "    except Exception:\r\n        pass\r\n",
        '    except Exception:\r\n        log.exception("first: exception ignored")\r\n',
    ).replace(
        "    except Exception: pass",
        '    except Exception:\r\n        log.exception("last: exception ignored")',  # still no final newline
    )
    assert after == expected
