"""The question statistics page, its Excel export and CLI, the upkeep that keeps them, and the bank's
lifetime figures: for the contest's organizers only."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from quiz_engine.extensions import db
from quiz_engine.models import Question, QuestionStatistic, Role, Round, User, utcnow
from tests import answer_simulation, contest_fixture
from tests.conftest import PASSWORD


@pytest.fixture
def world(app, make_user):  # type: ignore[no-untyped-def]
    """A round of 300 simulated attempts on 8 questions, the fourth with a wrong key; its organizer."""
    with app.app_context():
        built = contest_fixture.build(db.session, questions=8, per_paper=8)
        ids = list(db.session.scalars(select(Question.id).order_by(Question.code)))
        answer_simulation.simulate(db.session, built.round, 300, now=utcnow(), wrong_key=ids[3])
        round_id, codes = built.round.id, list(db.session.scalars(select(Question.code).order_by(Question.code)))
    organizer = make_user("btc@example.vn", Role.ORGANIZER, "Ban Tổ chức")
    contest_fixture.list_as_organizer(app, organizer)
    return round_id, ids, codes


def _sign_in(client, login: str, password: str = PASSWORD) -> None:  # type: ignore[no-untyped-def]
    assert client.post("/auth/login", data={"login": login, "password": password}).status_code == 302


def test_the_page_puts_the_wrong_key_first_with_its_reason_and_a_way_to_void_it(app, client, world) -> None:
    round_id, ids, _codes = world
    _sign_in(client, "btc@example.vn")
    response = client.get(f"/organizer/rounds/{round_id}/statistics")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    rows = re.findall(r'<tr id="q-(\d+)"', page)
    assert int(rows[0]) == ids[3] and len(rows) == 8
    assert "Có thể sai đáp án" in page and "1 câu hỏi cần xem lại." in page
    assert page.count('class="has-error"') == 1
    assert f"/organizer/rounds/{round_id}/questions#question-{ids[3]}" in page
    assert f"/organizer/questions/{ids[3]}/edit" in page
    assert page.count('role="img"') == 9  # the scatter and one option chart per question
    assert 'class="point flagged"' in page
    with app.app_context():
        assert len(db.session.scalars(select(QuestionStatistic)).all()) == 8  # kept for the next visit
    void_page = client.get(f"/organizer/rounds/{round_id}/questions").get_data(as_text=True)
    assert f'id="question-{ids[3]}"' in void_page


def test_columns_sort_both_ways_and_the_page_speaks_english(client, world) -> None:
    round_id, _ids, codes = world
    _sign_in(client, "btc@example.vn")
    ascending = client.get(f"/organizer/rounds/{round_id}/statistics?sort=code&order=asc").get_data(as_text=True)
    assert re.findall(r"(Q\d{3})</a>", ascending) == codes
    assert 'aria-sort="ascending"' in ascending
    descending = client.get(f"/organizer/rounds/{round_id}/statistics?sort=code&order=desc").get_data(as_text=True)
    assert re.findall(r"(Q\d{3})</a>", descending) == codes[::-1]
    by_facility = client.get(f"/organizer/rounds/{round_id}/statistics?sort=facility&order=asc").get_data(as_text=True)
    rows = re.findall(r'<tr id="q-\d+"[^>]*>(.*?)</tr>', by_facility, re.DOTALL)
    cells = [re.findall(r'<td class="num">([^<]*)</td>', row) for row in rows]  # seen, facility, ...
    shares = [float(row[1].rstrip("%").replace(",", ".")) for row in cells]
    assert shares == sorted(shares)
    client.post("/language/en")
    english = client.get(f"/organizer/rounds/{round_id}/statistics").get_data(as_text=True)
    assert "Key probably wrong" in english and "Question statistics" in english


def test_the_export_and_the_cli_carry_every_figure_and_flag(app, client, runner, world, tmp_path, monkeypatch) -> None:
    round_id, ids, codes = world
    _sign_in(client, "btc@example.vn")
    asked = client.post(f"/organizer/rounds/{round_id}/exports", data={"kind": "statistics"})
    assert asked.status_code == 303
    sheet = load_workbook(io.BytesIO(client.get(asked.location).data))["Thống kê câu hỏi"]
    header = [c.value for c in sheet[3]]
    assert header[:6] == ["Mã câu hỏi", "Nội dung", "Đáp án", "Số đề", "Trả lời đúng", "Tỷ lệ đúng"]
    assert "Chọn A" in header and "Tỷ lệ D" in header and header[-3:] == ["Cần xem lại", "Lý do", "Đã hủy"]
    first = [c.value for c in sheet[4]]
    assert first[0] == codes[3] and first[header.index("Cần xem lại")].startswith("wrong_key")
    assert sheet.cell(4, header.index("Tỷ lệ đúng") + 1).number_format.endswith("%")
    assert sheet.max_row == 3 + 8
    with app.app_context():
        kept = {s.question_id: s for s in db.session.scalars(select(QuestionStatistic))}
    row_of = {sheet.cell(r, 1).value: r for r in range(4, 12)}
    for question_id, code in zip(ids, codes, strict=True):
        assert sheet.cell(row_of[code], 4).value == kept[question_id].seen
        assert sheet.cell(row_of[code], 5).value == kept[question_id].correct
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(args=["quiz", "export", "statistics", "--round", str(round_id)])
    assert result.exit_code == 0, result.output
    assert "Đã xuất 8 dòng" in result.output
    written = load_workbook(next(tmp_path.glob("statistics-dot-1-*.xlsx")))["Thống kê câu hỏi"]
    assert written.cell(4, 1).value == codes[3]


def test_strangers_are_refused_and_contestants_too(app, client, world, make_user) -> None:
    round_id, _ids, _codes = world
    stranger = make_user("khac@example.vn", Role.ORGANIZER, "Ban khác")
    with app.app_context():
        other = contest_fixture.other_contest(db.session)
        other.contest.organizers.append(db.session.get(User, stranger))  # of another contest only
        db.session.commit()
    _sign_in(client, "khac@example.vn")
    assert client.get(f"/organizer/rounds/{round_id}/statistics").status_code == 404
    client.post("/auth/logout")
    _sign_in(client, "an@example.vn", "mat-khau-123")  # the contest's contestant
    assert client.get(f"/organizer/rounds/{round_id}/statistics").status_code == 403


def test_the_upkeep_keeps_closed_rounds_and_the_bank_shows_lifetime_figures(app, client, runner, world) -> None:
    round_id, _ids, _codes = world
    with app.app_context():
        db.session.get(Round, round_id).closes_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    result = runner.invoke(args=["quiz", "maintain"])
    assert result.exit_code == 0 and "thống kê câu hỏi 1 đợt" in result.output, result.output
    with app.app_context():
        assert len(db.session.scalars(select(QuestionStatistic)).all()) == 8
    assert "thống kê câu hỏi 0 đợt" in runner.invoke(args=["quiz", "maintain"]).output  # nothing changed
    _sign_in(client, "btc@example.vn")
    page = client.get("/organizer/banks/bank?text=Q003").get_data(as_text=True)
    assert "Qua 1 đợt thi: 300 đề" in page and "cần xem lại ở 1 đợt" in page
