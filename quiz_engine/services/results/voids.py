"""Voiding a flawed question in a round: counted correct for everyone, or left out of scoring.

Every affected attempt is re-scored from the database, a final ranking is recomputed if the round
was final; the caller commits, then rebuilds the round's Redis boards (``scoring.rebuild_round``)
so they match. Functions flush; the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, delete, func, select
from sqlalchemy.orm import Session

from quiz_engine.models import (
    CLOSED_STATUSES,
    Attempt,
    AttemptItem,
    Question,
    QuestionVersion,
    Round,
    VoidedQuestion,
    VoidMode,
)
from quiz_engine.services.errors import NotFoundError
from quiz_engine.services.people import audit
from quiz_engine.services.results import rankings
from quiz_engine.services.taking import attempts


@dataclass(frozen=True)
class RoundQuestion:
    """A question drawn in a round, with how it went."""

    question: Question
    papers: int
    answered_right: int
    void: VoidMode | None


def round_questions(session: Session, round_: Round) -> list[RoundQuestion]:
    """Every question drawn in the round with its number of papers and right answers (closed attempts)."""
    rows = session.execute(
        select(
            QuestionVersion.question_id,
            func.count(AttemptItem.id),
            func.sum(case((AttemptItem.is_correct.is_(True), 1), else_=0)),
        )
        .join(AttemptItem, AttemptItem.question_version_id == QuestionVersion.id)
        .join(Attempt, Attempt.id == AttemptItem.attempt_id)
        .where(Attempt.round_id == round_.id)
        .group_by(QuestionVersion.question_id)
    ).all()
    voided = dict(
        session.execute(
            select(VoidedQuestion.question_id, VoidedQuestion.mode).where(VoidedQuestion.round_id == round_.id)
        ).all()
    )
    questions = {q.id: q for q in session.scalars(select(Question).where(Question.id.in_([r[0] for r in rows])))}
    return sorted(
        (RoundQuestion(questions[qid], papers, int(right or 0), voided.get(qid)) for qid, papers, right in rows),
        key=lambda rq: rq.question.code,
    )


def _rescore(session: Session, round_: Round, question_id: int, now: datetime) -> int:
    affected = list(
        session.scalars(
            select(Attempt)
            .join(AttemptItem, AttemptItem.attempt_id == Attempt.id)
            .join(QuestionVersion, QuestionVersion.id == AttemptItem.question_version_id)
            .where(
                Attempt.round_id == round_.id,
                Attempt.status.in_(CLOSED_STATUSES),
                QuestionVersion.question_id == question_id,
            )
            .distinct()
        )
    )
    for attempt in affected:
        attempt.correct_count, attempt.scored_count = attempts.score_items(session, attempt)
    session.flush()
    if round_.finalized_at is not None:
        rankings.finalize_round(session, round_, now)
    return len(affected)


def void_question(
    session: Session, round_: Round, question_id: int, mode: VoidMode, *, actor_id: int | None, now: datetime
) -> int:
    """Void (or change how) a question counts in ``round_``; return the number of attempts re-scored.

    :raises NotFoundError: if the question was not drawn in this round.
    """
    drawn = session.scalar(
        select(AttemptItem.id)
        .join(Attempt)
        .join(QuestionVersion)
        .where(Attempt.round_id == round_.id, QuestionVersion.question_id == question_id)
        .limit(1)
    )
    if drawn is None:
        raise NotFoundError("Câu hỏi này không có trong đề của đợt thi.", "The question was not drawn in this round.")
    existing = session.scalar(
        select(VoidedQuestion).where(VoidedQuestion.round_id == round_.id, VoidedQuestion.question_id == question_id)
    )
    if existing is None:
        session.add(
            VoidedQuestion(round_id=round_.id, question_id=question_id, mode=mode, voided_at=now, voided_by=actor_id)
        )
    else:
        existing.mode, existing.voided_at, existing.voided_by = mode, now, actor_id
    session.flush()
    return _rescore(session, round_, question_id, now)


def restore_question(session: Session, round_: Round, question_id: int, *, now: datetime) -> int:
    """Undo a void: the question is scored normally again; return the number of attempts re-scored."""
    session.execute(
        delete(VoidedQuestion).where(VoidedQuestion.round_id == round_.id, VoidedQuestion.question_id == question_id)
    )
    session.flush()
    return _rescore(session, round_, question_id, now)


def change(
    session: Session,
    round_: Round,
    question_id: int,
    mode: VoidMode | None,
    *,
    now: datetime,
    actor_id: int | None = None,
    origin: audit.Origin = audit.CLI,
) -> int:
    """Void a question with ``mode``, or restore it (``mode`` None), recording who did; return the number of
    attempts re-scored. The caller commits, then rebuilds the round's boards (``scoring.rebuild_round``).

    :raises NotFoundError: if voiding a question that was not drawn in this round.
    """
    if mode is None:
        count = restore_question(session, round_, question_id, now=now)
    else:
        count = void_question(session, round_, question_id, mode, actor_id=actor_id, now=now)
    audit.record(
        session,
        "round.restore_question" if mode is None else "round.void_question",
        now=now,
        actor_id=actor_id,
        target=("round", round_.id),
        origin=origin,
        question_id=question_id,
        mode=mode.value if mode is not None else None,
        rescored=count,
    )
    return count
