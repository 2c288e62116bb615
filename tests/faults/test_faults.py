"""Faults a real round meets, each counted: after it, every answer and submission the server acknowledged is
looked for in the database (and the live board in Redis), and what the contestants saw meanwhile is recorded
(test-artifacts/faults.json, summarised in docs/RELIABILITY.md).

The promise to the organizer is one number: 0 acknowledged answers lost.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import signal
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from benchmarks import contestants, load, load_stack
from tests.faults.conftest import Stage, record, run_async

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

Fault = Callable[[Stage, "asyncio.Task[Any]"], Awaitable[None]]


def _drive(
    stage: Stage,
    fault: Fault | None = None,
    *,
    think: tuple[float, float] = (0.15, 0.4),
    late_share: float = 0.0,
    spike: float = 2.0,
) -> tuple[list[contestants.Contestant], contestants.Recorder]:
    """Every seeded contestant comes back with their remember cookie, starts, answers, predicts and submits;
    ``fault`` runs beside them."""
    plan = contestants.Plan(
        base_url=stage.stack.base_url,
        contest_slug=stage.seeded.contest_slug,
        round_id=stage.seeded.round_id,
        password=load_stack.PASSWORD,
        spike_seconds=spike,
        think_min=think[0],
        think_max=think[1],
        late_share=late_share,
        login_concurrency=8,
        connections=16,
    )
    cookies = load.remember_cookies(stage.app, stage.seeded.phones)

    async def round_with_fault() -> tuple[list[contestants.Contestant], contestants.Recorder]:
        task = asyncio.create_task(
            contestants.run_round(plan, stage.seeded.phones, lambda _mark: None, cookies.__getitem__, cold_sign_ins=0)
        )
        if fault is not None:
            await fault(stage, task)
        return await task

    return run_async(round_with_fault())


def _seen(recorder: contestants.Recorder) -> dict[str, int]:
    """What contestants met that was not the expected answer, by endpoint and status (0: no answer at all)."""
    return dict(sorted(recorder.errors.items()))


def _figures(stage: Stage, people: list[contestants.Contestant], recorder: contestants.Recorder) -> dict[str, Any]:
    counts = load.verify(stage.app, people)
    log = stage.server_log()
    return {
        "contestants": len(people),
        "started": sum(who.attempt_id is not None for who in people),
        "answers_acknowledged": counts["answers"],
        "answers_lost": counts["answers_lost"] + counts["predictions_lost"],
        "submissions_acknowledged": counts["submissions"],
        "submissions_lost": counts["submissions_lost"],
        "errors_seen": _seen(recorder),
        "tracebacks_in_log": log.count("Traceback (most recent call last)"),
    }


def _board_matches_database(stage: Stage) -> None:
    """The live board holds every closed attempt of the round with its recorded score, best first."""
    from quiz_engine.extensions import db
    from quiz_engine.models import CLOSED_STATUSES, Attempt
    from quiz_engine.services.results import leaderboards

    with stage.app.app_context():
        recorded = dict(
            db.session.execute(
                select(Attempt.user_id, Attempt.correct_count).where(
                    Attempt.round_id == stage.seeded.round_id, Attempt.status.in_(CLOSED_STATUSES)
                )
            ).all()
        )
    board = leaderboards.top(
        stage.stack.redis(), leaderboards.RoundKeys("quiz", stage.seeded.round_id).board, len(recorded) + 10
    )
    assert {e.user_id: e.correct for e in board} == recorded
    assert [e.correct for e in board] == sorted((e.correct for e in board), reverse=True)
    ranks = [e.rank for e in board]
    assert ranks == sorted(ranks) and ranks[0] == 1


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
        return None  # the redirect itself is the answer


_OPENER = urllib.request.build_opener(_NoRedirects)


def _status_and_body(url: str, **kwargs: Any) -> tuple[int, str, dict[str, str]]:
    request = urllib.request.Request(url, **kwargs)
    try:
        with _OPENER.open(request, timeout=10) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), dict(exc.headers)


def _until_not_busy(call: Callable[[], tuple[int, str, dict[str, str]]], tries: int = 3) -> int:
    """What a client that honours Retry-After ends up with (at most ``tries`` tries)."""
    for _ in range(tries):
        status, _body, headers = call()
        if status != 503:
            return status
        time.sleep(float(headers.get("Retry-After", "1")) / 5)  # the test need not wait the whole advice
    return status


def test_redis_killed_mid_round_and_restarted_loses_no_acknowledged_answer(stage_factory) -> None:
    stage = stage_factory(30)
    page: list[Any] = []

    async def kill_and_restart(stage: Stage, _round: asyncio.Task[Any]) -> None:
        await asyncio.sleep(4)  # everyone has started and is answering
        await asyncio.to_thread(stage.redis_server.kill)
        # What a page that needs Redis says meanwhile: the round's public leaderboard.
        page.extend(
            await asyncio.to_thread(
                _status_and_body, f"{stage.stack.base_url}/rounds/{stage.seeded.round_id}/leaderboard"
            )
        )
        await asyncio.sleep(3)
        await asyncio.to_thread(stage.redis_server.start)  # the append-only file brings every write back

    people, recorder = _drive(stage, kill_and_restart)
    figures = _figures(stage, people, recorder)
    status, body, headers = page
    message = re.search(r'<p class="error-message">([^<]+)</p>', body)
    figures["page_while_down"] = {
        "status": status,
        "message": message and message.group(1),
        "retry_after": headers.get("Retry-After"),
    }
    record("redis_killed", stage, figures)
    assert figures["answers_acknowledged"] > 400 and figures["answers_lost"] == 0
    assert figures["submissions_acknowledged"] == 30 and figures["submissions_lost"] == 0
    assert not [key for key in figures["errors_seen"] if key.endswith(": 500")], figures
    assert figures["tracebacks_in_log"] == 0, stage.server_log()[-3000:]
    assert "redis unreachable" in stage.server_log()
    assert figures["page_while_down"] == {
        "status": 503,
        "message": "Hệ thống đang bận, vui lòng thử lại sau ít giây.",
        "retry_after": "5",
    }
    stage.cli("maintain")  # boards of submissions Redis missed while away are rebuilt
    _board_matches_database(stage)


def test_a_worker_killed_mid_request_loses_no_acknowledged_answer(stage_factory) -> None:
    stage = stage_factory(30)
    killed: list[int] = []

    async def kill_a_worker(stage: Stage, _round: asyncio.Task[Any]) -> None:
        for when in (3.0, 2.0):  # twice
            await asyncio.sleep(when)
            victim = stage.worker_pids()[0]
            # Frozen first, so that requests are surely in its hands when it dies.
            os.kill(victim, signal.SIGSTOP)
            await asyncio.sleep(0.5)
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)

    people, recorder = _drive(stage, kill_a_worker)
    figures = _figures(stage, people, recorder)
    figures["workers_killed"] = len(killed)
    # Requests held by a frozen worker fail when it dies; an idempotent one (an autosave's PUT) on a reused
    # connection is sent again by the client itself, as browsers do: it shows as a slow request, not an error.
    figures["slowest_request_seconds"] = round(max(max(v) for v in recorder.latencies.values()), 2)
    figures["kills_logged_by_gunicorn"] = stage.server_log().count("was sent SIGKILL")
    record("worker_killed", stage, figures)
    assert len(killed) == 2 and len(stage.worker_pids()) == 2  # gunicorn replaced them
    assert figures["answers_acknowledged"] > 300 and figures["answers_lost"] == 0
    assert figures["submissions_lost"] == 0
    started = [who for who in people if who.attempt_id is not None]
    assert sum(who.submitted for who in started) == len(started)  # everyone who started finished


def test_redis_down_at_submission_records_the_sent_answers_and_ranks_them_once_back(stage_factory) -> None:
    stage = stage_factory(20, time_limit=30)
    down_at: list[float] = []

    async def down_before_the_submissions(stage: Stage, round_task: asyncio.Task[Any]) -> None:
        await asyncio.sleep(14)  # every answer is saved; the submissions come 1–6 s before each deadline
        await asyncio.to_thread(stage.redis_server.kill)
        down_at.append(time.monotonic())
        await asyncio.wait({round_task})  # every contestant has submitted while Redis was away
        await asyncio.to_thread(stage.redis_server.start)

    people, recorder = _drive(stage, down_before_the_submissions, late_share=1.0)
    figures = _figures(stage, people, recorder)
    from quiz_engine.extensions import db
    from quiz_engine.models import Round

    with stage.app.app_context():
        stale = db.session.get(Round, stage.seeded.round_id).leaderboard_stale_at is not None
    repaired = stage.cli("maintain")
    figures["board_marked_stale"] = stale
    record("redis_down_at_submit", stage, figures)
    assert figures["submissions_acknowledged"] == 20 and figures["submissions_lost"] == 0
    assert figures["answers_acknowledged"] >= 20 * 21 and figures["answers_lost"] == 0
    assert stale and f"dựng lại bảng đợt [{stage.seeded.round_id}]" in repaired
    _board_matches_database(stage)


def test_database_restarted_mid_round(stage_factory, private_postgres) -> None:
    stage = stage_factory(12, postgres=True)
    from quiz_engine.extensions import db
    from quiz_engine.models import Attempt

    early, late = stage.seeded.phones[:6], stage.seeded.phones[6:]
    cookies = load.remember_cookies(stage.app, stage.seeded.phones)
    base = stage.stack.base_url

    def headers(phone: str) -> dict[str, str]:
        return {"Cookie": f"remember_token={cookies[phone]}", "Accept": "text/html"}

    def contest_page(phone: str) -> str:
        status, body, _ = _status_and_body(f"{base}/contests/{stage.seeded.contest_slug}", headers=headers(phone))
        assert status == 200
        return body

    session_cookies: dict[str, str] = {}

    def post(phone: str, path: str, form: dict[str, str]) -> tuple[int, str, dict[str, str]]:
        data = "&".join(f"{k}={urllib.request.quote(v)}" for k, v in form.items()).encode()
        cookie = headers(phone)["Cookie"] + (f"; session={session_cookies[phone]}" if phone in session_cookies else "")
        return _status_and_body(
            f"{base}{path}", data=data, method="POST",
            headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"},
        )  # fmt: skip

    def csrf_and_session(phone: str) -> str:
        request = urllib.request.Request(f"{base}/contests/{stage.seeded.contest_slug}", headers=headers(phone))
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read().decode()
            for raw in response.headers.get_all("Set-Cookie") or []:
                if raw.startswith("session="):
                    session_cookies[phone] = raw.split(";", 1)[0].removeprefix("session=")
        return contestants.CSRF.search(body).group(1)

    # The early six start and hold their papers.
    papers = {}
    for phone in early:
        status, body, _ = post(phone, f"/rounds/{stage.seeded.round_id}/start", {"csrf_token": csrf_and_session(phone)})
        assert status == 200 and contestants.PAPER_PAGE.search(body), body[:500]
        papers[phone] = body
    tokens = {phone: csrf_and_session(phone) for phone in late}
    with stage.app.app_context():
        before = db.session.scalar(select(func.count(Attempt.id)))
        db.session.remove()
        db.engine.dispose()  # this test's own connection is not part of the experiment

    private_postgres.stop()  # the database goes away mid-round
    try:
        saved = Counter()
        for phone, body in papers.items():
            urls = dict(contestants.SAVE_URL.findall(body))
            token = contestants.CSRF.search(body).group(1)
            choice = contestants.CHOICE.search(body)
            status, _, _ = _status_and_body(
                f"{base}{urls[choice.group(1)]}", method="PUT", data=f'{{"choices": [{choice.group(2)}]}}'.encode(),
                headers={"Cookie": f"remember_token={cookies[phone]}; session={session_cookies[phone]}",
                         "X-CSRFToken": token, "Content-Type": "application/json", "Accept": "application/json"},
            )  # fmt: skip
            saved[status] += 1
        refused = Counter()
        for phone in late:
            status, body, response_headers = post(
                phone, f"/rounds/{stage.seeded.round_id}/start", {"csrf_token": tokens[phone]}
            )
            refused[status] += 1
            assert status == 503 and "Hệ thống đang bận" in body and response_headers.get("Retry-After") == "5"
        submit_status, submit_body, _ = post(
            early[0], "/" + re.search(r'action="/(attempts/\d+/submit)"', papers[early[0]]).group(1),
            {"csrf_token": contestants.CSRF.search(papers[early[0]]).group(1)},
        )  # fmt: skip
    finally:
        private_postgres.start()
    # Saves never needed the database; starts and the submission were refused whole, and go through now.
    retried = Counter(
        _until_not_busy(
            lambda phone=phone: post(phone, f"/rounds/{stage.seeded.round_id}/start", {"csrf_token": tokens[phone]})
        )
        for phone in late
    )
    resubmitted = _until_not_busy(lambda: post(
        early[0], "/" + re.search(r'action="/(attempts/\d+/submit)"', papers[early[0]]).group(1),
        {"csrf_token": contestants.CSRF.search(papers[early[0]]).group(1)},
    ))  # fmt: skip
    with stage.app.app_context():
        after = db.session.scalar(select(func.count(Attempt.id)))
    figures = {
        "saves_while_down": dict(saved),
        "starts_while_down": dict(refused),
        "submit_while_down": submit_status,
        "starts_on_retry": dict(retried),
        "submit_on_retry": resubmitted,
        "attempts_before": before,
        "attempts_after": after,
        "tracebacks_in_log": stage.server_log().count("Traceback (most recent call last)"),
    }
    record("database_restarted", stage, figures)
    assert saved == {200: 6}, figures
    assert submit_status == 503 and "Hệ thống đang bận" in submit_body
    assert retried == {200: 6} and resubmitted == 302, figures
    assert before == 6 and after == 12  # nothing half-written while it was away, one attempt each after
    assert figures["tracebacks_in_log"] == 0, stage.server_log()[-3000:]


def test_a_deadline_passing_while_the_contestant_is_gone_is_closed_by_the_upkeep(stage_factory) -> None:
    stage = stage_factory(10, time_limit=30)
    stage.start_upkeep(every=2)
    plan = contestants.Plan(
        stage.stack.base_url, stage.seeded.contest_slug, stage.seeded.round_id, load_stack.PASSWORD,
        spike_seconds=1, think_min=0.5, think_max=1.0, late_share=0, login_concurrency=8, connections=16,
    )  # fmt: skip
    cookies = load.remember_cookies(stage.app, stage.seeded.phones)

    async def answer_a_few_then_vanish() -> list[contestants.Contestant]:
        client = contestants.Client(plan, contestants.Recorder())
        people = [
            contestants.Contestant(phone, cookies={"remember_token": cookies[phone]}) for phone in stage.seeded.phones
        ]

        async def sit(who: contestants.Contestant) -> None:
            if await contestants.come_back(client, who) and await contestants.start(client, who):
                await contestants.take(client, who, random.Random(who.phone))

        tasks = [asyncio.create_task(sit(who)) for who in people]
        await asyncio.sleep(6)  # started and answered a few; then every phone goes dark
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await client.close()
        return people

    people = run_async(answer_a_few_then_vanish())
    from quiz_engine.extensions import db
    from quiz_engine.models import Attempt, AttemptStatus, Round

    with stage.app.app_context():
        grace = db.session.get(Round, stage.seeded.round_id).grace_seconds
    waited, deadline = time.monotonic(), time.monotonic() + 30 + grace + 2 + 15  # limit, grace, period, margin
    while time.monotonic() < deadline:
        with stage.app.app_context():
            still_open = db.session.scalar(
                select(func.count(Attempt.id)).where(
                    Attempt.round_id == stage.seeded.round_id, Attempt.status == AttemptStatus.IN_PROGRESS
                )
            )
        if still_open == 0:
            break
        time.sleep(0.5)
    waited = time.monotonic() - waited
    with stage.app.app_context():
        attempts = db.session.scalars(select(Attempt).where(Attempt.round_id == stage.seeded.round_id)).all()
        closed = [(a.status, a.scored_at is not None, a.correct_count is not None) for a in attempts]
    counts = load.verify(stage.app, people)
    figures = {
        "attempts": len(attempts),
        "closed_by_upkeep": sum(status is AttemptStatus.EXPIRED for status, _s, _c in closed),
        "answers_acknowledged": counts["answers"],
        "answers_lost": counts["answers_lost"] + counts["predictions_lost"],
        "seconds_until_all_closed": round(waited, 1),
    }
    record("deadline_passed", stage, figures)
    assert len(attempts) == 10 and figures["closed_by_upkeep"] == 10, figures
    assert all(scored and counted for _status, scored, counted in closed)
    assert figures["answers_acknowledged"] >= 10 and figures["answers_lost"] == 0, figures
    _board_matches_database(stage)


def test_while_redis_is_away_the_paper_still_shows_and_saving_waits(stage_factory) -> None:
    stage = stage_factory(2)
    plan = contestants.Plan(
        stage.stack.base_url, stage.seeded.contest_slug, stage.seeded.round_id, load_stack.PASSWORD,
        spike_seconds=0, think_min=0, think_max=0, late_share=0, login_concurrency=1, connections=4,
    )  # fmt: skip
    cookies = load.remember_cookies(stage.app, stage.seeded.phones)
    seen: dict[str, Any] = {}

    async def visit() -> None:
        client = contestants.Client(plan, contestants.Recorder())
        who = contestants.Contestant(
            stage.seeded.phones[0], cookies={"remember_token": cookies[stage.seeded.phones[0]]}
        )
        try:
            assert await contestants.come_back(client, who) and await contestants.start(client, who)
            paper = who.paper or ""
            url = dict(contestants.SAVE_URL.findall(paper))["0"]
            choice = contestants.CHOICE.search(paper).group(2)
            headers = {
                "X-CSRFToken": contestants.CSRF.search(paper).group(1),
                "Content-Type": "application/json",
                "Accept": "application/json",
            }
            await asyncio.to_thread(stage.redis_server.kill)
            status, _h, page = await client.call(who, "page", "GET", f"/attempts/{who.attempt_id}")
            seen["page"] = (status, "Hệ thống đang bận" in page, page.count('<fieldset class="card question"'))
            status, _h, body = await client.call(who, "api", "GET", f"/api/v1/attempts/{who.attempt_id}")
            seen["api"] = (status, json.loads(body).get("saving_paused") if status == 200 else body)
            for _ in range(3):  # the page's retries while Redis is away
                status, response_headers, body = await client.call(
                    who, "save", "PUT", url, data=json.dumps({"choices": [int(choice)]}), headers=headers
                )
            seen["save"] = (status, response_headers.get("Retry-After"), json.loads(body)["error"])
            await asyncio.to_thread(stage.redis_server.start)
            status, _h, _b = await client.call(
                who, "save", "PUT", url, data=json.dumps({"choices": [int(choice)]}), headers=headers
            )
            seen["save_after"] = status
            status, _h, body = await client.call(who, "api", "GET", f"/api/v1/attempts/{who.attempt_id}")
            paper_json = json.loads(body)
            seen["api_after"] = (status, paper_json["saving_paused"], paper_json["questions"][0]["selected"])
            seen["choice"] = int(choice)
        finally:
            await client.close()

    run_async(visit())
    log = stage.server_log()
    assert seen["page"][0] == 200 and seen["page"][1] and seen["page"][2] == 20, seen  # the whole paper shows
    assert seen["api"] == (200, True)
    assert seen["save"] == (503, "5", "Hệ thống đang bận, câu trả lời của bạn sẽ được gửi lại tự động.")
    assert seen["save_after"] == 200 and seen["api_after"] == (200, False, [seen["choice"]])
    assert log.count("redis unreachable") == 1 and "Traceback" not in log  # one line for the outage
    record("redis_away_contestant_pages", stage, {k: v for k, v in seen.items() if k != "choice"})
