"""Question banks: create them and import questions into them, all or nothing.

An import is planned against the bank first; if any row has a problem nothing is written.
Otherwise each question is added, updated by its code (a content change adds a new immutable
version, so past papers are untouched) or left alone. Functions flush; the caller commits.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from quiz_engine.models import Choice, Question, QuestionBank, QuestionVersion
from quiz_engine.services.errors import ValidationError
from quiz_engine.services.question_schema import HEADERS_VI, Problem, QuestionSpec, normalise_text


class Change(enum.StrEnum):
    ADDED = "added"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass
class ImportReport:
    """What an import did (or, for a dry run, would do)."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[Problem] = field(default_factory=list)
    changes: list[tuple[QuestionSpec, Change]] = field(default_factory=list)
    committed: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems


def get_or_create_bank(session: Session, slug: str, title: str | None = None, description: str = "") -> QuestionBank:
    """The bank with ``slug``, created (titled ``title`` or the slug) if it does not exist."""
    bank = session.scalar(select(QuestionBank).where(QuestionBank.slug == slug))
    if bank is None:
        if not slug or len(slug) > 80:
            raise ValidationError("Mã ngân hàng câu hỏi không hợp lệ.", "Invalid question bank slug.")
        bank = QuestionBank(slug=slug, title=title or slug, description=description)
        session.add(bank)
        session.flush()
    return bank


def _existing_questions(session: Session, bank_id: int) -> dict[str, Question]:
    stmt = (
        select(Question)
        .where(Question.bank_id == bank_id)
        .options(selectinload(Question.current_version).selectinload(QuestionVersion.choices))
    )
    return {q.code.casefold(): q for q in session.scalars(stmt)}


def _plan(specs: list[QuestionSpec], existing: dict[str, Question], report: ImportReport) -> None:
    by_text = {normalise_text(q.current_version.text): q for q in existing.values() if q.current_version is not None}
    for spec in specs:
        current = existing.get(spec.code.casefold())
        twin = by_text.get(normalise_text(spec.text))
        if twin is not None and twin is not current:
            report.problems.append(
                Problem(
                    spec.row,
                    HEADERS_VI["question"],
                    f"câu hỏi đã có trong ngân hàng với mã {twin.code}.",
                    f"the question is already in the bank as {twin.code}.",
                )
            )
            continue
        if current is None:
            change = Change.ADDED
        elif (
            current.current_version is None
            or current.current_version.content_hash != spec.content_hash
            or (current.topic, current.difficulty, current.is_active) != (spec.topic, spec.difficulty, spec.active)
        ):
            change = Change.UPDATED
        else:
            change = Change.UNCHANGED
        report.changes.append((spec, change))
        setattr(report, change.value, getattr(report, change.value) + 1)


def import_questions(
    session: Session,
    bank: QuestionBank,
    specs: list[QuestionSpec],
    *,
    now: datetime,
    problems: list[Problem] | None = None,
    dry_run: bool = False,
) -> ImportReport:
    """Add or update ``specs`` in ``bank`` by code, unless anything is wrong.

    :param problems: problems the parser already found; any of them means nothing is written.
    :param dry_run: only report what would happen.
    :return: the report; ``committed`` tells whether rows were written (and flushed).
    """
    report = ImportReport(problems=list(problems or []))
    existing = _existing_questions(session, bank.id)
    _plan(specs, existing, report)
    if dry_run or report.problems:
        return report
    for spec, change in report.changes:
        if change is Change.ADDED:
            question = Question(bank=bank, code=spec.code, created_at=now)
            session.add(question)
            _apply(session, question, spec, now, new_version=True)
        elif change is Change.UPDATED:
            question = existing[spec.code.casefold()]
            version = question.current_version
            _apply(
                session, question, spec, now, new_version=version is None or version.content_hash != spec.content_hash
            )
    bank.updated_at = now
    session.flush()
    report.committed = True
    return report


def _apply(session: Session, question: Question, spec: QuestionSpec, now: datetime, *, new_version: bool) -> None:
    question.topic = spec.topic
    question.difficulty = spec.difficulty
    question.is_active = spec.active
    question.retired_at = None if spec.active else (question.retired_at or now)
    question.updated_at = now
    if not new_version:
        return
    number = 1 + max((v.number for v in question.versions), default=0)
    version = QuestionVersion(
        question=question,
        number=number,
        text=spec.text,
        explanation=spec.explanation,
        source=spec.source,
        content_hash=spec.content_hash,
        created_at=now,
        choices=[Choice(position=i, text=t, is_correct=i in spec.correct) for i, t in enumerate(spec.choices)],
    )
    session.add(version)
    session.flush()  # the version needs its id before the question can point at it
    question.current_version = version
