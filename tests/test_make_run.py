"""`make run` as a new user runs it in a terminal: Ctrl-C stops all of it, the upkeep included (issue 16).

The upkeep (`quiz maintain --every N`) is a child of the gunicorn master (gunicorn.conf.py): it must go when the
server goes, by Ctrl-C or by the master's death, and never be left running on its own.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT = 90  # a fresh instance: migrations and the demo contest come first
STOP_TIMEOUT = 15

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stat(pid: int) -> list[str] | None:
    """Fields 3 onwards of /proc/<pid>/stat (state, ppid, pgrp, ...), or None once it is gone or a zombie."""
    try:
        fields = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] in ("Z", "X") else fields


def _cmdline(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _pids() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and int(p.name) != os.getpid()]


def _group(pgid: int) -> dict[int, str]:
    """Live processes of the process group (field 5 of /proc/<pid>/stat)."""
    return {pid: _cmdline(pid) for pid in _pids() if (fields := _stat(pid)) and int(fields[2]) == pgid}


def _mentioning(needle: str) -> dict[int, str]:
    """Live processes whose command line, working directory or environment names ``needle``.

    The embedded redis-server runs in a session of its own, with the socket path on its command line; every
    process started by `make run` has QUIZ_INSTANCE_PATH in its environment.
    """
    found = {}
    for pid in _pids():
        proc = Path("/proc") / str(pid)
        try:
            texts = [
                (proc / "cmdline").read_bytes(),
                os.readlink(proc / "cwd").encode(),
                (proc / "environ").read_bytes(),
            ]
        except OSError:
            continue
        if any(needle.encode() in text for text in texts) and _stat(pid):
            found[pid] = _cmdline(pid)
    return found


def _open_files(pid: int) -> set[str]:
    files = set()
    with suppress(OSError):
        for fd in (Path("/proc") / str(pid) / "fd").iterdir():
            with suppress(OSError):
                files.add(os.readlink(fd))
    return files


def _healthz(port: int) -> int | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return response.status
    except OSError:
        return None


def _wait_for(predicate, timeout: float, what: str, make: subprocess.Popen[bytes], log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        assert make.poll() is None, f"make run exited ({make.returncode}) before {what}:\n{log.read_text()[-3000:]}"
        time.sleep(0.2)
    raise AssertionError(f"no {what} within {timeout} s:\n{log.read_text()[-3000:]}")


def _kill_all(pgid: int, instance: Path) -> None:
    """Leave nothing behind, whatever happened: the group, then anything else of this instance (redis-server)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in set(_group(pgid)) | set(_mentioning(str(instance))):
            with suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + 5
        while (_group(pgid) or _mentioning(str(instance))) and time.monotonic() < deadline:
            time.sleep(0.1)


class Run:
    """A `make run` started as a terminal starts a foreground job, with its upkeep found and seen working."""

    def __init__(self, make: subprocess.Popen[bytes], instance: Path, log: Path, port: int) -> None:
        self.make, self.instance, self.log, self.port = make, instance, log, port
        self.pgid = make.pid  # start_new_session: make leads a process group of its own, as a terminal's job

    def upkeep(self) -> int | None:
        """The upkeep child once it has run a turn (it has the database open), else None."""
        for pid, cmdline in _group(self.pgid).items():
            if "quiz maintain --every" in cmdline and str(self.instance / "quiz_engine.sqlite") in _open_files(pid):
                return pid
        return None

    def wait_until_serving(self) -> int:
        _wait_for(lambda: _healthz(self.port) == 200, START_TIMEOUT, "200 from /healthz", self.make, self.log)
        return _wait_for(self.upkeep, START_TIMEOUT, "upkeep turn", self.make, self.log)

    def wait_until_gone(self, pids: set[int], timeout: float) -> tuple[dict[int, str], dict[int, str]]:
        """What is still alive after ``timeout``: of ``pids``/the group, and of anything of this instance."""
        deadline = time.monotonic() + timeout
        while True:
            left = {pid: _cmdline(pid) for pid in pids if _stat(pid)} | _group(self.pgid)
            stray = _mentioning(str(self.instance))
            if (not left and not stray) or time.monotonic() > deadline:
                return left, stray
            time.sleep(0.1)


@contextmanager
def make_run(tmp_path: Path) -> Iterator[Run]:
    instance = tmp_path / "instance"  # never the checkout's own instance/
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QUIZ_", "MAKE", "MFLAGS", "GUNICORN_"))}
    env.update(
        QUIZ_BIND=f"127.0.0.1:{port}",
        QUIZ_INSTANCE_PATH=str(instance),
        QUIZ_UPKEEP_SECONDS="2",
        QUIZ_WORKERS="2",
        QUIZ_THREADS="2",
    )
    log = tmp_path / "make-run.log"
    with log.open("wb") as sink:
        make = subprocess.Popen(
            ["make", "run"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    run = Run(make, instance, log, port)
    try:
        yield run
    finally:
        _kill_all(run.pgid, instance)
        try:
            make.wait(timeout=10)
        except subprocess.TimeoutExpired:
            make.kill()
            make.wait()


def test_ctrl_c_stops_server_upkeep_and_redis(tmp_path: Path) -> None:
    with make_run(tmp_path) as run:
        upkeep = run.wait_until_serving()
        group = _group(run.pgid)
        assert upkeep in group
        assert "gunicorn" in _cmdline(int(_stat(upkeep)[1]))  # a child of the master, not of make's shell
        redis_servers = {pid for pid, cmd in _mentioning(str(run.instance)).items() if "redis-server" in cmd}
        assert len(redis_servers) == 1  # the server's; the upkeep connects to it rather than start its own
        environ = (Path("/proc") / str(upkeep) / "environ").read_bytes().split(b"\0")
        assert f"QUIZ_REDIS_URL=unix://{run.instance}/redis/redis.sock".encode() in environ

        os.killpg(run.pgid, signal.SIGINT)  # Ctrl-C reaches the whole foreground process group
        left, stray = run.wait_until_gone(set(group) | redis_servers, STOP_TIMEOUT)
        assert not left, f"still running after Ctrl-C: {left}\n{run.log.read_text()[-3000:]}"
        assert not stray, f"still running after Ctrl-C: {stray}"
        output = run.log.read_text()
        assert f"Upkeep started: quiz maintain --every 2 (pid {upkeep})" in output
        assert f"Upkeep stopped (pid {upkeep}" in output
        assert "Traceback" not in output, output[-3000:]


def test_upkeep_dies_with_a_killed_master(tmp_path: Path) -> None:
    with make_run(tmp_path) as run:
        upkeep = run.wait_until_serving()
        master = int(_stat(upkeep)[1])
        assert "gunicorn" in _cmdline(master)

        os.kill(master, signal.SIGKILL)  # no on_exit: only the kernel can tell the upkeep (PR_SET_PDEATHSIG)
        deadline = time.monotonic() + 5
        while _stat(upkeep) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _stat(upkeep), f"the upkeep outlived its master:\n{run.log.read_text()[-3000:]}"
