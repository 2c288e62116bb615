"""Excel exports for organizers: round leaderboard, winners, unit statistics, every attempt with its
answers, score distribution with participation per day, and question statistics.

Every workbook has a title row (contest, round, export time), a bold frozen header with a filter,
real dates and durations, a "Thông số" sheet with the export's parameters, and text that can never
run as a formula (see ``spreadsheets``). Sheets are written in openpyxl's write-only mode from rows
read in batches, so memory stays flat however long the list. ``progress`` is told the row count.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import BinaryIO
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from quiz_engine.models import (
    CLOSED_STATUSES,
    Attempt,
    AttemptItem,
    ContestGroup,
    QuestionVersion,
    Role,
    Round,
    RoundResult,
    Unit,
    User,
    VoidMode,
)
from quiz_engine.services.results import question_statistics, rankings, standings
from quiz_engine.services.spreadsheets import ReportSheet, parameters_sheet

BATCH = 2000


class ExportKind(enum.StrEnum):
    LEADERBOARD = "leaderboard"
    WINNERS = "winners"
    UNITS = "units"
    ATTEMPTS = "attempts"
    DISTRIBUTION = "distribution"
    STATISTICS = "statistics"


TITLES = {
    ExportKind.LEADERBOARD: "Bảng xếp hạng",
    ExportKind.WINNERS: "Danh sách đạt giải",
    ExportKind.UNITS: "Thống kê theo đơn vị",
    ExportKind.ATTEMPTS: "Toàn bộ bài thi",
    ExportKind.DISTRIBUTION: "Phân bố điểm và lượt tham gia",
    ExportKind.STATISTICS: "Thống kê câu hỏi",
}


@dataclass(frozen=True)
class ExportContext:
    session: Session
    round: Round
    now: datetime
    tz: ZoneInfo
    exported_by: str
    progress: Callable[[int], None]
    thresholds: question_statistics.Thresholds


def _title(ctx: ExportContext, kind: ExportKind) -> str:
    local = ctx.now.astimezone(ctx.tz).strftime("%H:%M %d/%m/%Y")
    return f"{TITLES[kind]} — {ctx.round.contest.title} — {ctx.round.title} (xuất lúc {local})"


def _people(session: Session, user_ids: list[int]) -> dict[int, tuple[str, str, str]]:
    rows = session.execute(select(User.id, User.full_name, User.phone, User.email).where(User.id.in_(user_ids)))
    return {uid: (name, phone or "", email or "") for uid, name, phone, email in rows}


def _names(session: Session, model, ids: set[int | None]) -> dict[int, str]:  # type: ignore[no-untyped-def]
    wanted = [i for i in ids if i is not None]
    return dict(session.execute(select(model.id, model.name).where(model.id.in_(wanted))).all()) if wanted else {}


LEADERBOARD_COLUMNS = [
    ("Hạng", 7),
    ("Họ và tên", 28),
    ("Đơn vị", 30),
    ("Nhóm", 22),
    ("Số câu đúng", 11),
    ("Thời gian làm bài", 16),
    ("Dự đoán", 11),
    ("Chênh lệch dự đoán", 14),
    ("Thời điểm nộp", 20),
    ("Lượt thi", 8),
]


def _leaderboard(ctx: ExportContext, workbook: Workbook) -> int:
    sheet = ReportSheet(workbook, "Bảng xếp hạng", _title(ctx, ExportKind.LEADERBOARD), LEADERBOARD_COLUMNS, ctx.tz)
    stored = rankings.source(ctx.round, on_screen=False) is rankings.Source.STORED
    rows = _final_leaderboard(ctx) if stored else _computed_leaderboard(ctx)
    for values in rows:
        sheet.row(values)
        if sheet.count % BATCH == 0:  # told once a batch: a progress bar needs no more, and each call costs
            ctx.progress(BATCH)
    if sheet.count % BATCH:
        ctx.progress(sheet.count % BATCH)
    return sheet.count


def _final_leaderboard(ctx: ExportContext) -> Iterator[list[object]]:
    """One streamed query (names, unit, group, attempt number joined in): memory stays flat at any size.

    It runs on the session's connection as a Core query: the ORM's result machinery adds nothing for
    plain columns but took a third of the time spent reading. ``yield_per`` streams (a server-side
    cursor on PostgreSQL) and the column types still apply, so dates come back aware on every database.
    """
    stmt = (
        rankings.stored(ctx.round.id)  # the stored ranking in its one order, with the columns this sheet shows
        .with_only_columns(
            RoundResult.rank,
            User.full_name,
            Unit.name,
            ContestGroup.name,
            RoundResult.correct_count,
            RoundResult.duration_ms,
            RoundResult.prediction,
            RoundResult.prediction_distance,
            RoundResult.submitted_at,
            Attempt.number,
            maintain_column_froms=False,
        )
        .select_from(RoundResult)
        .join(User, User.id == RoundResult.user_id)
        .join(Attempt, Attempt.id == RoundResult.attempt_id)
        .outerjoin(Unit, Unit.id == RoundResult.unit_id)
        .outerjoin(ContestGroup, ContestGroup.id == RoundResult.group_id)
        .execution_options(yield_per=BATCH)
    )
    result = ctx.session.connection().execute(stmt)
    try:  # a reader that stops early must still close the server-side cursor
        for rank, name, unit, group, correct, duration, prediction, distance, submitted, number in result:
            yield [
                rank,
                name,
                unit or "",
                group or "",
                correct,
                timedelta(milliseconds=duration),
                prediction,
                distance,
                submitted,
                number,
            ]
    finally:
        result.close()


def _computed_leaderboard(ctx: ExportContext) -> Iterator[list[object]]:
    rows = list(rankings.ranked_rows(ctx.session, ctx.round))
    for first in range(0, len(rows), BATCH):
        chunk = rows[first : first + BATCH]
        people = _people(ctx.session, [r.user_id for r in chunk])
        units = _names(ctx.session, Unit, {r.unit_id for r in chunk})
        groups = _names(ctx.session, ContestGroup, {r.group_id for r in chunk})
        for r in chunk:
            yield [
                r.rank,
                people.get(r.user_id, ("",))[0],
                units.get(r.unit_id, ""),
                groups.get(r.group_id, ""),
                r.correct,
                timedelta(milliseconds=r.duration_ms),
                r.prediction,
                r.distance,
                r.submitted_at,
                r.attempt.number if r.attempt is not None else None,
            ]


WINNER_COLUMNS = [
    ("Giải", 18),
    ("Hạng", 7),
    ("Họ và tên", 28),
    ("Đơn vị", 30),
    ("Số câu đúng", 11),
    ("Thời gian làm bài", 16),
    ("Điện thoại", 15),
    ("E-mail", 28),
]


def winners(session: Session, round_: Round) -> list[tuple[str, rankings.RankedRow]]:
    """Prize winners by the round's quotas: organizers and admins never win; with one prize per person
    across the contest, anyone who won in an earlier round is passed over (the next in rank moves up)."""
    staff = set(session.scalars(select(User.id).where(User.role != Role.CONTESTANT)))
    earlier: set[int] = set()
    if round_.contest.one_prize_per_person:
        for other in round_.contest.rounds:
            if other.number < round_.number and not other.is_practice and other.finalized_at is not None:
                earlier.update(r.user_id for _label, r in winners(session, other))
    quotas = [(q["label"], int(q["count"])) for q in (round_.prize_quotas or [])]
    rows = rankings.ranked_rows(session, round_)
    eligible = (r for r in rows if r.user_id not in staff and r.user_id not in earlier)
    awarded: list[tuple[str, rankings.RankedRow]] = []
    try:
        for label, count in quotas:
            for _ in range(count):
                row = next(eligible, None)
                if row is None:
                    return awarded
                awarded.append((label, row))
    finally:
        rows.close()
    return awarded


def _winners(ctx: ExportContext, workbook: Workbook) -> int:
    sheet = ReportSheet(workbook, "Đạt giải", _title(ctx, ExportKind.WINNERS), WINNER_COLUMNS, ctx.tz)
    awarded = winners(ctx.session, ctx.round)
    people = _people(ctx.session, [r.user_id for _l, r in awarded])
    units = _names(ctx.session, Unit, {r.unit_id for _l, r in awarded})
    for label, r in awarded:
        name, phone, email = people.get(r.user_id, ("", "", ""))
        sheet.row(
            [
                label,
                r.rank,
                name,
                units.get(r.unit_id, ""),
                r.correct,
                timedelta(milliseconds=r.duration_ms),
                phone,
                email,
            ]
        )
        ctx.progress(1)
    return sheet.count


UNIT_COLUMNS = [
    ("Hạng", 7),
    ("Mã đơn vị", 14),
    ("Đơn vị", 32),
    ("Cấp trên", 14),
    ("Số người", 10),
    ("Người tham gia", 12),
    ("Tỷ lệ tham gia", 12),
    ("Lượt thi tính điểm", 12),
    ("Điểm trung bình (%)", 14),
    ("Bài đúng hết", 11),
    ("Dưới ngưỡng", 11),
]


def _units(ctx: ExportContext, workbook: Workbook) -> int:
    sheet = ReportSheet(workbook, "Đơn vị", _title(ctx, ExportKind.UNITS), UNIT_COLUMNS, ctx.tz)
    contest = ctx.round.contest
    rows = standings.unit_standings(ctx.session, contest)
    rolled = _rollup(rows)
    for s in rows + rolled:
        under = s.rank is None and s.participants > 0
        rate = sheet.percent(None if s.rate is None else s.rate / 100)
        sheet.row(
            [
                s.rank,
                s.unit.code,
                s.unit.name,
                s.unit.parent.code if s.unit.parent else "",
                s.unit.headcount,
                s.participants,
                rate,
                s.attempts,
                round(s.average_score, 2),
                s.perfect,
                "x" if under else "",
            ]
        )
        ctx.progress(1)
    return sheet.count


def _rollup(rows: list[standings.UnitStanding]) -> list[standings.UnitStanding]:
    """Parents summed from their children (headcount, participants, attempts, perfect; scores pooled)."""
    totals: dict[int, standings.UnitStanding] = {}
    for s in rows:
        parent = s.unit.parent
        while parent is not None:
            total = totals.setdefault(parent.id, standings.UnitStanding(parent))
            total.participants += s.participants
            total.attempts += s.attempts
            total.perfect += s.perfect
            total.score_points.extend(s.score_points)
            parent = parent.parent
    return sorted(totals.values(), key=lambda s: s.unit.code)


def _attempts(ctx: ExportContext, workbook: Workbook) -> int:
    count = ctx.session.scalar(select(func.max(Attempt.question_count)).where(Attempt.round_id == ctx.round.id)) or 0
    columns = [
        ("Mã bài", 9),
        ("Họ và tên", 28),
        ("Lượt", 6),
        ("Trạng thái", 11),
        ("Bắt đầu", 20),
        ("Nộp", 20),
        ("Số câu đúng", 10),
        ("Dự đoán", 10),
    ] + [(f"Câu {i + 1}", 8) for i in range(count)]
    sheet = ReportSheet(workbook, "Bài thi", _title(ctx, ExportKind.ATTEMPTS), columns, ctx.tz)
    stmt = (
        select(Attempt).where(Attempt.round_id == ctx.round.id).order_by(Attempt.id).execution_options(yield_per=BATCH)
    )
    batch: list[Attempt] = []
    for attempt in ctx.session.scalars(stmt):
        batch.append(attempt)
        if len(batch) == BATCH:
            _attempt_rows(ctx, sheet, batch)
            batch = []
    _attempt_rows(ctx, sheet, batch)
    return sheet.count


def _attempt_rows(ctx: ExportContext, sheet: ReportSheet, batch: list[Attempt]) -> None:
    if not batch:
        return
    people = _people(ctx.session, [a.user_id for a in batch])
    items: dict[int, list[AttemptItem]] = {}
    for item in ctx.session.scalars(
        select(AttemptItem)
        .where(AttemptItem.attempt_id.in_([a.id for a in batch]))
        .order_by(AttemptItem.attempt_id, AttemptItem.position)
    ):
        items.setdefault(item.attempt_id, []).append(item)
    for a in batch:
        answers = [_answer_text(i) for i in items.get(a.id, [])]
        sheet.row(
            [
                a.id,
                people.get(a.user_id, ("",))[0],
                a.number,
                a.status.value,
                a.started_at,
                a.submitted_at,
                a.correct_count,
                a.prediction,
                *answers,
            ]
        )
        ctx.progress(1)


def _answer_text(item: AttemptItem) -> str:
    """The letters the contestant saw and picked, then ✓ or ✗ (— when unanswered)."""
    if not item.selected:
        return "—"
    letters = "".join(sorted("ABCDEF"[item.choice_order.index(p)] for p in item.selected if p in item.choice_order))
    return f"{letters} {'✓' if item.is_correct else '✗'}"


def _distribution(ctx: ExportContext, workbook: Workbook) -> int:
    counted = rankings.counting_attempts(ctx.session, ctx.round)
    scores: dict[int, int] = {}
    for a in counted:
        scores[a.correct_count or 0] = scores.get(a.correct_count or 0, 0) + 1
    sheet = ReportSheet(
        workbook,
        "Phân bố điểm",
        _title(ctx, ExportKind.DISTRIBUTION),
        [("Số câu đúng", 12), ("Số người", 12), ("Tỷ lệ", 10)],
        ctx.tz,
    )
    for correct in sorted(scores, reverse=True):
        sheet.row([correct, scores[correct], round(scores[correct] / len(counted), 4)])
        ctx.progress(1)
    days = ReportSheet(
        workbook,
        "Theo ngày",
        "Lượt tham gia theo ngày",
        [("Ngày", 14), ("Lượt bắt đầu", 12), ("Lượt đã nộp", 12), ("Người tham gia", 14)],
        ctx.tz,
    )
    per_day: dict[str, list] = {}  # type: ignore[type-arg]
    for started, status, user in ctx.session.execute(
        select(Attempt.started_at, Attempt.status, Attempt.user_id).where(Attempt.round_id == ctx.round.id)
    ):
        day = started.astimezone(ctx.tz).strftime("%d/%m/%Y")
        entry = per_day.setdefault(day, [0, 0, set()])
        entry[0] += 1
        entry[1] += status in CLOSED_STATUSES
        entry[2].add(user)
    for day in sorted(per_day, key=lambda d: datetime.strptime(d, "%d/%m/%Y")):
        started_count, submitted, users = per_day[day]
        days.row([day, started_count, submitted, len(users)])
    return sheet.count + days.count


def _statistics(ctx: ExportContext, workbook: Workbook) -> int:
    figures = question_statistics.round_figures(ctx.session, ctx.round, ctx.thresholds, now=ctx.now)
    letters = max((len(q.options) for q in figures.questions), default=4)
    columns = [
        ("Mã câu hỏi", 12),
        ("Nội dung", 50),
        ("Đáp án", 8),
        ("Số đề", 9),
        ("Trả lời đúng", 11),
        ("Tỷ lệ đúng", 10),
        ("Độ phân biệt (r)", 12),
        ("Chỉ số D (27 %)", 12),
        ("Bỏ trống", 10),
        ("Thời gian trả lời, trung vị (giây)", 14),
    ]
    for letter in question_statistics.LETTERS[:letters]:
        columns += [(f"Chọn {letter}", 9), (f"Tỷ lệ {letter}", 9)]
    columns += [("Cần xem lại", 16), ("Lý do", 70), ("Đã hủy", 14)]
    sheet = ReportSheet(workbook, "Thống kê câu hỏi", _title(ctx, ExportKind.STATISTICS), columns, ctx.tz)
    voids: dict[VoidMode | None, str] = {
        VoidMode.COUNT_CORRECT: "tính đúng cho tất cả",
        VoidMode.REMOVE: "bỏ khỏi điểm",
    }
    for q in figures.questions:
        options: list[object] = []
        for index in range(letters):
            option = q.options[index] if index < len(q.options) else None
            options += [option.count, sheet.percent(option.share)] if option else [None, None]
        sheet.row(
            [
                q.code,
                q.text,
                q.key,
                q.seen,
                q.correct,
                sheet.percent(q.facility),
                _rounded(q.point_biserial),
                _rounded(q.discrimination),
                sheet.percent(q.blank_rate),
                q.median_seconds,
                *options,
                ", ".join(f.code for f in q.flags),
                " ".join(f.vi for f in q.flags),
                voids.get(q.void, ""),
            ]
        )
    ctx.progress(sheet.count)
    return sheet.count


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def expected_rows(session: Session, kind: ExportKind, round_: Round) -> int:
    """About how many data rows an export will have (for progress bars and choosing a background job)."""
    if kind is ExportKind.LEADERBOARD and round_.finalized_at is not None:
        stmt = select(func.count()).select_from(RoundResult).where(RoundResult.round_id == round_.id)
    elif kind in (ExportKind.LEADERBOARD, ExportKind.DISTRIBUTION):
        stmt = select(func.count(func.distinct(Attempt.user_id))).where(
            Attempt.round_id == round_.id, Attempt.status.in_(CLOSED_STATUSES)
        )
    elif kind is ExportKind.ATTEMPTS:
        stmt = select(func.count()).select_from(Attempt).where(Attempt.round_id == round_.id)
    elif kind is ExportKind.UNITS:
        stmt = select(func.count()).select_from(Unit)
    elif kind is ExportKind.STATISTICS:
        stmt = (
            select(func.count(func.distinct(QuestionVersion.question_id)))
            .join(AttemptItem, AttemptItem.question_version_id == QuestionVersion.id)
            .join(Attempt, Attempt.id == AttemptItem.attempt_id)
            .where(Attempt.round_id == round_.id, Attempt.status.in_(CLOSED_STATUSES))
        )
    else:
        return sum(int(q["count"]) for q in (round_.prize_quotas or []))
    return session.scalar(stmt) or 0


WRITERS = {
    ExportKind.LEADERBOARD: _leaderboard,
    ExportKind.WINNERS: _winners,
    ExportKind.UNITS: _units,
    ExportKind.ATTEMPTS: _attempts,
    ExportKind.DISTRIBUTION: _distribution,
    ExportKind.STATISTICS: _statistics,
}


def build_export(
    session: Session,
    kind: ExportKind,
    round_: Round,
    *,
    now: datetime,
    tz: ZoneInfo,
    exported_by: str,
    out: BinaryIO,
    progress: Callable[[int], None] | None = None,
    thresholds: question_statistics.Thresholds | None = None,
) -> int:
    """Write one export as .xlsx to ``out`` (a binary file); return the number of data rows.

    ``thresholds`` set the statistics export's flags (the defaults when None)."""
    ctx = ExportContext(
        session,
        round_,
        now,
        tz,
        exported_by,
        progress or (lambda _n: None),
        thresholds or question_statistics.Thresholds(),
    )
    workbook = Workbook(write_only=True)
    rows = WRITERS[kind](ctx, workbook)
    parameters_sheet(
        workbook,
        [
            ("Loại", TITLES[kind]),
            ("Cuộc thi", round_.contest.title),
            ("Đợt thi", round_.title),
            ("Kết quả", "chung cuộc" if round_.finalized_at else "tạm thời"),
            ("Xuất lúc", now),
            ("Người xuất", exported_by),
            ("Số dòng", rows),
        ],
        tz,
    )
    workbook.save(out)
    return rows
