"""Every registered route, asked by every kind of visitor: nothing slips through unprotected.

Each endpoint in ``app.url_map`` must be classified below; an unclassified one fails the sweep, so a
new route cannot be added without saying who may use it. Every ``organizer.*`` endpoint is
organizer-only (admin-only where listed) whether or not it is listed. Then each route is requested,
with every method it accepts, by an anonymous visitor, a contestant, the organizer of *another* contest
(with a contestant of its own), the contest's own organizer, and an admin; the answers must match the class,
the other contest's organizer gets 404 for everything of this contest (its contestant's account included),
and nothing may answer 500.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.routing import Rule

from quiz_engine.extensions import db
from quiz_engine.models import Certificate, ExportJob, Question, Role, Round, User, utcnow
from tests import contest_fixture
from tests.conftest import PASSWORD

#: Anyone, signed in or not.
PUBLIC = {
    "static",
    "main.index",
    "main.healthz",
    "main.set_language",
    "auth.login",
    "auth.register",
    "api.open_rounds",
    "api.openapi_document",
    "api.round_leaderboard",
    "contest.show_contest",
    "contest.contest_standings",
    "contest.round_leaderboard",
    "contest.contest_logo",
    "contest.contest_banner",
    "contest.contest_brand_css",
    "certificates.show_certificate",
    "certificates.verify",
    "certificates.verify_code",
}
#: Signed-in people, each on their own records only (see test_idor.py for the second person).
SIGNED_IN = {
    "auth.logout",
    "auth.profile",
    "auth.change_password",
    "auth.join_contest",
    "auth.update_entry",
    "auth.personal_data_json",
    "api.start_attempt",
    "api.attempt_paper",
    "api.save_answer",
    "api.save_prediction",
    "api.attempt_submit",
    "api.attempt_result",
    "contest.start_round",
    "contest.take_attempt",
    "contest.save_attempt_form",
    "contest.submit_attempt",
    "contest.attempt_result",
    "contest.my_attempts",
}
#: Organizers, outside the organizer area.
ORGANIZER_API = {"api.round_stats"}
#: Admins only.
ADMIN = {"organizer.contest_organizer_add", "organizer.contest_organizer_remove"}
#: Organizer routes that reach one contest's records or an account registered only in it: an organizer not
#: listed on it gets 404.
SCOPED_ARGS = {"contest_id", "round_id", "job_id", "certificate_id", "user_id"}
#: Run last: they delete what later requests look for; signing out goes at the very end.
LAST = ("delete", "remove", "revoke")


def classify(endpoint: str) -> str:
    if endpoint in ADMIN:
        return "admin"
    if endpoint.startswith("organizer.") or endpoint in ORGANIZER_API:
        return "organizer"
    if endpoint in SIGNED_IN:
        return "signed-in"
    if endpoint in PUBLIC:
        return "public"
    raise AssertionError(f"{endpoint} is not classified in tests/web/test_route_sweep.py: who may use it?")


@dataclass
class World:
    values: dict[str, object]


@pytest.fixture
def world(app: Flask, make_user) -> World:  # type: ignore[no-untyped-def]
    """A contest with a round, a contestant's submitted attempt, a certificate and an export job; and another
    contest, with its own organizer (the "stranger") and a contestant of its own who took its round."""
    with app.app_context():
        built = contest_fixture.build(db.session, per_paper=3)
        round_id, contest_id, slug = built.round.id, built.contest.id, built.contest.slug
    attempt_id = contest_fixture.play(app, "an@example.vn", round_id, right=2)
    own = make_user("btc@example.vn", Role.ORGANIZER, "Ban Tổ chức")
    contest_fixture.list_as_organizer(app, own)
    stranger = make_user("khac@example.vn", Role.ORGANIZER, "Ban Tổ chức khác")
    with app.app_context():
        other = contest_fixture.other_contest(db.session, per_paper=3)
        contest_fixture.register(db.session, other.contest, "yen@example.vn")
        other.contest.organizers.append(db.session.get(User, stranger))
        db.session.commit()
        other_round = other.id
    contest_fixture.play(app, "yen@example.vn", other_round, right=1)
    make_user("qtv@example.vn", Role.ADMIN, "Quản trị viên")
    with app.app_context():
        now = utcnow()
        certificate = Certificate(
            code="CN-TEST-0001",
            round_id=round_id,
            user_id=built.user_id,
            award="Giải Nhất",
            holder_name="Nguyễn Văn An",
            issued_at=now,
        )
        job = ExportJob(round_id=round_id, kind="leaderboard", requested_by=own, filename="x.xlsx", created_at=now)
        db.session.add_all([certificate, job])
        db.session.commit()
        question_id = db.session.scalar(select(Question.id))
        values = {
            "round_id": round_id,
            "contest_id": contest_id,
            "attempt_id": attempt_id,
            "slug": slug,
            "job_id": job.id,
            "certificate_id": certificate.id,
            "question_id": question_id,
            "user_id": built.user_id,
            "token": "khong-co",
            "code": "CN-TEST-0001",
            "position": 0,
            "filename": "css/site.css",
        }
    return World(values)


def _url(rule: Rule, world: World, app: Flask) -> str:
    values = dict(world.values)
    if rule.endpoint.startswith("organizer.bank"):
        values["slug"] = "bank"
    if rule.endpoint == "main.set_language":
        values["code"] = "en"
    for name, converter in rule._converters.items():  # any(void, restore) and the like: the first choice
        if hasattr(converter, "items"):
            values[name] = sorted(converter.items)[0]
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **{k: values[k] for k in rule.arguments})


def _requests(app: Flask, world: World) -> list[tuple[Rule, str, str]]:
    """``(rule, method, url)`` for every route and method, the destructive ones last."""
    rules = sorted(
        app.url_map.iter_rules(),
        key=lambda r: (r.endpoint == "auth.logout", any(w in r.endpoint for w in LAST), r.endpoint),
    )
    out = []
    for rule in rules:
        url = _url(rule, world, app)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((rule, method, url))
    return out


def _send(client, method: str, url: str):  # type: ignore[no-untyped-def]
    if method == "PUT":
        return client.put(url, json={"choices": [0], "value": 1})
    return client.open(url, method=method, data={}, headers={"Accept": "text/html"})


def _to_login(response) -> bool:  # type: ignore[no-untyped-def]
    return response.status_code == 302 and "/auth/login" in response.headers.get("Location", "")


def _expect(kind: str, visitor: str, rule: Rule, response) -> str | None:  # type: ignore[no-untyped-def]
    """What is wrong with ``response``, or None."""
    endpoint = rule.endpoint
    status = response.status_code
    if status >= 500:
        return f"answered {status}"
    api = endpoint.startswith("api.")
    refused_login = status == 401 if api else _to_login(response)
    if visitor == "anonymous":
        if kind == "public":
            return "sent a visitor to sign in on a public page" if refused_login or status == 403 else None
        return None if refused_login else f"let an anonymous visitor in ({status})"
    if refused_login:
        return "asked a signed-in visitor to sign in again"
    if kind == "admin":
        wanted_403 = visitor != "admin"
        return None if (status == 403) == wanted_403 else f"admin-only route answered {status} to {visitor}"
    if kind == "organizer":
        if visitor == "contestant":
            return None if status == 403 else f"organizer route answered {status} to a contestant"
        if status == 403:
            return f"organizer route refused {visitor}"
        scoped = bool(SCOPED_ARGS & rule.arguments)
        if visitor == "stranger" and scoped and not endpoint.startswith("api."):
            return None if status == 404 else f"another contest's organizer got {status}, not 404"
    return None


@pytest.mark.parametrize("visitor", ["anonymous", "contestant", "stranger", "organizer", "admin"])
def test_every_route_answers_each_visitor_as_its_class_says(app: Flask, world: World, visitor: str) -> None:
    client = app.test_client()
    login = {
        "contestant": "an@example.vn",
        "stranger": "khac@example.vn",
        "organizer": "btc@example.vn",
        "admin": "qtv@example.vn",
    }.get(visitor)
    if login:
        password = "mat-khau-123" if visitor == "contestant" else PASSWORD
        assert client.post("/auth/login", data={"login": login, "password": password}).status_code == 302
    problems = []
    for rule, method, url in _requests(app, world):
        kind = classify(rule.endpoint)
        response = _send(client, method, url)
        problem = _expect(kind, visitor, rule, response)
        response.close()
        if problem:
            problems.append(f"{method} {url} ({rule.endpoint}, {kind}): {problem}")
    assert problems == []


def test_the_sweep_covers_every_route(app: Flask) -> None:
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert {classify(e) for e in endpoints} == {"public", "signed-in", "organizer", "admin"}
    assert len(endpoints) >= 60


def test_a_round_of_another_contest_is_not_found_for_a_stranger(app: Flask, world: World) -> None:
    client = app.test_client()
    client.post("/auth/login", data={"login": "khac@example.vn", "password": PASSWORD})
    round_id = world.values["round_id"]
    assert client.get(f"/organizer/rounds/{round_id}/dashboard").status_code == 404
    assert client.post(f"/organizer/rounds/{round_id}/delete", data={}).status_code == 404
    with app.app_context():
        assert db.session.get(Round, round_id) is not None
    listing = client.get("/organizer/contests").get_data(as_text=True)
    assert f"/organizer/contests/{world.values['contest_id']}" not in listing


def test_the_organizer_of_another_contest_reaches_none_of_this_contests_accounts_or_audit_entries(
    app: Flask, world: World
) -> None:
    """What the sweep cannot see in a status code: searches and logs. Asked by name or by id, this contest's
    contestant, attempt and round are not found; the stranger's own contestant is."""
    client = app.test_client()
    client.post("/auth/login", data={"login": "khac@example.vn", "password": PASSWORD})
    values = world.values
    found = client.get("/organizer/users", query_string={"q": "example.vn"}).get_data(as_text=True)
    assert "an@example.vn" not in found and "yen@example.vn" in found
    for kind, target in (("user", values["user_id"]), ("attempt", values["attempt_id"]), ("round", values["round_id"])):
        for url in ("/organizer/audit", "/organizer/audit.xlsx"):
            response = client.get(url, query_string={"target_type": kind, "target_id": target})
            assert response.status_code == 404, (url, kind)
    log = client.get("/organizer/audit").get_data(as_text=True)
    assert "an@example.vn" not in log and "Nguyễn Văn An" not in log and "yen@example.vn" in log
    assert client.get(f"/organizer/users/{values['user_id']}/reset").status_code == 404
    assert client.get(f"/organizer/exports/{values['job_id']}/download").status_code == 404


def _row_counts(app: Flask) -> dict[str, int]:
    with app.app_context():
        return {t.name: db.session.query(t).count() for t in db.metadata.sorted_tables}


@pytest.mark.parametrize("visitor", ["contestant", "organizer"])
def test_every_state_changing_route_needs_a_csrf_token(app: Flask, world: World, visitor: str) -> None:
    client = app.test_client()
    login = "an@example.vn" if visitor == "contestant" else "btc@example.vn"
    password = "mat-khau-123" if visitor == "contestant" else PASSWORD
    assert client.post("/auth/login", data={"login": login, "password": password}).status_code == 302
    app.config["WTF_CSRF_ENABLED"] = True  # from here on, as in production
    before = _row_counts(app)
    problems = []
    for rule, method, url in _requests(app, world):
        endpoint = rule.endpoint
        if method == "GET":
            continue
        response = _send(client, method, url)
        if response.status_code != 400:
            problems.append(f"{method} {url} ({endpoint}) answered {response.status_code} without a CSRF token")
        elif endpoint.startswith("api.") and response.get_json()["code"] != "csrf":
            problems.append(f"{method} {url} ({endpoint}) refused, but not for its missing token")
        response.close()
    assert problems == []
    assert _row_counts(app) == before  # refused requests leave nothing behind
    assert client.get("/auth/profile").status_code == 200  # and the session is still there
