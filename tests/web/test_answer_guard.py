"""The answer-saving hot path keeps its guards: CSRF (save token or Flask-WTF token) and the per-attempt
rate limit counted inside the save script, with the same 429 shape as every other limit."""

from __future__ import annotations

import re

import pytest

from quiz_engine.extensions import db
from quiz_engine.services.taking import attempt_state
from tests import contest_fixture

SAVE_TOKEN = re.compile(r'data-save-token="([0-9a-f]{64})"')
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


@pytest.fixture
def config_overrides() -> dict[str, object]:
    return {"WTF_CSRF_ENABLED": True, "RATE_LIMIT_ANSWER_SAVE": "3 per minute"}


def _sign_in(app, email: str = "an@example.vn"):  # type: ignore[no-untyped-def]
    browser = app.test_client()
    token = CSRF.search(browser.get("/auth/login").get_data(as_text=True)).group(1)
    assert (
        browser.post("/auth/login", data={"csrf_token": token, "login": email, "password": "mat-khau-123"}).status_code
        == 302
    )
    return browser


def _start(app, browser, round_id: int):  # type: ignore[no-untyped-def]
    contest_page = browser.get("/contests/thi").get_data(as_text=True)
    started = browser.post(f"/rounds/{round_id}/start", data={"csrf_token": CSRF.search(contest_page).group(1)})
    assert started.status_code == 302
    page = browser.get(started.headers["Location"]).get_data(as_text=True)
    attempt_id = int(started.headers["Location"].rsplit("/", 1)[1])
    return attempt_id, SAVE_TOKEN.search(page).group(1)


@pytest.fixture
def round_id(app) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        built = contest_fixture.build(db.session, per_paper=5)
        contest_fixture.register(db.session, built.contest, "binh@example.vn")
        return built.round.id


def _saved(app, round_id: int, attempt_id: int) -> dict[str, str]:
    return {
        f: a.value
        for f, a in attempt_state.saved_answers(app.extensions["quiz_redis"], "quiz", round_id, attempt_id).items()
    }


def test_saves_need_the_save_token_or_a_csrf_token(app, round_id: int) -> None:
    browser = _sign_in(app)
    attempt_id, token = _start(app, browser, round_id)
    url = f"/api/v1/rounds/{round_id}/attempts/{attempt_id}/answers/0"
    refused = browser.put(url, json={"choices": [1]})
    assert refused.status_code == 400 and _saved(app, round_id, attempt_id) == {}
    assert browser.put(url, json={"choices": [1]}, headers={"X-CSRFToken": "0" * 64}).status_code == 400
    assert _saved(app, round_id, attempt_id) == {}
    assert browser.put(url, json={"choices": [1]}, headers={"X-CSRFToken": token}).status_code == 200
    paper = browser.get(f"/api/v1/attempts/{attempt_id}").get_json()  # an API client's Flask-WTF token
    prediction = browser.put(
        paper["prediction"]["save_url"] if paper.get("prediction") else url,
        json={"choices": [2]},
        headers={"X-CSRFToken": paper["csrf_token"]},
    )
    assert prediction.status_code == 200
    assert _saved(app, round_id, attempt_id) == {"0": "2"}


def test_a_save_token_is_bound_to_its_session(app, round_id: int) -> None:
    an = _sign_in(app)
    an_attempt, an_token = _start(app, an, round_id)
    binh = _sign_in(app, "binh@example.vn")
    binh_attempt, binh_token = _start(app, binh, round_id)
    assert an_token != binh_token
    url = f"/api/v1/rounds/{round_id}/attempts/{binh_attempt}/answers/0"
    assert binh.put(url, json={"choices": [1]}, headers={"X-CSRFToken": an_token}).status_code == 400
    assert _saved(app, round_id, binh_attempt) == {}
    again = _sign_in(app)  # a new sign-in is a new session: the old page's token no longer works
    assert (
        again.put(
            f"/api/v1/rounds/{round_id}/attempts/{an_attempt}/answers/0",
            json={"choices": [1]},
            headers={"X-CSRFToken": an_token},
        ).status_code
        == 400
    )


def test_the_save_limit_answers_429_with_retry_after_and_changes_nothing(app, round_id: int) -> None:
    browser = _sign_in(app)
    attempt_id, token = _start(app, browser, round_id)
    url = f"/api/v1/rounds/{round_id}/attempts/{attempt_id}/answers/"
    statuses = [
        browser.put(url + str(n), json={"choices": [1]}, headers={"X-CSRFToken": token}).status_code for n in range(4)
    ]
    assert statuses == [200, 200, 200, 429]
    held = browser.put(url + "3", json={"choices": [1]}, headers={"X-CSRFToken": token})
    body = held.get_json()
    assert held.status_code == 429 and body["code"] == "rate_limited" and "giây" in body["error"]
    assert 1 <= int(held.headers["Retry-After"]) <= 60
    assert set(_saved(app, round_id, attempt_id)) == {"0", "1", "2"}
    key = attempt_state.save_limit_key("quiz", round_id, attempt_id, 0)
    assert f"{{r:{round_id}}}" in key  # the counter sits in the round's slot, beside the answers
    assert 0 < app.extensions["quiz_redis"].pttl(key) <= 60_000
