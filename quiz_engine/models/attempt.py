"""Registrations and attempts: the paper a contestant drew, their answers, score and timings."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from quiz_engine.extensions import db
from quiz_engine.models.bank import QuestionVersion
from quiz_engine.models.base import JSONType, UTCDateTime, enum_column, utcnow
from quiz_engine.models.contest import Round


class Registration(db.Model):
    """A person's entry in a contest: the group and unit they compete for."""

    __tablename__ = "registrations"
    __table_args__ = (UniqueConstraint("contest_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("contest_groups.id", ondelete="SET NULL"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="SET NULL"), index=True)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AttemptStatus(enum.StrEnum):
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"  # by the contestant
    EXPIRED = "expired"  # closed by the server at the deadline
    VOID = "void"  # cancelled by an organizer


#: An attempt that is over and scored (by the contestant's submission or by the deadline).
CLOSED_STATUSES = (AttemptStatus.SUBMITTED, AttemptStatus.EXPIRED)


class Attempt(db.Model):
    """One sitting of a round. Unit and group are copied at start so statistics never shift."""

    __tablename__ = "attempts"
    __table_args__ = (
        UniqueConstraint("round_id", "user_id", "number"),
        # At most one attempt in progress per contestant, enforced by the database itself.
        Index(
            "uq_attempts_one_in_progress",
            "user_id",
            unique=True,
            sqlite_where=text("status = 'in_progress'"),
            postgresql_where=text("status = 'in_progress'"),
        ),
        Index("ix_attempts_round_status", "round_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: 1 for the contestant's first attempt in this round, 2 for the second, ...
    number: Mapped[int] = mapped_column(Integer)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="SET NULL"), index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("contest_groups.id", ondelete="SET NULL"))
    status: Mapped[AttemptStatus] = mapped_column(
        enum_column(AttemptStatus, name="attempt_status"), default=AttemptStatus.IN_PROGRESS
    )
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: The earlier of start + time limit and the round's close.
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Server submit time minus server start time.
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    question_count: Mapped[int] = mapped_column(Integer)
    correct_count: Mapped[int | None] = mapped_column(Integer)
    #: Questions that count: the paper's, less any an organizer removed from scoring.
    scored_count: Mapped[int | None] = mapped_column(Integer)
    prediction: Mapped[int | None] = mapped_column(Integer)
    scored_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ip_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(255))

    items: Mapped[list[AttemptItem]] = relationship(
        back_populates="attempt", order_by="AttemptItem.position", cascade="all, delete-orphan"
    )
    round: Mapped[Round] = relationship()


class AttemptItem(db.Model):
    """One question of a paper as shown, and the answer given to it.

    ``choice_order`` lists the version's choice positions in display order, so the paper can be
    shown again identically; ``selected`` holds the chosen positions (bank order).
    """

    __tablename__ = "attempt_items"
    __table_args__ = (UniqueConstraint("attempt_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    question_version_id: Mapped[int] = mapped_column(ForeignKey("question_versions.id", ondelete="RESTRICT"))
    choice_order: Mapped[list[int]] = mapped_column(JSONType)
    selected: Mapped[list[int] | None] = mapped_column(JSONType)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    is_correct: Mapped[bool | None] = mapped_column()
    #: An organizer voided the question for this round (counted correct, or left out of scoring).
    is_void: Mapped[bool] = mapped_column(default=False)

    attempt: Mapped[Attempt] = relationship(back_populates="items")
    question_version: Mapped[QuestionVersion] = relationship()
