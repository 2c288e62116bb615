"""Contests and their rounds: creating them and checking a round's rules hold together.

Functions flush; the caller commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from quiz_engine.models import (
    Contest,
    ContestGroup,
    CountingPolicy,
    Difficulty,
    LeaderboardVisibility,
    PredictionKind,
    QuestionBank,
    Round,
    RoundMixItem,
    TieBreak,
    Unit,
)
from quiz_engine.services import papers
from quiz_engine.services.errors import ConflictError, ValidationError


@dataclass(frozen=True)
class MixItem:
    """Draw ``count`` active questions from the bank ``bank_slug`` (optionally one topic/difficulty)."""

    bank_slug: str
    count: int
    topic: str | None = None
    difficulty: str | None = None
    group_code: str | None = None


@dataclass
class RoundRules:
    """Everything a round is run by; times are aware datetimes."""

    title: str
    opens_at: datetime
    closes_at: datetime
    time_limit_seconds: int
    mix: Sequence[MixItem]
    shuffle_questions: bool = True
    shuffle_choices: bool = True
    max_attempts: int | None = None
    max_attempts_per_day: int | None = None
    counting_policy: CountingPolicy = CountingPolicy.BEST
    prediction_kind: PredictionKind = PredictionKind.NONE
    prediction_prompt: str = ""
    tie_breaks: Sequence[TieBreak] = field(
        default_factory=lambda: [TieBreak.CORRECT, TieBreak.PREDICTION, TieBreak.DURATION, TieBreak.SUBMITTED_AT]
    )
    is_practice: bool = False
    leaderboard_visibility: LeaderboardVisibility = LeaderboardVisibility.LIVE
    grace_seconds: int = 5


def create_contest(
    session: Session,
    *,
    slug: str,
    title: str,
    now: datetime,
    description: str = "",
    rules_html: str = "",
    groups: Sequence[tuple[str, str]] = (),
    units: Sequence[Unit] = (),
    published: bool = True,
) -> Contest:
    """Add a contest with its eligibility groups ``(code, name)`` and unit list.

    :raises ConflictError: if the slug is taken.
    """
    if session.scalar(select(Contest.id).where(Contest.slug == slug)) is not None:
        raise ConflictError(f"Đã có cuộc thi mã '{slug}'.", f"A contest with slug '{slug}' exists.")
    if not title.strip():
        raise ValidationError("Cần nhập tên cuộc thi.", "The contest title is required.", field="title")
    contest = Contest(
        slug=slug,
        title=title.strip(),
        description=description,
        rules_html=rules_html,
        is_published=published,
        created_at=now,
        updated_at=now,
        groups=[ContestGroup(code=c, name=n, position=i) for i, (c, n) in enumerate(groups)],
        units=list(units),
    )
    session.add(contest)
    session.flush()
    return contest


def add_round(session: Session, contest: Contest, rules: RoundRules, *, now: datetime) -> Round:
    """Add a round to ``contest`` after checking its rules and that its banks can fill every paper.

    :raises ValidationError: naming the first rule broken.
    """
    _check_rules(rules)
    groups = {g.code: g for g in contest.groups}
    mix = [_mix_item(session, item, groups) for item in rules.mix]
    papers.check_fillable(session, mix)
    number = 1 + max((r.number for r in contest.rounds), default=0)
    round_ = Round(
        contest=contest,
        number=number,
        title=rules.title.strip(),
        opens_at=rules.opens_at,
        closes_at=rules.closes_at,
        time_limit_seconds=rules.time_limit_seconds,
        shuffle_questions=rules.shuffle_questions,
        shuffle_choices=rules.shuffle_choices,
        max_attempts=None if rules.is_practice else rules.max_attempts,
        max_attempts_per_day=None if rules.is_practice else rules.max_attempts_per_day,
        counting_policy=rules.counting_policy,
        prediction_kind=PredictionKind.NONE if rules.is_practice else rules.prediction_kind,
        prediction_prompt=rules.prediction_prompt,
        tie_breaks=[TieBreak(t).value for t in rules.tie_breaks],
        is_practice=rules.is_practice,
        leaderboard_visibility=rules.leaderboard_visibility,
        grace_seconds=rules.grace_seconds,
        mix=mix,
        created_at=now,
        updated_at=now,
    )
    session.add(round_)
    session.flush()
    return round_


def _check_rules(rules: RoundRules) -> None:
    if not rules.title.strip():
        raise ValidationError("Cần nhập tên đợt thi.", "The round title is required.", field="title")
    if rules.opens_at.tzinfo is None or rules.closes_at.tzinfo is None:
        raise ValidationError("Thời gian phải có múi giờ.", "Times must carry a time zone.")
    if rules.closes_at <= rules.opens_at:
        raise ValidationError(
            "Thời điểm kết thúc phải sau thời điểm bắt đầu.", "The round must close after it opens.", field="closes_at"
        )
    if not 30 <= rules.time_limit_seconds <= 6 * 3600:
        raise ValidationError(
            "Thời gian làm bài phải từ 30 giây đến 6 giờ.",
            "The time limit must be between 30 seconds and 6 hours.",
            field="time_limit",
        )
    for value, name in ((rules.max_attempts, "max_attempts"), (rules.max_attempts_per_day, "max_attempts_per_day")):
        if value is not None and value < 1:
            raise ValidationError("Số lượt thi phải từ 1 trở lên.", "Attempt limits must be at least 1.", field=name)
    ties = [TieBreak(t) for t in rules.tie_breaks]
    if len(set(ties)) != len(ties) or not ties or ties[0] is not TieBreak.CORRECT:
        raise ValidationError(
            "Thứ tự xếp hạng phải bắt đầu bằng số câu đúng và không lặp tiêu chí.",
            "The tie-break order must start with correct answers and list each rule once.",
            field="tie_breaks",
        )
    if rules.prediction_kind is not PredictionKind.NONE and not rules.prediction_prompt.strip():
        raise ValidationError(
            "Cần nhập nội dung câu hỏi dự đoán.", "The prediction question needs wording.", field="prediction_prompt"
        )
    if not rules.mix:
        raise ValidationError(
            "Đợt thi cần ít nhất một nguồn câu hỏi.", "A round needs at least one question source.", field="mix"
        )


def _mix_item(session: Session, item: MixItem, groups: dict[str, ContestGroup]) -> RoundMixItem:
    bank = session.scalar(select(QuestionBank).where(QuestionBank.slug == item.bank_slug))
    if bank is None:
        raise ValidationError(
            f"Không có ngân hàng câu hỏi '{item.bank_slug}'.", f"No question bank '{item.bank_slug}'.", field="mix"
        )
    if item.group_code is not None and item.group_code not in groups:
        raise ValidationError(
            f"Không có nhóm đối tượng '{item.group_code}'.", f"No eligibility group '{item.group_code}'.", field="mix"
        )
    if item.difficulty and item.difficulty not in {d.value for d in Difficulty}:
        raise ValidationError(
            f"Mức độ '{item.difficulty}' không hợp lệ.", f"Unknown difficulty '{item.difficulty}'.", field="mix"
        )
    if item.count < 1:
        raise ValidationError(
            "Số câu rút phải từ 1 trở lên.", "A mix item must draw at least one question.", field="mix"
        )
    group = groups.get(item.group_code) if item.group_code else None
    return RoundMixItem(
        bank_id=bank.id,
        topic=item.topic or None,
        difficulty=item.difficulty or None,
        group_id=group.id if group else None,
        count=item.count,
    )


@dataclass(frozen=True)
class ContestOverview:
    """A published contest as the home page shows it."""

    contest: Contest
    open_rounds: list[Round]
    next_round: Round | None


def public_overview(session: Session, now: datetime) -> list[ContestOverview]:
    """Published contests that have a round open now or to come, soonest first."""
    overview = []
    for contest in session.scalars(select(Contest).where(Contest.is_published.is_(True)).order_by(Contest.id)):
        open_rounds = [r for r in contest.rounds if r.is_open(now)]
        upcoming = [r for r in contest.rounds if r.opens_at > now and not r.is_practice]
        if open_rounds or upcoming:
            overview.append(
                ContestOverview(contest, open_rounds, min(upcoming, key=lambda r: r.opens_at, default=None))
            )
    return overview
