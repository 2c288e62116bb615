"""The demo contest: shipped question banks, a sample unit list, an organizer and an open round.

Loading is idempotent: what exists already is left as it is. Functions flush; the caller commits.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from quiz_engine.models import Contest, PredictionKind, Role, Unit, User
from quiz_engine.services.catalogue import banks
from quiz_engine.services.errors import QuizError
from quiz_engine.services.organising import contests, rounds, units
from quiz_engine.services.people import accounts

DEMO_CONTEST_SLUG = "demo-chuyen-doi-so-2025"
DEMO_ORGANIZER_EMAIL = "bantochuc@demo.local"
UNITS_FILE = Path(__file__).resolve().parent.parent / "demo" / "units.csv"


@dataclass(frozen=True)
class ShippedBank:
    slug: str
    title: str
    description: str
    path: Path


@dataclass
class DemoReport:
    lines: list[str] = field(default_factory=list)
    organizer_created: bool = False


def shipped_banks(directory: Path) -> list[ShippedBank]:
    """The banks listed in ``<directory>/catalog.toml``, in catalog order."""
    catalog = tomllib.loads((directory / "catalog.toml").read_text(encoding="utf-8"))
    return [
        ShippedBank(b["slug"], b["title"], b.get("description", ""), directory / b["file"]) for b in catalog["bank"]
    ]


def load_shipped_bank(session: Session, shipped: ShippedBank, now: datetime) -> banks.ImportReport:
    """Import one shipped bank; it must be free of problems.

    :raises QuizError: listing the first problems if the shipped file is invalid.
    """
    bank = banks.get_or_create_bank(session, shipped.slug, shipped.title, shipped.description)
    report = banks.import_file(session, bank, shipped.path.name, shipped.path.read_bytes(), now=now)
    if not report.ok:
        details = "; ".join(p.describe() for p in report.problems[:5])
        raise QuizError(f"Ngân hàng {shipped.path.name} có lỗi: {details}", f"Bank {shipped.path.name} is invalid.")
    return report


def load_demo(
    session: Session, *, now: datetime, banks_dir: Path, organizer_password: str, timezone: str
) -> DemoReport:
    """Load everything the demo needs that is not there yet, and say what was done."""
    report = DemoReport()
    for shipped in shipped_banks(banks_dir):
        result = load_shipped_bank(session, shipped, now)
        report.lines.append(
            f"Ngân hàng '{shipped.title}': thêm {result.added}, cập nhật {result.updated}, "
            f"giữ nguyên {result.unchanged} câu hỏi."
        )
    specs, problems = units.read_units_csv(UNITS_FILE.read_bytes())
    unit_report = units.import_units(session, specs, is_sample=True)
    if problems or not unit_report.ok:
        raise QuizError("Danh sách đơn vị mẫu có lỗi.", "The sample unit list is invalid.")
    report.lines.append(f"Đơn vị (dữ liệu mẫu): thêm {unit_report.added}, giữ nguyên {unit_report.unchanged}.")
    if session.scalar(select(User).where(User.email == DEMO_ORGANIZER_EMAIL)) is None:
        accounts.create_user(
            session,
            full_name="Ban Tổ chức (demo)",
            email=DEMO_ORGANIZER_EMAIL,
            password=organizer_password,
            role=Role.ORGANIZER,
            now=now,
        )
        report.organizer_created = True
        report.lines.append(f"Tài khoản ban tổ chức: {DEMO_ORGANIZER_EMAIL}.")
    if session.scalar(select(Contest).where(Contest.slug == DEMO_CONTEST_SLUG)) is None:
        _create_demo_contest(session, now, ZoneInfo(timezone))
        report.lines.append("Cuộc thi demo với đợt 1 đang mở, đợt 2 và đợt luyện tập.")
    else:
        report.lines.append("Cuộc thi demo đã có sẵn.")
    return report


def _create_demo_contest(session: Session, now: datetime, tz: ZoneInfo) -> None:
    organizer = session.scalar(select(User).where(User.email == DEMO_ORGANIZER_EMAIL))
    contest = contests.create_contest(
        session,
        DEMO_CONTEST_SLUG,
        contests.ContestDetails(
            title="Cuộc thi trực tuyến tìm hiểu về chuyển đổi số và Nghị quyết 57-NQ/TW (demo)",
            description="Hưởng ứng Ngày Chuyển đổi số quốc gia 10/10. Cuộc thi dành cho cán bộ, công chức, "
            "viên chức, người lao động và Nhân dân trong tỉnh. Đây là dữ liệu demo.",
            rules_html="<p>Mỗi đợt thi gồm 10 câu hỏi trắc nghiệm và 1 câu hỏi dự đoán, làm trong 10 phút.</p>"
            "<p>Mỗi người được thi tối đa 3 lượt mỗi đợt; lượt có kết quả cao nhất được tính.</p>"
            "<p>Xếp hạng theo số câu đúng, rồi dự đoán gần nhất, rồi thời gian làm bài ngắn nhất, "
            "rồi thời điểm nộp bài sớm nhất.</p>",
            groups=[("can-bo", "Cán bộ, công chức, viên chức, người lao động"), ("nhan-dan", "Nhân dân")],
            units=list(session.scalars(select(Unit).where(Unit.is_sample.is_(True)))),
        ),
        now=now,
    )
    if organizer is not None:
        contest.organizers.append(organizer)
    local_midnight = now.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    week1_open = local_midnight - timedelta(days=1)
    mix = [rounds.MixItem("chuyen-doi-so", 5), rounds.MixItem("nghi-quyet-57", 5)]
    for number, opens in ((1, week1_open), (2, week1_open + timedelta(days=7))):
        rounds.add_round(
            session,
            contest,
            rounds.RoundRules(
                title=f"Tuần {number}",
                opens_at=opens,
                closes_at=opens + timedelta(days=7),
                time_limit_seconds=600,
                mix=mix,
                max_attempts=3,
                prediction_kind=PredictionKind.PARTICIPANTS,
                prediction_prompt=f"Theo bạn, có bao nhiêu người tham gia Tuần {number}?",
            ),
            now=now,
        )
    rounds.add_round(
        session,
        contest,
        rounds.RoundRules(
            title="Luyện tập",
            opens_at=week1_open,
            closes_at=week1_open + timedelta(days=28),
            time_limit_seconds=600,
            mix=mix,
            is_practice=True,
        ),
        now=now,
    )
