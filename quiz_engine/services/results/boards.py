"""What a leaderboard shows to whom: live, frozen or hidden for the public, live for organizers,
and the stored final ranking once the round is final (the sources are ``rankings``'s rule). Names are
masked for the public.

Reading the live board costs Redis calls only, plus one query for the names of the rows shown.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

import redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from quiz_engine.models import LeaderboardVisibility, Round, RoundResult, Unit, User
from quiz_engine.services.people.names import mask_name
from quiz_engine.services.results import leaderboards, rankings, scoring
from quiz_engine.services.results.leaderboards import RoundKeys


class BoardKind(enum.StrEnum):
    LIVE = "live"
    FROZEN = "frozen"
    FINAL = "final"
    HIDDEN = "hidden"


@dataclass(frozen=True)
class Row:
    rank: int
    user_id: int
    name: str
    unit: str
    correct: int
    duration_ms: int


@dataclass(frozen=True)
class Board:
    kind: BoardKind
    rows: list[Row]
    total: int
    mine: Row | None
    frozen_at: datetime | None = None


def _kind(round_: Round, now: datetime, organizer: bool) -> BoardKind:
    if rankings.source(round_, on_screen=True) is rankings.Source.STORED:
        return BoardKind.FINAL
    if organizer or round_.leaderboard_visibility is LeaderboardVisibility.LIVE:
        return BoardKind.LIVE
    if (
        round_.leaderboard_visibility is LeaderboardVisibility.FROZEN
        and round_.leaderboard_frozen_at
        and (now >= round_.leaderboard_frozen_at)
    ):
        return BoardKind.FROZEN
    if round_.leaderboard_visibility is LeaderboardVisibility.FROZEN:
        return BoardKind.LIVE  # not frozen yet
    return BoardKind.HIDDEN


def _frozen_key(session: Session, client: redis.Redis, prefix: str, round_: Round) -> str:
    """The board as it stood at the freeze time, built exactly from the database once and kept."""
    keys = RoundKeys(prefix, round_.id)
    if not client.exists(keys.frozen_built):
        frozen_at = round_.leaderboard_frozen_at
        closed = [
            a
            for a in scoring.closed_attempts(session, round_)
            if a.submitted_s <= leaderboards.seconds_since_open(frozen_at, round_.opens_at)
        ]
        chosen = leaderboards.counting_attempts(closed, round_.counting_policy.value)
        pipe = client.pipeline(transaction=True)
        pipe.delete(keys.frozen)
        if chosen:
            pipe.zadd(keys.frozen, {str(a.user_id): a.value for a in chosen.values()})
        pipe.set(keys.frozen_built, "1")  # an empty frozen board is built too: do not rebuild it on every read
        pipe.execute()
    return keys.frozen


def _names(session: Session, user_ids: list[int], masked: bool) -> dict[int, tuple[str, str]]:
    rows = session.execute(
        select(User.id, User.full_name, Unit.name).outerjoin(Unit, Unit.id == User.unit_id).where(User.id.in_(user_ids))
    )
    return {uid: (mask_name(name) if masked else name, unit or "") for uid, name, unit in rows}


def _live(session: Session, client: redis.Redis, key: str, limit: int, me: int | None, masked: bool) -> tuple:  # type: ignore[type-arg]
    entries = leaderboards.top(client, key, limit)
    mine, total = leaderboards.rank_of(client, key, me) if me else (None, client.zcard(key))
    names = _names(session, [e.user_id for e in entries] + ([me] if mine else []), masked)
    to_row = lambda e: Row(e.rank, e.user_id, *names.get(e.user_id, ("?", "")), e.correct, e.duration_ms)  # noqa: E731
    return [to_row(e) for e in entries], int(total), (to_row(mine) if mine else None)


def _final(session: Session, round_: Round, limit: int, me: int | None, masked: bool) -> tuple:  # type: ignore[type-arg]
    results = list(session.scalars(rankings.stored(round_.id).limit(limit)))
    mine = (
        session.scalar(select(RoundResult).where(RoundResult.round_id == round_.id, RoundResult.user_id == me))
        if me
        else None
    )
    total = session.scalar(select(func.count(RoundResult.id)).where(RoundResult.round_id == round_.id)) or 0
    names = _names(session, [r.user_id for r in results] + ([me] if mine else []), masked)
    to_row = lambda r: Row(r.rank, r.user_id, *names.get(r.user_id, ("?", "")), r.correct_count, r.duration_ms)  # noqa: E731
    return [to_row(r) for r in results], total, (to_row(mine) if mine else None)


def board_for(
    session: Session,
    client: redis.Redis,
    prefix: str,
    round_: Round,
    *,
    now: datetime,
    viewer_id: int | None,
    organizer: bool = False,
    unit_id: int | None = None,
    limit: int = 100,
) -> Board:
    """The board the viewer may see: organizers see everything live with full names."""
    kind = _kind(round_, now, organizer)
    masked = not organizer
    if kind is BoardKind.HIDDEN:
        return Board(kind, [], 0, None)
    if kind is BoardKind.FINAL:
        return Board(kind, *_final(session, round_, limit, viewer_id, masked))
    keys = RoundKeys(prefix, round_.id)
    key = (
        _frozen_key(session, client, prefix, round_)
        if kind is BoardKind.FROZEN
        else (keys.unit_board(unit_id) if unit_id else keys.board)
    )
    rows, total, mine = _live(session, client, key, limit, viewer_id, masked)
    return Board(kind, rows, total, mine, round_.leaderboard_frozen_at if kind is BoardKind.FROZEN else None)
