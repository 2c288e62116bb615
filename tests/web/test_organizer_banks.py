"""The organizer's bank pages: upload → preview → confirm, browse, edit, retire, export, template."""

import io
import re

import pytest
from flask import Flask
from openpyxl import load_workbook
from sqlalchemy import func, select

from quiz_engine.extensions import db
from quiz_engine.models import AuditEvent, Question, QuestionBank, QuestionVersion, Role
from tests.bank_files import ALL_FORMATS

GOOD = (
    "Mã câu hỏi,Chủ đề,Mức độ,Câu hỏi,Phương án A,Phương án B,Phương án C,Đáp án đúng\n"
    "W1,Đề án 06,dễ,Ứng dụng định danh điện tử quốc gia là gì?,VNeID,VssID,eTax,A\n"
    "W2,Chung,khó,Câu hỏi thứ hai?,Một,Hai,Ba,B\n"
)


@pytest.fixture
def organizer(make_user, auth):  # type: ignore[no-untyped-def]
    make_user("btc@example.vn", Role.ORGANIZER, "Ban Tổ chức")
    auth.login("btc@example.vn")


def _upload(client, content: bytes, filename: str = "bank.csv", **fields):  # type: ignore[no-untyped-def]
    data = {"file": (io.BytesIO(content), filename), "bank": "__new__", "new_slug": "thu", "new_title": "Ngân hàng thử"}
    data.update(fields)
    return client.post("/organizer/banks/import", data=data, content_type="multipart/form-data")


def _count(app: Flask, model) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session.scalar(select(func.count(model.id)))


def test_bank_pages_require_an_organizer(client, make_user, auth) -> None:
    assert client.get("/organizer/banks").status_code == 302
    assert "/auth/login" in client.get("/organizer/banks").headers["Location"]
    make_user()
    auth.login()
    assert client.get("/organizer/banks").status_code == 403
    assert client.get("/organizer/banks/template.xlsx").status_code == 403


def test_upload_preview_confirm(app: Flask, client, organizer) -> None:
    response = _upload(client, GOOD.encode())
    assert response.status_code == 302
    preview_url = response.headers["Location"]
    preview = client.get(preview_url).get_data(as_text=True)
    assert "sẽ thêm 2, cập nhật 0, giữ nguyên 0" in preview and "Xác nhận nhập" in preview
    assert _count(app, QuestionBank) == 0 and _count(app, Question) == 0  # a preview writes nothing
    done = client.post(preview_url)
    assert done.status_code == 302 and done.headers["Location"] == "/organizer/banks/thu"
    page = client.get("/organizer/banks/thu").get_data(as_text=True)
    assert "Ứng dụng định danh điện tử quốc gia là gì?" in page and "2 câu hỏi phù hợp" in page
    assert _count(app, Question) == 2
    with app.app_context():
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "bank.import")).details["added"] == 2
    assert client.get(preview_url).status_code == 404  # the pending upload is gone
    listing = client.get("/organizer/banks").get_data(as_text=True)
    assert "Ngân hàng thử" in listing and "2 câu đang dùng / 2 câu" in listing and "Đề án 06" in listing


def test_preview_highlights_errors_and_confirm_writes_nothing(app: Flask, client, organizer) -> None:
    bad = GOOD + "W3,Chung,rất khó,Câu ba?,Một,Một,Ba,E\n"
    preview_url = _upload(client, bad.encode()).headers["Location"]
    page = client.get(preview_url).get_data(as_text=True)
    assert "Tệp có 3 lỗi; chưa có gì được ghi" in page
    assert re.search(r'<tr class="has-error">\s*<td class="num">4</td>', page)
    assert "Dòng 4, cột Mức độ" in page and "Row 4, column Mức độ" in page
    assert "Xác nhận nhập" not in page
    assert client.post(preview_url).status_code == 302
    assert _count(app, Question) == 0 and _count(app, QuestionBank) == 0


def test_hostile_file_is_refused_in_the_preview(app: Flask, client, organizer) -> None:
    preview_url = _upload(client, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "old.xls").headers["Location"]
    assert "tệp Excel cũ (.xls)" in client.get(preview_url).get_data(as_text=True)


def test_pending_upload_belongs_to_its_uploader(app: Flask, client, organizer, make_user) -> None:
    preview_url = _upload(client, GOOD.encode()).headers["Location"]
    make_user("btc2@example.vn", Role.ORGANIZER, "Người khác")
    other = app.test_client()
    other.post("/auth/login", data={"login": "btc2@example.vn", "password": "mat-khau-thu-nghiem"})
    assert other.get(preview_url).status_code == 404
    assert other.post(preview_url).status_code == 404
    assert _count(app, Question) == 0


def test_edit_adds_a_version_and_retire_restore(app: Flask, client, organizer) -> None:
    client.post(_upload(client, GOOD.encode()).headers["Location"])
    with app.app_context():
        question = db.session.scalar(select(Question).where(Question.code == "W2"))
        question_id, first_version = question.id, question.current_version_id
    form = client.get(f"/organizer/questions/{question_id}/edit").get_data(as_text=True)
    assert "Câu hỏi thứ hai?</textarea>" in form and 'value="Ba"' in form
    data = {
        "question": "Câu hỏi thứ hai (đã sửa)?",
        "choice_a": "Một",
        "choice_b": "Hai",
        "choice_c": "Ba",
        "correct": "C",
        "topic": "Chung",
        "difficulty": "khó",
        "active": "y",
    }
    assert client.post(f"/organizer/questions/{question_id}/edit", data=data).status_code == 302
    bad = client.post(f"/organizer/questions/{question_id}/edit", data={**data, "correct": "F"})
    assert bad.status_code == 400 and "vượt quá số phương án" in bad.get_data(as_text=True)
    with app.app_context():
        question = db.session.get(Question, question_id)
        assert question.current_version.number == 2 and question.current_version.correct_positions == [2]
        assert db.session.get(QuestionVersion, first_version).text == "Câu hỏi thứ hai?"
    client.post(f"/organizer/questions/{question_id}/retire")
    assert "ngừng dùng" in client.get("/organizer/banks/thu?text=W2").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Question, question_id).is_active is False
    client.post(f"/organizer/questions/{question_id}/restore")
    with app.app_context():
        assert db.session.get(Question, question_id).is_active is True


def test_search_by_text_topic_and_difficulty(client, organizer) -> None:
    client.post(_upload(client, GOOD.encode()).headers["Location"])
    assert "1 câu hỏi phù hợp" in client.get("/organizer/banks/thu?text=định danh").get_data(as_text=True)
    assert "1 câu hỏi phù hợp" in client.get("/organizer/banks/thu?topic=Chung").get_data(as_text=True)
    assert "1 câu hỏi phù hợp" in client.get("/organizer/banks/thu?difficulty=easy").get_data(as_text=True)
    assert "0 câu hỏi phù hợp" in client.get("/organizer/banks/thu?text=khong-co").get_data(as_text=True)


def test_export_and_template_downloads(client, organizer) -> None:
    client.post(_upload(client, GOOD.encode()).headers["Location"])
    export = client.get("/organizer/banks/thu/export.xlsx")
    assert export.status_code == 200 and export.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(export.data))["Câu hỏi"]
    assert [c.value for c in sheet[2]][:4] == ["W1", "Đề án 06", "dễ", "Ứng dụng định danh điện tử quốc gia là gì?"]
    template = client.get("/organizer/banks/template.xlsx")
    assert template.status_code == 200 and "Hướng dẫn" in load_workbook(io.BytesIO(template.data)).sheetnames


@pytest.mark.parametrize("filename", list(ALL_FORMATS))
def test_every_format_imports_through_the_ui(app: Flask, client, organizer, filename: str) -> None:
    preview_url = _upload(client, ALL_FORMATS[filename], filename).headers["Location"]
    assert "sẽ thêm 2, cập nhật 0" in client.get(preview_url).get_data(as_text=True)
    client.post(preview_url)
    with app.app_context():
        texts = sorted(q.current_version.text for q in db.session.scalars(select(Question)))
        second = db.session.scalar(select(Question).where(Question.current_version.has(text=texts[1])))
        assert second.current_version.correct_positions == [1]
    assert texts == ["Ngày Chuyển đổi số quốc gia là ngày nào?", "Ứng dụng định danh điện tử quốc gia là gì?"]


def test_organizer_home_opens_the_banks(client, organizer) -> None:
    response = client.get("/organizer/")
    assert response.status_code == 302 and response.headers["Location"] == "/organizer/banks"
