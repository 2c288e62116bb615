"""An organizer finds an account and resets its password; the person must choose a new one at sign-in."""

import re
from datetime import date

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from quiz_engine.extensions import db
from quiz_engine.models import AuditEvent, Role, User, utcnow
from quiz_engine.services.organising import contests
from quiz_engine.services.people import registration
from quiz_engine.services.people.registration import EntryChoice, PersonalDetails
from tests import contest_fixture
from tests.conftest import AuthActions

CONTESTANT_PASSWORD = "mat-khau-cu-123"


@pytest.fixture
def contestant_id(app: Flask) -> int:
    """A registered contestant with a phone number, in a contest without groups or units."""
    with app.app_context():
        contest = contests.create_contest(db.session, "thi", contests.ContestDetails(title="Cuộc thi"), now=utcnow())
        user = registration.register(
            db.session,
            contest,
            PersonalDetails("Trần Thị Bình", date(2005, 1, 2), "079305001234", phone="0912 345 678"),
            password=CONTESTANT_PASSWORD,
            entry=EntryChoice(None, None),
            consented=True,
            now=utcnow(),
        )
        db.session.commit()
        return user.id


@pytest.fixture
def organizer(app: Flask, make_user, auth: AuthActions, contestant_id: int) -> int:  # type: ignore[no-untyped-def]
    """An organizer listed on the contestant's contest (organizers reach only their contests' accounts)."""
    organizer_id = make_user("btc@example.vn", Role.ORGANIZER, "Ban Tổ chức")
    contest_fixture.list_as_organizer(app, organizer_id)
    auth.login("btc@example.vn")
    return organizer_id


def _password_hash(app: Flask, user_id: int) -> str:
    with app.app_context():
        return db.session.get(User, user_id).password_hash


def _reset_actions(app: Flask) -> list[AuditEvent]:
    with app.app_context():
        return db.session.scalars(select(AuditEvent).where(AuditEvent.action == "user.password_reset")).all()


def _reset(client: FlaskClient, user_id: int) -> str:
    """Reset through the organizer page; return the temporary password it shows."""
    page = client.post(f"/organizer/users/{user_id}/reset").get_data(as_text=True)
    return re.search(r'<p class="temporary-password"><code>([^<]+)</code></p>', page).group(1)


def test_user_pages_require_an_organizer(client: FlaskClient, make_user, auth: AuthActions, contestant_id: int) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/organizer/users").headers["Location"].startswith("/auth/login")
    assert client.post(f"/organizer/users/{contestant_id}/reset").headers["Location"].startswith("/auth/login")
    make_user()
    auth.login()
    assert client.get("/organizer/users?q=Bình").status_code == 403
    assert client.post(f"/organizer/users/{contestant_id}/reset").status_code == 403


def test_organizer_finds_a_person_by_phone_in_any_spelling(
    client: FlaskClient, organizer: int, contestant_id: int
) -> None:
    page = client.get("/organizer/users").get_data(as_text=True)
    assert "Tìm theo số điện thoại, e-mail, họ tên hoặc số CCCD" in page and 'aria-current="page">Người dùng' in page
    for query in ("0912 345 678", "+84912345678", "345678", "trần thị"):
        found = client.get("/organizer/users", query_string={"q": query}).get_data(as_text=True)
        assert "Trần Thị Bình" in found and f'href="/organizer/users/{contestant_id}/reset"' in found
    nobody = client.get("/organizer/users", query_string={"q": "Không Ai"}).get_data(as_text=True)
    assert "Không tìm thấy tài khoản nào phù hợp" in nobody


def test_reset_shows_a_temporary_password_once_and_forces_a_change(
    app: Flask, client: FlaskClient, organizer: int, contestant_id: int
) -> None:
    before = _password_hash(app, contestant_id)
    confirm = client.get(f"/organizer/users/{contestant_id}/reset")
    assert confirm.status_code == 200 and "Trần Thị Bình" in confirm.get_data(as_text=True)
    assert _password_hash(app, contestant_id) == before and _reset_actions(app) == []  # a GET changes nothing
    response = client.post(f"/organizer/users/{contestant_id}/reset")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    temporary = re.search(r'<p class="temporary-password"><code>([^<]+)</code></p>', page).group(1)
    assert len(temporary) == 10 and "chỉ hiện một lần" in page
    assert temporary not in client.get(f"/organizer/users/{contestant_id}/reset").get_data(as_text=True)
    with app.app_context():
        user = db.session.get(User, contestant_id)
        assert user.must_change_password and user.password_hash != before
    (event,) = _reset_actions(app)
    assert (event.actor_id, event.target_type, event.target_id) == (organizer, "user", contestant_id)
    assert event.details == {"channel": "organizer"}


def test_after_a_reset_the_person_changes_the_password_before_anything_else(
    app: Flask, client: FlaskClient, organizer: int, contestant_id: int
) -> None:
    temporary = _reset(client, contestant_id)
    browser = app.test_client()  # the contestant's own browser
    person = AuthActions(browser)
    assert person.login("0912345678", CONTESTANT_PASSWORD).status_code == 401  # the old password is gone
    login = browser.post("/auth/login", data={"login": "0912345678", "password": temporary, "next": "/auth/profile"})
    assert login.status_code == 302 and login.headers["Location"] == "/auth/password?next=/auth/profile"
    for elsewhere in ("/", "/auth/profile", "/auth/register"):
        response = browser.get(elsewhere)
        assert response.status_code == 302 and response.headers["Location"].startswith("/auth/password")
    api = browser.get("/api/v1/rounds")
    assert api.status_code == 403 and api.get_json()["code"] == "password_change_required"
    page = browser.get("/auth/password?next=/auth/profile").get_data(as_text=True)
    assert "Mật khẩu của bạn vừa được Ban Tổ chức đặt lại" in page
    new = {"new_password": "mat-khau-moi-1", "new_password_confirm": "mat-khau-moi-1"}
    same = browser.post(
        "/auth/password",
        data={"current_password": temporary}
        | {
            "new_password": temporary,
            "new_password_confirm": temporary,
        },
    )
    assert same.status_code == 400 and "Mật khẩu mới phải khác mật khẩu hiện tại." in same.get_data(as_text=True)
    changed = browser.post("/auth/password", data={"current_password": temporary, "next": "/auth/profile"} | new)
    assert changed.status_code == 302 and changed.headers["Location"] == "/auth/profile"
    assert browser.get("/").status_code == 200
    assert browser.get("/api/v1/rounds").status_code == 200
    with app.app_context():
        assert not db.session.get(User, contestant_id).must_change_password
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.password_change"))
        assert (event.actor_id, event.details) == (contestant_id, {"forced": True})
    person.logout()
    assert person.login("0912345678", "mat-khau-moi-1").headers["Location"] == "/"


def test_an_organizer_cannot_reset_another_organizer_or_themselves(
    app: Flask,
    client: FlaskClient,
    make_user,
    organizer: int,  # type: ignore[no-untyped-def]
) -> None:
    other = make_user("btc2@example.vn", Role.ORGANIZER, "Ban Tổ chức 2")
    before = _password_hash(app, other)
    refused = client.post(f"/organizer/users/{other}/reset")
    assert refused.status_code == 404  # another organizer is no contestant of theirs: not even found
    assert "temporary-password" not in refused.get_data(as_text=True)
    own = client.post(f"/organizer/users/{organizer}/reset")
    assert own.status_code == 403 and "Hãy đổi mật khẩu của chính bạn trong trang Hồ sơ." in own.get_data(as_text=True)
    assert _password_hash(app, other) == before and _reset_actions(app) == []
    with app.app_context():
        assert not db.session.get(User, other).must_change_password


def test_resetting_an_unknown_account_is_not_found(client: FlaskClient, organizer: int) -> None:
    assert client.get("/organizer/users/999/reset").status_code == 404
    assert client.post("/organizer/users/999/reset").status_code == 404


class TestWithCsrf:
    @pytest.fixture
    def config_overrides(self) -> dict[str, object]:
        return {"WTF_CSRF_ENABLED": True}

    def test_reset_needs_the_forms_token(self, app: Flask, client: FlaskClient, make_user, contestant_id: int) -> None:  # type: ignore[no-untyped-def]
        contest_fixture.list_as_organizer(app, make_user("btc@example.vn", Role.ORGANIZER, "Ban Tổ chức"))
        login_page = client.get("/auth/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page).group(1)
        client.post(
            "/auth/login", data={"login": "btc@example.vn", "password": "mat-khau-thu-nghiem", "csrf_token": token}
        )
        before = _password_hash(app, contestant_id)
        assert client.post(f"/organizer/users/{contestant_id}/reset").status_code == 400
        assert _password_hash(app, contestant_id) == before
        page = client.get(f"/organizer/users/{contestant_id}/reset").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        done = client.post(f"/organizer/users/{contestant_id}/reset", data={"csrf_token": token})
        assert done.status_code == 200 and "temporary-password" in done.get_data(as_text=True)
        assert _password_hash(app, contestant_id) != before
