"""Signing in and out."""

import re

import pytest
from sqlalchemy import select

from quiz_engine.extensions import db
from quiz_engine.models import AuditEvent


def test_login_with_email_or_phone_and_logout(app, client, auth, make_user) -> None:
    make_user()
    page = client.get("/auth/login").get_data(as_text=True)
    assert "Số điện thoại hoặc e-mail" in page and "Mật khẩu" in page
    response = auth.login()
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "Nguyễn Văn An" in client.get("/").get_data(as_text=True)
    assert auth.logout().status_code == 302
    assert "Đăng nhập" in client.get("/").get_data(as_text=True)
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action)).all()
    assert actions == ["auth.login", "auth.logout"]


def test_wrong_password_is_refused_and_audited(app, auth, make_user) -> None:
    make_user()
    response = auth.login(password="sai-mat-khau")
    assert response.status_code == 401
    assert "Sai số điện thoại/e-mail hoặc mật khẩu." in response.get_data(as_text=True)
    with app.app_context():
        event = db.session.scalar(select(AuditEvent))
    assert event.action == "auth.login_failed" and event.details == {"login": "thi-sinh@example.vn"}


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example"])
def test_login_never_redirects_off_site(client, make_user, target: str) -> None:
    make_user()
    response = client.post(
        "/auth/login", data={"login": "thi-sinh@example.vn", "password": "mat-khau-thu-nghiem", "next": target}
    )
    assert response.headers["Location"] == "/"


def test_login_follows_a_local_next(client, make_user) -> None:
    make_user()
    response = client.post(
        "/auth/login", data={"login": "thi-sinh@example.vn", "password": "mat-khau-thu-nghiem", "next": "/healthz"}
    )
    assert response.headers["Location"] == "/healthz"


class TestWithCsrf:
    @pytest.fixture
    def config_overrides(self) -> dict[str, object]:
        return {"WTF_CSRF_ENABLED": True}

    def test_post_without_token_is_refused_and_with_token_accepted(self, client, make_user) -> None:
        make_user()
        refused = client.post("/auth/login", data={"login": "thi-sinh@example.vn", "password": "mat-khau-thu-nghiem"})
        assert refused.status_code == 400
        assert "Phiên làm việc đã hết hạn" in refused.get_data(as_text=True)
        page = client.get("/auth/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        accepted = client.post(
            "/auth/login", data={"login": "thi-sinh@example.vn", "password": "mat-khau-thu-nghiem", "csrf_token": token}
        )
        assert accepted.status_code == 302

    def test_session_is_renewed_at_login(self, client, make_user) -> None:
        make_user()
        page = client.get("/auth/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        with client.session_transaction() as sess:
            sess["planted"] = "by-attacker"
        client.post(
            "/auth/login", data={"login": "thi-sinh@example.vn", "password": "mat-khau-thu-nghiem", "csrf_token": token}
        )
        with client.session_transaction() as sess:
            assert "planted" not in sess and sess["_user_id"]
