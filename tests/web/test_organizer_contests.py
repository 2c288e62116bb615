"""The organizer's contest and round pages: create, edit, lock after the first attempt, delete."""

import re
from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import func, select

from quiz_engine.extensions import db
from quiz_engine.models import (
    Attempt,
    AuditEvent,
    Contest,
    ContestGroup,
    LeaderboardVisibility,
    PredictionKind,
    Role,
    Round,
    RoundMixItem,
    Unit,
    UnitKind,
    utcnow,
)
from quiz_engine.services.catalogue import banks
from quiz_engine.services.organising.units import UnitSpec, import_units
from quiz_engine.services.people import accounts
from tests.contest_fixture import bank_csv


@pytest.fixture
def organizer(app: Flask, make_user, auth):  # type: ignore[no-untyped-def]
    """A signed-in organizer, a bank of 12 questions and three units."""
    make_user("btc@example.vn", Role.ORGANIZER, "Ban Tổ chức")
    auth.login("btc@example.vn")
    with app.app_context():
        bank = banks.get_or_create_bank(db.session, "bank", "Ngân hàng thử")
        banks.import_file(db.session, bank, "bank.csv", bank_csv(12), now=utcnow())
        specs = [
            UnitSpec("H1", "Huyện Một", UnitKind.OTHER, None, None, 2),
            UnitSpec("X1", "Xã Một", UnitKind.COMMUNE, "H1", 100, 3),
            UnitSpec("S1", "Sở Một", UnitKind.AGENCY, None, 40, 4),
        ]
        import_units(db.session, specs)
        db.session.commit()


def _count(app: Flask, model) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session.scalar(select(func.count(model.id)))


def _unit_ids(app: Flask) -> list[str]:
    with app.app_context():
        return [str(i) for i in db.session.scalars(select(Unit.id).order_by(Unit.id))]


CONTEST = {
    "slug": "thi-2026",
    "title": "Cuộc thi tìm hiểu chuyển đổi số 2026",
    "description": "Dành cho mọi người.",
    "rules": '<p onclick="x()">Thể lệ <a href="https://so.gov.vn">tại đây</a></p><script>alert(1)</script>',
    "groups-0-code": "can-bo",
    "groups-0-name": "Cán bộ, công chức, viên chức",
    "groups-1-code": "nhan-dan",
    "groups-1-name": "Nhân dân",
    "published": "y",
    "one_prize_per_person": "y",
    "standings_mode": "sum",
}

WEEK_1 = {
    "scope": "all",
    "title": "Tuần 1",
    "opens_at": "2026-12-01T08:00",
    "closes_at": "2026-12-08T08:00",
    "time_limit": "10",
    "mix-0-bank": "bank",
    "mix-0-count": "5",
    "mix-1-bank": "bank",
    "mix-1-count": "6",
    "mix-1-group": "can-bo",
    "mix-1-difficulty": "easy",
    "shuffle_questions": "y",
    "shuffle_choices": "y",
    "max_attempts": "3",
    "max_attempts_per_day": "1",
    "counting_policy": "best",
    "prediction_kind": "participants",
    "prediction_prompt": "Có bao nhiêu người tham gia Tuần 1?",
    "tie_1": "correct",
    "tie_2": "prediction",
    "tie_3": "duration",
    "tie_4": "submitted_at",
    "leaderboard_visibility": "live",
    "reveal_answers_after_close": "y",
    "grace_seconds": "5",
}


def _create_contest(app: Flask, client) -> int:  # type: ignore[no-untyped-def]
    response = client.post("/organizer/contests/new", data={**CONTEST, "units": _unit_ids(app)})
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        contest_id = db.session.scalar(select(Contest.id).where(Contest.slug == "thi-2026"))
    assert response.headers["Location"] == f"/organizer/contests/{contest_id}"
    return contest_id


def test_contest_pages_are_for_organizers_only(app: Flask, client, make_user, auth) -> None:
    assert "/auth/login" in client.get("/organizer/contests").headers["Location"]
    make_user()
    auth.login()
    for url in ("/organizer/contests", "/organizer/contests/new", "/organizer/contests/1", "/organizer/rounds/1/edit"):
        assert client.get(url).status_code == 403, url
    assert client.post("/organizer/contests/new", data={**CONTEST}).status_code == 403
    assert client.post("/organizer/rounds/1/delete").status_code == 403
    assert _count(app, Contest) == 0


def test_create_a_contest_with_two_rounds_and_a_practice_round(app: Flask, client, organizer) -> None:
    form = client.get("/organizer/contests/new").get_data(as_text=True)
    assert all(f'<option selected value="{i}">' in form for i in _unit_ids(app))  # every unit preselected
    assert '<label for="groups-0-code"' in form
    contest_id = _create_contest(app, client)

    new_round = client.get(f"/organizer/contests/{contest_id}/rounds/new").get_data(as_text=True)
    assert 'type="datetime-local"' in new_round and 'value="Tuần 1"' in new_round
    assert "Giải Nhất: 1\nGiải Nhì: 2\nGiải Ba: 3\nGiải Khuyến khích: 10</textarea>" in new_round  # default quotas
    assert client.post(f"/organizer/contests/{contest_id}/rounds/new", data=WEEK_1).status_code == 302
    week_2 = {
        **WEEK_1,
        "title": "Tuần 2",
        "opens_at": "2026-12-08T08:00",
        "closes_at": "2026-12-15T08:00",
        "prediction_kind": "all_correct",
        "prediction_prompt": "Bao nhiêu người đúng hết?",
        "tie_2": "duration",
        "tie_3": "",
        "tie_4": "",
        "leaderboard_visibility": "frozen",
        "leaderboard_frozen_at": "2026-12-14T20:00",
        "prize_quotas": "Giải Nhất: 1\nGiải Nhì: 2\n\nGiải Khuyến khích: 20",
    }
    assert client.post(f"/organizer/contests/{contest_id}/rounds/new", data=week_2).status_code == 302
    practice = {**WEEK_1, "title": "Luyện tập", "is_practice": "y", "opens_at": "2026-11-20T00:00"}
    assert client.post(f"/organizer/contests/{contest_id}/rounds/new", data=practice).status_code == 302

    with app.app_context():
        contest = db.session.get(Contest, contest_id)
        assert contest.is_published and contest.rules_html == (
            '<p>Thể lệ <a href="https://so.gov.vn" rel="noopener noreferrer">tại đây</a></p>'
        )
        assert [(g.code, g.name) for g in contest.groups] == [
            ("can-bo", "Cán bộ, công chức, viên chức"),
            ("nhan-dan", "Nhân dân"),
        ]
        assert len(contest.units) == 3
        practice_round, week1, week2 = contest.rounds
        assert week1.opens_at == datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 08:00 in Việt Nam
        assert week1.time_limit_seconds == 600 and week1.max_attempts == 3 and week1.max_attempts_per_day == 1
        assert week1.prediction_kind is PredictionKind.PARTICIPANTS
        assert week1.tie_breaks == ["correct", "prediction", "duration", "submitted_at"]
        assert [(m.count, m.difficulty, m.group_id is not None) for m in week1.mix] == [
            (5, None, False),
            (6, "easy", True),
        ]
        assert week2.tie_breaks == ["correct", "duration"]
        assert week2.prize_quotas == [
            {"label": "Giải Nhất", "count": 1},
            {"label": "Giải Nhì", "count": 2},
            {"label": "Giải Khuyến khích", "count": 20},
        ]
        assert week1.prize_quotas == []  # an empty box: no prizes
        assert week2.leaderboard_visibility is LeaderboardVisibility.FROZEN
        assert week2.leaderboard_frozen_at == datetime(2026, 12, 14, 13, 0, tzinfo=UTC)
        assert practice_round.is_practice and practice_round.max_attempts is None
        assert practice_round.prediction_kind is PredictionKind.NONE
        actions = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.target_type.in_(["contest", "round"])).order_by(AuditEvent.id)
        ).all()
        assert actions == ["contest.create", "round.create", "round.create", "round.create"]

    page = client.get(f"/organizer/contests/{contest_id}").get_data(as_text=True)
    assert "Đợt 1: Tuần 1" in page and "Đợt 3: Luyện tập" in page
    assert "Từ 08:00 01/12/2026 đến 08:00 08/12/2026" in page and "luyện tập" in page
    listing = client.get("/organizer/contests").get_data(as_text=True)
    assert "Cuộc thi tìm hiểu chuyển đổi số 2026" in listing and "<code>thi-2026</code>" in listing


def test_refused_forms_show_why_and_change_nothing(app: Flask, client, organizer) -> None:
    contest_id = _create_contest(app, client)
    unfillable = client.post(
        f"/organizer/contests/{contest_id}/rounds/new", data={**WEEK_1, "mix-0-count": "13", "mix-1-bank": ""}
    )
    page = unfillable.get_data(as_text=True)
    assert unfillable.status_code == 400
    assert 'id="mix-error">Không đủ câu hỏi cho nhóm rút đề (tất cả chủ đề): cần 13, chỉ còn 12' in page
    bad_order = client.post(f"/organizer/contests/{contest_id}/rounds/new", data={**WEEK_1, "tie_1": "duration"})
    assert bad_order.status_code == 400
    assert re.search(
        r'id="tie_1-error">Thứ tự xếp hạng phải bắt đầu bằng số câu đúng', bad_order.get_data(as_text=True)
    )
    no_times = client.post(f"/organizer/contests/{contest_id}/rounds/new", data={**WEEK_1, "closes_at": ""})
    assert no_times.status_code == 400 and 'aria-describedby="closes_at-error"' in no_times.get_data(as_text=True)
    backwards = client.post(
        f"/organizer/contests/{contest_id}/rounds/new", data={**WEEK_1, "closes_at": "2026-11-30T08:00"}
    )
    assert backwards.status_code == 400 and "Thời điểm kết thúc phải sau" in backwards.get_data(as_text=True)
    assert _count(app, Round) == 0 and _count(app, RoundMixItem) == 0

    duplicate = client.post("/organizer/contests/new", data={**CONTEST, "units": _unit_ids(app)})
    assert duplicate.status_code == 409 and "Đã có cuộc thi mã &#39;thi-2026&#39;" in duplicate.get_data(as_text=True)
    half_group = client.post("/organizer/contests/new", data={**CONTEST, "slug": "khac", "groups-2-name": "Học sinh"})
    assert half_group.status_code == 400 and 'id="groups-error">Nhóm đối tượng' in half_group.get_data(as_text=True)
    assert _count(app, Contest) == 1 and _count(app, ContestGroup) == 2
    assert client.get("/organizer/contests/999").status_code == 404
    assert client.get("/organizer/rounds/999/edit").status_code == 404


def test_edit_contest_and_pick_all_units_under_a_parent(app: Flask, client, organizer) -> None:
    contest_id = _create_contest(app, client)
    form = client.get(f"/organizer/contests/{contest_id}/edit").get_data(as_text=True)
    assert 'value="Cuộc thi tìm hiểu chuyển đổi số 2026"' in form and 'name="slug"' not in form
    with app.app_context():
        parent = db.session.scalar(select(Unit.id).where(Unit.code == "H1"))
    data = {**CONTEST, "title": "Tên mới", "groups-1-code": "", "groups-1-name": "", "units_under": str(parent)}
    assert client.post(f"/organizer/contests/{contest_id}/edit", data=data).status_code == 302
    with app.app_context():
        contest = db.session.get(Contest, contest_id)
        assert contest.title == "Tên mới" and contest.slug == "thi-2026"
        assert sorted(u.code for u in contest.units) == ["H1", "X1"] and [g.code for g in contest.groups] == ["can-bo"]
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "contest.update"))
        assert set(event.details["changed"]) == {"title", "groups", "units"}


def _attempt(app: Flask, round_id: int) -> None:
    with app.app_context():
        user = accounts.create_user(
            db.session, full_name="Thí sinh", email="ts@example.vn", password="mat-khau-123", now=utcnow()
        )
        db.session.add(
            Attempt(
                round_id=round_id,
                user_id=user.id,
                number=1,
                started_at=utcnow(),
                deadline_at=utcnow(),
                question_count=5,
            )
        )
        db.session.commit()


def test_a_started_round_keeps_its_mix_and_cannot_be_deleted(app: Flask, client, organizer) -> None:
    contest_id = _create_contest(app, client)
    client.post(f"/organizer/contests/{contest_id}/rounds/new", data=WEEK_1)
    with app.app_context():
        round_id = db.session.scalar(select(Round.id))
    edit = client.get(f"/organizer/rounds/{round_id}/edit").get_data(as_text=True)
    assert 'name="mix-0-bank"' in edit and "đã khoá" not in edit
    _attempt(app, round_id)

    locked = client.get(f"/organizer/rounds/{round_id}/edit").get_data(as_text=True)
    assert "đề thi và thể lệ đã khoá" in locked and 'name="mix-0-bank"' not in locked and 'name="scope"' not in locked
    changed_mix = client.post(f"/organizer/rounds/{round_id}/edit", data={**WEEK_1, "mix-0-count": "4"})
    assert changed_mix.status_code == 409 and "chỉ còn sửa được tên" in changed_mix.get_data(as_text=True)
    past = client.post(
        f"/organizer/rounds/{round_id}/edit",
        data={"title": "Tuần 1", "closes_at": "2020-01-01T08:00", "leaderboard_visibility": "live"},
    )
    assert past.status_code == 400 and "không được sớm hơn hiện tại" in past.get_data(as_text=True)
    allowed = {"title": "Tuần 1 (gia hạn)", "closes_at": "2026-12-10T08:00", "leaderboard_visibility": "hidden"}
    assert client.post(f"/organizer/rounds/{round_id}/edit", data=allowed).status_code == 302
    deleted = client.post(f"/organizer/rounds/{round_id}/delete", follow_redirects=True)
    assert "không thể xoá" in deleted.get_data(as_text=True)
    with app.app_context():
        round_ = db.session.get(Round, round_id)
        assert round_.title == "Tuần 1 (gia hạn)" and round_.closes_at == datetime(2026, 12, 10, 1, 0, tzinfo=UTC)
        assert round_.leaderboard_visibility is LeaderboardVisibility.HIDDEN
        assert round_.reveal_answers_after_close is False  # an unticked box is a change like any other
        assert round_.question_count() == 5 and round_.max_attempts == 3 and round_.time_limit_seconds == 600
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "round.update"))
        assert set(event.details["changed"]) == {
            "title",
            "closes_at",
            "leaderboard_visibility",
            "reveal_answers_after_close",
        }


def test_edit_and_delete_a_round_nobody_started(app: Flask, client, organizer) -> None:
    contest_id = _create_contest(app, client)
    client.post(f"/organizer/contests/{contest_id}/rounds/new", data=WEEK_1)
    with app.app_context():
        round_id = db.session.scalar(select(Round.id))
    form = client.get(f"/organizer/rounds/{round_id}/edit").get_data(as_text=True)
    assert 'value="2026-12-01T08:00"' in form and '<option selected value="can-bo">' in form
    edited = {**WEEK_1, "time_limit": "15", "mix-1-bank": "", "max_attempts": ""}
    assert client.post(f"/organizer/rounds/{round_id}/edit", data=edited).status_code == 302
    with app.app_context():
        round_ = db.session.get(Round, round_id)
        assert round_.time_limit_seconds == 900 and round_.max_attempts is None and round_.question_count() == 5
    assert client.post(f"/organizer/rounds/{round_id}/delete").status_code == 302
    assert _count(app, Round) == 0 and _count(app, RoundMixItem) == 0
    with app.app_context():
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "round.delete")).target_id == round_id
