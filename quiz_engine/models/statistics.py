"""Question statistics kept per round: the figures of the last computation and what they were computed from."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from quiz_engine.extensions import db
from quiz_engine.models.base import JSONType, UTCDateTime


class RoundStatistics(db.Model):
    """When a round's question statistics were last computed, and from which answers (``basis``).

    The basis names the closed attempts, their last scoring and the round's voids; while it holds, the
    stored figures are current and nothing is computed again.
    """

    __tablename__ = "round_statistics"

    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), primary_key=True)
    basis: Mapped[str] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(Integer)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    seconds: Mapped[float] = mapped_column(Float)


class QuestionStatistic(db.Model):
    """One question's figures in one round; summed over rounds they are the question's lifetime figures."""

    __tablename__ = "question_statistics"

    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), primary_key=True)
    question_id: Mapped[int] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    seen: Mapped[int] = mapped_column(Integer)
    correct: Mapped[int] = mapped_column(Integer)
    blank: Mapped[int] = mapped_column(Integer)
    point_biserial: Mapped[float | None] = mapped_column(Float)
    discrimination: Mapped[float | None] = mapped_column(Float)
    #: Flag codes (``wrong_key``, ``too_easy``, ``too_hard``, ``unpicked_option``).
    flags: Mapped[list[str]] = mapped_column(JSONType)
    #: Everything else the round's page shows (options, bands, time to answer), as the service computed it.
    figures: Mapped[dict[str, Any]] = mapped_column(JSONType)
