"""`flask --app wsgi quiz create-contest` and `quiz list-contests`, with the shipped example spec."""

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from quiz_engine.extensions import db
from quiz_engine.models import AuditEvent, Contest, ContestGroup, Round, RoundMixItem, UnitKind, utcnow
from quiz_engine.services import demo
from quiz_engine.services.organising.units import UnitSpec, import_units
from tests.banks_fixture import write_catalog

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "contest.toml"


@pytest.fixture
def spec(app: Flask, tmp_path: Path) -> Path:
    """The example spec, copied aside, with small banks of the same slugs and two units loaded."""
    with app.app_context():
        for shipped in demo.shipped_banks(write_catalog(tmp_path / "banks")):
            demo.load_shipped_bank(db.session, shipped, utcnow())
        import_units(
            db.session,
            [
                UnitSpec("X1", "Xã Một", UnitKind.COMMUNE, None, 100, 2),
                UnitSpec("P1", "Phường Một", UnitKind.WARD, None, 100, 3),
            ],
        )
        db.session.commit()
    return Path(shutil.copy(EXAMPLE, tmp_path / "contest.toml"))


def _count(app: Flask, model) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session.scalar(select(func.count(model.id)))


def test_create_contest_from_the_example_spec(app: Flask, runner, spec: Path) -> None:
    result = runner.invoke(args=["quiz", "create-contest", str(spec)])
    assert result.exit_code == 0, result.output
    assert "Đã tạo Cuộc thi #1 'chuyen-doi-so-2026'" in result.output
    assert "can-bo (Cán bộ, công chức, viên chức, người lao động), nhan-dan (Nhân dân)" in result.output
    assert "Đơn vị (units): 2" in result.output
    assert "(số 1) Tuần 1: 2026-12-01 08:00 → 2026-12-08 08:00, 10 câu / 10 phút, tối đa 3 lượt" in result.output
    assert "Luyện tập [luyện tập / practice]: 2026-11-24 08:00 → 2026-12-15 08:00" in result.output
    with app.app_context():
        contest = db.session.scalar(select(Contest))
        assert not contest.is_published and "<h3>Xếp hạng</h3>" in contest.rules_html
        week1, week2, practice = sorted(contest.rounds, key=lambda r: r.number)
        assert week1.opens_at == datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
        assert (week1.max_attempts, week1.max_attempts_per_day, week1.question_count()) == (3, 1, 10)
        assert week2.leaderboard_frozen_at == datetime(2026, 12, 14, 1, 0, tzinfo=UTC)
        assert practice.is_practice and practice.max_attempts is None
        actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert actions == ["contest.create", "round.create", "round.create", "round.create"]

    listing = runner.invoke(args=["quiz", "list-contests"])
    assert listing.exit_code == 0, listing.output
    lines = listing.output.splitlines()
    assert lines[0] == (
        "Cuộc thi #1 'chuyen-doi-so-2026' — Cuộc thi trực tuyến tìm hiểu về chuyển đổi số và Nghị quyết 57-NQ/TW "
        "năm 2026 (chưa công bố / not published)"
    )
    assert [line.split(":")[0] for line in lines[1:4]] == [  # rounds in opening order
        "  đợt #3 (số 3) Luyện tập [luyện tập / practice]",
        "  đợt #1 (số 1) Tuần 1",
        "  đợt #2 (số 2) Tuần 2",
    ]

    again = runner.invoke(args=["quiz", "create-contest", str(spec)])
    assert again.exit_code == 1 and "Đã có cuộc thi mã 'chuyen-doi-so-2026'" in again.output
    assert _count(app, Contest) == 1 and _count(app, Round) == 3


def test_a_spec_with_one_bad_round_creates_nothing(app: Flask, runner, spec: Path) -> None:
    text = spec.read_text(encoding="utf-8")
    # Tuần 2 draws more than the 8-question fixture bank holds; Tuần 1 before it is fine.
    spec.write_text(
        text.replace(
            'bank = "nghi-quyet-57"\n  count = 5\n\n[[rounds]]\ntitle = "Luyện tập"',
            'bank = "nghi-quyet-57"\n  count = 9\n\n[[rounds]]\ntitle = "Luyện tập"',
        ),
        encoding="utf-8",
    )
    result = runner.invoke(args=["quiz", "create-contest", str(spec)])
    assert result.exit_code == 1
    assert "Không tạo gì cả. Đợt 2 (Tuần 2): Không đủ câu hỏi" in result.output
    for model in (Contest, ContestGroup, Round, RoundMixItem, AuditEvent):
        assert _count(app, model) == 0, model


def test_unknown_units_and_bad_files_are_refused(app: Flask, runner, spec: Path, tmp_path: Path) -> None:
    spec.write_text(spec.read_text(encoding="utf-8").replace('units = "all"', 'units = ["X1", "KHONG-CO"]'))
    unknown = runner.invoke(args=["quiz", "create-contest", str(spec)])
    assert unknown.exit_code == 1 and "Không có đơn vị mã: KHONG-CO" in unknown.output
    broken = tmp_path / "broken.toml"
    broken.write_text('slug = "a"\ntitle = "T"\n[[rounds]]\ntitle = "R"\nopens = "mai"\n', encoding="utf-8")
    bad_time = runner.invoke(args=["quiz", "create-contest", str(broken)])
    assert bad_time.exit_code == 1 and "mục rounds[1].opens: thời gian phải có dạng" in bad_time.output
    utf16 = tmp_path / "utf16.toml"
    utf16.write_bytes('title = "Cuộc thi"'.encode("utf-16"))
    not_utf8 = runner.invoke(args=["quiz", "create-contest", str(utf16)])
    assert not_utf8.exit_code == 1 and "không phải văn bản UTF-8" in not_utf8.output
    assert _count(app, Contest) == 0


def test_list_contests_when_there_are_none(runner) -> None:
    result = runner.invoke(args=["quiz", "list-contests"])
    assert result.exit_code == 0 and "Chưa có cuộc thi nào" in result.output
