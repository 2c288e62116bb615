"""Contests, their eligibility groups, unit lists and organizers, and their rounds' policies."""

from __future__ import annotations

import enum
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
)
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import Mapped, mapped_column, relationship

from quiz_engine.extensions import db
from quiz_engine.models.base import JSONType, TimestampMixin, UTCDateTime, enum_column
from quiz_engine.models.unit import Unit
from quiz_engine.models.user import User

contest_units = Table(
    "contest_units",
    db.metadata,
    Column("contest_id", ForeignKey("contests.id", ondelete="CASCADE"), primary_key=True),
    Column("unit_id", ForeignKey("units.id", ondelete="RESTRICT"), primary_key=True),
)

contest_organizers = Table(
    "contest_organizers",
    db.metadata,
    Column("contest_id", ForeignKey("contests.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)


class StandingsMode(enum.StrEnum):
    SUM = "sum"
    BEST_ROUND = "best_round"


class UnitRanking(enum.StrEnum):
    """How units are ordered for collective prizes."""

    PARTICIPATION = "participation"  # participation rate, then average score
    AVERAGE_SCORE = "average_score"  # average score, then participation rate
    WEIGHTED = "weighted"  # weight × rate + (1 − weight) × average score (both as percentages)


class Contest(TimestampMixin, db.Model):
    __tablename__ = "contests"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    #: Rules as sanitised HTML (organizers write rich text; it is cleaned before it is stored).
    rules_html: Mapped[str] = mapped_column(Text, default="")
    is_published: Mapped[bool] = mapped_column(default=False)
    #: One prize per person across the whole contest.
    one_prize_per_person: Mapped[bool] = mapped_column(default=True)
    standings_mode: Mapped[StandingsMode] = mapped_column(
        enum_column(StandingsMode, name="standings_mode"), default=StandingsMode.SUM
    )
    #: Collective prizes: units below this participation rate (percent) are not ranked.
    unit_min_participation_pct: Mapped[int] = mapped_column(Integer, default=0)
    unit_ranking: Mapped[UnitRanking] = mapped_column(
        enum_column(UnitRanking, name="unit_ranking"), default=UnitRanking.PARTICIPATION
    )
    #: Weight (percent) of the participation rate in the weighted formula.
    unit_participation_weight_pct: Mapped[int] = mapped_column(Integer, default=50)
    #: Branding (services/organising/branding.py): the header colour as ``#rrggbb`` (None: the site's own red),
    #: an optional logo and banner (PNG, JPEG or WebP bytes, loaded only when asked for) and when any
    #: of them last changed, which versions the image and stylesheet URLs for caching.
    brand_color: Mapped[str | None] = mapped_column(String(7))
    logo: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    logo_type: Mapped[str | None] = mapped_column(String(20))
    banner: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    banner_type: Mapped[str | None] = mapped_column(String(20))
    branding_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    groups: Mapped[list[ContestGroup]] = relationship(
        back_populates="contest", order_by="ContestGroup.position", cascade="all, delete-orphan"
    )
    units: Mapped[list[Unit]] = relationship(secondary=contest_units, order_by=Unit.name)
    organizers: Mapped[list[User]] = relationship(secondary=contest_organizers)
    rounds: Mapped[list[Round]] = relationship(
        back_populates="contest", order_by="Round.opens_at", cascade="all, delete-orphan"
    )

    @property
    def branding_version(self) -> str | None:
        """``branding_updated_at`` in microseconds since 1970, the ``?v=`` of the brand's URLs; None if unset."""
        if self.branding_updated_at is None:
            return None
        return str((self.branding_updated_at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1))


class ContestGroup(db.Model):
    """An eligibility group ("Cán bộ, công chức, viên chức", "Nhân dân"), ranked separately if wanted."""

    __tablename__ = "contest_groups"
    __table_args__ = (UniqueConstraint("contest_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(255))
    position: Mapped[int] = mapped_column(Integer, default=0)

    contest: Mapped[Contest] = relationship(back_populates="groups")


class CountingPolicy(enum.StrEnum):
    """Which of a contestant's attempts in a round counts for the ranking."""

    BEST = "best"
    FIRST = "first"
    LAST = "last"


class PredictionKind(enum.StrEnum):
    NONE = "none"
    PARTICIPANTS = "participants"  # how many will take part in the round
    ALL_CORRECT = "all_correct"  # how many will answer every question correctly


class TieBreak(enum.StrEnum):
    CORRECT = "correct"
    PREDICTION = "prediction"
    DURATION = "duration"
    SUBMITTED_AT = "submitted_at"


class LeaderboardVisibility(enum.StrEnum):
    HIDDEN = "hidden"
    FROZEN = "frozen"
    LIVE = "live"


DEFAULT_PRIZE_QUOTAS = (
    {"label": "Giải Nhất", "count": 1},
    {"label": "Giải Nhì", "count": 2},
    {"label": "Giải Ba", "count": 3},
    {"label": "Giải Khuyến khích", "count": 10},
)

DEFAULT_TIE_BREAKS = [TieBreak.CORRECT, TieBreak.PREDICTION, TieBreak.DURATION, TieBreak.SUBMITTED_AT]


class Round(TimestampMixin, db.Model):
    """A round (đợt / tuần thi) and every rule it is run by. Times are stored in UTC."""

    __tablename__ = "rounds"
    __table_args__ = (UniqueConstraint("contest_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(255))
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    time_limit_seconds: Mapped[int] = mapped_column(Integer)
    shuffle_questions: Mapped[bool] = mapped_column(default=True)
    shuffle_choices: Mapped[bool] = mapped_column(default=True)
    #: None means unlimited.
    max_attempts: Mapped[int | None] = mapped_column(Integer)
    max_attempts_per_day: Mapped[int | None] = mapped_column(Integer)
    counting_policy: Mapped[CountingPolicy] = mapped_column(
        enum_column(CountingPolicy, name="counting_policy"), default=CountingPolicy.BEST
    )
    prediction_kind: Mapped[PredictionKind] = mapped_column(
        enum_column(PredictionKind, name="prediction_kind"), default=PredictionKind.NONE
    )
    prediction_prompt: Mapped[str] = mapped_column(Text, default="")
    #: Ordered list of :class:`TieBreak` values.
    tie_breaks: Mapped[list[str]] = mapped_column(JSONType, default=lambda: [t.value for t in DEFAULT_TIE_BREAKS])
    #: Practice rounds are unranked and unlimited, and reveal each answer right after it is given.
    is_practice: Mapped[bool] = mapped_column(default=False)
    leaderboard_visibility: Mapped[LeaderboardVisibility] = mapped_column(
        enum_column(LeaderboardVisibility, name="leaderboard_visibility"), default=LeaderboardVisibility.LIVE
    )
    leaderboard_frozen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reveal_answers_after_close: Mapped[bool] = mapped_column(default=True)
    #: Seconds after the deadline during which an answer still counts (network delay).
    grace_seconds: Mapped[int] = mapped_column(Integer, default=5)
    #: The true value of the prediction question, known at close.
    prediction_actual: Mapped[int | None] = mapped_column(Integer)
    finalized_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Prize quotas for the winners list, in order: ``[{"label": "Giải Nhất", "count": 1}, ...]``.
    prize_quotas: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=lambda: list(DEFAULT_PRIZE_QUOTAS))
    #: Set when Redis missed an update (it was down at a submission); the repair rebuilds and clears it.
    leaderboard_stale_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    contest: Mapped[Contest] = relationship(back_populates="rounds")
    mix: Mapped[list[RoundMixItem]] = relationship(
        back_populates="round", cascade="all, delete-orphan", order_by="RoundMixItem.id"
    )

    @hybrid_method
    def is_open(self, now: datetime) -> bool:
        """Whether contestants may start now; on the class, the same test as a SQL condition."""
        return self.open_between(self.opens_at, self.closes_at, now)

    @is_open.expression
    def _is_open_sql(cls, now: datetime) -> ColumnElement[bool]:
        return and_(cls.opens_at <= now, cls.closes_at > now)

    @staticmethod
    def open_between(opens_at: datetime, closes_at: datetime, now: datetime) -> bool:
        """:meth:`is_open` from the two times, for readers that hold them without the ORM object."""
        return opens_at <= now < closes_at

    def question_count(self, group_id: int | None = None) -> int:
        """Questions on one paper for ``group_id`` (the group's own mix, else the common one)."""
        items = [m for m in self.mix if m.group_id == group_id] or [m for m in self.mix if m.group_id is None]
        return sum(m.count for m in items)


class RoundMixItem(db.Model):
    """Draw ``count`` questions from ``bank`` (optionally one topic and difficulty) for a paper.

    Items with a ``group_id`` replace the common mix for contestants of that group.
    """

    __tablename__ = "round_mix_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("question_banks.id", ondelete="RESTRICT"))
    topic: Mapped[str | None] = mapped_column(String(120))
    difficulty: Mapped[str | None] = mapped_column(String(24))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("contest_groups.id", ondelete="CASCADE"))
    count: Mapped[int] = mapped_column(Integer)

    round: Mapped[Round] = relationship(back_populates="mix")
    group: Mapped[ContestGroup | None] = relationship()
