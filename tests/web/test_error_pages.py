"""Error pages (403, 404, 429, 500) in both languages, as pages and as JSON, never a stack trace."""

from __future__ import annotations

import pytest
from flask import Flask

from quiz_engine.models import Role

PAGES = {
    "vi": {
        403: "Bạn không có quyền truy cập trang này.",
        404: "Không tìm thấy trang bạn yêu cầu.",
        500: "Hệ thống gặp lỗi. Vui lòng thử lại sau.",
        "home": "Về trang chủ",
    },
    "en": {
        403: "You do not have permission to view this page.",
        404: "The page you asked for could not be found.",
        500: "Something went wrong on our side. Please try again later.",
        "home": "Back to the home page",
    },
}


@pytest.fixture
def failing_app(app: Flask) -> Flask:
    """The app with one route that fails the way a bug would, and exceptions handled as in production."""

    @app.get("/__test__/boom")
    def boom() -> str:
        raise RuntimeError("a bug, with a secret in its message: postgres://quiz:secret@db")

    app.testing = False  # TESTING would re-raise the exception instead of showing the 500 page
    return app


@pytest.mark.parametrize("language", ["vi", "en"])
def test_error_pages_speak_the_visitors_language(failing_app, make_user, language: str) -> None:
    words = PAGES[language]
    client = failing_app.test_client()
    make_user("an@example.vn", Role.CONTESTANT)
    client.post("/auth/login", data={"login": "an@example.vn", "password": "mat-khau-thu-nghiem"})
    if language == "en":
        client.post("/language/en")
    for status, url in ((403, "/organizer/banks"), (404, "/khong-co-trang-nay"), (500, "/__test__/boom")):
        response = client.get(url)
        page = response.get_data(as_text=True)
        assert response.status_code == status and words[status] in page and words["home"] in page, (status, page)
        assert "secret" not in page and "Traceback" not in page
        assert f'<html lang="{language}">' in page


def test_api_errors_are_json_with_the_message(failing_app) -> None:
    response = failing_app.test_client().get("/__test__/boom", headers={"Accept": "application/json"})
    body = response.get_json()
    assert response.status_code == 500 and body["status"] == 500 and body["error"] and "secret" not in body["error"]
