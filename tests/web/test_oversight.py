"""An organizer reaches only the accounts registered in the contests they are listed on, and only those contests'
audit entries: finding, resetting and the audit log with its export (docs/SECURITY.md). Admins reach everything."""

from __future__ import annotations

import io

import pytest
from flask import Flask
from openpyxl import load_workbook
from sqlalchemy import select

from quiz_engine.extensions import db
from quiz_engine.models import Contest, Registration, Role, User, utcnow
from tests import contest_fixture
from tests.conftest import PASSWORD


@pytest.fixture
def two_contests(app: Flask, make_user) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Contest X (contestant An, organizer btc-x) and contest Y (contestant Yen, organizer btc-y); Chi is in both."""
    with app.app_context():
        built = contest_fixture.build(db.session, per_paper=3)
        other = contest_fixture.other_contest(db.session, per_paper=3)
        ids = {"x": built.contest.id, "y": other.contest_id, "round_x": built.round.id, "round_y": other.id}
        ids["an"] = built.user_id
        ids["yen"] = contest_fixture.register(db.session, db.session.get(Contest, ids["y"]), "yen@example.vn")
        yen = db.session.get(User, ids["yen"])
        yen.full_name = "Lê Thị Yến"
        ids["chi"] = contest_fixture.register(db.session, db.session.get(Contest, ids["x"]), "chi@example.vn")
        db.session.add(Registration(contest_id=ids["y"], user_id=ids["chi"], registered_at=utcnow()))
        chi = db.session.get(User, ids["chi"])
        chi.full_name = "Phạm Văn Chi"
        db.session.commit()
    ids["attempt_x"] = contest_fixture.play(app, "an@example.vn", ids["round_x"], right=2)
    ids["attempt_y"] = contest_fixture.play(app, "yen@example.vn", ids["round_y"], right=1)
    ids["btc_x"] = make_user("btc-x@example.vn", Role.ORGANIZER, "Ban Tổ chức X")
    ids["btc_y"] = make_user("btc-y@example.vn", Role.ORGANIZER, "Ban Tổ chức Y")
    ids["admin"] = make_user("qtv@example.vn", Role.ADMIN, "Quản trị viên")
    with app.app_context():
        for contest_key, organizer in (("x", "btc_x"), ("y", "btc_y")):
            contest = db.session.get(Contest, ids[contest_key])
            contest.organizers.append(db.session.get(User, ids[organizer]))
            db.session.commit()
    return ids


def _signed_in(app: Flask, login: str):  # type: ignore[no-untyped-def]
    client = app.test_client()
    assert client.post("/auth/login", data={"login": login, "password": PASSWORD}).status_code == 302
    return client


def _found(client, query: str) -> str:  # type: ignore[no-untyped-def]
    response = client.get("/organizer/users", query_string={"q": query})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_account_search_finds_only_the_organizers_own_contestants(app: Flask, two_contests) -> None:  # type: ignore[no-untyped-def]
    x = _signed_in(app, "btc-x@example.vn")
    assert "Nguyễn Văn An" in _found(x, "an@example")
    assert "Lê Thị Yến" not in _found(x, "yen@example") and "yen@example.vn" not in _found(x, "example.vn")
    assert "Phạm Văn Chi" in _found(x, "chi@example")  # registered in both: each organizer finds them
    assert "Phạm Văn Chi" in _found(_signed_in(app, "btc-y@example.vn"), "chi@example")
    everything = _found(_signed_in(app, "qtv@example.vn"), "example.vn")
    assert "Lê Thị Yến" in everything and "Nguyễn Văn An" in everything


def test_another_contests_contestant_cannot_be_reset_and_is_not_found(app: Flask, two_contests) -> None:  # type: ignore[no-untyped-def]
    x = _signed_in(app, "btc-x@example.vn")
    with app.app_context():
        before = db.session.get(User, two_contests["yen"]).password_hash
    url = f"/organizer/users/{two_contests['yen']}/reset"
    assert x.get(url).status_code == 404
    assert x.post(url, data={}).status_code == 404
    with app.app_context():
        yen = db.session.get(User, two_contests["yen"])
        assert yen.password_hash == before and not yen.must_change_password
    assert x.get(f"/organizer/users/{two_contests['btc_y']}/reset").status_code == 404  # another organizer
    assert x.get(f"/organizer/users/{two_contests['an']}/reset").status_code == 200
    reset = x.post(f"/organizer/users/{two_contests['an']}/reset", data={})
    assert reset.status_code == 200 and "no-store" in reset.headers["Cache-Control"]
    admin = _signed_in(app, "qtv@example.vn")
    assert admin.get(url).status_code == 200
    assert admin.get(f"/organizer/users/{two_contests['btc_y']}/reset").status_code == 200  # admins reset organizers


def _audit_rows(client, **filters: str) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    """(action, actor's e-mail, target) of every event in the audit export."""
    response = client.get("/organizer/audit.xlsx", query_string=filters)
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data))["Nhật ký"]
    return [
        (r[2].value, r[4].value or "", f"{r[5].value or ''}:{r[6].value or ''}") for r in sheet.iter_rows(min_row=4)
    ]


def test_the_audit_log_shows_an_organizer_only_their_contests_and_contestants(app: Flask, two_contests) -> None:  # type: ignore[no-untyped-def]
    ids = two_contests
    x = _signed_in(app, "btc-x@example.vn")
    rows = _audit_rows(x)
    actors = {actor for _, actor, _ in rows}
    targets = {target for _, _, target in rows}
    assert "yen@example.vn" not in actors  # Yến's sign-in, start and submission are contest Y's
    assert f"attempt:{ids['attempt_y']}" not in targets and f"contest:{ids['y']}" not in targets
    assert f"attempt:{ids['attempt_x']}" in targets and "an@example.vn" in actors
    assert ("auth.login", "btc-x@example.vn", ":") in rows  # their own actions
    assert "btc-y@example.vn" not in actors
    page = x.get("/organizer/audit").get_data(as_text=True)
    assert "yen@example.vn" not in page and "Lê Thị Yến" not in page and "an@example.vn" in page
    searched = x.get("/organizer/audit", query_string={"actor": "yen"}).get_data(as_text=True)
    assert "yen@example.vn" not in searched
    everything = _audit_rows(_signed_in(app, "qtv@example.vn"))
    assert {"yen@example.vn", "an@example.vn", "btc-x@example.vn"} <= {actor for _, actor, _ in everything}
    assert f"attempt:{ids['attempt_y']}" in {target for _, _, target in everything}


def test_the_scope_follows_the_listing(app: Flask, two_contests) -> None:  # type: ignore[no-untyped-def]
    """Listed on contest Y as well, the organizer finds Yến; taken off it, no longer."""
    x = _signed_in(app, "btc-x@example.vn")
    with app.app_context():
        contest = db.session.get(Contest, two_contests["y"])
        contest.organizers.append(db.session.get(User, two_contests["btc_x"]))
        db.session.commit()
    assert "Lê Thị Yến" in _found(x, "yen@example")
    with app.app_context():
        contest = db.session.get(Contest, two_contests["y"])
        contest.organizers.remove(db.session.get(User, two_contests["btc_x"]))
        db.session.commit()
        assert db.session.scalar(select(User.id).where(User.email == "yen@example.vn")) is not None
    assert "Lê Thị Yến" not in _found(x, "yen@example")
