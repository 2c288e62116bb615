"""A contest's rounds: adding and editing them, and checking that a round's rules hold together.

Functions flush; the caller commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from quiz_engine.models import (
    DEFAULT_PRIZE_QUOTAS,
    DEFAULT_TIE_BREAKS,
    Attempt,
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
)
from quiz_engine.services.errors import ConflictError, ValidationError
from quiz_engine.services.taking import papers

#: What may still change once a round has attempts: nothing that decides what a paper holds or how it ranks.
EDITABLE_AFTER_START = frozenset(
    {
        "title",
        "closes_at",
        "leaderboard_visibility",
        "leaderboard_frozen_at",
        "reveal_answers_after_close",
        "prize_quotas",
    }
)
MAX_GRACE_SECONDS = 300


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
    tie_breaks: Sequence[TieBreak] = field(default_factory=lambda: list(DEFAULT_TIE_BREAKS))
    is_practice: bool = False
    leaderboard_visibility: LeaderboardVisibility = LeaderboardVisibility.LIVE
    grace_seconds: int = 5
    #: Only for a frozen leaderboard: the instant after which it stops changing until the round closes.
    leaderboard_frozen_at: datetime | None = None
    reveal_answers_after_close: bool = True
    #: Prize quotas in order, e.g. ``[{"label": "Giải Nhất", "count": 1}, ...]`` (the winners export uses them).
    prize_quotas: Sequence[dict[str, Any]] = field(default_factory=lambda: [dict(q) for q in DEFAULT_PRIZE_QUOTAS])


def add_round(session: Session, contest: Contest, rules: RoundRules, *, now: datetime) -> Round:
    """Add a round to ``contest`` after checking its rules and that its banks can fill every paper.

    :raises ValidationError: naming the first rule broken.
    """
    rules = _normalise(rules)
    _check_rules(rules)
    mix = _build_mix(session, contest, rules.mix)
    papers.check_fillable(session, mix)
    round_ = Round(
        contest=contest,
        number=1 + max((r.number for r in contest.rounds), default=0),
        mix=mix,
        created_at=now,
        updated_at=now,
        **_column_values(rules),
    )
    session.add(round_)
    session.flush()
    return round_


def has_attempts(session: Session, round_: Round) -> bool:
    """Whether anyone has started the round (which freezes its mix and rules)."""
    return session.scalar(select(Attempt.id).where(Attempt.round_id == round_.id).limit(1)) is not None


def attempt_counts(session: Session, contest: Contest) -> dict[int, int]:
    """Attempts started in each round of ``contest``, by round id (rounds without any are left out)."""
    rows = session.execute(
        select(Attempt.round_id, func.count(Attempt.id))
        .join(Round, Round.id == Attempt.round_id)
        .where(Round.contest_id == contest.id)
        .group_by(Attempt.round_id)
    )
    return {round_id: count for round_id, count in rows}


@dataclass(frozen=True)
class RoundSummary:
    """A round as the organizer's contest page lists it."""

    round: Round
    rules: RoundRules
    attempts: int

    @property
    def locked(self) -> bool:
        """Whether the mix and rules are frozen (someone has started the round)."""
        return self.attempts > 0


def round_summaries(session: Session, contest: Contest) -> list[RoundSummary]:
    """Every round of ``contest`` in opening order, with its rules and how many attempts it has."""
    counts = attempt_counts(session, contest)
    return [RoundSummary(r, rules_of(session, r), counts.get(r.id, 0)) for r in contest.rounds]


def rules_of(session: Session, round_: Round) -> RoundRules:
    """The rules a round is run by now, in the shape :func:`add_round` and :func:`update_round` take."""
    slugs = dict(session.execute(select(QuestionBank.id, QuestionBank.slug)).all())
    codes = {g.id: g.code for g in round_.contest.groups}
    mix = tuple(
        MixItem(slugs[m.bank_id], m.count, m.topic, m.difficulty, codes.get(m.group_id) if m.group_id else None)
        for m in round_.mix
    )
    values = {f.name: getattr(round_, f.name) for f in fields(RoundRules) if f.name not in ("mix", "tie_breaks")}
    return RoundRules(mix=mix, tie_breaks=[TieBreak(t) for t in round_.tie_breaks], **values)


def update_round(session: Session, round_: Round, rules: RoundRules, *, now: datetime) -> list[str]:
    """Change a round's rules; return the names of the rules that changed.

    Once an attempt exists only :data:`EDITABLE_AFTER_START` may change, and the close may not move into the past.

    :raises ConflictError: if a frozen rule would change.
    :raises ValidationError: naming the first rule broken.
    """
    rules = _normalise(rules)
    current = rules_of(session, round_)
    changed = [f.name for f in fields(RoundRules) if getattr(rules, f.name) != getattr(current, f.name)]
    if not changed:
        return []
    if has_attempts(session, round_):
        _check_edit_after_start(changed, rules, now)
    _check_rules(rules)
    if "mix" in changed:
        mix = _build_mix(session, round_.contest, rules.mix)
        papers.check_fillable(session, mix)
        round_.mix = mix
    for name, value in _column_values(rules).items():
        if name in changed:
            setattr(round_, name, value)
    round_.updated_at = now
    session.flush()
    return changed


def _check_edit_after_start(changed: list[str], rules: RoundRules, now: datetime) -> None:
    if set(changed) - EDITABLE_AFTER_START:
        raise ConflictError(
            "Đợt thi đã có người làm bài: chỉ còn sửa được tên, thời điểm kết thúc, "
            "bảng xếp hạng và việc công bố đáp án.",
            "The round has attempts: only its title, close, leaderboard and answer reveal may change.",
        )
    if "closes_at" in changed and rules.closes_at < now:
        raise ValidationError(
            "Đợt thi đã có người làm bài: thời điểm kết thúc mới không được sớm hơn hiện tại.",
            "The round has attempts: its new close cannot be in the past.",
            field="closes_at",
        )


def delete_round(session: Session, round_: Round) -> None:
    """Remove a round nobody has started.

    :raises ConflictError: if the round has attempts.
    """
    if has_attempts(session, round_):
        raise ConflictError(
            "Đợt thi đã có người làm bài nên không thể xoá.", "The round has attempts, so it cannot be deleted."
        )
    round_.contest.rounds.remove(round_)  # delete-orphan deletes the row and keeps the loaded list right
    session.flush()


def _normalise(rules: RoundRules) -> RoundRules:
    """The rules as stored: practice rounds are unlimited and ask no prediction; blank options become None."""
    mix = tuple(
        MixItem(
            m.bank_slug.strip(), m.count, (m.topic or "").strip() or None, m.difficulty or None, m.group_code or None
        )
        for m in rules.mix
    )
    try:
        tie_breaks = [TieBreak(t) for t in rules.tie_breaks]
    except ValueError:
        raise ValidationError(
            "Tiêu chí xếp hạng không hợp lệ.", "Unknown tie-break rule.", field="tie_breaks"
        ) from None
    changes: dict[str, Any] = {
        "title": rules.title.strip(),
        "mix": mix,
        "tie_breaks": tie_breaks,
        "prediction_prompt": rules.prediction_prompt.strip(),
        "counting_policy": CountingPolicy(rules.counting_policy),
        "prediction_kind": PredictionKind(rules.prediction_kind),
        "leaderboard_visibility": LeaderboardVisibility(rules.leaderboard_visibility),
    }
    if rules.is_practice:
        changes.update(max_attempts=None, max_attempts_per_day=None, prediction_kind=PredictionKind.NONE)
    if changes["prediction_kind"] is PredictionKind.NONE:
        changes["prediction_prompt"] = ""
    if changes["leaderboard_visibility"] is not LeaderboardVisibility.FROZEN:
        changes["leaderboard_frozen_at"] = None
    return replace(rules, **changes)


def _column_values(rules: RoundRules) -> dict[str, Any]:
    values = {f.name: getattr(rules, f.name) for f in fields(RoundRules) if f.name != "mix"}
    values["tie_breaks"] = [TieBreak(t).value for t in rules.tie_breaks]
    values["prize_quotas"] = [{"label": str(q["label"]).strip(), "count": int(q["count"])} for q in rules.prize_quotas]
    return values


def _check_prize_quotas(quotas: Sequence[dict[str, Any]]) -> None:
    for quota in quotas:
        label, count = str(quota.get("label", "")).strip(), quota.get("count")
        if not label or len(label) > 60 or not isinstance(count, int) or not 0 <= count <= 10_000:
            raise ValidationError(
                "Mỗi giải cần tên (tối đa 60 ký tự) và số lượng từ 0 đến 10.000.",
                "Each prize needs a name (60 characters at most) and a count from 0 to 10,000.",
                field="prize_quotas",
            )


def _check_rules(rules: RoundRules) -> None:
    _check_prize_quotas(rules.prize_quotas)
    if not rules.title:
        raise ValidationError("Cần nhập tên đợt thi.", "The round title is required.", field="title")
    _check_times(rules)
    _check_policy(rules)
    if not rules.mix:
        raise ValidationError(
            "Đợt thi cần ít nhất một nguồn câu hỏi.", "A round needs at least one question source.", field="mix"
        )


def _check_times(rules: RoundRules) -> None:
    times = (rules.opens_at, rules.closes_at, rules.leaderboard_frozen_at)
    if any(t is not None and t.tzinfo is None for t in times):
        raise ValidationError("Thời gian phải có múi giờ.", "Times must carry a time zone.")
    if rules.closes_at <= rules.opens_at:
        raise ValidationError(
            "Thời điểm kết thúc phải sau thời điểm bắt đầu.", "The round must close after it opens.", field="closes_at"
        )
    if rules.leaderboard_visibility is LeaderboardVisibility.FROZEN and not (
        rules.leaderboard_frozen_at and rules.opens_at <= rules.leaderboard_frozen_at <= rules.closes_at
    ):
        raise ValidationError(
            "Bảng xếp hạng đóng băng cần thời điểm đóng băng nằm trong thời gian của đợt thi.",
            "A frozen leaderboard needs a freeze time between the round's open and close.",
            field="leaderboard_frozen_at",
        )


def _check_policy(rules: RoundRules) -> None:
    if not 30 <= rules.time_limit_seconds <= 6 * 3600:
        raise ValidationError(
            "Thời gian làm bài phải từ 30 giây đến 6 giờ.",
            "The time limit must be between 30 seconds and 6 hours.",
            field="time_limit",
        )
    for value, name in ((rules.max_attempts, "max_attempts"), (rules.max_attempts_per_day, "max_attempts_per_day")):
        if value is not None and value < 1:
            raise ValidationError("Số lượt thi phải từ 1 trở lên.", "Attempt limits must be at least 1.", field=name)
    ties = list(rules.tie_breaks)
    if len(set(ties)) != len(ties) or not ties or ties[0] is not TieBreak.CORRECT:
        raise ValidationError(
            "Thứ tự xếp hạng phải bắt đầu bằng số câu đúng và không lặp tiêu chí.",
            "The tie-break order must start with correct answers and list each rule once.",
            field="tie_breaks",
        )
    if rules.prediction_kind is not PredictionKind.NONE and not rules.prediction_prompt:
        raise ValidationError(
            "Cần nhập nội dung câu hỏi dự đoán.", "The prediction question needs wording.", field="prediction_prompt"
        )
    if not 0 <= rules.grace_seconds <= MAX_GRACE_SECONDS:
        raise ValidationError(
            f"Thời gian ân hạn phải từ 0 đến {MAX_GRACE_SECONDS} giây.",
            f"The grace period must be between 0 and {MAX_GRACE_SECONDS} seconds.",
            field="grace_seconds",
        )


def _build_mix(session: Session, contest: Contest, items: Sequence[MixItem]) -> list[RoundMixItem]:
    groups = {g.code: g for g in contest.groups}
    return [_mix_item(session, item, groups) for item in items]


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


def mix_banks(session: Session) -> list[QuestionBank]:
    """The banks a round may draw from, by title."""
    return list(session.scalars(select(QuestionBank).order_by(QuestionBank.title)))
