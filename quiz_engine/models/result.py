"""A round's final ranking and its voided questions."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from quiz_engine.extensions import db
from quiz_engine.models.base import UTCDateTime, enum_column


class RoundResult(db.Model):
    """One contestant's place in a finalised round, with every value the tie-breaks used."""

    __tablename__ = "round_results"
    __table_args__ = (UniqueConstraint("round_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"))
    #: Competition ranking: exact ties share a rank and the next rank is skipped (1, 2, 2, 4).
    rank: Mapped[int] = mapped_column(Integer, index=True)
    correct_count: Mapped[int] = mapped_column(Integer)
    scored_count: Mapped[int] = mapped_column(Integer)
    prediction: Mapped[int | None] = mapped_column(Integer)
    prediction_distance: Mapped[int | None] = mapped_column(Integer)
    duration_ms: Mapped[int] = mapped_column(Integer)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="SET NULL"), index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("contest_groups.id", ondelete="SET NULL"))


class VoidMode(enum.StrEnum):
    COUNT_CORRECT = "count_correct"  # everyone gets the question right
    REMOVE = "remove"  # the question is left out of every score


class VoidedQuestion(db.Model):
    """A question an organizer voided in one round (every version of it drawn there)."""

    __tablename__ = "voided_questions"
    __table_args__ = (UniqueConstraint("round_id", "question_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"))
    mode: Mapped[VoidMode] = mapped_column(enum_column(VoidMode, name="void_mode"))
    voided_at: Mapped[datetime] = mapped_column(UTCDateTime)
    voided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
