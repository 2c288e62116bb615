"""The fault suite's stage: real gunicorn (the production config), a real ``redis-server`` with the append-only
file the docs recommend, and a database: SQLite, or when the suite runs on PostgreSQL (``QUIZ_TEST_DATABASE_URL``
set, as in CI's second pass) and always for the database restart, a private PostgreSQL cluster that the test may
stop and start without touching the one the other tests use. Everything listens on loopback and lives under a
temporary folder; every process is stopped at the end of its test.

Contestants are the load benchmark's scripted browsers (``benchmarks/contestants.py``), a few dozen of them, with
short think times; each remembers what the server acknowledged, and ``benchmarks.load.verify`` looks for all of it
in the database afterwards.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

from benchmarks import load_stack
from benchmarks.load_stack import ROOT, free_port

T = TypeVar("T")

#: Figures of every fault, for docs/RELIABILITY.md.
FIGURES = ROOT / "test-artifacts" / "faults.json"


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` in a thread of its own: the browser tests' Playwright leaves an event loop in this one."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def record(case: str, stage: Stage, figures: dict[str, Any]) -> None:
    """Keep one fault's figures (acknowledged, lost, errors seen) beside the others', per database."""
    FIGURES.parent.mkdir(exist_ok=True)
    found = json.loads(FIGURES.read_text()) if FIGURES.exists() else {}
    database = "postgresql" if stage.stack.database_url.startswith("postgresql") else "sqlite"
    found[f"{case} ({database})"] = {**figures, "database": database}
    FIGURES.write_text(json.dumps(found, indent=2, ensure_ascii=False, sort_keys=True))


class RedisProcess:
    """A ``redis-server`` on one port and folder, with the append-only file fsynced every second (docs/REDIS.md)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = load_stack.start_redis(self.port, self.folder)

    def kill(self) -> None:
        """SIGKILL: a crash, no chance to write anything more."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


@dataclass
class PrivatePostgres:
    """A PostgreSQL cluster of its own in a temporary folder, run as ``postgres`` when the tests run as root."""

    folder: Path
    port: int
    bin: Path

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        return subprocess.run([*prefix, *args], capture_output=True, text=True, check=check, timeout=60)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://quiz@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "-o", options, "-w", "-l",
                  str(self.folder / "postgres.log"), "start")  # fmt: skip

    def stop(self) -> None:
        """A fast shutdown, as a restart for an upgrade or a failover does: open sessions are cut."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "fast", "-w", "stop", check=False)

    def create_database(self, name: str) -> str:
        self._run(str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "quiz", name)
        return self.url(name)


@pytest.fixture(scope="session")
def private_postgres() -> Iterator[PrivatePostgres]:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: [int(x) for x in p.split("/")[4].split(".")]
    )
    if not found:
        pytest.skip("PostgreSQL's server programs are not installed (CI installs them)")
    folder = Path(tempfile.mkdtemp(prefix="quiz-faults-pg-"))
    folder.chmod(0o777)
    server = PrivatePostgres(folder, free_port(), Path(found[-1]).parent)
    (folder / "data").mkdir()
    if os.geteuid() == 0:
        shutil.chown(folder / "data", "postgres", "postgres")
    server._run(str(server.bin / "initdb"), "-D", str(folder / "data"), "-U", "quiz", "--auth=trust", "-E", "UTF8",
                "--locale=C.UTF-8")  # fmt: skip
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class Stage:
    """A running server on a database and a Redis, the round its contestants take, and handles to break things."""

    stack: load_stack.Stack
    redis_server: RedisProcess
    app: Any
    seeded: load_stack.Seeded
    upkeep: subprocess.Popen[bytes] | None = None
    log_lines: list[str] = field(default_factory=list)

    def worker_pids(self) -> list[int]:
        master = self.stack.server_process.pid  # type: ignore[union-attr]
        return [pid for pid, fields in load_stack._processes() if int(fields[1]) == master and fields[0] != "Z"]

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", "quiz", *args],
            cwd=ROOT, env=self.stack.env(), capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
        return done.stdout

    def start_upkeep(self, every: float) -> None:
        """``quiz maintain --every`` beside the server, as the deployment guide runs it."""
        self.upkeep = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "quiz", "maintain", "--every", str(every)],
            cwd=ROOT, env=self.stack.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def server_log(self) -> str:
        return self.stack.server_log.read_text(errors="replace") if self.stack.server_log else ""

    def stop(self) -> None:
        if self.upkeep is not None and self.upkeep.poll() is None:
            self.upkeep.send_signal(signal.SIGTERM)
            self.upkeep.wait(timeout=20)
        load_stack.stop_server(self.stack)
        self.redis_server.stop()
        from quiz_engine.extensions import db

        with self.app.app_context():
            db.engine.dispose()


@pytest.fixture
def stage_factory(tmp_path: Path, private_postgres: PrivatePostgres, request: pytest.FixtureRequest, monkeypatch):  # type: ignore[no-untyped-def]
    """``make(contestants, time_limit=…, postgres=…)``: a seeded round served by gunicorn; stopped afterwards."""
    stages: list[Stage] = []
    on_postgres = bool(os.environ.get("QUIZ_TEST_DATABASE_URL"))

    def make(contestants: int, *, time_limit: int = 600, postgres: bool | None = None) -> Stage:
        folder = tmp_path / f"stage{len(stages)}"
        folder.mkdir()
        redis_server = RedisProcess(folder / "redis")
        redis_server.start()
        if postgres if postgres is not None else on_postgres:
            database = private_postgres.create_database(f"faults_{request.node.name[:40].lower()}_{len(stages)}")
        else:
            database = f"sqlite:///{folder / 'faults.sqlite'}"
        stack = load_stack.Stack(folder, database, redis_server.url)
        monkeypatch.setenv("QUIZ_INSTANCE_PATH", str(folder / "instance"))  # app_for sets it; put back after
        app = load_stack.app_for(stack)
        load_stack.migrate(app)
        from quiz_engine.models import utcnow

        seeded = load_stack.seed(app, contestants, time_limit_seconds=time_limit, now=utcnow())
        load_stack.prepare_papers(stack, seeded.round_id)
        stage = Stage(stack, redis_server, app, seeded)
        stages.append(stage)
        # Two workers of four threads: a worker can be killed while the other serves on.
        load_stack.start_server(stack, app_module="wsgi:app", QUIZ_WORKERS="2", QUIZ_THREADS="4")
        return stage

    yield make
    for stage in stages:
        stage.stop()
