"""Several app instances share everything: two real gunicorn servers, one database, one Redis.

Two servers (``gunicorn.conf.py``, the production settings: CSRF on, no TESTING) listen on two loopback
ports with the same database, the same Redis and the same secret key, but each with its own instance
folder, so they share nothing in memory or on a local disk. One browser (one cookie jar) moves between
them as a load balancer without sticky sessions would send it: sessions, CSRF tokens, attempt state,
rate limits, export jobs and pending uploads must all live in the shared stores.

The servers start once for the module. Each test gets conftest's ``app`` on the servers' database
(emptied for it) and the session's Redis (flushed for it), and builds its contest there.
"""

from __future__ import annotations

import http.cookiejar
import io
import json
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from openpyxl import load_workbook
from sqlalchemy import func, select

from quiz_engine.extensions import db
from quiz_engine.models import (
    Attempt,
    AttemptStatus,
    AuditEvent,
    Contest,
    ExportJob,
    ExportStatus,
    Question,
    QuestionBank,
    Role,
    Round,
    User,
    utcnow,
)
from quiz_engine.services.people import accounts
from quiz_engine.services.results import leaderboards
from quiz_engine.services.results.leaderboards import RoundKeys
from quiz_engine.services.taking import attempt_state, paper_pool
from tests import contest_fixture
from tests.conftest import PASSWORD, TEST_DATABASE_URL

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "two-instances-" + "k" * 40  # the same on both servers, as the README asks
LOGIN_LIMIT = 3
CONTESTANT, CONTESTANT_PASSWORD = "an@example.vn", "mat-khau-123"  # what contest_fixture.build registers
PREFIX = "quiz"


# --- the two servers ------------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    port: int
    instance: Path
    log: Path
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_mark(self) -> int:
        return self.log.stat().st_size

    def log_since(self, mark: int, *, waiting_for: tuple[str, ...] = ()) -> str:
        """Gunicorn's access log (and errors) written since ``mark``, once it holds every ``waiting_for`` line
        (gunicorn logs a request just after answering it)."""
        deadline = time.monotonic() + 10
        while True:
            with self.log.open("rb") as log:
                log.seek(mark)
                text = log.read().decode(errors="replace")
            if all(needle in text for needle in waiting_for) or time.monotonic() > deadline:
                return text
            time.sleep(0.05)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _server_env(instance: Path, port: int, database_url: str, redis_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUIZ_")}
    env.update(
        QUIZ_BIND=f"127.0.0.1:{port}",
        QUIZ_WORKERS="2",  # two processes per instance: a request may reach either
        QUIZ_THREADS="4",
        QUIZ_DATABASE_URL=database_url,
        QUIZ_REDIS_URL=redis_url,  # set: gunicorn.conf.py's on_starting starts no embedded Redis
        QUIZ_SECRET_KEY=SECRET_KEY,
        QUIZ_INSTANCE_PATH=str(instance),
        QUIZ_RATE_LIMIT_LOGIN_ACCOUNT=f"{LOGIN_LIMIT} per 15 minutes",
        QUIZ_EXPORT_INLINE_WAIT_SECONDS="0",  # every export goes on in the background
    )
    return env


def _start(name: str, folder: Path, database_url: str, redis_url: str) -> Server:
    instance = folder / f"instance-{name}"
    instance.mkdir(parents=True)
    port = _free_port()
    log = folder / f"gunicorn-{name}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py"],
            cwd=ROOT,
            env=_server_env(instance, port, database_url, redis_url),
            stdout=sink,
            stderr=sink,
            start_new_session=True,  # its own process group, so a stuck server can be killed whole
        )
    return Server(name, port, instance, log, process)


def _wait_healthy(server: Server) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.process.poll() is None, f"server {server.name} exited:\n{server.log_since(0)[-3000:]}"
        try:
            with urllib.request.urlopen(f"{server.url}/healthz", timeout=2) as response:
                return json.load(response)  # type: ignore[no-any-return]
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"server {server.name} did not become healthy:\n{server.log_since(0)[-3000:]}")


def _stop(server: Server) -> None:
    """SIGTERM to the master (gunicorn's graceful stop), then wait; kill the group only if it hangs."""
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait(timeout=10)


@pytest.fixture(scope="module")
def shared_database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """PostgreSQL when the suite runs on it, else one SQLite file for the module (not per test)."""
    return TEST_DATABASE_URL or f"sqlite:///{tmp_path_factory.mktemp('two-instances-db') / 'shared.sqlite'}"


@pytest.fixture(scope="module")
def servers(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str, shared_database_url: str, _postgres_schema: None
) -> Iterator[tuple[Server, Server]]:
    """Servers A and B, started together; stopped (SIGTERM, wait) however the tests end."""
    folder = tmp_path_factory.mktemp("two-instances")
    started: list[Server] = []
    try:
        for name in ("a", "b"):
            started.append(_start(name, folder, shared_database_url, redis_url))
        for server in started:
            health = _wait_healthy(server)
            assert health["status"] == "ok" and health["database"]["ok"] and health["redis"]["ok"], health
            expected = "postgresql" if TEST_DATABASE_URL else "sqlite"
            assert health["database"]["detail"] == expected
        yield started[0], started[1]
    finally:
        for server in started:
            _stop(server)
    for server in started:
        assert server.process.returncode == 0, server.log_since(0)[-3000:]


@pytest.fixture
def config_overrides(shared_database_url: str) -> dict[str, object]:
    """conftest's app on the servers' database (on PostgreSQL it already is)."""
    return {} if TEST_DATABASE_URL else {"SQLALCHEMY_DATABASE_URI": shared_database_url}


@pytest.fixture
def app(app: Flask, servers: tuple[Server, Server]) -> Flask:
    """conftest's app, its Redis flushed; its database emptied (conftest truncates PostgreSQL itself,
    but its SQLite file is per test and ours is shared for the module)."""
    if not TEST_DATABASE_URL:
        with app.app_context(), db.engine.begin() as connection:
            connection.exec_driver_sql("PRAGMA defer_foreign_keys = ON")  # questions and versions refer to each other
            for table in reversed(db.metadata.sorted_tables):
                connection.execute(table.delete())
    return app


def _assert_nothing_kept_locally(servers: tuple[Server, Server]) -> None:
    """Neither instance wrote to its own folder: no embedded Redis, no SQLite file, no key, no upload."""
    for server in servers:
        assert sorted(p.name for p in server.instance.iterdir()) == [], server.name


# --- one browser: one cookie jar, whichever server a request reaches -----------------------------


@dataclass
class Reply:
    status: int
    headers: Message
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode()

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def location(self) -> str:
        """The redirect's path (Werkzeug sends it relative; a load balancer keeps it on any instance)."""
        return urllib.parse.urlsplit(self.headers["Location"]).path


class _KeepRedirects(urllib.request.HTTPRedirectHandler):
    """Hand redirects back to the test instead of following them (to choose the next server)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Browser:
    """A person's browser: cookies set by either server go back to both (cookies ignore the port)."""

    def __init__(self) -> None:
        self.cookies = http.cookiejar.CookieJar()
        self._opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies), _KeepRedirects())

    def send(
        self,
        server: Server,
        method: str,
        path: str,
        *,
        form: dict[str, str] | None = None,
        body: object = None,
        csrf: str | None = None,
        upload: tuple[str, str, bytes] | None = None,
    ) -> Reply:
        headers = {"Accept": "application/json" if path.startswith("/api/") else "text/html"}
        data = None
        if upload is not None:
            data, headers["Content-Type"] = _multipart(form or {}, upload)
        elif form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if csrf is not None:
            headers["X-CSRFToken"] = csrf  # as attempt.js sends it
        request = urllib.request.Request(server.url + path, data=data, headers=headers, method=method)
        try:
            with self._opener.open(request, timeout=30) as response:
                return Reply(response.status, response.headers, response.read())
        except urllib.error.HTTPError as refused:  # 3xx (not followed) and 4xx/5xx answers
            with refused:
                return Reply(refused.code, refused.headers, refused.read())

    def get(self, server: Server, path: str) -> Reply:
        return self.send(server, "GET", path)

    def post(self, server: Server, path: str, form: dict[str, str], **kwargs: Any) -> Reply:
        return self.send(server, "POST", path, form=form, **kwargs)

    def put(self, server: Server, path: str, body: object, csrf: str | None) -> Reply:
        return self.send(server, "PUT", path, body=body, csrf=csrf)


def _multipart(fields: dict[str, str], upload: tuple[str, str, bytes]) -> tuple[bytes, str]:
    boundary = secrets.token_hex(16)
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    field, filename, content = upload
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + content
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _found(pattern: str, html: str) -> str:
    """The first group of ``pattern`` in a page (the test fails if it is not there)."""
    found = re.search(pattern, html)
    assert found, f"{pattern} is not on the page"
    return found[1]


def csrf_in(html: str) -> str:
    """The CSRF token a page's forms carry."""
    return _found(r'name="csrf_token"[^>]*value="([^"]+)"', html)


def sign_in(browser: Browser, server: Server, login: str, password: str) -> Reply:
    """Through the real sign-in form: read its token, post it."""
    page = browser.get(server, "/auth/login")
    assert page.status == 200
    return browser.post(server, "/auth/login", {"login": login, "password": password, "csrf_token": csrf_in(page.text)})


def _signed_in(browser: Browser, server: Server) -> bool:
    profile = browser.get(server, "/auth/profile")
    assert profile.status in (200, 302), profile.status
    return profile.status == 200


def _organizer(app: Flask, email: str = "btc@example.vn") -> None:
    with app.app_context():
        accounts.create_user(
            db.session,
            full_name="Cán Bộ Ban Tổ Chức",
            email=email,
            password=PASSWORD,
            role=Role.ORGANIZER,
            now=utcnow(),
        )
        db.session.commit()
    contest_fixture.list_as_organizer(app, _user_id(app, email))


def _user_id(app: Flask, email: str) -> int:
    with app.app_context():
        return int(db.session.scalar(select(User.id).where(User.email == email)))


def _actions(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


# --- the tests ------------------------------------------------------------------------------------


def test_a_contestant_moves_between_instances_in_the_middle_of_an_attempt(
    app: Flask, servers: tuple[Server, Server]
) -> None:
    a, b = servers
    marks = [s.log_mark() for s in servers]
    with app.app_context():
        built = contest_fixture.build(
            db.session, per_paper=5, prediction_kind="participants", prediction_prompt="Bao nhiêu người dự thi?"
        )
        round_id, user_id, unit_id = built.round.id, built.user_id, built.contest.units[0].id
    me = Browser()

    # On A: sign in with the form, start from the contest page, open the paper.
    assert sign_in(me, a, CONTESTANT, CONTESTANT_PASSWORD).status == 302
    contest_page = me.get(a, "/contests/thi")
    assert contest_page.status == 200 and "Bắt đầu làm bài" in contest_page.text
    started = me.post(a, f"/rounds/{round_id}/start", {"csrf_token": csrf_in(contest_page.text)})
    assert started.status == 302 and re.fullmatch(r"/attempts/\d+", started.location), started.location
    attempt_id = int(started.location.rsplit("/", 1)[1])
    page = me.get(a, started.location)
    assert page.status == 200
    token_from_a = csrf_in(page.text)
    remaining_on_a = int(_found(r'data-remaining-ms="(\d+)"', page.text))
    save_urls = dict(re.findall(r'data-position="(\d+)"\s+data-save-url="([^"]+)"', page.text))
    prediction_url = _found(r'id="q-prediction"\s+data-save-url="([^"]+)"', page.text)
    assert sorted(save_urls) == ["0", "1", "2", "3", "4"]

    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt is not None and attempt.user_id == user_id and attempt.status is AttemptStatus.IN_PROGRESS
        keys = [item.question_version.correct_positions[0] for item in attempt.items]
        deadline = attempt.deadline_at
    # Right, wrong, right, right, wrong: 3 correct. Choice ids are bank positions 0..3.
    chosen = {p: keys[p] if p in (0, 2, 3) else (keys[p] + 1) % 4 for p in range(5)}

    # On A: the first two answers, autosaved as attempt.js does.
    for position in (0, 1):
        saved = me.put(a, save_urls[str(position)], {"choices": [chosen[position]]}, token_from_a)
        assert saved.status == 200 and saved.json() == {"saved": True, "status": "saved"}, saved.text
    redis = app.extensions["quiz_redis"]
    in_redis = attempt_state.saved_answers(redis, PREFIX, round_id, attempt_id)
    assert {f: v.choices for f, v in in_redis.items()} == {"0": [chosen[0]], "1": [chosen[1]]}
    with app.app_context():  # autosave never touches the database: only Redis holds them
        assert all(i.selected is None for i in db.session.get(Attempt, attempt_id).items)

    # On B, same cookies: the paper shows A's answers and the true time left.
    before = utcnow()
    paper = me.get(b, f"/api/v1/attempts/{attempt_id}")
    after = utcnow()
    assert paper.status == 200, paper.text
    data = paper.json()
    assert data["id"] == attempt_id and data["status"] == "in_progress"
    assert [q["selected"] for q in data["questions"]] == [[chosen[0]], [chosen[1]], [], [], []]
    assert data["prediction"]["value"] is None
    slack_ms = 1000
    assert (deadline - after).total_seconds() * 1000 - slack_ms <= data["remaining_ms"]
    assert data["remaining_ms"] <= (deadline - before).total_seconds() * 1000 + slack_ms
    assert data["remaining_ms"] <= remaining_on_a + slack_ms and data["remaining_ms"] < 600_000
    page_on_b = me.get(b, f"/attempts/{attempt_id}")
    assert page_on_b.status == 200
    for position in (0, 1):
        assert re.search(rf'name="q{position}" value="{chosen[position]}" checked', page_on_b.text)

    # CSRF is on in these servers: a save without the token is refused; A's token is good on B.
    refused = me.put(b, save_urls["2"], {"choices": [chosen[2]]}, None)
    assert refused.status == 400 and refused.json()["code"] == "csrf"
    for position in (2, 3):
        saved = me.put(b, save_urls[str(position)], {"choices": [chosen[position]]}, token_from_a)
        assert saved.status == 200 and saved.json()["status"] == "saved", saved.text
    token_from_b = data["csrf_token"]  # the API's token, as a client without the page would use
    assert me.put(b, save_urls["4"], {"choices": [chosen[4]]}, token_from_b).status == 200
    predicted = me.put(b, prediction_url, {"value": 42}, token_from_b)
    assert predicted.status == 200 and predicted.json()["saved"] is True, predicted.text

    # Submit on B, as the page's script posts the paper form to the submit address.
    form = {"csrf_token": token_from_a, "prediction": "42", **{f"q{p}": str(c) for p, c in chosen.items()}}
    submitted = me.post(b, f"/attempts/{attempt_id}/submit", form)
    assert submitted.status == 302 and submitted.location == f"/attempts/{attempt_id}/result"

    # The result on A.
    result_page = me.get(a, f"/attempts/{attempt_id}/result")
    assert result_page.status == 200 and "<strong>3/5</strong>" in result_page.text, result_page.text
    result = me.get(a, f"/api/v1/attempts/{attempt_id}/result").json()
    assert (result["status"], result["correct_count"], result["prediction"]) == ("submitted", 3, 42)
    assert me.get(a, f"/attempts/{attempt_id}").location == f"/attempts/{attempt_id}/result"  # no reopening

    # The database recorded every answer, wherever it was saved.
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt.status is AttemptStatus.SUBMITTED and attempt.submitted_at is not None
        assert (attempt.correct_count, attempt.prediction, attempt.question_count) == (3, 42, 5)
        items = {i.position: i for i in attempt.items}
        assert {p: i.selected for p, i in items.items()} == {p: [c] for p, c in chosen.items()}
        assert {p: i.is_correct for p, i in items.items()} == {0: True, 1: False, 2: True, 3: True, 4: False}
        assert all(i.answered_at is not None for i in items.values())
        assert db.session.scalar(select(func.count(Attempt.id))) == 1
    # Redis scored it into the live boards.
    round_keys = RoundKeys(PREFIX, round_id)
    entry, total = leaderboards.rank_of(redis, round_keys.board, user_id)
    assert entry is not None and (entry.rank, entry.correct, total) == (1, 3, 1)
    assert redis.hget(round_keys.who, str(user_id)).split("|")[:2] == [str(attempt_id), str(unit_id)]
    assert redis.zscore(round_keys.unit_board(unit_id), str(user_id)) is not None
    assert redis.hget(round_keys.stats, "submitted") == "1" and redis.hget(round_keys.stats, "in_progress") == "0"

    # The requests really went where the test sent them.
    answers = f"/api/v1/rounds/{round_id}/attempts/{attempt_id}/answers"
    on_a = (f'"PUT {answers}/0 ', f'"PUT {answers}/1 ', f'"GET /attempts/{attempt_id}/result ')
    on_b = (*(f'"PUT {answers}/{p} ' for p in (2, 3, 4)), f'"POST /attempts/{attempt_id}/submit ')
    log_a, log_b = a.log_since(marks[0], waiting_for=on_a), b.log_since(marks[1], waiting_for=on_b)
    assert all(line in log_a for line in on_a) and not any(line in log_a for line in on_b)
    assert all(line in log_b for line in on_b) and not any(line in log_b for line in on_a[:2])
    _assert_nothing_kept_locally(servers)


def test_failed_sign_ins_on_both_instances_count_together(
    app: Flask, servers: tuple[Server, Server], make_user: Callable[..., int]
) -> None:
    a, b = servers
    make_user("thi-sinh@example.vn")
    make_user("hang-xom@example.vn", name="Lê Văn Hàng")
    guesser = Browser()
    for server in (a, b, a):  # the limit is 3 failures per 15 minutes, wherever they land
        assert sign_in(guesser, server, "thi-sinh@example.vn", "doan-sai-mat-khau").status == 401
    for server in (b, a):
        refused = sign_in(guesser, server, "thi-sinh@example.vn", "doan-sai-mat-khau")
        assert refused.status == 429 and int(refused.headers["Retry-After"]) > 0, refused.status
    # Held back on both, even with the right password; the account, not the address, is limited.
    assert sign_in(Browser(), b, "thi-sinh@example.vn", PASSWORD).status == 429
    assert sign_in(Browser(), a, "hang-xom@example.vn", PASSWORD).status == 302
    assert _actions(app).count("auth.login_failed") == LOGIN_LIMIT  # refused tries never reached the form
    redis = app.extensions["quiz_redis"]
    counters = [k for k in redis.keys(f"{PREFIX}:rl*") if "login:email:thi-sinh@example.vn@" in k]  # per address
    assert len(counters) == 1 and int(redis.get(counters[0])) == LOGIN_LIMIT, redis.keys(f"{PREFIX}:rl*")
    _assert_nothing_kept_locally(servers)


def test_a_new_password_set_on_one_instance_ends_the_other_sessions_on_both(
    app: Flask, servers: tuple[Server, Server], make_user: Callable[..., int]
) -> None:
    a, b = servers
    make_user("thi-sinh@example.vn")
    phone, laptop = Browser(), Browser()
    assert sign_in(phone, a, "thi-sinh@example.vn", PASSWORD).status == 302
    assert sign_in(laptop, b, "thi-sinh@example.vn", PASSWORD).status == 302
    assert all(_signed_in(browser, server) for browser in (phone, laptop) for server in servers)

    new = "mot-cau-de-nho-2026"
    form_page = laptop.get(b, "/auth/password")
    changed = laptop.post(
        b,
        "/auth/password",
        {
            "current_password": PASSWORD,
            "new_password": new,
            "new_password_confirm": new,
            "csrf_token": csrf_in(form_page.text),
        },
    )
    assert changed.status == 302, changed.text
    assert _signed_in(laptop, a) and _signed_in(laptop, b)  # the device that changed it carries on
    for server in servers:
        gone = phone.get(server, "/auth/profile")
        assert gone.status == 302 and gone.location == "/auth/login"
        assert phone.get(server, "/api/v1/rounds").status == 200  # still a visitor
        api = phone.get(server, "/api/v1/attempts/1")
        assert api.status == 401 and api.json()["code"] == "unauthenticated"
    assert sign_in(Browser(), a, "thi-sinh@example.vn", PASSWORD).status == 401
    assert sign_in(Browser(), b, "thi-sinh@example.vn", new).status == 302
    assert _actions(app).count("user.password_change") == 1
    _assert_nothing_kept_locally(servers)


def test_signing_out_on_one_instance_signs_out_on_the_other(
    app: Flask, servers: tuple[Server, Server], make_user: Callable[..., int]
) -> None:
    a, b = servers
    make_user("thi-sinh@example.vn")
    me = Browser()
    assert sign_in(me, a, "thi-sinh@example.vn", PASSWORD).status == 302
    assert _signed_in(me, b)
    home = me.get(b, "/")
    signed_out = me.post(b, "/auth/logout", {"csrf_token": csrf_in(home.text)})
    assert signed_out.status == 302
    assert not _signed_in(me, a) and not _signed_in(me, b)
    assert _actions(app)[-1] == "auth.logout"
    _assert_nothing_kept_locally(servers)


def test_an_export_asked_for_on_one_instance_is_followed_and_downloaded_on_the_other(
    app: Flask, servers: tuple[Server, Server]
) -> None:
    a, b = servers
    with app.app_context():
        built = contest_fixture.build(db.session, per_paper=5)
        contest_id, round_id = built.contest.id, built.round.id
        contest_fixture.register(db.session, built.contest, "binh@example.vn")
    for login, right in ((CONTESTANT, 4), ("binh@example.vn", 2)):
        contest_fixture.play(app, login, round_id, right=right)
    _organizer(app)
    marks = [s.log_mark() for s in servers]
    organizer = Browser()
    assert sign_in(organizer, a, "btc@example.vn", PASSWORD).status == 302

    contest_page = organizer.get(a, f"/organizer/contests/{contest_id}")
    assert contest_page.status == 200
    asked = organizer.post(
        a, f"/organizer/rounds/{round_id}/exports", {"kind": "leaderboard", "csrf_token": csrf_in(contest_page.text)}
    )
    # A waits 0 s for it (QUIZ_EXPORT_INLINE_WAIT_SECONDS), so it goes on in A's background threads.
    assert asked.status == 303 and re.fullmatch(r"/organizer/exports/\d+(/download)?", asked.location)
    job_path = asked.location.removesuffix("/download")

    progress_page = organizer.get(b, job_path)
    assert progress_page.status == 200 and "<progress" in progress_page.text
    for _ in range(300):
        status = organizer.get(b, f"{job_path}.json")
        assert status.status == 200 and status.headers["Cache-Control"] == "no-store"
        data = status.json()
        if data["status"] in ("done", "failed"):
            break
        time.sleep(0.05)
    assert data["status"] == "done" and data["percent"] == 100 and data["done"] == data["total"] == 2, data
    download = organizer.get(b, urllib.parse.urlsplit(data["download_url"]).path)
    assert download.status == 200 and download.headers["Content-Type"].endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(download.body))["Bảng xếp hạng"]
    assert [(r[1].value, r[4].value) for r in sheet.iter_rows(min_row=4)] == [
        ("Nguyễn Văn An", 4),
        ("Trần Thị Bình", 2),
    ]

    with app.app_context():
        job = db.session.scalars(select(ExportJob)).one()
        assert (job.status, job.rows, job.requested_by) == (ExportStatus.DONE, 2, _user_id(app, "btc@example.vn"))
    assert _actions(app)[-3:] == ["export.create", "export.finish", "export.download"]
    # The building process wrote its progress where any instance reads it, under the shared prefix.
    assert app.extensions["quiz_redis"].hget(f"{PREFIX}:export:{job.id}", "done") == "2"
    asked_line, download_line = f'"POST /organizer/rounds/{round_id}/exports ', f'"GET {job_path}/download '
    log_a = a.log_since(marks[0], waiting_for=(asked_line,))
    log_b = b.log_since(marks[1], waiting_for=(download_line,))
    assert asked_line in log_a and job_path not in log_a  # A took the request and never showed the job
    assert download_line in log_b and '"POST ' not in log_b
    _assert_nothing_kept_locally(servers)


def test_a_bank_previewed_on_one_instance_is_imported_on_the_other(app: Flask, servers: tuple[Server, Server]) -> None:
    a, b = servers
    _organizer(app)
    organizer = Browser()
    assert sign_in(organizer, a, "btc@example.vn", PASSWORD).status == 302
    form_page = organizer.get(a, "/organizer/banks/import")
    assert form_page.status == 200
    fields = {"csrf_token": csrf_in(form_page.text), "bank": "__new__", "new_slug": "thu", "new_title": "Ngân hàng thử"}
    uploaded = organizer.send(
        a, "POST", "/organizer/banks/import", form=fields, upload=("file", "bank.csv", contest_fixture.bank_csv(3))
    )
    assert uploaded.status == 302 and uploaded.location.startswith("/organizer/banks/import/"), uploaded.text
    preview_path = uploaded.location
    redis = app.extensions["quiz_redis"]
    assert redis.keys(f"{PREFIX}:upload:*") == [f"{PREFIX}:upload:{preview_path.rsplit('/', 1)[1]}"]

    preview = organizer.get(b, preview_path)  # the file waits in Redis, not on A
    assert preview.status == 200 and "sẽ thêm 3, cập nhật 0, giữ nguyên 0" in preview.text
    confirmed = organizer.post(b, preview_path, {"csrf_token": csrf_in(preview.text)})
    assert confirmed.status == 302 and confirmed.location == "/organizer/banks/thu"
    with app.app_context():
        bank = db.session.scalars(select(QuestionBank)).one()
        assert bank.slug == "thu" and db.session.scalar(select(func.count(Question.id))) == 3
        assert db.session.scalar(select(func.count(Contest.id))) == 0
    assert redis.keys(f"{PREFIX}:upload:*") == []
    assert _actions(app)[-1] == "bank.import"
    _assert_nothing_kept_locally(servers)


def _workers(server: Server) -> set[int]:
    """The pids of a gunicorn master's worker processes."""
    found = set()
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1]) == server.process.pid:
                    found.add(int(proc.name))
            except (OSError, ValueError):
                continue
    return found


def test_an_acknowledged_start_survives_a_worker_kill(app: Flask, servers: tuple[Server, Server]) -> None:
    """The cheap start commits before it answers: once the contestant has the 302, killing every worker of
    the instance that served it (SIGKILL: no cleanup runs) loses nothing, and the attempt goes on elsewhere."""
    a, b = servers
    redis = app.extensions["quiz_redis"]
    with app.app_context():
        round_id = contest_fixture.build(db.session, per_paper=5).round.id
        round_ = db.session.get(Round, round_id)
        settings = paper_pool.PoolSettings(timedelta(hours=1), 1.0, 1, 10, 10)
        paper_pool.prepare_round(
            db.session, redis, PREFIX, round_, settings=settings, now=utcnow(), rng=random.Random(3), count=2
        )
        pool = paper_pool.pool_for(PREFIX, round_, None)
        assert pool is not None
        drawn = paper_pool.decode(redis.lindex(pool.list_key, 0), pool.items)
    me = Browser()
    assert sign_in(me, a, CONTESTANT, CONTESTANT_PASSWORD).status == 302
    contest_page = me.get(a, "/contests/thi")
    workers = _workers(a)
    assert len(workers) == 2
    started = me.post(a, f"/rounds/{round_id}/start", {"csrf_token": csrf_in(contest_page.text)})
    for pid in workers:  # the answer has arrived: now every worker of A dies at once
        os.kill(pid, signal.SIGKILL)
    # The cheap start answers with the paper itself, pointing the address bar at the paper's own page.
    assert started.status == 200 and started.text.count('class="card question"') == 5
    paper_url = _found(r'data-page-url="(/attempts/\d+)"', started.text)
    attempt_id = int(paper_url.rsplit("/", 1)[1])

    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt is not None and attempt.status is AttemptStatus.IN_PROGRESS
        assert [(i.position, i.question_version_id, i.choice_order) for i in attempt.items] == [
            (p.position, p.version_id, p.choice_order) for p in drawn
        ]
        assert _actions(app).count("attempt.start") == 1
    assert redis.llen(pool.list_key) == 1  # the cheap start took the pre-drawn paper

    # The contestant carries on through B: the paper, its Redis state, an autosave.
    page = me.get(b, paper_url)
    assert page.status == 200 and page.text.count('class="card question"') == 5
    save_url = _found(r'data-position="0"\s+data-save-url="([^"]+)"', page.text)
    saved = me.put(b, save_url, {"choices": [drawn[0].choice_order[0]]}, csrf_in(page.text))
    assert saved.status == 200 and saved.json()["status"] == "saved", saved.text
    # A's master has replaced its workers, and they serve the same attempt.
    deadline = time.monotonic() + 30
    while len(_workers(a) - workers) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(_workers(a) - workers) == 2 and not workers & _workers(a)
    _wait_healthy(a)
    assert me.get(a, paper_url).status == 200
