"""Start spikes on the web: the waiting page and the API's 503 while queued (nothing written to the
database), admission once the clock moves on, resuming without queueing, and the organizer's button that
draws papers ahead of time."""

import random
import re
import socket
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import event, func, select

from quiz_engine.extensions import db
from quiz_engine.models import Attempt, AuditEvent, Role, Round, utcnow
from quiz_engine.services.taking import admission, paper_pool
from quiz_engine.web import deps
from tests import contest_fixture
from tests.web.test_api import conforms

PASSWORD = "mat-khau-123"


@pytest.fixture
def config_overrides() -> dict[str, object]:
    return {"ADMISSION_RATE": 1, "ADMISSION_BURST": 1}  # one at once, then one a second


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list:  # type: ignore[type-arg]
    """The server's "now", moved by the test."""
    moment = [utcnow()]
    monkeypatch.setattr(deps, "now", lambda: moment[0])
    return moment


@pytest.fixture
def world(app: Flask) -> dict[str, int]:
    with app.app_context():
        built = contest_fixture.build(db.session, per_paper=5)
        ids = {"round": built.round.id, "an": built.user_id, "contest": built.contest.id}
        for name in ("binh", "chi"):
            ids[name] = contest_fixture.register(db.session, built.contest, f"{name}@example.vn")
    return ids


def _browser(app: Flask, login: str):  # type: ignore[no-untyped-def]
    browser = app.test_client()
    browser.post("/auth/login", data={"login": login, "password": PASSWORD})
    return browser


def _attempts(app: Flask, user_id: int) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Attempt.id)).where(Attempt.user_id == user_id))


def test_the_waiting_page_keeps_the_place_and_the_start_goes_through_once_due(app, world, clock, static_url) -> None:
    first, second, third = (_browser(app, f"{n}@example.vn") for n in ("an", "binh", "chi"))
    start = f"/rounds/{world['round']}/start"
    assert first.post(start).status_code == 302  # the burst: nobody waits in a quiet round
    waiting = second.post(start)
    assert waiting.status_code == 200
    assert waiting.headers["Retry-After"] == "1" and "no-store" in waiting.headers["Cache-Control"]
    page = waiting.get_data(as_text=True)
    assert "Đợt thi đang đông người" in page
    assert re.search(r'role="status" aria-live="polite"[^>]*>Vị trí của bạn trong hàng chờ: 1<', page, re.S)
    assert "Thời gian chờ ước tính: 1 giây" in page
    assert f'action="{start}"' in page and "Thử lại" in page  # works without script: the same form
    assert f'src="{static_url("js/waiting.js")}"' in page and "<script>" not in page
    assert _attempts(app, world["binh"]) == 0  # queued: nothing written
    with app.app_context():
        started = select(func.count(AuditEvent.id)).where(AuditEvent.action == "attempt.start")
        assert db.session.scalar(started.where(AuditEvent.actor_id == world["binh"])) == 0
    assert "hàng chờ: 2" in third.post(start).get_data(as_text=True)  # behind the second
    assert "hàng chờ: 1" in second.post(start).get_data(as_text=True)  # asking again keeps the place
    clock[0] += timedelta(seconds=1)
    admitted = second.post(start)
    assert admitted.status_code == 302 and "/attempts/" in admitted.headers["Location"]
    assert _attempts(app, world["binh"]) == 1
    assert third.post(start).status_code == 200  # still one second to go
    clock[0] += timedelta(seconds=1)
    assert third.post(start).status_code == 302


def _record(app: Flask, redis_client, round_id: int) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Everything a start writes: rows in every table, pre-drawn papers, attempt state in Redis."""
    with app.app_context():
        rows = {t.name: db.session.scalar(select(func.count()).select_from(t)) for t in db.metadata.sorted_tables}
    state = sorted(k for k in redis_client.scan_iter(match=f"quiz:{{r:{round_id}}}:*") if ":adm:" not in k)
    return {"rows": rows, "papers": _ready(app, redis_client, round_id), "redis": state}


def test_a_queued_start_writes_nothing_and_takes_no_paper(app, world, clock, redis_client) -> None:
    with app.app_context():
        round_ = db.session.get(Round, world["round"])
        settings = paper_pool.PoolSettings(timedelta(hours=1), 1.0, 1, 100, 100)
        paper_pool.prepare_round(
            db.session, redis_client, "quiz", round_, settings=settings, now=clock[0], rng=random.Random(1), count=5
        )
    first, second = _browser(app, "an@example.vn"), _browser(app, "binh@example.vn")
    start = f"/rounds/{world['round']}/start"
    assert 'id="attempt"' in first.post(start).get_data(as_text=True)  # the burst: a paper straight away
    before = _record(app, redis_client, world["round"])
    assert before["papers"] == 4  # the admitted start took a pre-drawn paper
    for _ in range(3):  # queued, and asking again while queued
        assert second.post(start).status_code == 200
        assert second.post(f"/api/v1/rounds/{world['round']}/attempts").status_code == 503
    assert _record(app, redis_client, world["round"]) == before


def test_an_admitted_start_gets_its_paper_from_the_admission_script(
    app, world, clock, redis_client, monkeypatch
) -> None:
    """Once a process knows the round's pool, the queue's script hands an admitted start its paper: no LPOP of
    its own, the list's head, and the one queued meanwhile took nothing."""
    with app.app_context():
        round_ = db.session.get(Round, world["round"])
        settings = paper_pool.PoolSettings(timedelta(hours=1), 1.0, 1, 100, 100)
        paper_pool.prepare_round(
            db.session, redis_client, "quiz", round_, settings=settings, now=clock[0], rng=random.Random(1), count=5
        )
        pool = paper_pool.pool_for("quiz", round_, None)
    first, second = _browser(app, "an@example.vn"), _browser(app, "binh@example.vn")
    start = f"/rounds/{world['round']}/start"
    assert 'id="attempt"' in first.post(start).get_data(as_text=True)  # caches the round's plan
    assert second.post(start).status_code == 200  # queued: takes nothing
    head = redis_client.lindex(pool.list_key, 0)
    popped: list[object] = []
    monkeypatch.setattr(paper_pool, "pop", lambda *args: popped.append(args))
    clock[0] += timedelta(seconds=1)
    page = second.post(start).get_data(as_text=True)
    attempt_id = int(re.search(r'data-page-url="/attempts/(\d+)"', page).group(1))
    assert popped == [] and redis_client.llen(pool.list_key) == 3
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        written = [
            (i.question_version_id, list(i.choice_order)) for i in sorted(attempt.items, key=lambda i: i.position)
        ]
    assert written == [(p.version_id, p.choice_order) for p in paper_pool.decode(head, pool.items)]


def test_the_waiting_page_reads_nothing_from_the_database(app, world, clock) -> None:
    """At a spike most presses are answered "wait": from the session, a cached round and Redis alone."""
    first, second = _browser(app, "an@example.vn"), _browser(app, "binh@example.vn")
    start = f"/rounds/{world['round']}/start"
    assert first.post(start).status_code == 302
    assert second.post(start).status_code == 200  # queued (and the round's times now cached)
    statements: list[str] = []
    with app.app_context():
        engine = db.engine
    listen = lambda conn, cursor, statement, *rest: statements.append(statement)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listen)
    try:
        waits = [second.post(start), second.post(f"/api/v1/rounds/{world['round']}/attempts")]
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    assert [w.status_code for w in waits] == [200, 503]
    assert statements == []


def test_waiting_in_the_queue_does_not_count_towards_the_start_limit(app, world, clock) -> None:
    app.config["RATE_LIMIT_ATTEMPT_START"] = "2 per minute"
    first, second = _browser(app, "an@example.vn"), _browser(app, "binh@example.vn")
    start = f"/rounds/{world['round']}/start"
    assert first.post(start).status_code == 302
    assert [second.post(start).status_code for _ in range(5)] == [200] * 5  # five polls of the waiting page
    clock[0] += timedelta(seconds=1)
    assert second.post(start).status_code == 302  # admitted: its first counted start
    assert second.post(start).status_code == 302  # the second (a resume)
    refused = second.post(start)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "Vui lòng thử lại sau" in refused.get_data(as_text=True)
    assert _attempts(app, world["binh"]) == 1


def test_resuming_an_attempt_never_queues(app, world, clock) -> None:
    first, second = _browser(app, "an@example.vn"), _browser(app, "binh@example.vn")
    start = f"/rounds/{world['round']}/start"
    location = first.post(start).headers["Location"]
    assert second.post(start).status_code == 200  # the queue is busy
    again = first.post(start)
    assert again.status_code == 302 and again.headers["Location"] == location
    assert _attempts(app, world["an"]) == 1


def test_the_api_answers_503_with_retry_after_and_the_place_in_the_queue(app, world, clock) -> None:
    first, second = _browser(app, "an@example.vn"), _browser(app, "binh@example.vn")
    url = f"/api/v1/rounds/{world['round']}/attempts"
    assert first.post(url).status_code == 201
    queued = second.post(url)
    assert queued.status_code == 503 and queued.headers["Retry-After"] == "1"
    body = queued.get_json()
    conforms(body, "Queued")
    assert body["code"] == "queued" and body["status"] == 503
    assert body["queue"] == {"position": 1, "wait_seconds": 1, "wait_ms": 1000}
    assert "vị trí 1 trong hàng chờ" in body["error"]
    assert _attempts(app, world["binh"]) == 0
    clock[0] += timedelta(seconds=1)
    started = second.post(url)
    assert started.status_code == 201
    conforms(started.get_json(), "AttemptSummary")


def test_no_queue_for_a_round_that_is_not_open(app, world, clock) -> None:
    browsers = [_browser(app, f"{n}@example.vn") for n in ("an", "binh", "chi")]
    with app.app_context():
        db.session.get(Round, world["round"]).opens_at = clock[0] + timedelta(hours=1)
        db.session.commit()
    for browser in browsers:  # refused at once by the rules, with no ticket taken
        assert browser.post(f"/api/v1/rounds/{world['round']}/attempts").status_code == 409


@pytest.fixture
def organizer(app: Flask, world, make_user) -> int:  # type: ignore[no-untyped-def]
    own = make_user("btc@example.vn", Role.ORGANIZER, "Ban Tổ chức")
    contest_fixture.list_as_organizer(app, own)
    make_user("khac@example.vn", Role.ORGANIZER, "Ban Tổ chức khác")
    return own


def _ready(app: Flask, redis_client, round_id: int) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        pool = paper_pool.pool_for("quiz", db.session.get(Round, round_id), None)
        return redis_client.llen(pool.list_key)


def test_the_organizer_prepares_papers_from_the_round_page(app, world, organizer, redis_client) -> None:
    browser = app.test_client()
    browser.post("/auth/login", data={"login": "btc@example.vn", "password": "mat-khau-thu-nghiem"})
    page = browser.get(f"/organizer/rounds/{world['round']}/edit").get_data(as_text=True)
    assert "Đề rút sẵn" in page and "Sẵn sàng: 0 / 50 đề." in page  # 3 registered: the minimum, 50
    assert f'action="/organizer/rounds/{world["round"]}/papers"' in page
    response = browser.post(f"/organizer/rounds/{world['round']}/papers")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/rounds/{world['round']}/edit")
    assert _ready(app, redis_client, world["round"]) == 50
    page = browser.get(response.headers["Location"]).get_data(as_text=True)
    assert "Đã rút sẵn thêm 50 đề; hiện có 50 đề sẵn sàng." in page and "Sẵn sàng: 50 / 50 đề." in page
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "round.prepare_papers"))
        assert (event.actor_id, event.target_type, event.target_id) == (organizer, "round", world["round"])
        assert event.details["added"] == 50
    assert "Đã rút sẵn thêm 0 đề" in browser.get(
        browser.post(f"/organizer/rounds/{world['round']}/papers").headers["Location"]
    ).get_data(as_text=True)


def test_only_the_contests_organizers_may_prepare_papers(app, world, organizer, redis_client) -> None:
    url = f"/organizer/rounds/{world['round']}/papers"
    stranger = app.test_client()
    stranger.post("/auth/login", data={"login": "khac@example.vn", "password": "mat-khau-thu-nghiem"})
    assert stranger.post(url).status_code == 404
    assert _browser(app, "an@example.vn").post(url).status_code == 403
    anonymous = app.test_client().post(url)
    assert anonymous.status_code == 302 and "/auth/login" in anonymous.headers["Location"]
    assert _ready(app, redis_client, world["round"]) == 0
    with app.app_context():
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "round.prepare_papers")) is None


def test_the_automatic_rate_follows_the_cores_of_the_live_app_hosts(app, world, clock, redis_client) -> None:
    """ADMISSION_RATE "auto": this host's cores plus every other live host's, × the starts one core sustains;
    the burst is a quarter of a second of it."""
    app.config.update(ADMISSION_RATE="auto", ADMISSION_BURST="auto", ADMISSION_STARTS_PER_CORE=4, ADMISSION_CORES=2)
    admission.live_cores(redis_client, "quiz", host="another-app-host", cores=2, now=clock[0])  # its heartbeat
    for name in ("dung", "em"):
        with app.app_context():
            contest_fixture.register(db.session, db.session.get(Round, world["round"]).contest, f"{name}@example.vn")
    browsers = [_browser(app, f"{n}@example.vn") for n in ("an", "binh", "chi", "dung", "em")]
    start = f"/rounds/{world['round']}/start"
    # 4 × 4 cores = 16 a second, so a burst of 4: the fifth waits one interval, 1/16 s.
    assert [b.post(start).status_code for b in browsers[:4]] == [302] * 4
    waiting = browsers[4].post(start)
    assert waiting.status_code == 200
    page = waiting.get_data(as_text=True)
    assert 'data-rate="16.0"' in page and 'data-wait-ms="63"' in page  # the exact wait, not just Retry-After
    hosts = sorted(redis_client.hkeys(admission.capacity_key("quiz")))
    assert hosts == sorted(["another-app-host", socket.gethostname()])
