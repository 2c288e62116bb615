"""Remember me: ticked by default, restores a session without signing in, slides, and is revoked
server-side by a sign-out, a password change or an organizer's reset (``User.session_epoch``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_login.utils import encode_cookie
from sqlalchemy import event

from quiz_engine.extensions import db
from quiz_engine.models import Role, User
from quiz_engine.web import deps
from tests.conftest import PASSWORD

LOGIN = "an@example.vn"
NEW = "mot-cau-de-nho-2026"
REMEMBER = "remember_token"


def _sign_in(app: Flask, login: str = LOGIN, *, remember: bool = True) -> FlaskClient:
    """A browser signed in through the form, with the remember box as the person left it."""
    client = app.test_client()
    data = {"login": login, "password": PASSWORD} | ({"remember": "y"} if remember else {})
    assert client.post("/auth/login", data=data).status_code == 302
    return client


def _remember_cookie(client: FlaskClient) -> str | None:
    cookie = client.get_cookie(REMEMBER)
    return cookie.value if cookie is not None else None


def _only_remember_cookie(app: Flask, value: str) -> FlaskClient:
    """Another browser holding nothing but a copy of a remember cookie (no session cookie)."""
    other = app.test_client()
    other.set_cookie(REMEMBER, value)
    return other


def _signed_in(client: FlaskClient) -> bool:
    response = client.get("/auth/profile")
    if response.status_code == 302:
        assert response.headers["Location"].startswith("/auth/login")
        return False
    assert response.status_code == 200
    return True


def _set_cookies(response, name: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{name}=")]


def _epoch(app: Flask, user_id: int) -> int:
    with app.app_context():
        return db.session.get(User, user_id).session_epoch


@contextmanager
def _counting_queries(app: Flask) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


# --- (d) the form -----------------------------------------------------------------------------------


def test_the_remember_box_is_ticked_by_default_and_can_be_unticked(app: Flask, client: FlaskClient, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user(LOGIN)
    page = client.get("/auth/login").get_data(as_text=True)
    box = re.search(r'<input[^>]*name="remember"[^>]*>', page).group(0)
    assert 'type="checkbox"' in box and "checked" in box and 'aria-describedby="remember-hint"' in box
    assert "Ghi nhớ đăng nhập trên thiết bị này" in page
    assert '<p class="hint" id="remember-hint">Bỏ chọn nếu dùng máy tính chung.</p>' in page
    english = client.get("/auth/login?lang=en").get_data(as_text=True)
    assert "Untick this on a shared computer." in english

    ticked = client.post("/auth/login", data={"login": LOGIN, "password": PASSWORD, "remember": "y"})
    assert ticked.status_code == 302 and len(_set_cookies(ticked, REMEMBER)) == 1
    shared = app.test_client().post("/auth/login", data={"login": LOGIN, "password": PASSWORD})  # box unticked
    assert shared.status_code == 302 and _set_cookies(shared, REMEMBER) == []


# --- (a) and (f) restoring and sliding ----------------------------------------------------------------


def test_a_remember_cookie_alone_signs_the_person_back_in(app: Flask, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user(LOGIN)
    phone = _sign_in(app)
    phone.delete_cookie("session")  # the browser was closed, or the 8-hour session cookie expired
    assert phone.get_cookie("session") is None and _remember_cookie(phone)
    assert _signed_in(phone)
    page = phone.get("/").get_data(as_text=True)
    assert "Nguyễn Văn An" in page
    assert phone.get("/api/v1/attempts/1").status_code == 404  # signed in to the API too: no such attempt, not 401


def test_the_restoring_request_reissues_the_remember_cookie_once(app: Flask, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user(LOGIN)
    phone = _only_remember_cookie(app, _remember_cookie(_sign_in(app)))
    restoring = phone.get("/auth/profile")
    assert restoring.status_code == 200
    (reissued,) = _set_cookies(restoring, REMEMBER)
    expires = datetime.strptime(re.search(r"Expires=([^;]+)", reissued).group(1), "%a, %d %b %Y %H:%M:%S GMT")
    assert expires.replace(tzinfo=UTC) > datetime.now(UTC) + timedelta(days=29)  # 30 days from this visit
    assert "HttpOnly" in reissued and "SameSite=Lax" in reissued
    assert _set_cookies(restoring, "session")  # the restored session is what the next requests use

    following = phone.get("/auth/profile")
    assert following.status_code == 200 and _set_cookies(following, REMEMBER) == []
    assert _set_cookies(phone.get("/"), REMEMBER) == []


# --- (c) sign-out revokes everywhere ------------------------------------------------------------------


def test_a_copied_remember_cookie_dies_when_the_owner_signs_out(app: Flask, make_user) -> None:  # type: ignore[no-untyped-def]
    user_id = make_user(LOGIN)
    phone = _sign_in(app)
    copy = _only_remember_cookie(app, _remember_cookie(phone))
    session_copy = app.test_client()
    session_copy.set_cookie("session", phone.get_cookie("session").value)
    assert _signed_in(copy) and _signed_in(session_copy)
    assert _epoch(app, user_id) == 0

    signed_out = phone.post("/auth/logout")
    assert signed_out.status_code == 302
    assert _epoch(app, user_id) == 1
    assert _remember_cookie(phone) is None  # this browser's cookie is deleted, not only revoked
    assert not _signed_in(phone)

    stale = _only_remember_cookie(app, copy.get_cookie(REMEMBER).value)
    assert stale.get("/api/v1/attempts/1").status_code == 401
    assert not _signed_in(copy)
    assert _remember_cookie(copy) is None  # the refused cookie is deleted, so it is not tried again
    assert not _signed_in(session_copy)  # a copied session cookie is revoked too

    # Signing in again works, with a cookie of the new epoch.
    again = _sign_in(app)
    phone.set_cookie(REMEMBER, _remember_cookie(again))
    phone.delete_cookie("session")
    assert _signed_in(phone)


def test_signing_out_on_one_device_signs_out_the_others(app: Flask, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user(LOGIN)
    phone, laptop = _sign_in(app), _sign_in(app, remember=False)
    assert _signed_in(phone) and _signed_in(laptop)
    assert laptop.post("/auth/logout").status_code == 302
    assert not _signed_in(phone)


# --- (b) a new password revokes remember cookies ------------------------------------------------------


def test_a_password_change_revokes_remember_cookies_but_keeps_this_device_remembered(app: Flask, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user(LOGIN)
    phone = _sign_in(app)
    copy = _only_remember_cookie(app, _remember_cookie(phone))
    changed = phone.post(
        "/auth/password", data={"current_password": PASSWORD, "new_password": NEW, "new_password_confirm": NEW}
    )
    assert changed.status_code == 302
    assert not _signed_in(copy)
    assert copy.get("/api/v1/attempts/1").status_code == 401

    assert len(_set_cookies(changed, REMEMBER)) == 1  # the device that changed it stays remembered
    phone.delete_cookie("session")
    assert _signed_in(phone)


def test_a_password_change_on_an_unremembered_device_sets_no_remember_cookie(app: Flask, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user(LOGIN)
    laptop = _sign_in(app, remember=False)
    changed = laptop.post(
        "/auth/password", data={"current_password": PASSWORD, "new_password": NEW, "new_password_confirm": NEW}
    )
    assert changed.status_code == 302 and _set_cookies(changed, REMEMBER) == []
    assert _signed_in(laptop)


def test_an_organizers_reset_revokes_remember_cookies(app: Flask, make_user) -> None:  # type: ignore[no-untyped-def]
    person = make_user(LOGIN)
    make_user("btc@example.vn", Role.ADMIN, "Quản trị")  # an admin: the person is in no contest of an organizer
    phone = _only_remember_cookie(app, _remember_cookie(_sign_in(app)))
    organizer = _sign_in(app, "btc@example.vn")
    with app.app_context():
        stamp_before = db.session.get(User, person).session_stamp()
    assert organizer.post(f"/organizer/users/{person}/reset").status_code == 200
    with app.app_context():
        user = db.session.get(User, person)
        assert user.must_change_password and user.session_stamp() != stamp_before
    assert not _signed_in(phone)
    assert phone.get("/api/v1/attempts/1").status_code == 401


# --- (e) deps.session_user_id -------------------------------------------------------------------------


def _session_user_id(app: Flask, cookies: dict[str, str]) -> int | None:
    header = "; ".join(f"{k}={v}" for k, v in cookies.items())
    with app.test_request_context("/", headers={"Cookie": header}):
        return deps.session_user_id()


def test_session_user_id_accepts_a_signed_remember_cookie_without_reading_the_database(app: Flask, make_user) -> None:  # type: ignore[no-untyped-def]
    user_id = make_user(LOGIN)
    cookie = _remember_cookie(_sign_in(app))
    with _counting_queries(app) as statements:
        assert _session_user_id(app, {REMEMBER: cookie}) == user_id
    assert statements == []
    assert _session_user_id(app, {}) is None


@pytest.mark.parametrize(
    "forged",
    [
        "1:0123456789abcdef",  # unsigned
        "1:0123456789abcdef|" + "0" * 128,  # a made-up signature
        "2:0123456789abcdef|{digest_of_1}",  # another id under user 1's signature
        "{signed_with_another_key}",
        "",
    ],
)
def test_session_user_id_refuses_a_forged_remember_cookie(app: Flask, make_user, forged: str) -> None:  # type: ignore[no-untyped-def]
    make_user(LOGIN)
    make_user("binh@example.vn", name="Trần Thị Bình")
    genuine = _remember_cookie(_sign_in(app))
    with app.test_request_context():
        other_key = encode_cookie("1:0123456789abcdef", key="not-the-app-key")
    value = forged.format(digest_of_1=genuine.rsplit("|", 1)[1], signed_with_another_key=other_key)
    assert _session_user_id(app, {REMEMBER: value}) is None
