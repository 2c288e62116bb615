"""Excel exports: headers, types and values against the database, formula escaping, another reader."""

import io
import time
from datetime import datetime, timedelta

import pytest
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook
from sqlalchemy import select
from sqlalchemy.orm import undefer

from quiz_engine.extensions import db
from quiz_engine.models import AuditEvent, ExportJob, ExportStatus, Role, Round, RoundResult, User
from quiz_engine.services.people import accounts
from quiz_engine.services.results import export_jobs, rankings
from quiz_engine.services.results.exports import ExportKind
from tests import contest_fixture

HOSTILE = '=HYPERLINK("http://evil.example","bấm")'


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
        built.contest.organizers.append(staff)
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
        contest_fixture.play(app, login, round_id, right=right, prediction=3)
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
    """Ask for an export as the round page's form does; a small one downloads straight away."""
    asked = client.post(f"/organizer/rounds/{round_id}/exports", data={"kind": kind})
    assert asked.status_code == 303 and asked.location.endswith("/download"), asked.location
    response = client.get(asked.location)
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
    assert client.post(f"/organizer/rounds/{round_id}/exports", data={"kind": "leaderboard"}).status_code == 403
    out = tmp_path / "xep-hang.xlsx"
    result = runner.invoke(args=["quiz", "export", "leaderboard", "--round", str(round_id), "-o", str(out)])
    assert result.exception is None, repr(result.exception)
    assert result.exit_code == 0 and "Đã xuất 4 dòng" in result.output
    assert load_workbook(out)["Bảng xếp hạng"]["B4"].value == "Cán Bộ Ban Tổ Chức"


def _poll(client, job_url: str) -> dict:  # type: ignore[type-arg]
    """Follow a job's status as the progress page's script does, until it ends."""
    for _ in range(200):
        data = client.get(f"{job_url}.json").get_json()
        if data["status"] in ("done", "failed"):
            return data  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError("export job did not finish")


def test_a_slow_export_becomes_a_job_with_progress_and_a_download(app, organizer, round_id, static_url) -> None:
    app.config["EXPORT_INLINE_WAIT_SECONDS"] = 0  # every export now counts as slow
    asked = organizer.post(f"/organizer/rounds/{round_id}/exports", data={"kind": "attempts"})
    assert asked.status_code == 303 and "/organizer/exports/" in asked.location
    page = organizer.get(asked.location)
    assert page.status_code == 200 and "<progress" in page.text and static_url("js/export-job.js") in page.text
    data = _poll(organizer, asked.location)
    assert data["status"] == "done" and data["percent"] == 100 and data["done"] == data["total"] == 4
    workbook = load_workbook(io.BytesIO(organizer.get(data["download_url"]).data))
    assert len(list(workbook["Bài thi"].iter_rows(min_row=4))) == 4
    with app.app_context():
        job = db.session.scalars(select(ExportJob)).one()
        staff = db.session.scalar(select(User.id).where(User.email == "btc@example.vn"))
        assert (job.status, job.rows, job.requested_by) == (ExportStatus.DONE, 4, staff)
        actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[-3:] == ["export.create", "export.finish", "export.download"]
    listing = organizer.get("/organizer/exports")
    assert listing.status_code == 200 and data["download_url"] in listing.text


def test_asking_twice_while_open_gives_the_same_job(app, round_id) -> None:
    with app.app_context():
        round_ = db.session.get(Round, round_id)
        client, now = app.extensions["quiz_redis"], contest_fixture.utcnow()
        first, created = export_jobs.request(db.session, client, "quiz", round_, ExportKind.WINNERS, user_id=1, now=now)
        again, created_again = export_jobs.request(
            db.session, client, "quiz", round_, ExportKind.WINNERS, user_id=1, now=now
        )
        other, _ = export_jobs.request(db.session, client, "quiz", round_, ExportKind.WINNERS, user_id=2, now=now)
    assert created and not created_again and again.id == first.id and other.id != first.id
    assert first.expected_rows == 3  # the round's quotas: one first prize, two second


def test_a_job_lost_with_its_process_is_reported_failed(app, organizer, round_id) -> None:
    with app.app_context():
        round_ = db.session.get(Round, round_id)
        redis = app.extensions["quiz_redis"]
        job, _ = export_jobs.request(
            db.session, redis, "quiz", round_, ExportKind.LEADERBOARD, user_id=1, now=contest_fixture.utcnow()
        )
        db.session.commit()
        job_id = job.id
    assert organizer.get(f"/organizer/exports/{job_id}.json").get_json()["status"] == "queued"
    redis.delete(f"quiz:export:{job_id}")  # its process died: nobody refreshes the heartbeat any more
    data = organizer.get(f"/organizer/exports/{job_id}.json").get_json()
    assert data["status"] == "failed" and "gián đoạn" in data["error"] and data["download_url"] is None
    with app.app_context():
        assert db.session.get(ExportJob, job_id).status is ExportStatus.FAILED


def test_a_failing_export_says_so_instead_of_hanging(app, organizer, round_id) -> None:
    with app.app_context():
        job = ExportJob(
            round_id=round_id,
            kind="no-such-kind",
            requested_by=1,
            filename="x.xlsx",
            created_at=contest_fixture.utcnow(),
        )
        db.session.add(job)
        db.session.commit()
        job_id = job.id
        export_jobs.keep_alive(app.extensions["quiz_redis"], "quiz", [job_id])
        app.extensions["quiz_export_runner"].submit(job_id).result(timeout=30)
    data = _poll(organizer, f"/organizer/exports/{job_id}")
    assert data["status"] == "failed" and data["error"].startswith("Lỗi khi xuất tệp (ValueError)")
    assert "Lỗi khi xuất tệp (ValueError)" in organizer.get(f"/organizer/exports/{job_id}").text


def test_another_instance_shows_the_progress_and_serves_the_file(app, organizer, round_id, another_instance) -> None:
    asked = organizer.post(f"/organizer/rounds/{round_id}/exports", data={"kind": "leaderboard"})
    job_path = asked.location.removesuffix("/download")
    other = another_instance()
    browser = other.test_client()
    browser.post("/auth/login", data={"login": "btc@example.vn", "password": "mat-khau-123"})
    assert _poll(browser, job_path)["status"] == "done"
    download = browser.get(f"{job_path}/download")
    assert download.status_code == 200 and load_workbook(io.BytesIO(download.data))["Bảng xếp hạng"]["B4"].value


def test_finished_files_expire_and_then_cannot_be_downloaded(app, organizer, round_id, runner) -> None:
    download_url = organizer.post(f"/organizer/rounds/{round_id}/exports", data={"kind": "units"}).location
    with app.app_context():
        job = db.session.scalars(select(ExportJob)).one()
        job.finished_at -= timedelta(hours=25)
        db.session.commit()
    result = runner.invoke(args=["quiz", "maintain"])
    assert result.exit_code == 0 and "xoá 1 tệp xuất" in result.output
    with app.app_context():
        job = db.session.scalars(select(ExportJob).options(undefer(ExportJob.content))).one()
        assert job.content is None and job.expired_at is not None
    refused = organizer.get(download_url)
    assert refused.status_code == 302 and organizer.get(refused.location).status_code == 200
    assert "quá hạn lưu" in organizer.get("/organizer/exports").text


def test_progress_is_written_to_redis_now_and_then(app) -> None:
    redis = app.extensions["quiz_redis"]
    progress = export_jobs.Progress(redis, "quiz", 7)
    progress(1)  # the first call writes: the bar starts moving at once
    for _ in range(999):
        progress(1)
    assert int(redis.hget("quiz:export:7", "done")) < 1000  # not a Redis write per row
    progress.flush()
    assert int(redis.hget("quiz:export:7", "done")) == 1000 and redis.ttl("quiz:export:7") > 0
