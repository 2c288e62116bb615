"""Rankings: the one rule for ordering contestants, and which source answers which question.

**The order.** Each contestant's counting attempt (best, first or last, as the round says) is ranked by
the round's tie-break order, a list chosen from: more correct answers (always first); prediction closer
to the true value (no prediction ranks after any prediction); shorter time taken; earlier submission.
Contestants equal on every rule share a rank and the next rank is skipped (1, 2, 2, 4).

The prediction's true value is known only at close: the number of contestants who took part
(``participants``), or the number whose counting attempt had every question right (``all_correct``).
Until then the prediction rule is skipped.

**The sources.** Three hold a ranking; which one answers depends on the question and the round's state:

- a board on screen, or a contestant's own rank: the live Redis board until the round is final, then
  the stored ranking;
- the leaderboard and winners exports: computed from the database until the round is final, then the
  stored ranking;
- certificates and the personal-data download: the stored ranking (they exist only for final rounds).

- *The stored ranking* (``round_results``) is written once by :func:`finalize_round` from the same rule,
  and read in :func:`stored` order. It never changes afterwards except by an organizer's void.
- *The live Redis board* (``leaderboards``) is a projection kept current at every submission, read in
  O(log N) at any load. It orders by correct answers, then time taken, then submission (the default
  order without the prediction), whatever order the round chose; ``boards`` decides who may see it.
- *Computed* (:func:`rank_round`) reads every counting attempt from the database: exact for any order,
  too costly for every page view, right for an export.

:func:`source` states the table in code; ``boards`` and ``exports`` ask it rather than decide themselves.
Functions flush; the caller commits.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, delete, select
from sqlalchemy.orm import Session

from quiz_engine.models import Attempt, AttemptStatus, PredictionKind, Round, RoundResult, TieBreak
from quiz_engine.services.errors import ConflictError
from quiz_engine.services.results import leaderboards, scoring

NO_PREDICTION = 2**62
#: Rows read at a time from a stored ranking (an export may hold a hundred thousand).
BATCH = 2000


class Source(enum.StrEnum):
    STORED = "stored"
    LIVE = "live"
    COMPUTED = "computed"


def source(round_: Round, *, on_screen: bool) -> Source:
    """Which source answers: a board on screen (``on_screen``) or an export (see the module docstring)."""
    if round_.finalized_at is not None:
        return Source.STORED
    return Source.LIVE if on_screen else Source.COMPUTED


def stored(round_id: int) -> Select[tuple[RoundResult]]:
    """The stored ranking of a final round, in rank order (ties by user id, as :func:`rank_round` breaks them)."""
    return select(RoundResult).where(RoundResult.round_id == round_id).order_by(RoundResult.rank, RoundResult.user_id)


@dataclass(frozen=True)
class Entry:
    attempt: Attempt
    distance: int | None


def counting_attempts(session: Session, round_: Round) -> list[Attempt]:
    """Each contestant's counting attempt (best, first or last, as the round says)."""
    closed = scoring.closed_attempts(session, round_)
    chosen = leaderboards.counting_attempts(closed, round_.counting_policy.value)
    # closed_attempts loaded these rows: get() answers from the session without another query
    return [session.get(Attempt, c.attempt_id) for c in chosen.values()]


def true_prediction_value(round_: Round, counted: list[Attempt]) -> int | None:
    """The figure contestants tried to predict, from the round's counting attempts."""
    if round_.prediction_kind is PredictionKind.PARTICIPANTS:
        return len(counted)
    if round_.prediction_kind is PredictionKind.ALL_CORRECT:
        return sum(1 for a in counted if a.correct_count == (a.scored_count or a.question_count))
    return None


def _sort_key(rules: list[TieBreak]) -> Callable[[Entry], tuple[int | float, ...]]:
    def key(entry: Entry) -> tuple[int | float, ...]:
        a = entry.attempt
        parts: list[int | float] = []
        for rule in rules:
            if rule is TieBreak.CORRECT:
                parts.append(-(a.correct_count or 0))
            elif rule is TieBreak.PREDICTION:
                parts.append(NO_PREDICTION if entry.distance is None else entry.distance)
            elif rule is TieBreak.DURATION:
                parts.append(a.duration_ms or 0)
            else:
                parts.append((a.submitted_at or a.started_at).timestamp())
        return tuple(parts)

    return key


def rank_round(session: Session, round_: Round) -> list[tuple[int, Entry]]:
    """The final order as ``(rank, entry)`` pairs, without writing anything."""
    counted = counting_attempts(session, round_)
    actual = true_prediction_value(round_, counted)
    rules = [TieBreak(t) for t in round_.tie_breaks]
    if actual is None:
        rules = [r for r in rules if r is not TieBreak.PREDICTION]
    entries = [
        Entry(a, None if actual is None or a.prediction is None else abs(a.prediction - actual)) for a in counted
    ]
    key = _sort_key(rules)
    entries.sort(key=lambda e: (key(e), e.attempt.user_id))
    ranked: list[tuple[int, Entry]] = []
    for index, entry in enumerate(entries, start=1):
        same = ranked and key(ranked[-1][1]) == key(entry)
        ranked.append((ranked[-1][0] if same else index, entry))
    return ranked


def finalize_round(session: Session, round_: Round, now: datetime) -> int:
    """Compute the true prediction value and the final ranking, store them, mark the round final.

    :raises ConflictError: before the round has closed or while attempts are still in progress.
    :return: the number of ranked contestants.
    """
    if now < round_.closes_at:
        raise ConflictError("Đợt thi chưa kết thúc.", "The round has not closed yet.")
    running = session.scalar(
        select(Attempt.id).where(Attempt.round_id == round_.id, Attempt.status == AttemptStatus.IN_PROGRESS).limit(1)
    )
    if running is not None:
        raise ConflictError(
            "Còn bài thi chưa đóng; hãy chạy close-overdue trước.",
            "Some attempts are still open; run close-overdue first.",
        )
    ranked = rank_round(session, round_)
    round_.prediction_actual = true_prediction_value(round_, [e.attempt for _r, e in ranked])
    session.execute(delete(RoundResult).where(RoundResult.round_id == round_.id))
    session.add_all(
        RoundResult(
            round_id=round_.id,
            user_id=e.attempt.user_id,
            attempt_id=e.attempt.id,
            rank=rank,
            correct_count=e.attempt.correct_count or 0,
            scored_count=e.attempt.scored_count if e.attempt.scored_count is not None else e.attempt.question_count,
            prediction=e.attempt.prediction,
            prediction_distance=e.distance,
            duration_ms=e.attempt.duration_ms or 0,
            submitted_at=e.attempt.submitted_at or e.attempt.started_at,
            unit_id=e.attempt.unit_id,
            group_id=e.attempt.group_id,
        )
        for rank, e in ranked
    )
    round_.finalized_at = now
    session.flush()
    return len(ranked)


def rounds_to_finalize(session: Session, now: datetime) -> list[Round]:
    """Closed, ranked rounds not finalised yet whose attempts are all closed."""
    candidates = session.scalars(
        select(Round).where(Round.closes_at <= now, Round.finalized_at.is_(None), Round.is_practice.is_(False))
    )
    return [
        r
        for r in candidates
        if session.scalar(
            select(Attempt.id).where(Attempt.round_id == r.id, Attempt.status == AttemptStatus.IN_PROGRESS).limit(1)
        )
        is None
    ]


@dataclass(frozen=True)
class RankedRow:
    rank: int
    user_id: int
    attempt: Attempt | None
    correct: int
    duration_ms: int
    prediction: int | None
    distance: int | None
    submitted_at: datetime
    unit_id: int | None
    group_id: int | None


def ranked_rows(session: Session, round_: Round) -> Iterator[RankedRow]:
    """The ranking for an export: the stored one once the round is final, else computed as it stands now."""
    if source(round_, on_screen=False) is Source.STORED:
        result = session.scalars(stored(round_.id).execution_options(yield_per=BATCH))
        try:  # a reader may stop early (the winners list): the server-side cursor must still close
            for r in result:
                yield RankedRow(
                    r.rank,
                    r.user_id,
                    None,
                    r.correct_count,
                    r.duration_ms,
                    r.prediction,
                    r.prediction_distance,
                    r.submitted_at,
                    r.unit_id,
                    r.group_id,
                )
        finally:
            result.close()
        return
    for rank, entry in rank_round(session, round_):
        a = entry.attempt
        yield RankedRow(
            rank,
            a.user_id,
            a,
            a.correct_count or 0,
            a.duration_ms or 0,
            a.prediction,
            entry.distance,
            a.submitted_at or a.started_at,
            a.unit_id,
            a.group_id,
        )
