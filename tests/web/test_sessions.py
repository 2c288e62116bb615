"""Sessions and passwords: a new password ends every other session, common passwords are refused,
the session cookie is HttpOnly, SameSite=Lax and Secure over HTTPS, security headers on every page."""

from __future__ import annotations

import pytest

from quiz_engine.extensions import db
from quiz_engine.models import Role, User, utcnow
from quiz_engine.services.errors import ValidationError
from quiz_engine.services.people import accounts
from tests.conftest import PASSWORD

NEW = "mot-cau-de-nho-2026"


def _signed_in(app, login: str = "an@example.vn", password: str = PASSWORD):  # type: ignore[no-untyped-def]
    client = app.test_client()
    assert client.post("/auth/login", data={"login": login, "password": password}).status_code == 302
    assert client.get("/auth/profile").status_code == 200
    return client


def test_changing_the_password_signs_out_every_other_session(app, make_user) -> None:
    make_user("an@example.vn")
    phone, laptop = _signed_in(app), _signed_in(app)
    changed = laptop.post(
        "/auth/password", data={"current_password": PASSWORD, "new_password": NEW, "new_password_confirm": NEW}
    )
    assert changed.status_code == 302
    assert laptop.get("/auth/profile").status_code == 200  # the device that changed it carries on
    gone = phone.get("/auth/profile")
    assert gone.status_code == 302 and "/auth/login" in gone.headers["Location"]
    assert phone.post("/api/v1/rounds/1/attempts").status_code == 401


def test_an_organizers_reset_signs_the_person_out_everywhere(app, make_user) -> None:
    person = make_user("an@example.vn")
    make_user("btc@example.vn", Role.ADMIN, "Quản trị")  # an admin: the person is in no contest of an organizer
    phone = _signed_in(app)
    organizer = _signed_in(app, "btc@example.vn")
    assert organizer.post(f"/organizer/users/{person}/reset").status_code == 200
    assert "/auth/login" in phone.get("/auth/profile").headers["Location"]
    with app.app_context():
        assert db.session.get(User, person).must_change_password


@pytest.mark.parametrize("password", ["password123", "matkhau123", "12345678", "iloveyou", "Qwerty123!"])
def test_common_passwords_are_refused(session, password: str) -> None:
    with pytest.raises(ValidationError) as refused:
        accounts.create_user(session, full_name="An", email="an@example.vn", password=password, now=utcnow())
    assert "quá phổ biến" in refused.value.vi and refused.value.field == "password"


def test_a_password_made_of_ones_phone_number_is_refused(session) -> None:
    with pytest.raises(ValidationError) as refused:
        accounts.create_user(session, full_name="An", phone="0912345678", password="0912345678xyz", now=utcnow())
    assert "số điện thoại" in refused.value.vi


def test_passwords_are_hashed_with_scrypt(session) -> None:
    user = accounts.create_user(session, full_name="An", email="an@example.vn", password=NEW, now=utcnow())
    assert user.password_hash.startswith("scrypt:") and NEW not in user.password_hash


def test_session_cookie_flags_over_http_and_https(app, make_user) -> None:
    make_user("an@example.vn")
    client = app.test_client()
    plain = client.post("/auth/login", data={"login": "an@example.vn", "password": PASSWORD})
    cookie = plain.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    secure = app.test_client().post(
        "/auth/login", data={"login": "an@example.vn", "password": PASSWORD}, base_url="https://thi.example.vn"
    )
    assert "Secure" in secure.headers["Set-Cookie"]


@pytest.mark.parametrize("config_overrides", [{"PROXY_HOPS": 1}])
def test_behind_a_proxy_https_and_the_visitors_address_are_recognised(app, make_user) -> None:
    make_user("an@example.vn")
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}
    response = app.test_client().post(
        "/auth/login", data={"login": "an@example.vn", "password": "sai"}, headers=forwarded
    )
    assert response.status_code == 401
    with app.app_context():
        from quiz_engine.models import AuditEvent

        event = db.session.query(AuditEvent).filter_by(action="auth.login_failed").one()
    assert event.ip_address == "203.0.113.7"


def test_security_headers_on_pages_and_api(client) -> None:
    for url in ("/", "/auth/login", "/api/v1/rounds", "/khong-co-trang-nay"):
        headers = client.get(url).headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert headers["X-Content-Type-Options"] == "nosniff" and headers["Referrer-Policy"] == "same-origin"
