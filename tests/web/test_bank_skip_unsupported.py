"""Uploading a Moodle GIFT file with questions the product does not support: listed in the preview,
skipped only when the organizer ticks the box, and listed again once imported."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from quiz_engine.extensions import db
from quiz_engine.models import AuditEvent, Question, QuestionBank, Role
from tests.conftest import PASSWORD

MOODLE = (Path(__file__).resolve().parents[1] / "fixtures" / "gift" / "moodle_docs.gift").read_bytes()
SKIP_LABEL = "Bỏ qua các câu chưa hỗ trợ và nhập các câu còn lại"
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


@pytest.fixture
def organizer(make_user, auth):  # type: ignore[no-untyped-def]
    make_user("btc@example.vn", Role.ORGANIZER, "Ban Tổ chức")
    auth.login("btc@example.vn")


def _upload(client, content: bytes = MOODLE, filename: str = "moodle.gift", **extra: str) -> str:  # type: ignore[no-untyped-def]
    data = {"file": (io.BytesIO(content), filename), "bank": "__new__", "new_slug": "moodle", "new_title": "Moodle"}
    response = client.post("/organizer/banks/import", data={**data, **extra}, content_type="multipart/form-data")
    assert response.status_code == 302
    return response.headers["Location"]


def _count(app: Flask, model) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session.scalar(select(func.count(model.id)))


def _matching_line() -> int:
    return next(n for n, line in enumerate(MOODLE.decode().splitlines(), 1) if "Match the following" in line)


def test_preview_lists_unsupported_questions_and_offers_to_skip_them(app: Flask, client, organizer) -> None:
    page = client.get(_upload(client)).get_data(as_text=True)
    line = _matching_line()
    assert "Tệp có 16 câu chưa hỗ trợ; chỉ nhập được khi bỏ qua chúng" in page
    assert f"Dòng {line}: câu hỏi dạng ghép đôi (matching) chưa được hỗ trợ." in page
    assert f"Row {line}: matching questions are not supported." in page
    assert "câu hỏi cho điểm từng phần (&#39;Bethlehem&#39; 25%, &#39;Galilee&#39; 50%)" in page
    assert "Nếu bỏ qua các câu đó: sẽ thêm 20, cập nhật 0, giữ nguyên 0 câu hỏi." in page
    assert SKIP_LABEL in page and 'type="checkbox"' in page and "Xác nhận nhập" in page
    assert re.search(rf'<tr class="is-skipped">\s*<td class="num">{line}</td>', page)
    assert "Kanji-Origins" in page  # a skipped question keeps its name in the preview
    assert _count(app, Question) == 0 and _count(app, QuestionBank) == 0


def test_confirm_without_the_box_stays_refused(app: Flask, client, organizer) -> None:
    preview_url = _upload(client)
    refused = client.post(preview_url)
    assert refused.status_code == 302 and refused.headers["Location"] == preview_url
    assert "còn câu chưa hỗ trợ mà bạn chưa chọn bỏ qua" in client.get(preview_url).get_data(as_text=True)
    assert _count(app, Question) == 0 and _count(app, QuestionBank) == 0


def test_confirm_with_the_box_imports_the_rest_and_lists_the_skipped(app: Flask, client, organizer) -> None:
    preview_url = _upload(client)
    done = client.post(preview_url, data={"skip_unsupported": "y"})
    page = done.get_data(as_text=True)
    assert done.status_code == 200
    assert "Đã nhập: thêm 20, cập nhật 0, giữ nguyên 0 câu hỏi." in page
    assert "Đã bỏ qua 16 câu chưa hỗ trợ; chúng không được nhập" in page
    assert f"Dòng {_matching_line()}: câu hỏi dạng ghép đôi (matching) chưa được hỗ trợ." in page
    assert 'href="/organizer/banks/moodle"' in page and 'type="checkbox"' not in page
    assert _count(app, Question) == 20
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "bank.import"))
        assert (event.details["added"], event.details["skipped"]) == (20, 16)
    assert client.get(preview_url).status_code == 404  # the pending upload is gone


def test_a_real_mistake_is_not_skippable(app: Flask, client, organizer) -> None:
    broken = MOODLE + "\n\nThiếu ngoặc đóng? {=a ~b\n".encode()
    preview_url = _upload(client, broken)
    page = client.get(preview_url).get_data(as_text=True)
    assert "Tệp có 1 lỗi; chưa có gì được ghi" in page and "dấu { và } không khớp nhau" in page
    assert "Ngoài ra, 16 câu chưa được hỗ trợ" in page
    assert 'type="checkbox"' not in page and "Xác nhận nhập" not in page
    assert client.post(preview_url, data={"skip_unsupported": "y"}).status_code == 302
    assert _count(app, Question) == 0


def test_a_file_without_unsupported_questions_needs_no_box(app: Flask, client, organizer) -> None:
    good = "::G1::Câu một? {=a ~b}\n\n::G2::Câu hai? {~a =b}\n".encode()
    preview_url = _upload(client, good)
    page = client.get(preview_url).get_data(as_text=True)
    assert "Tệp hợp lệ: sẽ thêm 2" in page and SKIP_LABEL not in page
    done = client.post(preview_url)
    assert done.status_code == 302 and done.headers["Location"] == "/organizer/banks/moodle"
    assert _count(app, Question) == 2


def test_preview_in_english(client, organizer) -> None:
    preview_url = _upload(client)
    client.post("/language/en", data={"next": "/"})
    page = client.get(preview_url).get_data(as_text=True)
    assert "Skip the unsupported questions and import the rest" in page
    assert "The file has 16 unsupported questions" in page


class TestWithCsrf:
    @pytest.fixture
    def config_overrides(self) -> dict[str, object]:
        return {"WTF_CSRF_ENABLED": True}

    def test_the_box_and_the_token_go_together(self, app: Flask, make_user) -> None:
        make_user("btc@example.vn", Role.ORGANIZER, "Ban Tổ chức")
        browser = app.test_client()
        token = CSRF.search(browser.get("/auth/login").get_data(as_text=True)).group(1)
        browser.post("/auth/login", data={"csrf_token": token, "login": "btc@example.vn", "password": PASSWORD})
        token = CSRF.search(browser.get("/organizer/banks/import").get_data(as_text=True)).group(1)
        preview_url = _upload(browser, csrf_token=token)
        assert browser.post(preview_url, data={"skip_unsupported": "y"}).status_code == 400  # no token
        assert _count(app, Question) == 0
        token = CSRF.search(browser.get(preview_url).get_data(as_text=True)).group(1)
        done = browser.post(preview_url, data={"skip_unsupported": "y", "csrf_token": token})
        assert done.status_code == 200 and _count(app, Question) == 20
