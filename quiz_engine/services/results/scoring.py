"""Scoring glue between the database (the record) and the Redis boards (a projection of it).

- the answer key goes to Redis per paper when an attempt opens (voided questions as ``*``/``-``);
- a closed attempt's :func:`board_entry` is taken before the commit; once the database has committed it,
  :func:`apply_entry` runs the Lua scoring; if Redis is unreachable the round is marked stale instead,
  and :func:`repair_stale` (run by the periodic maintenance) or :func:`rebuild_round` puts it right from
  the database.
Functions flush; the caller commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import redis
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from quiz_engine.models import (
    CLOSED_STATUSES,
    Attempt,
    AttemptItem,
    AttemptStatus,
    Round,
    VoidMode,
)
from quiz_engine.services.results import leaderboards
from quiz_engine.services.taking import grading
from quiz_engine.services.taking.attempts import accept_until, voids


def key_entries(
    session: Session, round_id: int, version_ids: Iterable[int], voided: dict[int, VoidMode] | None = None
) -> dict[int, str]:
    """Answer-key entries (:mod:`grading`) for question versions, the round's voids applied (``voided``: read
    here if not given)."""
    wanted = list(version_ids)
    if wanted and voided is None:
        voided = voids(session, round_id)
    return grading.answer_key(session, wanted, voided)


def load_paper_key(session: Session, client: redis.Redis, prefix: str, attempt: Attempt) -> None:
    """Make sure Redis knows the answers of every question on ``attempt``'s paper; count the start."""
    entries = key_entries(session, attempt.round_id, [i.question_version_id for i in attempt.items])
    leaderboards.load_answer_key(client, prefix, attempt.round_id, entries)
    leaderboards.mark_started(client, prefix, attempt.round_id, attempt.id, attempt.unit_id)


def _scored(attempt: Attempt, round_: Round) -> leaderboards.ScoredAttempt:
    assert attempt.submitted_at is not None and attempt.duration_ms is not None
    return leaderboards.ScoredAttempt(
        attempt_id=attempt.id,
        user_id=attempt.user_id,
        unit_id=attempt.unit_id,
        accept_until=accept_until(attempt, round_),
        duration_ms=attempt.duration_ms,
        submitted_s=leaderboards.seconds_since_open(attempt.submitted_at, round_.opens_at),
        version_ids=[i.question_version_id for i in sorted(attempt.items, key=lambda i: i.position)],
    )


@dataclass(frozen=True)
class BoardEntry:
    """What the boards need of a closed attempt, taken before the commit (which expires the ORM objects)."""

    round_id: int
    #: The round's counting policy; None for a practice round, which has no board.
    policy: str | None
    key: dict[int, str]
    scored: leaderboards.ScoredAttempt | None


def board_entry(session: Session, attempt: Attempt, round_: Round, voided: dict[int, VoidMode]) -> BoardEntry:
    """The board entry of an attempt just closed (:func:`attempts.submit_attempt`), from what is loaded and the
    round's ``voided`` questions as the closing used them."""
    if round_.is_practice:
        return BoardEntry(round_.id, None, {}, None)
    scored = _scored(attempt, round_)
    key = key_entries(session, round_.id, scored.version_ids, voided)
    return BoardEntry(round_.id, round_.counting_policy.value, key, scored)


def apply_entry(session: Session, client: redis.Redis, prefix: str, entry: BoardEntry, now: datetime) -> bool:
    """Score a committed attempt into the Redis boards; on a Redis failure mark the round stale (caller commits).

    :return: True if Redis took it (or the round has no board).
    """
    if entry.policy is None or entry.scored is None:
        return True
    try:
        # The key was loaded when the attempt opened; loading it again costs one HSET and makes scoring
        # right even if Redis lost it since (a restart without persistence, a FLUSHALL).
        leaderboards.load_answer_key(client, prefix, entry.round_id, entry.key)
        leaderboards.score_attempt(client, prefix, entry.round_id, entry.policy, entry.scored)
    except (redis.RedisError, OSError):
        session.execute(
            update(Round)
            .where(Round.id == entry.round_id, Round.leaderboard_stale_at.is_(None))
            .values(leaderboard_stale_at=now)
            .execution_options(synchronize_session=False)
        )
        return False
    return True


def closed_attempts(session: Session, round_: Round) -> list[leaderboards.ClosedAttempt]:
    """Every submitted or expired attempt of the round, as the boards need it."""
    stmt = (
        select(Attempt).where(Attempt.round_id == round_.id, Attempt.status.in_(CLOSED_STATUSES)).order_by(Attempt.id)
    )
    return [
        leaderboards.ClosedAttempt(
            attempt_id=a.id,
            user_id=a.user_id,
            unit_id=a.unit_id,
            correct=a.correct_count or 0,
            counted=a.scored_count if a.scored_count is not None else a.question_count,
            duration_ms=a.duration_ms or 0,
            submitted_s=leaderboards.seconds_since_open(a.submitted_at or a.started_at, round_.opens_at),
        )
        for a in session.scalars(stmt)
    ]


def rebuild_round(session: Session, client: redis.Redis, prefix: str, round_: Round) -> None:
    """Rebuild the round's boards, counters and answer key from the database; clears the stale mark.

    Rebuilds of one round take turns (a Redis lock, so voids, the CLI and every instance's maintenance
    cannot interleave their swaps), and attempts closed while this one read the database are scored
    in afterwards, so none drops off the live board.
    """
    with leaderboards.rebuild_lock(client, prefix, round_.id):
        _rebuild(session, client, prefix, round_)
        late = leaderboards.unscored(
            client,
            prefix,
            round_.id,
            list(
                session.scalars(
                    select(Attempt.id).where(Attempt.round_id == round_.id, Attempt.status.in_(CLOSED_STATUSES))
                )
            ),
        )
        for attempt_id in late:
            attempt = session.get(Attempt, attempt_id, populate_existing=True)
            leaderboards.score_attempt(
                client, prefix, round_.id, round_.counting_policy.value, _scored(attempt, round_)
            )
    round_.leaderboard_stale_at = None
    session.flush()


def _rebuild(session: Session, client: redis.Redis, prefix: str, round_: Round) -> None:
    started = [
        (a, u)
        for a, u in session.execute(
            select(Attempt.id, Attempt.unit_id).where(
                Attempt.round_id == round_.id, Attempt.status != AttemptStatus.VOID
            )
        )
    ]
    in_progress = (
        session.scalar(
            select(func.count(Attempt.id)).where(
                Attempt.round_id == round_.id, Attempt.status == AttemptStatus.IN_PROGRESS
            )
        )
        or 0
    )
    drawn = session.scalars(
        select(AttemptItem.question_version_id).join(Attempt).where(Attempt.round_id == round_.id).distinct()
    )
    leaderboards.replace_answer_key(client, prefix, round_.id, key_entries(session, round_.id, drawn))
    leaderboards.rebuild(
        client,
        prefix,
        round_.id,
        round_.counting_policy.value,
        closed_attempts(session, round_),
        started=started,
        in_progress=in_progress,
    )


def repair_stale(session: Session, client: redis.Redis, prefix: str) -> list[int]:
    """Rebuild every round marked stale (Redis missed an update); return their ids."""
    repaired = []
    for round_ in session.scalars(select(Round).where(Round.leaderboard_stale_at.is_not(None))):
        rebuild_round(session, client, prefix, round_)
        repaired.append(round_.id)
    return repaired
