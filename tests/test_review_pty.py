"""`fix -i` driven through a real pseudo-terminal: single keys, no Enter, files checked after."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import write_tree
from tests.test_review import TASK, changed

ROOT = Path(__file__).resolve().parent.parent
PROMPT = b"Apply this change set?"
ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")
COLOR = re.compile(rb"\x1b\[[0-9;]*(3[0-7]|9[0-7])[;m]")

pytestmark = [pytest.mark.slow, pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pty")]


# The same as `python -m celery_codemods ARGS`, after making the pty the controlling
# terminal, so that Ctrl-C typed into it sends SIGINT as in a real shell.
WITH_CONTROLLING_TERMINAL = (
    "import fcntl, runpy, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
    "runpy.run_module('celery_codemods', run_name='__main__', alter_sys=True)"
)


class Session:
    def __init__(self, cwd: Path, *args: str, env: dict[str, str] | None = None, ctty: bool = False) -> None:
        self.master, slave = pty.openpty()
        environment = {key: value for key, value in os.environ.items() if key not in {"NO_COLOR", "FORCE_COLOR"}}
        environment.update({"PYTHONPATH": str(ROOT), "TERM": "xterm", **(env or {})})
        self.process = subprocess.Popen(
            [sys.executable, *(("-c", WITH_CONTROLLING_TERMINAL) if ctty else ("-m", "celery_codemods")), *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=cwd,
            env=environment,
            start_new_session=True,
        )
        os.close(slave)
        self.output = b""

    @property
    def plain(self) -> bytes:
        return ANSI.sub(b"", self.output)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def expect(self, needle: bytes, count: int = 1, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.plain.count(needle) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {needle!r}; got:\n{self.output.decode(errors='replace')}")
            self._read(0.2)

    def send(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def finish(self, timeout: float = 60) -> int:
        deadline = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < deadline:
            self._read(0.1)
        while self._read(0.1):
            pass
        os.close(self.master)
        if self.process.poll() is None:
            self.process.kill()
            raise AssertionError(f"did not exit; output:\n{self.output.decode(errors='replace')}")
        return self.process.returncode

    def _read(self, wait: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], wait)
        if not ready:
            return False
        try:
            data = os.read(self.master, 65536)
        except OSError:  # the child closed the terminal
            return False
        self.output += data
        return bool(data)


@pytest.fixture
def sessions() -> Iterator[list[Session]]:
    started: list[Session] = []
    yield started
    for session in started:
        session.close()


def start(
    sessions: list[Session], cwd: Path, *args: str, env: dict[str, str] | None = None, ctty: bool = False
) -> Session:
    session = Session(cwd, *args, env=env, ctty=ctty)
    sessions.append(session)
    return session


def project(root: Path) -> None:
    write_tree(root, {f"{name}.py": TASK.format(name=name) for name in ("alpha", "beta", "gamma")})


def test_yes_no_quit_in_a_real_terminal(tmp_path: Path, sessions: list[Session]) -> None:
    project(tmp_path)
    session = start(sessions, tmp_path, "fix", "-i", "--select", "CEL001", "--no-cache", ".")
    session.expect(PROMPT)
    assert b"CEL001 silent-except (safe fix)" in session.plain
    assert b"files: alpha.py" in session.plain
    session.send(b"\r")  # Enter alone is harmless: still the first question
    session.send(b"y")
    session.expect(PROMPT, count=2)
    assert b"files: beta.py" in session.plain
    session.send(b"n")
    session.expect(PROMPT, count=3)
    session.send(b"q")
    code = session.finish()
    assert changed(tmp_path) == {"alpha"}, session.output.decode(errors="replace")
    assert code == 1  # declined and unreviewed findings remain
    assert b"1 accepted, 1 declined" in session.plain


def test_ctrl_c_while_reviewing_writes_nothing(tmp_path: Path, sessions: list[Session]) -> None:
    project(tmp_path)
    session = start(sessions, tmp_path, "fix", "-i", "--select", "CEL001", "--no-cache", ".", ctty=True)
    session.expect(PROMPT)
    session.send(b"y")
    session.expect(PROMPT, count=2)
    session.send(b"\x03")
    code = session.finish()
    assert code == 130
    assert b"nothing written" in session.plain
    assert changed(tmp_path) == set()


def test_all_then_every_file_is_fixed_and_exit_is_clean(tmp_path: Path, sessions: list[Session]) -> None:
    project(tmp_path)
    session = start(sessions, tmp_path, "fix", "-i", "--select", "CEL001", "--no-cache", ".")
    session.expect(PROMPT)
    session.send(b"?")
    session.expect(b"and all remaining ones")
    session.send(b"a")
    code = session.finish()
    assert changed(tmp_path) == {"alpha", "beta", "gamma"}
    assert code == 0


def test_stdin_not_a_terminal_is_a_usage_error_not_a_hang(tmp_path: Path) -> None:
    project(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "celery_codemods", "fix", "-i", "."],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "--interactive needs a terminal" in result.stderr
    assert changed(tmp_path) == set()


def test_diff_is_coloured_on_a_terminal_unless_no_color(tmp_path: Path, sessions: list[Session]) -> None:
    project(tmp_path)
    coloured = start(sessions, tmp_path, "fix", "--diff", "--select", "CEL001", "--no-cache", ".")
    assert coloured.finish() == 1
    assert COLOR.search(coloured.output)
    plain = start(sessions, tmp_path, "fix", "--diff", "--select", "CEL001", "--no-cache", ".", env={"NO_COLOR": "1"})
    assert plain.finish() == 1
    assert b'+        logger.exception("alpha: exception ignored")' in plain.output
    assert not COLOR.search(plain.output)
