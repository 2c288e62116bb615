"""`make run`'s server: gunicorn with several workers sharing one embedded Redis, stopped by Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import redis

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _processes_mentioning(needle: str) -> dict[int, str]:
    found = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if needle in cmdline:
                found[int(proc.name)] = cmdline
    return found


def _children(pid: int) -> set[int]:
    kids = set()
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                stat = (proc / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.add(int(proc.name))
    return kids


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _env(instance: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUIZ_")}
    env.update(QUIZ_INSTANCE_PATH=str(instance), QUIZ_BIND=f"127.0.0.1:{port}", QUIZ_WORKERS="2", QUIZ_THREADS="2")
    return env


def _wait_healthy(port: int, server: subprocess.Popen[bytes]) -> dict:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert server.poll() is None, "gunicorn exited early"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                return json.load(response)
        except OSError:
            time.sleep(0.1)
    raise AssertionError("server did not become healthy")


def _serve_once(instance: Path) -> tuple[dict, str]:
    """Start gunicorn, read /healthz and the home page, then press Ctrl-C; assert nothing is left behind."""
    port = _free_port()
    log = instance.parent / "gunicorn.log"
    with log.open("ab") as sink:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py"],
            cwd=ROOT,
            env=_env(instance, port),
            stdout=sink,
            stderr=sink,
            start_new_session=True,  # its own process group, as a terminal's foreground job has
        )
    try:
        health = _wait_healthy(port, server)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
            home = response.read().decode()
        redis_servers = _processes_mentioning(str(instance / "redis"))
        assert len(redis_servers) == 1, redis_servers  # one server for every worker
        workers = _children(server.pid)
        assert len(workers) >= 2
        client = redis.Redis(unix_socket_path=str(instance / "redis" / "redis.sock"))
        client.incr("serving-test:runs")
        client.close()
    finally:
        os.killpg(server.pid, signal.SIGINT)  # Ctrl-C reaches the whole foreground process group
        server.wait(timeout=30)
    assert server.returncode == 0, log.read_text()[-2000:]
    assert not any(_alive(pid) for pid in workers)
    assert not any(_alive(pid) for pid in redis_servers)
    return health, home


def test_server_starts_shares_one_redis_and_stops_cleanly_twice(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    migrate = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env=_env(instance, 0),
        capture_output=True,
        text=True,
    )
    assert migrate.returncode == 0, migrate.stderr
    assert not _processes_mentioning(str(instance / "redis"))  # the CLI stopped the Redis it started

    health, home = _serve_once(instance)
    assert health["status"] == "ok" and health["database"]["ok"] and health["redis"]["ok"]
    assert '<html lang="vi">' in home
    _serve_once(instance)  # a second run reuses the same data

    reader = subprocess.run(  # read the counter back through a third, short-lived owner
        [
            sys.executable,
            "-c",
            "from quiz_engine.embedded_redis import EmbeddedRedis; import sys, redis;"
            "e = EmbeddedRedis(sys.argv[1]); print(redis.Redis.from_url(e.ensure_running()).get('serving-test:runs'));"
            "e.stop()",
            str(instance),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert reader.stdout.strip() == "b'2'", reader.stderr
    assert not _processes_mentioning(str(instance / "redis"))


def _get_on(sock: socket.socket) -> bytes:
    """One GET /healthz on an open connection; the response head and body as read (keep-alive kept)."""
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lengths = [line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")]
    length = int(lengths[0])
    while len(body) < length:
        body += sock.recv(65536)
    return head


def test_idle_connections_are_kept_as_long_as_quiz_keepalive_says(tmp_path: Path) -> None:
    """Behind a proxy, an idle pooled connection must outlive gunicorn's 2 s default (docs/DEPLOYMENT.md)."""
    port = _free_port()
    with (tmp_path / "gunicorn.log").open("ab") as sink:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py"],
            cwd=ROOT,
            env={**_env(tmp_path / "instance", port), "QUIZ_KEEPALIVE": "20"},
            stdout=sink,
            stderr=sink,
            start_new_session=True,
        )
    try:
        _wait_healthy(port, server)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            assert _get_on(sock).startswith(b"HTTP/1.1 200")
            time.sleep(3.5)  # idle beyond gunicorn's default keep-alive
            assert _get_on(sock).startswith(b"HTTP/1.1 200")  # the same connection still serves
    finally:
        os.killpg(server.pid, signal.SIGINT)
        server.wait(timeout=30)


def _login_cookie(port: int, proto: str) -> str:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/auth/login", headers={"X-Forwarded-Proto": proto})
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.headers["Set-Cookie"]


@pytest.mark.parametrize("hops", ["0", "1"])
def test_only_a_configured_proxy_may_say_the_request_came_over_https(tmp_path: Path, hops: str) -> None:
    """Without a proxy (QUIZ_PROXY_HOPS=0) a client's X-Forwarded-Proto is ignored, even from this host; behind
    one, the session cookie is marked Secure when the proxy says the visitor came over https."""
    port = _free_port()
    with (tmp_path / "gunicorn.log").open("ab") as sink:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py"],
            cwd=ROOT,
            env={**_env(tmp_path / "instance", port), "QUIZ_PROXY_HOPS": hops},
            stdout=sink,
            stderr=sink,
            start_new_session=True,
        )
    try:
        _wait_healthy(port, server)
        cookie = _login_cookie(port, "https")
        assert cookie.startswith("session=")
        assert ("Secure" in cookie) is (hops == "1")
        assert "Secure" not in _login_cookie(port, "http")
    finally:
        os.killpg(server.pid, signal.SIGINT)
        server.wait(timeout=30)
