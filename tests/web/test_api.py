"""The contestant JSON API: whole flow, resume, limits, late answers, no answer leaks, OpenAPI conformance."""

import re
from datetime import timedelta
from typing import ClassVar

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from sqlalchemy import func, select

from quiz_engine.extensions import db
from quiz_engine.models import Attempt, AttemptStatus, AuditEvent
from quiz_engine.web.api.openapi import DOCUMENT
from tests import contest_fixture

PASSWORD = "mat-khau-123"
_REGISTRY = Registry().with_resource("urn:openapi", Resource.opaque(DOCUMENT))


def conforms(body: dict, schema: str) -> None:
    """Validate a real response body against the served OpenAPI schema."""
    validator = Draft202012Validator({"$ref": f"urn:openapi#/components/schemas/{schema}"}, registry=_REGISTRY)
    errors = [e.message for e in validator.iter_errors(body)]
    assert errors == []


@pytest.fixture
def setup(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        built = contest_fixture.build(
            db.session, per_paper=5, prediction_kind="participants", prediction_prompt="Bao nhiêu người tham gia?"
        )
        return built.round.id, built.user_id


@pytest.fixture
def signed_in(client, setup):  # type: ignore[no-untyped-def]
    client.post("/auth/login", data={"login": "an@example.vn", "password": PASSWORD})
    return setup


class Leaks:
    """Every response body of an attempt, scanned for anything that gives the answers away."""

    PATTERNS: ClassVar[list[str]] = [
        r'"correct"',
        r'"is_correct"',
        r"correct_positions",
        r"Giải thích \d+\.",
        r'class="correct"',
    ]

    def __init__(self) -> None:
        self.bodies: list[str] = []

    def __call__(self, response):  # type: ignore[no-untyped-def]
        self.bodies.append(response.get_data(as_text=True))
        return response

    def assert_none(self) -> None:
        for body in self.bodies:
            for pattern in self.PATTERNS:
                assert not re.search(pattern, body), f"{pattern} leaked in {body[:200]}"


def test_the_whole_flow_with_resume_and_a_double_submit(app, client, signed_in) -> None:
    round_id, _user = signed_in
    leaks = Leaks()
    rounds = leaks(client.get("/api/v1/rounds")).get_json()["rounds"]
    assert [r["id"] for r in rounds] == [round_id] and rounds[0]["attempts_used"] == 0
    conforms(rounds[0], "Round")
    started = leaks(client.post(f"/api/v1/rounds/{round_id}/attempts"))
    assert started.status_code == 201
    summary = started.get_json()
    conforms(summary, "AttemptSummary")
    paper = leaks(client.get(summary["links"]["paper"])).get_json()
    conforms(paper, "Paper")
    assert len(paper["questions"]) == 5 and paper["prediction"]["prompt"] == "Bao nhiêu người tham gia?"
    first, second = paper["questions"][:2]
    saved = leaks(client.put(first["save_url"], json={"choices": [first["choices"][0]["id"]]}))
    assert saved.status_code == 200 and saved.get_json() == {"saved": True, "status": "saved"}
    conforms(saved.get_json(), "Saved")
    again = leaks(client.put(first["save_url"], json={"choices": [first["choices"][0]["id"]]}))
    assert again.get_json()["status"] == "unchanged"
    leaks(client.put(second["save_url"], json={"choices": [second["choices"][2]["id"]]}))
    leaks(client.put(paper["prediction"]["save_url"], json={"value": 1234}))
    resumed = leaks(client.get(summary["links"]["paper"])).get_json()  # a reload, or another device
    assert resumed["questions"][0]["selected"] == [first["choices"][0]["id"]]
    assert resumed["questions"][1]["selected"] == [second["choices"][2]["id"]]
    assert resumed["prediction"]["value"] == 1234 and resumed["remaining_ms"] <= paper["remaining_ms"]
    assert [q["choices"] for q in resumed["questions"]] == [q["choices"] for q in paper["questions"]]
    submitted = leaks(client.post(summary["links"]["submit"]))
    body = submitted.get_json()
    conforms(body, "Result")
    assert body["status"] == "submitted" and body["already_submitted"] is False and body["review"] is None
    assert body["correct_count"] in (0, 1, 2) and body["prediction"] == 1234
    twice = client.post(summary["links"]["submit"]).get_json()
    assert twice["already_submitted"] is True and twice["duration_ms"] == body["duration_ms"]
    closed = leaks(client.put(first["save_url"], json={"choices": [first["choices"][1]["id"]]}))
    assert closed.status_code == 409 and closed.get_json()["code"] == "closed"
    leaks.assert_none()
    with app.app_context():
        assert db.session.scalar(select(func.count(Attempt.id))) == 1
        actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert actions == ["auth.login", "attempt.start", "attempt.submit"]


def test_double_start_makes_one_attempt(app, client, signed_in) -> None:
    round_id, _ = signed_in
    first = client.post(f"/api/v1/rounds/{round_id}/attempts").get_json()
    second = client.post(f"/api/v1/rounds/{round_id}/attempts").get_json()
    assert first["id"] == second["id"]
    with app.app_context():
        assert db.session.scalar(select(func.count(Attempt.id))) == 1


def test_late_answer_is_refused_and_recorded(app, client, signed_in, monkeypatch) -> None:
    round_id, _ = signed_in
    paper = client.get(client.post(f"/api/v1/rounds/{round_id}/attempts").get_json()["links"]["paper"]).get_json()
    later = contest_fixture.utcnow() + timedelta(minutes=10, seconds=6)
    monkeypatch.setattr("quiz_engine.web.deps.now", lambda: later)
    question = paper["questions"][0]
    response = client.put(question["save_url"], json={"choices": [0]})
    assert response.status_code == 409 and response.get_json()["code"] == "late"
    assert "hết giờ" in response.get_json()["error"]
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "attempt.late_answer"))
        assert event.details == {"field": "0", "value": "0"}
    result = client.get(paper["links"]["result"]).get_json()  # the next touch closes the overdue attempt
    assert result["status"] == "expired" and result["correct_count"] == 0


@pytest.mark.parametrize(
    ("body", "status"),
    [({"choices": [9]}, 400), ({"choices": "A"}, 400), ({}, 400), ({"choices": [0, 1]}, 422), ({"choices": [5]}, 422)],
)
def test_bad_answers_are_refused_with_json(client, signed_in, body, status) -> None:
    round_id, _ = signed_in
    paper = client.get(client.post(f"/api/v1/rounds/{round_id}/attempts").get_json()["links"]["paper"]).get_json()
    response = client.put(paper["questions"][0]["save_url"], json=body)
    assert response.status_code == status and response.is_json
    conforms(response.get_json(), "Error")


def test_malformed_json_is_a_400_not_a_500(client, signed_in) -> None:
    round_id, _ = signed_in
    paper = client.get(client.post(f"/api/v1/rounds/{round_id}/attempts").get_json()["links"]["paper"]).get_json()
    response = client.put(paper["questions"][0]["save_url"], data="{not json", content_type="application/json")
    assert response.status_code == 400


def test_anonymous_callers_get_401_and_others_attempts_are_invisible(app, client, setup) -> None:
    round_id, _ = setup
    assert client.post(f"/api/v1/rounds/{round_id}/attempts").status_code == 401
    assert client.put(f"/api/v1/rounds/{round_id}/attempts/1/answers/0", json={"choices": [0]}).status_code == 401
    client.post("/auth/login", data={"login": "an@example.vn", "password": PASSWORD})
    attempt = client.post(f"/api/v1/rounds/{round_id}/attempts").get_json()
    with app.app_context():
        contest = db.session.get(contest_fixture.Round, round_id).contest
        contest_fixture.register(db.session, contest, "binh@example.vn")
    other = app.test_client()
    other.post("/auth/login", data={"login": "binh@example.vn", "password": PASSWORD})
    assert other.get(attempt["links"]["paper"]).status_code == 404
    assert other.post(attempt["links"]["submit"]).status_code == 404
    assert other.get(attempt["links"]["result"]).status_code == 404
    save = other.put(f"/api/v1/rounds/{round_id}/attempts/{attempt['id']}/answers/0", json={"choices": [0]})
    assert save.status_code == 404
    with app.app_context():
        assert db.session.get(Attempt, attempt["id"]).status is AttemptStatus.IN_PROGRESS


def test_attempt_limit_and_unregistered_errors(app, client, setup, make_user) -> None:
    round_id, _ = setup
    with app.app_context():
        db.session.get(contest_fixture.Round, round_id).max_attempts = 1
        db.session.commit()
    client.post("/auth/login", data={"login": "an@example.vn", "password": PASSWORD})
    attempt = client.post(f"/api/v1/rounds/{round_id}/attempts").get_json()
    client.post(attempt["links"]["submit"])
    refused = client.post(f"/api/v1/rounds/{round_id}/attempts")
    assert refused.status_code == 409 and refused.get_json()["code"] == "attempt_limit"
    make_user("khach@example.vn")
    guest = app.test_client()
    guest.post("/auth/login", data={"login": "khach@example.vn", "password": "mat-khau-thu-nghiem"})
    assert guest.post(f"/api/v1/rounds/{round_id}/attempts").get_json()["code"] == "not_registered"


def test_openapi_document_is_valid_and_served(client) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    validate(response.get_json())
    assert set(response.get_json()["paths"]) >= {"/api/v1/rounds", "/api/v1/attempts/{attempt_id}/submit"}


class TestCsrfOnJson:
    @pytest.fixture
    def config_overrides(self) -> dict[str, object]:
        return {"WTF_CSRF_ENABLED": True}

    def test_state_changing_calls_need_the_token(self, app, client, setup) -> None:
        round_id, _ = setup
        page = client.get("/auth/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        client.post("/auth/login", data={"login": "an@example.vn", "password": PASSWORD, "csrf_token": token})
        home = client.get("/").get_data(as_text=True)  # the session was renewed at login: so was its token
        token = re.search(r'name="csrf_token" value="([^"]+)"', home).group(1)
        assert client.post(f"/api/v1/rounds/{round_id}/attempts").status_code == 400
        started = client.post(f"/api/v1/rounds/{round_id}/attempts", headers={"X-CSRFToken": token})
        assert started.status_code == 201
        paper = client.get(started.get_json()["links"]["paper"]).get_json()
        url = paper["questions"][0]["save_url"]
        assert client.put(url, json={"choices": [0]}).status_code == 400
        ok = client.put(url, json={"choices": [0]}, headers={"X-CSRFToken": paper["csrf_token"]})
        assert ok.status_code == 200
