"""No insecure direct object references: one contestant can never read or change another's attempt,
answers, result or profile, whichever id they type (two real accounts, every attempt route)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from quiz_engine.extensions import db
from quiz_engine.models import Attempt, AttemptStatus, Registration
from tests import contest_fixture


@pytest.fixture
def two(app):  # type: ignore[no-untyped-def]
    """An has an attempt in progress with one answer saved; Bình is signed in as the intruder."""
    with app.app_context():
        built = contest_fixture.build(
            db.session, per_paper=3, prediction_kind="participants", prediction_prompt="Bao nhiêu?"
        )
        contest_fixture.register(db.session, built.contest, "binh@example.vn")
        round_id, slug = built.round.id, built.contest.slug
    owner = app.test_client()
    owner.post("/auth/login", data={"login": "an@example.vn", "password": "mat-khau-123"})
    paper = owner.get(owner.post(f"/api/v1/rounds/{round_id}/attempts").get_json()["links"]["paper"]).get_json()
    assert owner.put(paper["questions"][0]["save_url"], json={"choices": [1]}).status_code == 200
    assert owner.put(paper["prediction"]["save_url"], json={"value": 7}).status_code == 200
    intruder = app.test_client()
    intruder.post("/auth/login", data={"login": "binh@example.vn", "password": "mat-khau-123"})
    return owner, intruder, paper, round_id, slug


def _answers(owner, paper) -> list:  # type: ignore[no-untyped-def,type-arg]
    again = owner.get(f"/api/v1/attempts/{paper['id']}").get_json()
    return [q["selected"] for q in again["questions"]] + [again["prediction"]["value"]]


def test_another_persons_attempt_cannot_be_read_or_changed_through_the_api(app, two) -> None:
    owner, intruder, paper, round_id, _slug = two
    before = _answers(owner, paper)
    attempt = paper["id"]
    assert intruder.get(f"/api/v1/attempts/{attempt}").status_code == 404
    assert intruder.get(f"/api/v1/attempts/{attempt}/result").status_code == 404
    saved = intruder.put(f"/api/v1/rounds/{round_id}/attempts/{attempt}/answers/0", json={"choices": [3]})
    predicted = intruder.put(f"/api/v1/rounds/{round_id}/attempts/{attempt}/prediction", json={"value": 9})
    submitted = intruder.post(f"/api/v1/attempts/{attempt}/submit", json={})
    assert (saved.status_code, predicted.status_code, submitted.status_code) == (404, 404, 404)
    assert _answers(owner, paper) == before
    with app.app_context():
        assert db.session.get(Attempt, attempt).status is AttemptStatus.IN_PROGRESS


def test_another_persons_attempt_pages_are_not_found(app, two) -> None:
    owner, intruder, paper, _round_id, _slug = two
    before = _answers(owner, paper)
    attempt = paper["id"]
    assert intruder.get(f"/attempts/{attempt}").status_code == 404
    assert intruder.post(f"/attempts/{attempt}", data={"q0": "2"}).status_code == 404
    assert intruder.post(f"/attempts/{attempt}/submit", data={}).status_code == 404
    assert intruder.get(f"/attempts/{attempt}/result").status_code == 404
    assert _answers(owner, paper) == before
    history = intruder.get("/me/attempts").get_data(as_text=True)
    assert f"/attempts/{attempt}" not in history


def test_a_finished_attempt_and_its_result_stay_private(app, two) -> None:
    owner, intruder, paper, _round_id, _slug = two
    owner.post(paper["links"]["submit"])
    assert owner.get(f"/api/v1/attempts/{paper['id']}/result").status_code == 200
    assert intruder.get(f"/api/v1/attempts/{paper['id']}/result").status_code == 404
    assert intruder.get(f"/attempts/{paper['id']}/result").status_code == 404


def test_profile_shows_and_changes_only_ones_own_account(app, two) -> None:
    _owner, intruder, _paper, _round_id, slug = two
    page = intruder.get("/auth/profile").get_data(as_text=True)
    assert "binh@example.vn" in page and "an@example.vn" not in page and "Nguyễn Văn An" not in page
    with app.app_context():
        before = {r.user_id: (r.group_id, r.unit_id) for r in db.session.scalars(select(Registration))}
    intruder.post(f"/auth/profile/contests/{slug}", data={"group": "can-bo", "user_id": "1"})
    with app.app_context():
        after = {r.user_id: (r.group_id, r.unit_id) for r in db.session.scalars(select(Registration))}
        an = db.session.scalar(select(Registration.user_id).where(Registration.user_id == 1))
    assert an == 1 and after[1] == before[1]  # An's entry is untouched whatever Bình sends
