"""Contests and their rounds: creating and editing them, and checking a round's rules hold together.

Also reads the TOML contest spec of ``flask quiz create-contest``. Functions flush; the caller commits.
"""

from __future__ import annotations

import html
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import nh3
from sqlalchemy import Select, func, select
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
    Registration,
    Round,
    RoundMixItem,
    StandingsMode,
    TieBreak,
    Unit,
    UnitRanking,
    User,
)
from quiz_engine.services.catalogue.question_schema import DIFFICULTY_WORDS, fold
from quiz_engine.services.errors import ConflictError, ValidationError
from quiz_engine.services.taking import papers

#: Tags an organizer's rules text may keep; everything else is stripped (the text stays).
RULES_TAGS = frozenset({"p", "br", "strong", "em", "ul", "ol", "li", "a", "h3", "h4", "blockquote"})
RULES_URL_SCHEMES = frozenset({"http", "https", "mailto"})
SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
GROUP_CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
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


# --- Contests ----------------------------------------------------------------------------------


def sanitise_rules(text: str) -> str:
    """Reduce organizer-written rules to safe basic HTML; plain text becomes paragraphs."""
    text = text.replace("\r\n", "\n").strip()
    if text and "<" not in text:
        # Typed or pasted without markup: keep its paragraphs and line breaks instead of one run-on line.
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
        text = "".join("<p>" + html.escape(p, quote=False).replace("\n", "<br>") + "</p>" for p in paragraphs)
    return nh3.clean(
        text,
        tags=set(RULES_TAGS),
        attributes={"a": {"href"}},
        link_rel="noopener noreferrer",
        url_schemes=set(RULES_URL_SCHEMES),
    )


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
    one_prize_per_person: bool = True,
    standings_mode: StandingsMode = StandingsMode.SUM,
    unit_ranking: UnitRanking = UnitRanking.PARTICIPATION,
    unit_min_participation_pct: int = 0,
    unit_participation_weight_pct: int = 50,
) -> Contest:
    """Add a contest with its eligibility groups ``(code, name)`` and unit list.

    :raises ValidationError: naming the first field that is wrong.
    :raises ConflictError: if the slug is taken.
    """
    slug = slug.strip()
    if not SLUG_PATTERN.match(slug):
        raise ValidationError(
            "Mã cuộc thi chỉ gồm chữ thường không dấu, số và dấu gạch ngang (tối đa 80 ký tự).",
            "The contest slug may hold only a-z, 0-9 and hyphens (80 characters at most).",
            field="slug",
        )
    if session.scalar(select(Contest.id).where(Contest.slug == slug)) is not None:
        raise ConflictError(f"Đã có cuộc thi mã '{slug}'.", f"A contest with slug '{slug}' exists.")
    _check_title(title)
    _check_unit_prize_rules(unit_min_participation_pct, unit_participation_weight_pct)
    groups = _clean_groups(groups)
    contest = Contest(
        slug=slug,
        title=title.strip(),
        description=description.strip(),
        rules_html=sanitise_rules(rules_html),
        is_published=published,
        one_prize_per_person=one_prize_per_person,
        standings_mode=StandingsMode(standings_mode),
        unit_ranking=UnitRanking(unit_ranking),
        unit_min_participation_pct=unit_min_participation_pct,
        unit_participation_weight_pct=unit_participation_weight_pct,
        created_at=now,
        updated_at=now,
        groups=[ContestGroup(code=c, name=n, position=i) for i, (c, n) in enumerate(groups)],
        units=list(units),
    )
    session.add(contest)
    session.flush()
    return contest


def _check_unit_prize_rules(min_pct: int, weight_pct: int) -> None:
    for value, name in ((min_pct, "unit_min_participation_pct"), (weight_pct, "unit_participation_weight_pct")):
        if not 0 <= value <= 100:
            raise ValidationError(
                "Giá trị phần trăm phải từ 0 đến 100.", "Percentages must be from 0 to 100.", field=name
            )


def update_contest(
    session: Session,
    contest: Contest,
    *,
    title: str,
    now: datetime,
    description: str = "",
    rules_html: str = "",
    groups: Sequence[tuple[str, str]] = (),
    units: Sequence[Unit] = (),
    published: bool = True,
    one_prize_per_person: bool = True,
    standings_mode: StandingsMode = StandingsMode.SUM,
    unit_ranking: UnitRanking = UnitRanking.PARTICIPATION,
    unit_min_participation_pct: int = 0,
    unit_participation_weight_pct: int = 50,
) -> list[str]:
    """Change a contest's details (its slug stays, links to it are out there); return what changed.

    Groups are matched by code. A group or unit that contestants already registered with cannot be removed.

    :raises ValidationError: naming the first field that is wrong.
    """
    _check_title(title)
    _check_unit_prize_rules(unit_min_participation_pct, unit_participation_weight_pct)
    groups = _clean_groups(groups)
    values: dict[str, Any] = {
        "title": title.strip(),
        "description": description.strip(),
        "rules_html": sanitise_rules(rules_html),
        "is_published": published,
        "one_prize_per_person": one_prize_per_person,
        "standings_mode": StandingsMode(standings_mode),
        "unit_ranking": UnitRanking(unit_ranking),
        "unit_min_participation_pct": unit_min_participation_pct,
        "unit_participation_weight_pct": unit_participation_weight_pct,
    }
    changed = [name for name, value in values.items() if getattr(contest, name) != value]
    for name in changed:
        setattr(contest, name, values[name])
    if _sync_groups(session, contest, groups):
        changed.append("groups")
    if {u.id for u in units} != {u.id for u in contest.units}:
        _check_units_removable(session, contest, {u.id for u in units})
        contest.units = list(units)
        changed.append("units")
    if changed:
        contest.updated_at = now
    session.flush()
    return changed


def _check_title(title: str) -> None:
    if not title.strip():
        raise ValidationError("Cần nhập tên cuộc thi.", "The contest title is required.", field="title")


def _clean_groups(groups: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    cleaned = [(code.strip().lower(), name.strip()) for code, name in groups]
    for code, name in cleaned:
        if not GROUP_CODE_PATTERN.match(code) or not name:
            raise ValidationError(
                f"Nhóm đối tượng '{code or name}': cần mã (chữ thường không dấu, số, gạch ngang) và tên.",
                f"Eligibility group '{code or name}': a code (a-z, 0-9, hyphens) and a name are required.",
                field="groups",
            )
    codes = [code for code, _ in cleaned]
    if len(set(codes)) != len(codes):
        raise ValidationError(
            "Mỗi nhóm đối tượng cần một mã riêng.", "Each eligibility group needs its own code.", field="groups"
        )
    return cleaned


def _sync_groups(session: Session, contest: Contest, groups: list[tuple[str, str]]) -> bool:
    """Make the contest's groups match ``groups`` by code; return whether anything changed."""
    existing = {g.code: g for g in contest.groups}
    wanted = dict(groups)
    removed = [g for code, g in existing.items() if code not in wanted]
    for group in removed:
        if _group_in_use(session, group):
            raise ValidationError(
                f"Nhóm '{group.name}' đã có người đăng ký hoặc được dùng trong đợt thi nên không thể bỏ.",
                f"Group '{group.name}' has registrations or is used by a round, so it cannot be removed.",
                field="groups",
            )
        contest.groups.remove(group)
    changed = bool(removed)
    for position, (code, name) in enumerate(groups):
        group = existing.get(code)
        if group is None:
            contest.groups.append(ContestGroup(code=code, name=name, position=position))
            changed = True
        elif (group.name, group.position) != (name, position):
            group.name, group.position = name, position
            changed = True
    return changed


def _group_in_use(session: Session, group: ContestGroup) -> bool:
    uses = (
        select(Registration.id).where(Registration.group_id == group.id),
        select(RoundMixItem.id).where(RoundMixItem.group_id == group.id),
        select(Attempt.id).where(Attempt.group_id == group.id),
    )
    return any(session.scalar(stmt.limit(1)) is not None for stmt in uses)


def _check_units_removable(session: Session, contest: Contest, kept: set[int]) -> None:
    removed = [u for u in contest.units if u.id not in kept]
    registered = session.scalars(
        select(Unit.name)
        .join(Registration, Registration.unit_id == Unit.id)
        .where(Registration.contest_id == contest.id, Unit.id.in_([u.id for u in removed]))
        .distinct()
        .order_by(Unit.name)
        .limit(5)
    ).all()
    if registered:
        names = ", ".join(registered)
        raise ValidationError(
            f"Không thể bỏ đơn vị đã có người đăng ký dự thi: {names}.",
            f"Units with registered contestants cannot be removed: {names}.",
            field="units",
        )


def list_contests(session: Session, among: Select[tuple[Contest]] | None = None) -> list[Contest]:
    """Every contest (or those ``among`` selects), newest first."""
    return list(session.scalars((among if among is not None else select(Contest)).order_by(Contest.id.desc())))


def add_organizer(session: Session, contest: Contest, email: str) -> User:
    """List an organizer account on ``contest`` so it may manage it (idempotent).

    :raises ValidationError: when no organizer or admin account has that e-mail.
    """
    user = session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None or not user.is_organizer:
        raise ValidationError(
            "Không có tài khoản ban tổ chức nào với e-mail này.",
            "No organizer account has this e-mail.",
            field="email",
        )
    if user not in contest.organizers:
        contest.organizers.append(user)
        session.flush()
    return user


def remove_organizer(session: Session, contest: Contest, user_id: int) -> User | None:
    """Take an organizer off ``contest``; returns who was removed, or None if they were not listed."""
    for user in contest.organizers:
        if user.id == user_id:
            contest.organizers.remove(user)
            session.flush()
            return user
    return None


# --- Units -------------------------------------------------------------------------------------


def unit_tree(session: Session) -> list[tuple[Unit, int]]:
    """Every unit with its depth, each parent followed by its children, siblings by name."""
    units = list(session.scalars(select(Unit).order_by(Unit.name, Unit.code)))
    children = _children(units)
    ordered: list[tuple[Unit, int]] = []
    seen: set[int] = set()
    stack = [(u, 0) for u in reversed(children.get(None, []))]
    while stack:
        unit, depth = stack.pop()
        if unit.id in seen:  # a parent loop in imported data must not hang the page
            continue
        seen.add(unit.id)
        ordered.append((unit, depth))
        stack.extend((child, depth + 1) for child in reversed(children.get(unit.id, [])))
    return ordered


def _children(units: Sequence[Unit]) -> dict[int | None, list[Unit]]:
    ids = {u.id for u in units}
    children: dict[int | None, list[Unit]] = {}
    for unit in units:
        children.setdefault(unit.parent_id if unit.parent_id in ids else None, []).append(unit)
    return children


def units_under(session: Session, parent: Unit) -> list[Unit]:
    """``parent`` and every unit below it, at any depth."""
    children = _children(list(session.scalars(select(Unit))))
    found: dict[int, Unit] = {}
    stack = [parent]
    while stack:
        unit = stack.pop()
        if unit.id not in found:
            found[unit.id] = unit
            stack.extend(children.get(unit.id, []))
    return list(found.values())


def choose_units(session: Session, unit_ids: Sequence[int], under_id: int | None = None) -> list[Unit]:
    """The units picked one by one, or, when ``under_id`` is given, that unit and all below it.

    :raises ValidationError: if a unit does not exist.
    """
    if under_id is not None:
        parent = session.get(Unit, under_id)
        if parent is None:
            raise ValidationError("Không có đơn vị đã chọn.", "No such unit.", field="units_under")
        return units_under(session, parent)
    units = list(session.scalars(select(Unit).where(Unit.id.in_(list(unit_ids))))) if unit_ids else []
    if len(units) != len(set(unit_ids)):
        raise ValidationError("Có đơn vị không tồn tại.", "Some units do not exist.", field="units")
    return units


def units_by_codes(session: Session, codes: Sequence[str]) -> list[Unit]:
    """The units with these codes.

    :raises ValidationError: naming the codes that match no unit.
    """
    units = list(session.scalars(select(Unit).where(Unit.code.in_(list(codes))))) if codes else []
    missing = sorted(set(codes) - {u.code for u in units})
    if missing:
        raise ValidationError(
            f"Không có đơn vị mã: {', '.join(missing)}.", f"No unit with code(s): {', '.join(missing)}.", field="units"
        )
    return units


# --- Rounds ------------------------------------------------------------------------------------


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


# --- The contest spec (TOML) for the CLI ---------------------------------------------------------


@dataclass
class ContestSpec:
    """A contest read from a TOML spec: details, groups, which units, and its rounds' rules."""

    slug: str
    title: str
    description: str = ""
    rules_html: str = ""
    groups: list[tuple[str, str]] = field(default_factory=list)
    #: Unit codes; None means every unit.
    unit_codes: list[str] | None = None
    #: A unit code: that unit and every unit below it (instead of ``unit_codes``).
    units_under: str | None = None
    published: bool = False
    one_prize_per_person: bool = True
    standings_mode: StandingsMode = StandingsMode.SUM
    rounds: list[RoundRules] = field(default_factory=list)


_REQUIRED: Any = object()
E = TypeVar("E", bound=StrEnum)
_DIFFICULTY_BY_WORD = {fold(w): d.value for d, words in DIFFICULTY_WORDS.items() for w in words}
_CONTEST_KEYS = {
    "slug",
    "title",
    "description",
    "rules",
    "published",
    "one_prize_per_person",
    "standings",
    "units",
    "groups",
    "rounds",
}
_ROUND_KEYS = {
    "title",
    "opens",
    "closes",
    "time_limit_minutes",
    "mix",
    "shuffle_questions",
    "shuffle_choices",
    "max_attempts",
    "max_attempts_per_day",
    "counting",
    "prediction",
    "prediction_prompt",
    "tie_breaks",
    "practice",
    "leaderboard",
    "freeze_at",
    "reveal_answers_after_close",
    "grace_seconds",
}


class _Table:
    """One table of the spec, read key by key; errors name where the bad value is."""

    def __init__(self, data: Any, where: str, known: set[str]) -> None:
        self.where = where
        if not isinstance(data, dict):
            raise self.error("phải là một bảng (table).", "must be a table.")
        unknown = sorted(set(data) - known)
        if unknown:
            raise self.error(f"khoá không hợp lệ: {', '.join(unknown)}.", f"unknown key(s): {', '.join(unknown)}.")
        self.data = data

    def error(self, vi: str, en: str, key: str | None = None) -> ValidationError:
        where = f"{self.where}.{key}" if key else self.where
        return ValidationError(f"Tệp mô tả cuộc thi, mục {where}: {vi}", f"Contest spec, {where}: {en}")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = _REQUIRED) -> Any:
        if key not in self.data:
            if default is _REQUIRED:
                raise self.error("thiếu giá trị.", "missing.", key)
            return default
        value = self.data[key]
        # TOML booleans are ints to Python; an int where a bool belongs (or back) is a typo worth reporting.
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
            raise self.error("sai kiểu giá trị.", "wrong type of value.", key)
        return value

    def text(self, key: str, default: Any = _REQUIRED) -> str:
        return self.get(key, str, default).strip()

    def choice(self, key: str, enum_cls: type[E], default: E) -> E:
        value = self.get(key, str, default.value)
        try:
            return enum_cls(value)
        except ValueError:
            allowed = ", ".join(m.value for m in enum_cls)
            raise self.error(f"phải là một trong: {allowed}.", f"must be one of: {allowed}.", key) from None

    def time(self, key: str, tz: ZoneInfo, default: Any = _REQUIRED) -> datetime | None:
        value = self.get(key, (str, datetime), default)
        if value is None:
            return None
        try:
            # A bare date would silently mean midnight; a round's open and close deserve an explicit hour.
            if isinstance(value, str) and len(value.strip()) <= len("2026-12-01"):
                raise ValueError(value)
            moment = value if isinstance(value, datetime) else datetime.fromisoformat(value.strip())
        except ValueError:
            raise self.error(
                "thời gian phải có dạng '2026-12-01 08:00' (giờ địa phương).",
                "times look like '2026-12-01 08:00' (local time).",
                key,
            ) from None
        return moment if moment.tzinfo else moment.replace(tzinfo=tz)

    def tables(self, key: str) -> list[Any]:
        return list(self.get(key, list, []))


def load_contest_spec(text: str, *, timezone: str = "Asia/Ho_Chi_Minh") -> ContestSpec:
    """Parse a contest spec (TOML); times without an offset are local times in ``timezone``.

    See ``docs/examples/contest.toml`` for every key.

    :raises ValidationError: naming the first bad entry.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(f"Tệp mô tả cuộc thi không phải TOML hợp lệ: {exc}", f"Invalid TOML: {exc}") from exc
    top = _Table(data, "(đầu tệp)", _CONTEST_KEYS)
    tz = ZoneInfo(timezone)
    groups = []
    for index, raw in enumerate(top.tables("groups"), start=1):
        group = _Table(raw, f"groups[{index}]", {"code", "name"})
        groups.append((group.text("code"), group.text("name")))
    unit_codes, under = _spec_units(top)
    return ContestSpec(
        slug=top.text("slug"),
        title=top.text("title"),
        description=top.text("description", ""),
        rules_html=top.text("rules", ""),
        groups=groups,
        unit_codes=unit_codes,
        units_under=under,
        published=top.get("published", bool, False),
        one_prize_per_person=top.get("one_prize_per_person", bool, True),
        standings_mode=top.choice("standings", StandingsMode, StandingsMode.SUM),
        rounds=[_spec_round(raw, index, tz) for index, raw in enumerate(top.tables("rounds"), start=1)],
    )


def _spec_units(top: _Table) -> tuple[list[str] | None, str | None]:
    """``units = "all"`` (the default), a list of unit codes, or ``{ under = "CODE" }``."""
    value = top.get("units", (str, list, dict), "all")
    if value == "all":
        return None, None
    if isinstance(value, list) and all(isinstance(code, str) for code in value):
        return [code.strip() for code in value], None
    if isinstance(value, dict):
        return None, _Table(value, "units", {"under"}).text("under")
    raise top.error(
        'phải là "all", danh sách mã đơn vị hoặc { under = "MÃ" }.',
        'must be "all", a list of unit codes or { under = "CODE" }.',
        "units",
    )


def _spec_round(raw: Any, index: int, tz: ZoneInfo) -> RoundRules:
    table = _Table(raw, f"rounds[{index}]", _ROUND_KEYS)
    limits = {
        key: table.get(key, int, None)
        for key in ("max_attempts", "max_attempts_per_day")  # left out: unlimited
    }
    return RoundRules(
        title=table.text("title"),
        opens_at=table.time("opens", tz),
        closes_at=table.time("closes", tz),
        time_limit_seconds=60 * table.get("time_limit_minutes", int),
        mix=[_spec_mix(item, f"{table.where}.mix[{n}]") for n, item in enumerate(table.tables("mix"), start=1)],
        shuffle_questions=table.get("shuffle_questions", bool, True),
        shuffle_choices=table.get("shuffle_choices", bool, True),
        counting_policy=table.choice("counting", CountingPolicy, CountingPolicy.BEST),
        prediction_kind=table.choice("prediction", PredictionKind, PredictionKind.NONE),
        prediction_prompt=table.text("prediction_prompt", ""),
        tie_breaks=_spec_tie_breaks(table),
        is_practice=table.get("practice", bool, False),
        leaderboard_visibility=table.choice("leaderboard", LeaderboardVisibility, LeaderboardVisibility.LIVE),
        leaderboard_frozen_at=table.time("freeze_at", tz, None),
        reveal_answers_after_close=table.get("reveal_answers_after_close", bool, True),
        grace_seconds=table.get("grace_seconds", int, 5),
        **limits,
    )


def _spec_tie_breaks(table: _Table) -> list[TieBreak]:
    values = table.get("tie_breaks", list, [t.value for t in DEFAULT_TIE_BREAKS])
    try:
        return [TieBreak(v) for v in values]
    except ValueError:
        allowed = ", ".join(t.value for t in TieBreak)
        raise table.error(
            f"mỗi tiêu chí là một trong: {allowed}.", f"each must be one of: {allowed}.", "tie_breaks"
        ) from None


def _spec_mix(raw: Any, where: str) -> MixItem:
    table = _Table(raw, where, {"bank", "count", "topic", "difficulty", "group"})
    difficulty = table.text("difficulty", "")
    if difficulty and fold(difficulty) not in _DIFFICULTY_BY_WORD:
        raise table.error("mức độ là dễ, trung bình hoặc khó.", "difficulty is easy, medium or hard.", "difficulty")
    return MixItem(
        bank_slug=table.text("bank"),
        count=table.get("count", int),
        topic=table.text("topic", "") or None,
        difficulty=_DIFFICULTY_BY_WORD[fold(difficulty)] if difficulty else None,
        group_code=table.text("group", "") or None,
    )


def create_contest_from_spec(session: Session, spec: ContestSpec, *, now: datetime) -> Contest:
    """Create the contest a spec describes, with its rounds; nothing is left half-made if the caller rolls back.

    :raises ValidationError: naming the round (or field) that is wrong.
    :raises ConflictError: if the slug is taken.
    """
    if spec.units_under is not None:
        units = units_under(session, units_by_codes(session, [spec.units_under])[0])
    elif spec.unit_codes is None:
        units = list(session.scalars(select(Unit)))
    else:
        units = units_by_codes(session, spec.unit_codes)
    contest = create_contest(
        session,
        slug=spec.slug,
        title=spec.title,
        now=now,
        description=spec.description,
        rules_html=spec.rules_html,
        groups=spec.groups,
        units=units,
        published=spec.published,
        one_prize_per_person=spec.one_prize_per_person,
        standings_mode=spec.standings_mode,
    )
    for index, rules in enumerate(spec.rounds, start=1):
        try:
            add_round(session, contest, rules, now=now)
        except ValidationError as exc:
            raise ValidationError(
                f"Đợt {index} ({rules.title}): {exc.vi}", f"Round {index} ({rules.title}): {exc.en}", field=exc.field
            ) from exc
    return contest


# --- The home page -------------------------------------------------------------------------------


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
