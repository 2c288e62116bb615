"""An attempt's outcome as its contestant sees it on the result page, gathered in one call: the score and
corrections, their place in the round, the time taken, a word of encouragement by how well they did, and the
way on (the next round to open, or a round open now that they may still take).

Reads only: nothing is flushed or committed. The place comes from the leaderboard the public may see
(:func:`boards.board_for`); when that board is hidden, not yet holding the contestant, or Redis cannot be
read, the place is *pending*, never an error.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import redis
from sqlalchemy.orm import Session

from quiz_engine.models import Attempt, AttemptStatus, Round
from quiz_engine.services.organising import contests
from quiz_engine.services.results import boards
from quiz_engine.services.taking import attempts
from quiz_engine.services.taking.attempts import AttemptResult


class RankState(enum.StrEnum):
    RANKED = "ranked"  # the place is known and may be shown
    PENDING = "pending"  # the board is hidden, not holding the contestant yet, or cannot be read now
    UNRANKED = "unranked"  # practice rounds and voided attempts are not ranked


class Encouragement(enum.StrEnum):
    """How well the attempt went, by the share of counted questions answered right (the page words it)."""

    PERFECT = "perfect"  # every question right
    EXCELLENT = "excellent"  # at least 80 %
    GOOD = "good"  # at least half
    KEEP_GOING = "keep_going"  # less than half


#: Lowest share of right answers for each tier below PERFECT, best first.
ENCOURAGEMENT_TIERS = ((0.8, Encouragement.EXCELLENT), (0.5, Encouragement.GOOD), (0.0, Encouragement.KEEP_GOING))


@dataclass(frozen=True)
class Outcome:
    result: AttemptResult
    rank_state: RankState
    #: The contestant's place on the board (their counting attempt's, ties sharing it) and the board's size.
    rank: int | None
    ranked: int
    #: Time taken as ``mm:ss``; None when the attempt has no duration.
    time_taken: str | None
    encouragement: Encouragement | None
    #: The contest's next ranked round to open, if any.
    next_round: Round | None
    #: A ranked round open now in which the contestant may still start an attempt (another round first).
    open_round: Round | None
    #: Attempts the contestant has left in ``open_round``; None when unlimited.
    attempts_left: int | None


def gather(
    session: Session, client: redis.Redis, prefix: str, attempt: Attempt, *, now: datetime, tz: ZoneInfo
) -> Outcome:
    """Everything the result page of the closed ``attempt`` shows (``tz``: where "attempts per day" count)."""
    result = attempts.attempt_result(session, attempt, now)
    round_ = result.round
    rank_state, rank, ranked = _placing(session, client, prefix, attempt, round_, now)
    open_round, left = _open_round(session, attempt.user_id, round_, now, tz)
    return Outcome(
        result=result,
        rank_state=rank_state,
        rank=rank,
        ranked=ranked,
        time_taken=None if attempt.duration_ms is None else format_duration(attempt.duration_ms),
        encouragement=encouragement_for(attempt),
        next_round=contests.next_round(round_.contest, now),
        open_round=open_round,
        attempts_left=left,
    )


def format_duration(duration_ms: int) -> str:
    """``mm:ss`` (whole seconds, rounded down: 7 min 32.9 s is 07:32)."""
    minutes, seconds = divmod(duration_ms // 1000, 60)
    return f"{minutes:02d}:{seconds:02d}"


def encouragement_for(attempt: Attempt) -> Encouragement | None:
    """The tier of a scored attempt, out of the questions that count (voided ones left out); None if void."""
    if attempt.status is AttemptStatus.VOID or attempt.correct_count is None:
        return None
    counted = attempt.scored_count if attempt.scored_count is not None else attempt.question_count
    if counted > 0 and attempt.correct_count >= counted:
        return Encouragement.PERFECT
    share = attempt.correct_count / counted if counted else 0.0
    return next(tier for floor, tier in ENCOURAGEMENT_TIERS if share >= floor)


def _placing(
    session: Session, client: redis.Redis, prefix: str, attempt: Attempt, round_: Round, now: datetime
) -> tuple[RankState, int | None, int]:
    if round_.is_practice or attempt.status is AttemptStatus.VOID:
        return RankState.UNRANKED, None, 0
    try:  # the public's board: a hidden one tells the contestant nothing either
        board = boards.board_for(session, client, prefix, round_, now=now, viewer_id=attempt.user_id, limit=1)
    except (redis.RedisError, OSError):
        return RankState.PENDING, None, 0
    if board.kind is boards.BoardKind.HIDDEN or board.mine is None:
        return RankState.PENDING, None, board.total
    return RankState.RANKED, board.mine.rank, board.total


def _open_round(
    session: Session, user_id: int, round_: Round, now: datetime, tz: ZoneInfo
) -> tuple[Round | None, int | None]:
    """The first ranked round open now that the contestant may still start, preferring another round to
    this one, with the attempts they have left in it (None: unlimited); the limits are those a start applies."""
    candidates = sorted(
        (r for r in round_.contest.rounds if r.is_open(now) and not r.is_practice),
        key=lambda r: (r.id == round_.id, r.opens_at, r.number),
    )
    for candidate in candidates:
        used, today = attempts.attempts_used(session, candidate, user_id, now, tz)
        if attempts.limit_reached(candidate.max_attempts, candidate.max_attempts_per_day, used, today) is None:
            return candidate, None if candidate.max_attempts is None else candidate.max_attempts - used
    return None, None
