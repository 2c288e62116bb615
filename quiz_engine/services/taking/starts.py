"""The common start, made cheap: a registered contestant, no attempt running, a paper drawn ahead of time.

At a synchronised start thousands of contestants press "start" within seconds, and nearly all of them are
this common case. :func:`quick_start` serves it with one read, one write and one or two Redis calls, with no
ORM object graph (about 1.1 ms of CPU in-process for this service, 2.9 ms for the whole request with its paper
page, instead of 18 ms; docs/PERFORMANCE.md):

1. one SELECT: the account's session stamp (no ORM load of the account), the round's times and rules, whether
   the contest is published, the contestant's registration, any attempt running, and the attempts used in
   this round and today (scalar subqueries);
2. a pre-drawn paper (:mod:`paper_pool`): taken by the start queue's admission script in the same round trip
   when this process knows the round's pool (:func:`pool_hint`), else by one LPOP;
3. the attempt, its items and the audit row, written only if every question of the paper is still the current
   version of an active question matching its mix item (the check is the INSERT's own condition, so a stale
   paper writes nothing and the next one is tried): on PostgreSQL one statement (data-modifying CTEs, one
   round trip), on SQLite three (in-process, so round trips cost nothing). The caller commits, so an
   acknowledged start is in the database before the answer;
4. after the commit, one Redis script opens the attempt's state, marks it the contestant's running attempt (a
   resumer passes the start queue), counts the start and reports which answer-key entries Redis lacks
   (:func:`open_in_redis`); only those are computed, once per question version.

Anything else (not registered, an attempt running, a limit reached, a pool that is empty or stale, a round
not open, a simultaneous double start) returns None *before anything is written*, with a paper the admission
took put back, except a stale paper, which is discarded as :func:`paper_pool.take_from` does. The caller then
runs the full :func:`attempts.start_attempt`, which gives the same refusals and messages as always. The rules
are the same on both paths: the deadline, the limits and the paper's check are the ones in :mod:`attempts`
and :mod:`paper_pool`.

Two caches per process keep the reads small. A round's mix and pools are kept by ``(round id, updated_at)``:
every change to a round sets ``updated_at`` (:func:`contests.update_round`), so a cached plan is never
stale. What a question version shows and its key never change (:mod:`version_cache`).
"""

from __future__ import annotations

import contextlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import redis
from sqlalchemy import Connection, and_, bindparam, func, select, text
from sqlalchemy.orm import Session

from quiz_engine.models import (
    Attempt,
    AttemptStatus,
    Contest,
    Registration,
    Round,
    User,
)
from quiz_engine.models.base import UTCDateTime
from quiz_engine.services.people.audit import Origin
from quiz_engine.services.results import leaderboards, scoring
from quiz_engine.services.taking import attempt_state, attempts, paper_pool, papers, version_cache

#: Round plans kept per process.
PLAN_CACHE_SIZE = 64

_OPEN = (
    """
redis.call('HSET', KEYS[1], 'user', ARGV[1], 'accept_until', ARGV[2], 'status', 'open', 'layout', ARGV[3])
redis.call('EXPIREAT', KEYS[1], ARGV[4])
redis.call('EXPIREAT', KEYS[2], ARGV[4])
redis.call('HSET', KEYS[6], ARGV[1], ARGV[5])
redis.call('EXPIREAT', KEYS[6], ARGV[4])
"""
    + leaderboards.count_start_lua("KEYS[4]", "KEYS[5]", "ARGV[5]", "ARGV[6]")
    + """
local missing = {}
for i = 7, #ARGV do
  if redis.call('HEXISTS', KEYS[3], ARGV[i]) == 0 then missing[#missing + 1] = ARGV[i] end
end
return missing
"""
)


@dataclass(frozen=True)
class RoundPlan:
    """What a start needs of a round that only an edit of the round changes."""

    updated_at: datetime
    pools: dict[int | None, paper_pool.Pool | None]  # by group id (None: no group)

    def pool(self, group_id: int | None) -> paper_pool.Pool | None:
        return self.pools.get(group_id, self.pools.get(None))


@dataclass(frozen=True)
class QuickStart:
    """An attempt started by :func:`quick_start`, for the Redis step after the commit."""

    attempt_id: int
    round_id: int
    user_id: int
    unit_id: int | None
    accept_until: datetime
    layout: str
    version_ids: tuple[int, ...]
    #: What the paper page shows straight away (the start answers with it): the round's ``updated_at``, the
    #: deadline, the paper, and who the contestant is.
    round_updated_at: datetime
    deadline_at: datetime
    paper: tuple[papers.PaperItem, ...]
    full_name: str
    is_organizer: bool


@dataclass(frozen=True)
class Popped:
    """A pre-drawn paper taken from ``list_key`` before the start ran (by the admission script), still encoded."""

    list_key: str
    raw: str


_plans: version_cache.Lru[RoundPlan] = version_cache.Lru(PLAN_CACHE_SIZE)


def pool_hint(prefix: str, round_id: int) -> str | None:
    """The paper list a start in ``round_id`` takes from, if this process knows it without reading anything: the
    round's plan is cached and every contestant draws from the same pool (no group has a mix of its own).

    Only a hint: the plan may be a few edits old, so :func:`quick_start` takes a paper popped from it only if it
    is still the contestant's pool, and otherwise puts it back.
    """
    plan = _plans.get((prefix, round_id))
    if plan is None:
        return None
    keys = {pool.list_key if pool is not None else None for pool in plan.pools.values()}
    return keys.pop() if len(keys) == 1 else None


def _facts_statement():  # type: ignore[no-untyped-def]
    """The one read: round, contest, registration, the running attempt and the attempts used.

    Built once with bound parameters, so SQLAlchemy reuses its compiled form on every start.
    """
    round_id, user_id = bindparam("round_id"), bindparam("user_id")
    mine = and_(Attempt.round_id == round_id, Attempt.user_id == user_id)
    counted = and_(mine, Attempt.status != AttemptStatus.VOID)
    return (
        select(
            Round.contest_id,
            Round.opens_at,
            Round.closes_at,
            Round.updated_at,
            Round.time_limit_seconds,
            Round.grace_seconds,
            Round.max_attempts,
            Round.max_attempts_per_day,
            Contest.is_published,
            User.password_hash,
            User.session_epoch,
            User.full_name,
            User.role,
            User.is_active_account,
            User.anonymised_at,
            Registration.id.label("registration_id"),
            Registration.group_id,
            Registration.unit_id,
            select(Attempt.id)
            .where(Attempt.user_id == user_id, Attempt.status == AttemptStatus.IN_PROGRESS)
            .scalar_subquery()
            .label("running"),
            select(func.count()).where(counted).scalar_subquery().label("used"),
            select(func.count())
            .where(counted, Attempt.started_at >= bindparam("day_start"))
            .scalar_subquery()
            .label("today"),
            select(func.max(Attempt.number)).where(mine).scalar_subquery().label("last_number"),
        )
        .join(Contest, Contest.id == Round.contest_id)
        .join(User, User.id == user_id)
        .outerjoin(Registration, and_(Registration.contest_id == Round.contest_id, Registration.user_id == user_id))
        .where(Round.id == round_id)
    )


_FACTS = _facts_statement()


def _plan(session: Session, prefix: str, round_id: int, updated_at: datetime) -> RoundPlan:
    key = (prefix, round_id)
    plan = _plans.get(key)
    if plan is not None and plan.updated_at == updated_at:
        return plan
    round_ = session.get(Round, round_id)
    assert round_ is not None
    groups = {m.group_id for m in round_.mix} | {None}
    pools = {g: paper_pool.pool_for(prefix, round_, g) for g in groups}
    plan = RoundPlan(updated_at, {g: p.detached() if p is not None else None for g, p in pools.items()})
    _plans.put(key, plan)
    return plan


def quick_start(
    session: Session,
    client: redis.Redis,
    prefix: str,
    *,
    round_id: int,
    user_id: int,
    stamp: str,
    now: datetime,
    tz: ZoneInfo,
    origin: Origin,
    popped: Popped | None = None,
) -> QuickStart | None:
    """Start the common case cheaply (module docstring), or None for the full path to handle.

    ``popped`` is a paper the admission script has already taken (:func:`pool_hint`): it is used first if it
    comes from the contestant's pool, and otherwise (or when the start declines) put back at the head of its list.

    ``user_id`` and ``stamp`` come from the signed session (``User.get_id``); the account is checked here,
    in the same read, as the user loader would (the stamp, so a sign-out or a new password refuses it)
    and stricter (an active account), so the start needs no ORM load of it.
    Flushes nothing through the ORM: the rows are written with Core statements in the caller's
    transaction, which the caller commits before :func:`open_in_redis`.
    """
    connection = session.connection()  # Core on the session's transaction: no ORM work on the hot path
    day_start = attempts.local_day_start(now, tz)
    facts = connection.execute(_FACTS, {"round_id": round_id, "user_id": user_id, "day_start": day_start}).one_or_none()
    if (
        facts is None
        or not hmac.compare_digest(User.stamp_of(facts.password_hash, facts.session_epoch), stamp)
        or not facts.is_active_account
        or facts.anonymised_at is not None
        or not facts.is_published
        or not Round.open_between(facts.opens_at, facts.closes_at, now)
        or facts.registration_id is None
        or facts.running is not None
        or attempts.limit_reached(facts.max_attempts, facts.max_attempts_per_day, facts.used, facts.today)
    ):
        return _give_back(client, popped)
    pool = _plan(session, prefix, round_id, facts.updated_at).pool(facts.group_id)
    if pool is None:
        return _give_back(client, popped)
    if popped is not None and popped.list_key != pool.list_key:  # taken by a plan since edited
        _give_back(client, popped)
        popped = None
    deadline = attempts.deadline_for(now, facts.time_limit_seconds, facts.closes_at)
    row = {
        "round_id": round_id,
        "user_id": user_id,
        "number": (facts.last_number or 0) + 1,
        "unit_id": facts.unit_id,
        "group_id": facts.group_id,
        "started_at": now,
        "deadline_at": deadline,
        "ip_address": origin.ip_address,
        "user_agent": (origin.user_agent or "")[:255] or None,
    }
    write = _write_postgresql if connection.dialect.name == "postgresql" else _write_sqlite
    for _ in range(paper_pool.STALE_TRIES):  # a stale paper is dropped and the next one tried
        paper = paper_pool.decode_or_drop(popped.raw, pool) if popped is not None else paper_pool.pop(client, pool)
        popped = None
        if paper is None:
            return None
        if paper and (attempt_id := write(connection, {**row, "question_count": len(paper)}, _as_json(paper, pool))):
            break
    else:
        return None
    versions = tuple(p.version_id for p in paper)
    correct = version_cache.correct_positions(session, versions)
    layout = attempt_state.layout_of([len(p.choice_order) for p in paper], [len(correct[v]) > 1 for v in versions])
    return QuickStart(
        attempt_id,
        round_id,
        user_id,
        facts.unit_id,
        deadline + timedelta(seconds=facts.grace_seconds),
        layout,
        versions,
        facts.updated_at,
        deadline,
        tuple(paper),
        facts.full_name,
        facts.role.organizes,
    )


def _give_back(client: redis.Redis, popped: Popped | None) -> None:
    """Put a paper taken ahead of the start back at the head of its list (it was not used)."""
    if popped is not None:
        with contextlib.suppress(redis.RedisError, OSError):  # lost then: the pool is only a cache
            client.lpush(popped.list_key, popped.raw)


def _as_json(paper: Sequence[papers.PaperItem], pool: paper_pool.Pool) -> str:
    """The paper as the write statements read it: each question with what its mix item requires of it."""
    items = pool.items
    return json.dumps(
        [
            {
                "position": p.position,
                "version_id": p.version_id,
                "choice_order": p.choice_order,
                "bank_id": items[p.mix_index].bank_id,
                "topic": items[p.mix_index].topic,
                "difficulty": items[p.mix_index].difficulty,
            }
            for p in paper
        ]
    )


#: How many of the paper's questions are still the current version of an active question matching their mix
#: item (bank, topic, difficulty): the check of :func:`paper_pool._still_current`, inside the write, so that a
#: stale paper writes nothing and costs no statement of its own. ``{rows}`` and the other fields are the paper's
#: rows and columns as each dialect reads them from its JSON.
_CURRENT_COUNT = """(
  SELECT count(*) FROM {rows}
  JOIN question_versions AS v ON v.id = {version_id}
  JOIN questions AS q ON q.id = v.question_id
  WHERE q.current_version_id = v.id AND q.is_active AND q.bank_id = {bank_id}
    AND ({topic} IS NULL OR q.topic = {topic}) AND ({difficulty} IS NULL OR q.difficulty = {difficulty})
)"""
_ATTEMPT_COLUMNS = (
    "round_id, user_id, number, unit_id, group_id, status, started_at, deadline_at, question_count, ip_address,"
    " user_agent"
)
_ATTEMPT_VALUES = (
    ":round_id, :user_id, :number, :unit_id, :group_id, 'in_progress', :started_at, :deadline_at, :question_count,"
    " :ip_address, :user_agent"
)
_TYPED = (bindparam("started_at", type_=UTCDateTime), bindparam("deadline_at", type_=UTCDateTime))

#: SQLite runs in-process, so round trips cost nothing: the attempt (written only if the paper is current),
#: then its items from the paper's JSON in one statement, then the audit row.
_SQLITE_ATTEMPT = text(
    f"INSERT INTO attempts ({_ATTEMPT_COLUMNS}) SELECT {_ATTEMPT_VALUES} WHERE "
    + _CURRENT_COUNT.format(
        rows="json_each(:paper) AS p",
        **{k: f"json_extract(p.value, '$.{k}')" for k in ("version_id", "bank_id", "topic", "difficulty")},
    )
    + " = :question_count RETURNING id"
).bindparams(*_TYPED)
_SQLITE_ITEMS = text(
    """
INSERT INTO attempt_items (attempt_id, position, question_version_id, choice_order, is_void)
SELECT :attempt_id, json_extract(value, '$.position'), json_extract(value, '$.version_id'),
       json_extract(value, '$.choice_order'), 0
FROM json_each(:paper)
"""
)
_SQLITE_AUDIT = text(
    """
INSERT INTO audit_events (at, action, actor_id, target_type, target_id, ip_address, user_agent, details)
VALUES (:started_at, 'attempt.start', :user_id, 'attempt', :attempt_id, :ip_address, :user_agent,
        json_object('round_id', :round_id))
"""
).bindparams(_TYPED[0])


def _write_sqlite(connection: Connection, row: dict[str, Any], paper: str) -> int | None:
    """The attempt, its items and the audit row; None, with nothing written, if the paper is stale."""
    found = connection.execute(_SQLITE_ATTEMPT, {**row, "paper": paper}).scalar()
    if found is None:
        return None
    connection.execute(_SQLITE_ITEMS, {"attempt_id": found, "paper": paper})
    connection.execute(_SQLITE_AUDIT, {**row, "attempt_id": found})
    return int(found)


#: The same three rows in one statement and one round trip: data-modifying CTEs, the paper as one JSON
#: parameter, and nothing written if the paper is stale. Status and action are the values the models write.
_POSTGRESQL_WRITE = text(
    f"""
WITH p AS (
  SELECT * FROM jsonb_to_recordset(CAST(:paper AS jsonb))
    AS r(position integer, version_id integer, choice_order jsonb, bank_id integer, topic text, difficulty text)
), a AS (
  INSERT INTO attempts ({_ATTEMPT_COLUMNS})
  SELECT {_ATTEMPT_VALUES}
  WHERE {
        _CURRENT_COUNT.format(
            rows="p", version_id="p.version_id", bank_id="p.bank_id", topic="p.topic", difficulty="p.difficulty"
        )
    } = :question_count
  RETURNING id
), items AS (
  INSERT INTO attempt_items (attempt_id, position, question_version_id, choice_order, is_void)
  SELECT a.id, p.position, p.version_id, p.choice_order, false FROM a, p
), audit AS (
  INSERT INTO audit_events (at, action, actor_id, target_type, target_id, ip_address, user_agent, details)
  SELECT :started_at, 'attempt.start', :user_id, 'attempt', a.id, :ip_address, :user_agent,
         jsonb_build_object('round_id', CAST(:round_id AS integer))
  FROM a
)
SELECT id FROM a
"""
).bindparams(*_TYPED)


def _write_postgresql(connection: Connection, row: dict[str, Any], paper: str) -> int | None:
    """As :func:`_write_sqlite`, in one round trip."""
    found = connection.execute(_POSTGRESQL_WRITE, {**row, "paper": paper}).scalar()
    return None if found is None else int(found)


def open_in_redis(session: Session, client: redis.Redis, prefix: str, started: QuickStart) -> None:
    """After the commit: the attempt's Redis state, the start counted, and any answer-key entries Redis lacks.

    Redis errors propagate; the attempt is already recorded, and the paper page restores the state
    (:func:`quiz_engine.web.attempt_flow.touch`) when Redis is back.
    """
    keys = leaderboards.RoundKeys(prefix, started.round_id)
    expire_at = int((started.accept_until + attempt_state.RETENTION).timestamp())
    missing = client.register_script(_OPEN)(
        keys=[
            attempt_state.attempt_key(prefix, started.round_id, started.attempt_id),
            attempt_state.answers_key(prefix, started.round_id, started.attempt_id),
            keys.answer_key,
            keys.stats,
            keys.started,
            attempt_state.running_key(prefix, started.round_id),
        ],
        args=[
            str(started.user_id),
            str(int(started.accept_until.timestamp() * 1000)),
            started.layout,
            str(expire_at),
            str(started.attempt_id),
            str(started.unit_id or ""),
            *(str(v) for v in started.version_ids),
        ],
    )
    if missing:  # the first starts of a round, or after a rebuild: voids applied as always
        entries = scoring.key_entries(session, started.round_id, [int(v) for v in missing])
        leaderboards.load_answer_key(client, prefix, started.round_id, entries)


def forget() -> None:
    """Empty the per-process caches (a new app, perhaps on another database): see :mod:`version_cache`."""
    _plans.clear()
    version_cache.forget()
