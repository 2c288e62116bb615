"""Question banks, their questions, and each question's immutable versions and choices.

A question's text and choices are never edited in place: an edit adds a
:class:`QuestionVersion` and moves ``Question.current_version`` to it. An attempt's paper points
at the versions it drew, so it keeps showing (and is scored against) exactly what it was shown.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from quiz_engine.extensions import db
from quiz_engine.models.base import TimestampMixin, UTCDateTime, enum_column, utcnow


class Difficulty(enum.StrEnum):
    EASY = "easy"
    MEDIUM = "medium"
    HARD = "hard"


class QuestionBank(TimestampMixin, db.Model):
    __tablename__ = "question_banks"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")

    questions: Mapped[list[Question]] = relationship(back_populates="bank", order_by="Question.code")


class Question(TimestampMixin, db.Model):
    """A bank's question, identified by a stable ``code`` for re-import and upsert."""

    __tablename__ = "questions"
    __table_args__ = (UniqueConstraint("bank_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("question_banks.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    topic: Mapped[str] = mapped_column(String(120), index=True)
    difficulty: Mapped[Difficulty] = mapped_column(enum_column(Difficulty, name="difficulty"))
    is_active: Mapped[bool] = mapped_column(default=True)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("question_versions.id", use_alter=True, name="fk_questions_current_version")
    )

    bank: Mapped[QuestionBank] = relationship(back_populates="questions")
    # post_update: the two rows point at each other, so the link is set by an UPDATE after both
    # INSERTs; a whole import then flushes in one go instead of once per question.
    current_version: Mapped[QuestionVersion | None] = relationship(foreign_keys=[current_version_id], post_update=True)
    versions: Mapped[list[QuestionVersion]] = relationship(
        back_populates="question", foreign_keys="QuestionVersion.question_id", order_by="QuestionVersion.number"
    )


class QuestionVersion(db.Model):
    """What a question said at one time: text, choices, correct answer(s), explanation, source."""

    __tablename__ = "question_versions"
    __table_args__ = (UniqueConstraint("question_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    explanation: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(Text, default="")
    #: Hash of the content, so a re-import can tell "unchanged" without comparing every field.
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    question: Mapped[Question] = relationship(back_populates="versions", foreign_keys=[question_id])
    choices: Mapped[list[Choice]] = relationship(
        back_populates="version", order_by="Choice.position", cascade="all, delete-orphan"
    )

    @property
    def correct_positions(self) -> list[int]:
        return [c.position for c in self.choices if c.is_correct]


class Choice(db.Model):
    """One option of a question version; ``position`` is its place in the bank (0 = A)."""

    __tablename__ = "choices"
    __table_args__ = (UniqueConstraint("version_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("question_versions.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    is_correct: Mapped[bool] = mapped_column(default=False)

    version: Mapped[QuestionVersion] = relationship(back_populates="choices")

    @property
    def letter(self) -> str:
        return "ABCDEF"[self.position]
