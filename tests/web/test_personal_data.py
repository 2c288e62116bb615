"""A contestant downloads everything held about them (Decree 13/2023/NĐ-CP): their own data and nobody else's."""

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from quiz_engine.extensions import db
from quiz_engine.models import AuditEvent, Round, User, utcnow
from quiz_engine.services.people import personal_data
from tests import contest_fixture

PASSWORD = "mat-khau-123"
URL = "/auth/profile/data.json"


@pytest.fixture
def two(app):  # type: ignore[no-untyped-def]
    """A contest with An (registered, with phone, CCCD, birth date) and Bình; returns (round id, An, Bình)."""
    with app.app_context():
        built = contest_fixture.build(db.session, questions=10, per_paper=5)
        binh = contest_fixture.register(db.session, built.contest, "binh@example.vn")
        an = db.session.get(User, built.user_id)
        an.phone, an.cccd, an.date_of_birth = "+84912345678", "001090001234", date(1990, 1, 2)
        an.consented_at = utcnow()
        db.session.commit()
        return built.round.id, built.user_id, binh


def _download(client, login: str = "an@example.vn"):  # type: ignore[no-untyped-def]
    client.post("/auth/login", data={"login": login, "password": PASSWORD})
    response = client.get(URL)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def _close(app, round_id: int) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        db.session.get(Round, round_id).closes_at = utcnow() - timedelta(minutes=1)
        db.session.commit()


def test_anonymous_visitors_are_sent_to_sign_in(client) -> None:
    response = client.get(URL)
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_profile_page_offers_the_download(client, two) -> None:
    client.post("/auth/login", data={"login": "an@example.vn", "password": PASSWORD})
    page = client.get("/auth/profile").get_data(as_text=True)
    assert URL in page and "Nghị định 13/2023/NĐ-CP" in page


def test_download_holds_own_data_and_never_another_persons(app, client, two) -> None:
    round_id, an, binh = two
    mine = contest_fixture.play(app, "an@example.vn", round_id, right=3)
    theirs = contest_fixture.play(app, "binh@example.vn", round_id, right=1)
    client.post("/auth/login", data={"login": "binh@example.vn", "password": "sai-mat-khau"})  # Bình's failure
    client.post("/auth/login", data={"login": "0912 345 678", "password": "sai-mat-khau"})  # An's, as typed
    response = _download(client)

    assert response.mimetype == "application/json" and response.headers["Cache-Control"] == "no-store"
    assert "attachment" in response.headers["Content-Disposition"]
    raw = response.get_data()
    assert "Nguyễn Văn An".encode() in raw  # UTF-8, not \u escapes
    data = json.loads(raw.decode("utf-8"))
    assert data["format"] == personal_data.FORMAT
    account = data["account"]
    assert (account["id"], account["email"], account["phone"]) == (an, "an@example.vn", "+84912345678")
    assert (account["cccd"], account["date_of_birth"]) == ("001090001234", "1990-01-02")
    assert "password_hash" not in account
    with app.app_context():
        hashes = [db.session.get(User, u).password_hash for u in (an, binh)]
    assert not any(h.encode() in raw for h in hashes)
    assert data["consents"]["consented_at"] is not None
    assert [r["contest"]["slug"] for r in data["registrations"]] == ["thi"]
    assert data["registrations"][0]["group"]["code"] == "nhan-dan"

    [attempt] = data["attempts"]
    assert attempt["id"] == mine and attempt["status"] == "submitted" and attempt["correct_count"] == 3
    assert attempt["round"]["title"] == "Tuần 1" and attempt["ip_address"] == "127.0.0.1"
    assert len(attempt["questions"]) == 5 and all(q["selected"] for q in attempt["questions"])
    assert attempt["questions"][0]["text"].startswith("Câu hỏi số") and len(attempt["questions"][0]["choices"]) == 4
    # The round is still open and shows corrections only after close: no answer key yet.
    assert attempt["answers_revealed"] is False
    assert not any("correct" in q or "is_correct" in q for q in attempt["questions"])

    text = raw.decode("utf-8")
    assert "binh@example.vn" not in text and "Trần Thị Bình" not in text
    assert all(a["id"] != theirs for a in data["attempts"])
    events = data["audit_events"]
    assert {e["action"] for e in events["own"]} >= {"auth.login", "attempt.start", "attempt.submit"}
    assert all(e["ip_address"] == "127.0.0.1" for e in events["own"] if e["action"] == "auth.login")
    assert [e["details"]["login"] for e in events["failed_logins"]] == ["0912 345 678"]
    with app.app_context():
        download = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.data_download"))
    assert (download.actor_id, download.target_id) == (an, an)


def test_an_attempt_in_progress_shows_the_answers_saved_but_no_correct_answer(app, client, two) -> None:
    round_id, _an, _binh = two
    contest_fixture.play(app, "an@example.vn", round_id, right=5, submit=False)
    [attempt] = json.loads(_download(client).get_data())["attempts"]
    assert attempt["status"] == "in_progress" and attempt["correct_count"] is None
    assert all(len(q["selected"]) == 1 for q in attempt["questions"])  # read from Redis
    assert not any({"correct", "is_correct", "voided"} & q.keys() for q in attempt["questions"])
    # Even once the round has closed, an attempt still in progress reveals nothing.
    _close(app, round_id)
    [attempt] = json.loads(client.get(URL).get_data())["attempts"]
    assert attempt["status"] == "in_progress" and attempt["answers_revealed"] is False
    assert not any("correct" in q for q in attempt["questions"])


def test_after_close_the_corrections_of_a_closed_attempt_are_included(app, client, two) -> None:
    round_id, _an, _binh = two
    contest_fixture.play(app, "an@example.vn", round_id, right=3)
    _close(app, round_id)
    [attempt] = json.loads(_download(client).get_data())["attempts"]
    assert attempt["answers_revealed"] is True
    assert [q["is_correct"] for q in attempt["questions"]] == [True, True, True, False, False]
    first = attempt["questions"][0]
    assert first["selected"] == first["correct"] and len(first["correct"]) == 1
