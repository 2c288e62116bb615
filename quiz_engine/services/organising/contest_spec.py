"""The TOML contest spec of ``flask quiz create-contest``: reading it, and creating the contest it describes."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from quiz_engine.models import (
    DEFAULT_TIE_BREAKS,
    Contest,
    CountingPolicy,
    LeaderboardVisibility,
    PredictionKind,
    StandingsMode,
    TieBreak,
    Unit,
)
from quiz_engine.services.catalogue.question_schema import DIFFICULTY_WORDS, fold
from quiz_engine.services.errors import ValidationError
from quiz_engine.services.organising.contests import ContestDetails, create_contest
from quiz_engine.services.organising.rounds import MixItem, RoundRules, add_round
from quiz_engine.services.organising.units import units_by_codes, units_under


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
    details = ContestDetails(
        title=spec.title,
        description=spec.description,
        rules_html=spec.rules_html,
        groups=spec.groups,
        units=units,
        published=spec.published,
        one_prize_per_person=spec.one_prize_per_person,
        standings_mode=spec.standings_mode,
    )
    contest = create_contest(session, spec.slug, details, now=now)
    for index, rules in enumerate(spec.rounds, start=1):
        try:
            add_round(session, contest, rules, now=now)
        except ValidationError as exc:
            raise ValidationError(
                f"Đợt {index} ({rules.title}): {exc.vi}", f"Round {index} ({rules.title}): {exc.en}", field=exc.field
            ) from exc
    return contest
