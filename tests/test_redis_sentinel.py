"""An app whose REDIS_URL is ``redis+sentinel://…``: a real Redis and a real Sentinel watching it.

Both are Debian's ``redis-server`` (CI installs it), started on free loopback ports for this module:
the app finds the primary through the sentinel, and what it writes (attempt state, board counters,
rate-limit counts) is read back straight from the primary.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from flask import Flask

from quiz_engine import create_app, redis_connection
from quiz_engine.extensions import db
from quiz_engine.models import utcnow
from quiz_engine.services.results import leaderboards
from quiz_engine.services.taking import attempt_state
from quiz_engine.web.rate_limits import limiter

SERVICE = "quizprimary"
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait(check, what: str, log: Path) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except redis.RedisError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"{what} did not come up: {log.read_text()[-2000:] if log.exists() else ''}")


@dataclass(frozen=True)
class Servers:
    primary_port: int
    sentinel_port: int

    @property
    def url(self) -> str:
        return f"redis+sentinel://127.0.0.1:{self.sentinel_port}/{SERVICE}/0"

    def primary(self) -> redis.Redis:
        return redis.Redis(port=self.primary_port, decode_responses=True)


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    if not Path(REDIS_SERVER).exists():
        pytest.skip("redis-server is not installed (CI installs it: apt-get install redis-server)")
    folder = tmp_path_factory.mktemp("sentinel")
    found = Servers(_free_port(), _free_port())
    primary = subprocess.Popen(
        [
            REDIS_SERVER,
            "--port",
            str(found.primary_port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
            "--logfile",
            str(folder / "primary.log"),
        ],
        stdin=subprocess.DEVNULL,
    )
    processes = [primary]
    try:
        direct = found.primary()
        _wait(direct.ping, "redis-server", folder / "primary.log")
        direct.close()
        config = folder / "sentinel.conf"  # a sentinel rewrites its config file: it must be its own
        config.write_text(
            f"port {found.sentinel_port}\nbind 127.0.0.1\ndir {folder}\nlogfile {folder / 'sentinel.log'}\n"
            f"sentinel monitor {SERVICE} 127.0.0.1 {found.primary_port} 1\n"
            f"sentinel down-after-milliseconds {SERVICE} 60000\n"
        )
        processes.append(subprocess.Popen([REDIS_SERVER, str(config), "--sentinel"], stdin=subprocess.DEVNULL))
        sentinel = redis.Redis(port=found.sentinel_port, decode_responses=True)
        _wait(
            lambda: sentinel.sentinel_get_master_addr_by_name(SERVICE) == ("127.0.0.1", found.primary_port),
            "redis sentinel",
            folder / "sentinel.log",
        )
        sentinel.close()
        yield found
    finally:
        for process in reversed(processes):
            process.terminate()
            process.wait(timeout=10)


@pytest.fixture
def sentinel_app(servers: Servers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    monkeypatch.setenv("QUIZ_INSTANCE_PATH", str(tmp_path / "instance"))
    direct = servers.primary()
    direct.flushdb()
    direct.close()
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "WTF_CSRF_ENABLED": False,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'test.sqlite'}",
            "REDIS_URL": servers.url,
            "RATE_LIMIT_LOGIN_ADDRESS": "2 per minute",
        }
    )
    with app.app_context():
        db.create_all()
    yield app
    app.extensions["quiz_export_runner"].shutdown()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    redis_connection.close(app.extensions["quiz_redis"])
    assert "quiz_embedded_redis" not in app.extensions


def test_the_app_writes_and_reads_through_the_sentinel(sentinel_app: Flask, servers: Servers) -> None:
    client = sentinel_app.extensions["quiz_redis"]
    assert client.connection_pool.service_name == SERVICE
    until = utcnow() + timedelta(minutes=30)
    attempt_state.open_state(client, "quiz", round_id=7, attempt_id=70, user_id=5, accept_until=until, layout="4,4m")
    leaderboards.mark_started(client, "quiz", 7, 70, unit_id=3)
    saved = attempt_state.save_answer(
        client, "quiz", round_id=7, attempt_id=70, user_id=5, field="1", value="0,2", now=utcnow()
    )
    assert saved is attempt_state.SaveResult.SAVED

    direct = servers.primary()
    try:
        assert direct.hget(attempt_state.attempt_key("quiz", 7, 70), "user") == "5"
        assert direct.hget(attempt_state.answers_key("quiz", 7, 70), "1").startswith("0,2|")
        stats = direct.hgetall(leaderboards.RoundKeys("quiz", 7).stats)
        assert stats == {"started": "1", "in_progress": "1", "u:3:started": "1"}
        direct.hset(attempt_state.answers_key("quiz", 7, 70), "p", "42|1")  # written beside the app: read back
        assert attempt_state.saved_answers(client, "quiz", 7, 70)["p"].value == "42"
    finally:
        direct.close()

    health = sentinel_app.test_client().get("/healthz").get_json()
    assert health["status"] == "ok" and health["redis"]["ok"]


def test_rate_limits_count_on_the_primary_the_sentinel_names(sentinel_app: Flask, servers: Servers) -> None:
    # The limiter shares the app's Sentinel pool, so it follows the primary through a failover too.
    assert limiter.storage.storage.connection_pool is sentinel_app.extensions["quiz_redis"].connection_pool
    browser = sentinel_app.test_client()
    tries = [browser.post("/auth/login", data={"login": f"ai{n}@example.vn", "password": "sai"}) for n in range(3)]
    assert [r.status_code for r in tries] == [401, 401, 429]
    direct = servers.primary()
    try:
        counts = {key: direct.get(key) for key in direct.scan_iter(match="quiz:rl:*")}
        assert counts["quiz:rl:LIMITER/127.0.0.1/login-address/2/1/minute"] == "2"
        assert counts["quiz:rl:LIMITER/login:email:ai0@example.vn@127.0.0.1/login-account/10/15/minute"] == "1"
        assert counts["quiz:rl:LIMITER/login:email:ai0@example.vn/login-account-anywhere/50/15/minute"] == "1"
    finally:
        direct.close()
