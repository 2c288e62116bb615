"""Rate limits: by account first, by address second, stored in Redis (shared by every instance), with a
clear message and Retry-After when a visitor is held back."""

from __future__ import annotations

import pytest

from quiz_engine.extensions import db
from quiz_engine.models import Role
from tests import contest_fixture
from tests.conftest import PASSWORD

TIGHT = {
    "RATE_LIMIT_LOGIN_ACCOUNT": "3 per 15 minutes",
    "RATE_LIMIT_LOGIN_ACCOUNT_ANYWHERE": "6 per 15 minutes",
    "RATE_LIMIT_LOGIN_ADDRESS": "5 per 15 minutes",
    "RATE_LIMIT_REGISTER_ACCOUNT": "2 per 10 minutes",
    "RATE_LIMIT_REGISTER_ADDRESS": "2 per 10 minutes",
    "RATE_LIMIT_ATTEMPT_START": "2 per minute",
    "RATE_LIMIT_ANSWER_SAVE": "4 per minute",
    "RATE_LIMIT_EXPORT": "1 per 10 minutes",
}


@pytest.fixture
def config_overrides() -> dict[str, object]:
    return TIGHT


def _login(client, login: str, password: str):  # type: ignore[no-untyped-def]
    return client.post("/auth/login", data={"login": login, "password": password})


def test_failed_sign_ins_hold_back_that_account_only(app, client, make_user) -> None:
    make_user("an@example.vn")
    make_user("binh@example.vn")
    assert [_login(client, "an@example.vn", "sai-mat-khau").status_code for _ in range(3)] == [401, 401, 401]
    held = _login(client, "an@example.vn", PASSWORD)  # even the right password waits now
    assert held.status_code == 429 and 800 <= int(held.headers["Retry-After"]) <= 901
    assert "Bạn thao tác quá nhanh. Vui lòng thử lại sau" in held.get_data(as_text=True)
    assert _login(client, "binh@example.vn", PASSWORD).status_code == 302  # a neighbour on the same IP
    keys = list(app.extensions["quiz_redis"].scan_iter(match="quiz:rl*"))  # every primary of a Cluster
    assert any("login-account" in k and "an@example.vn" in k for k in keys)


def test_a_strangers_wrong_passwords_do_not_lock_the_owner_out(app, make_user) -> None:
    """Failures count per account *and address*: the owner signing in from their own phone still gets in. Only
    failures from several addresses together reach the account's ceiling."""
    make_user("an@example.vn")

    def from_address(address: str):  # type: ignore[no-untyped-def]
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = address
        return client

    stranger = from_address("198.51.100.1")
    assert [_login(stranger, "an@example.vn", "sai-mat-khau").status_code for _ in range(4)] == [401, 401, 401, 429]
    owner = from_address("203.0.113.9")
    assert _login(owner, "an@example.vn", PASSWORD).status_code == 302
    second = from_address("198.51.100.2")
    assert [_login(second, "an@example.vn", "sai-mat-khau").status_code for _ in range(3)] == [401, 401, 401]
    held = _login(from_address("203.0.113.10"), "an@example.vn", PASSWORD)  # six failures from everywhere
    assert held.status_code == 429 and int(held.headers["Retry-After"]) > 0


def test_successful_sign_ins_do_not_count(app, client, make_user) -> None:
    make_user("an@example.vn")
    for _ in range(5):
        assert _login(client, "an@example.vn", PASSWORD).status_code == 302
        client.post("/auth/logout")


def test_many_failures_from_one_address_hold_it_back(app, client) -> None:
    for n in range(5):
        assert _login(client, f"nguoi{n}@example.vn", "sai-mat-khau").status_code == 401
    assert _login(client, "nguoi9@example.vn", "sai-mat-khau").status_code == 429


def test_registration_is_limited_by_address_as_a_ceiling(app, client) -> None:
    statuses = [
        client.post("/auth/register", data={"full_name": "X", "phone": f"091234567{n}"}).status_code for n in range(3)
    ]  # three different accounts: only the address's ceiling (2 here) holds the third back
    assert 429 not in statuses[:2] and statuses[2] == 429


def test_attempt_starts_and_answer_saves_are_limited_with_json_errors(app) -> None:
    with app.app_context():
        round_id = contest_fixture.build(db.session, per_paper=5).round.id
    browser = app.test_client()
    _login(browser, "an@example.vn", "mat-khau-123")
    started = browser.post(f"/api/v1/rounds/{round_id}/attempts")
    paper = browser.get(started.get_json()["links"]["paper"]).get_json()
    url = paper["questions"][0]["save_url"]
    saves = [browser.put(url, json={"choices": [n % 4]}).status_code for n in range(5)]
    assert saves == [200, 200, 200, 200, 429]
    after = browser.get(started.get_json()["links"]["paper"]).get_json()
    assert after["questions"][0]["selected"] == [3]  # the refused fifth save (choice 0) changed nothing
    browser.post(f"/api/v1/rounds/{round_id}/attempts")  # the second start (it resumes the same attempt)
    refused = browser.post(f"/api/v1/rounds/{round_id}/attempts")
    body = refused.get_json()
    assert refused.status_code == 429 and body["code"] == "rate_limited" and int(refused.headers["Retry-After"]) > 0
    assert "giây" in body["error"]


def test_limits_hold_across_app_instances_and_speak_english(app, client, make_user, another_instance) -> None:
    make_user("an@example.vn")
    for _ in range(3):
        _login(client, "an@example.vn", "sai-mat-khau")
    other = another_instance(**TIGHT).test_client()
    other.post("/language/en")
    held = _login(other, "an@example.vn", PASSWORD)
    assert held.status_code == 429 and "You are going too fast" in held.get_data(as_text=True)


def test_exports_are_limited_per_organizer(app, make_user) -> None:
    with app.app_context():
        round_id = contest_fixture.build(db.session).round.id
    contest_fixture.list_as_organizer(app, make_user("btc@example.vn", Role.ORGANIZER, "Ban Tổ chức"))
    browser = app.test_client()
    _login(browser, "btc@example.vn", PASSWORD)
    first = browser.post(f"/organizer/rounds/{round_id}/exports", data={"kind": "units"})
    second = browser.post(f"/organizer/rounds/{round_id}/exports", data={"kind": "units"})
    assert first.status_code == 303 and second.status_code == 429


def test_ipv6_addresses_count_by_their_64_network(app) -> None:
    def register(address: str, n: int) -> int:
        client = app.test_client()
        data = {"full_name": "X", "phone": f"0912{n:06d}"}  # refused by the form; counted all the same
        return client.post("/auth/register", data=data, environ_base={"REMOTE_ADDR": address}).status_code

    assert register("2001:db8:1:2::1", 1) != 429 and register("2001:db8:1:2:aaaa::9", 2) != 429
    assert register("2001:db8:1:2:ffff:ffff:ffff:ffff", 3) == 429  # the same /64: one subscriber
    assert register("2001:db8:1:3::1", 4) != 429  # the next /64 is someone else
