"""Excel exports: headers, types and values against the database, formula escaping, another reader."""

import io
from datetime import datetime, timedelta

import pytest
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook
from sqlalchemy import select

from quiz_engine.extensions import db
from quiz_engine.models import AttemptItem, Role, Round, RoundResult, User
from quiz_engine.services import accounts, rankings
from tests import contest_fixture

HOSTILE = '=HYPERLINK("http://evil.example","bấm")'


def _play(app, login: str, password: str, round_id: int, right_answers: int) -> None:  # type: ignore[no-untyped-def]
    browser = app.test_client()
    browser.post("/auth/login", data={"login": login, "password": password})
    paper = browser.get(browser.post(f"/api/v1/rounds/{round_id}/attempts").get_json()["links"]["paper"]).get_json()
    with app.app_context():
        items = db.session.scalars(
            select(AttemptItem).where(AttemptItem.attempt_id == paper["id"]).order_by(AttemptItem.position)
        ).all()
        right = [i.question_version.correct_positions[0] for i in items]
    for q, r in zip(paper["questions"], right, strict=True):
        browser.put(q["save_url"], json={"choices": [r if q["position"] < right_answers else (r + 1) % 4]})
    browser.put(paper["prediction"]["save_url"], json={"value": 3})
    browser.post(paper["links"]["submit"])


@pytest.fixture
def round_id(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        built = contest_fixture.build(
            db.session, per_paper=5, prediction_kind="participants", prediction_prompt="Bao nhiêu người?"
        )
        contest_fixture.register(db.session, built.contest, "binh@example.vn")
        hostile = contest_fixture.register(db.session, built.contest, "tin-tac@example.vn")
        db.session.get(User, hostile).full_name = HOSTILE
        staff = accounts.create_user(
            db.session,
            full_name="Cán Bộ Ban Tổ Chức",
            email="btc@example.vn",
            password="mat-khau-123",
            role=Role.ORGANIZER,
            now=contest_fixture.utcnow(),
        )
        db.session.add(
            contest_fixture.Registration(
                contest_id=built.contest.id,
                user_id=staff.id,
                group_id=built.contest.groups[0].id,
                registered_at=contest_fixture.utcnow(),
            )
        )
        built.round.prize_quotas = [{"label": "Giải Nhất", "count": 1}, {"label": "Giải Nhì", "count": 2}]
        db.session.commit()
        round_id = built.round.id
    for login, right in (
        ("btc@example.vn", 5),
        ("an@example.vn", 4),
        ("binh@example.vn", 2),
        ("tin-tac@example.vn", 1),
    ):
        _play(app, login, "mat-khau-123", round_id, right)
    with app.app_context():
        round_ = db.session.get(Round, round_id)
        round_.closes_at = contest_fixture.utcnow()
        rankings.finalize_round(db.session, round_, contest_fixture.utcnow())
        db.session.commit()
    return round_id


@pytest.fixture
def organizer(client, round_id):  # type: ignore[no-untyped-def]
    client.post("/auth/login", data={"login": "btc@example.vn", "password": "mat-khau-123"})
    return client


def _download(client, round_id: int, kind: str):  # type: ignore[no-untyped-def]
    response = client.get(f"/organizer/rounds/{round_id}/exports/{kind}.xlsx")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    return response.data


def test_leaderboard_export_matches_the_database(app, organizer, round_id) -> None:
    data = _download(organizer, round_id, "leaderboard")
    workbook = load_workbook(io.BytesIO(data))
    sheet = workbook["Bảng xếp hạng"]
    assert "Bảng xếp hạng — Cuộc thi — Tuần 1" in sheet["A1"].value
    assert [c.value for c in sheet[3]][:5] == ["Hạng", "Họ và tên", "Đơn vị", "Nhóm", "Số câu đúng"]
    assert sheet["A3"].font.bold and sheet.freeze_panes == "A4" and sheet.auto_filter.ref == "A3:J3"
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=4)]
    with app.app_context():
        results = db.session.scalars(select(RoundResult).order_by(RoundResult.rank)).all()
        expected = [(r.rank, db.session.get(User, r.user_id).full_name, r.correct_count) for r in results]
    assert [(r[0], r[1], r[4]) for r in rows] == expected
    assert isinstance(rows[0][5], timedelta) and isinstance(rows[0][8], datetime)
    assert rows[0][6] == 3 and rows[0][7] == 1  # prediction 3, four took part
    hostile = next(row for row in sheet.iter_rows(min_row=4) if row[1].value == HOSTILE)[1]
    assert hostile.data_type == "s" and hostile.quotePrefix
    assert "Thông số" in workbook.sheetnames


def test_another_reader_sees_the_same_values(organizer, round_id) -> None:
    data = _download(organizer, round_id, "leaderboard")
    ours = [[c.value for c in row][:5] for row in load_workbook(io.BytesIO(data))["Bảng xếp hạng"].iter_rows(min_row=4)]
    theirs = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_name("Bảng xếp hạng").to_python()
    rows = [r[:5] for r in theirs[3:] if any(v != "" for v in r)]
    assert [[int(r[0]), r[1], r[2], r[3], int(r[4])] for r in rows] == [
        ["" if v is None else v for v in r] for r in ours
    ]


def test_winners_skip_organizers_and_carry_contact_details(app, organizer, round_id) -> None:
    sheet = load_workbook(io.BytesIO(_download(organizer, round_id, "winners")))["Đạt giải"]
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=4)]
    assert [(r[0], r[2], r[4]) for r in rows] == [
        ("Giải Nhất", "Nguyễn Văn An", 4),
        ("Giải Nhì", "Trần Thị Bình", 2),
        ("Giải Nhì", HOSTILE, 1),
    ]
    assert rows[0][7] == "an@example.vn"


def test_unit_attempt_and_distribution_exports(organizer, round_id) -> None:
    units = load_workbook(io.BytesIO(_download(organizer, round_id, "units")))["Đơn vị"]
    unit_row = [c.value for c in units[4]]
    assert (
        unit_row[1:3] == ["X1", "Xã Một"] and unit_row[5] == 1 and units.cell(row=4, column=7).number_format == "0.0%"
    )
    attempts = load_workbook(io.BytesIO(_download(organizer, round_id, "attempts")))["Bài thi"]
    header = [c.value for c in attempts[3]]
    assert header[8:] == ["Câu 1", "Câu 2", "Câu 3", "Câu 4", "Câu 5"]
    answers = [[c.value for c in row] for row in attempts.iter_rows(min_row=4)]
    assert len(answers) == 4 and all(a.endswith(("✓", "✗")) for a in answers[0][8:])
    assert sum(a.endswith("✓") for a in answers[1][8:]) == 4
    distribution = load_workbook(io.BytesIO(_download(organizer, round_id, "distribution")))
    scores = [[c.value for c in row] for row in distribution["Phân bố điểm"].iter_rows(min_row=4)]
    assert scores == [[5, 1, 0.25], [4, 1, 0.25], [2, 1, 0.25], [1, 1, 0.25]]
    days = [[c.value for c in row] for row in distribution["Theo ngày"].iter_rows(min_row=4)]
    assert days[0][1:] == [4, 4, 4]


def test_exports_are_for_organizers_and_the_cli_writes_them(app, client, runner, round_id, tmp_path) -> None:
    client.post("/auth/login", data={"login": "an@example.vn", "password": "mat-khau-123"})
    assert client.get(f"/organizer/rounds/{round_id}/exports/leaderboard.xlsx").status_code == 403
    out = tmp_path / "xep-hang.xlsx"
    result = runner.invoke(args=["quiz", "export", "leaderboard", "--round", str(round_id), "-o", str(out)])
    assert result.exception is None, repr(result.exception)
    assert result.exit_code == 0 and "Đã xuất 4 dòng" in result.output
    assert load_workbook(out)["Bảng xếp hạng"]["B4"].value == "Cán Bộ Ban Tổ Chức"
