"""Papers drawn ahead of time and kept in Redis, so a crowd starting a round together costs the database little.

Drawing a paper live loads every candidate question of the round's mix; a pre-drawn paper needs only one
small query to check it is still good. Papers are drawn by :func:`papers.paper_from`, the routine of the
live draw (per-group mix, shuffles, no repeats), and kept as a Redis list per round and mix:

- ``{prefix}:{r:<round>}:papers:<pool>:<mix>``: the papers, one string each;
- ``{prefix}:{r:<round>}:papers:<pool>:<mix>:fp``: a fingerprint of the candidate questions they were drawn from.

``<pool>`` is ``g<group id>`` for a group with its own mix and ``all`` for the common mix (shared by the
other groups); ``<mix>`` is a short hash of the mix items and the shuffle settings, so editing the mix
orphans the old papers at once (they expire with the round). Every key carries the round's hash tag, so
the fill script's keys share one Redis Cluster slot. A paper is encoded as ``;``-separated questions in
paper order, each ``<question version id>:<mix item index>:<choice order in base 36>`` (``1234:0:2031``).

A paper is taken with one LPOP, which Redis runs atomically: two starts never get the same paper.

Stale papers (correctness): a taken paper is used only if every question in it is still the current
version of an active question matching its mix item (bank, topic, difficulty), one query by primary
key; otherwise it is discarded and the next one is tried, then the live draw. Question banks change
through many paths (imports on the web and the CLI, edits, retirement, the demo loader), so this check
at the point of use, not an invalidation hook on each path, is what guarantees a retired or edited
question is never handed out. For freshness, each top-up compares the fingerprint of the current
candidates (which also changes when questions are added) with the stored one and, when it differs,
empties the pool and draws it again in the same script call.

The pool is only a cache: the database keeps every started paper, and losing the lists costs nothing.
Nothing here touches the database beyond reads; callers commit what they record (audit rows).
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import redis
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from quiz_engine.models import (
    Contest,
    Difficulty,
    Question,
    QuestionVersion,
    Registration,
    Round,
    RoundMixItem,
)
from quiz_engine.services.errors import QuizError, ValidationError
from quiz_engine.services.taking import papers

#: Stale papers discarded in one start before falling back to the live draw.
STALE_TRIES = 3
#: Papers pushed per script call, so Redis is never held long by one fill.
PUSH_CHUNK = 250
#: Pools outlive their round's close by this much (nothing takes a paper after the close).
RETENTION = timedelta(hours=1)
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"

_FILL = """
local fresh = redis.call('GET', KEYS[2]) ~= ARGV[1]
if fresh then
  redis.call('DEL', KEYS[1])
  redis.call('SET', KEYS[2], ARGV[1])
end
local room = tonumber(ARGV[3]) - redis.call('LLEN', KEYS[1])
local added = 0
for i = 4, #ARGV do
  if added >= room then break end
  redis.call('RPUSH', KEYS[1], ARGV[i])
  added = added + 1
end
redis.call('EXPIREAT', KEYS[1], ARGV[2])
redis.call('EXPIREAT', KEYS[2], ARGV[2])
return {added, redis.call('LLEN', KEYS[1]), fresh and 1 or 0}
"""


class PoolUnavailableError(QuizError):
    """Redis cannot be reached: papers cannot be prepared now (starts still draw them live)."""

    status_code = 503


@dataclass(frozen=True)
class PoolSettings:
    """How many papers to keep ready, and how much one maintenance run may draw.

    The target of a pool is the registrations it serves × ``factor``, at least ``minimum`` (latecomers
    register on the day) and at most ``maximum`` (Redis memory: about 25 bytes per question of a paper).
    """

    lead: timedelta
    factor: float
    minimum: int
    maximum: int
    batch: int

    def target(self, registrations: int) -> int:
        return min(self.maximum, max(self.minimum, math.ceil(registrations * self.factor)))


@dataclass(frozen=True)
class MixItemFacts:
    """A mix item's values without its ORM row, for a pool kept beyond the session that loaded it."""

    bank_id: int
    topic: str | None
    difficulty: str | None
    count: int


@dataclass(frozen=True)
class Pool:
    """The pre-drawn papers of one round for one mix (a group's own, or the common one)."""

    prefix: str
    round_id: int
    group_id: int | None  # None: the common mix
    items: tuple[RoundMixItem | MixItemFacts, ...]
    signature: str

    def detached(self) -> Pool:
        """The same pool holding plain values, safe to keep after the session has closed."""
        facts = tuple(MixItemFacts(m.bank_id, m.topic, m.difficulty, m.count) for m in self.items)
        return Pool(self.prefix, self.round_id, self.group_id, facts, self.signature)

    @property
    def name(self) -> str:
        return "all" if self.group_id is None else f"g{self.group_id}"

    @property
    def list_key(self) -> str:
        return f"{self.prefix}:{{r:{self.round_id}}}:papers:{self.name}:{self.signature}"

    @property
    def fingerprint_key(self) -> str:
        return f"{self.list_key}:fp"


@dataclass(frozen=True)
class PoolStatus:
    group_id: int | None
    group_name: str | None
    ready: int
    target: int


@dataclass(frozen=True)
class PrepareReport:
    added: int
    ready: int
    target: int
    refreshed: int  # pools emptied because their questions changed
    unfillable: int  # pools whose mix the banks cannot fill


#: ``progress(pool, ready, target)`` after each chunk pushed.
Progress = Callable[[Pool, int, int], None]


def _signature(round_: Round, items: Sequence[RoundMixItem]) -> str:
    described = repr(
        (
            round_.shuffle_questions,
            round_.shuffle_choices,
            [(m.bank_id, m.topic, m.difficulty, m.count) for m in items],
        )
    )
    return hashlib.sha256(described.encode()).hexdigest()[:12]


def _make_pool(prefix: str, round_: Round, group_id: int | None, items: Sequence[RoundMixItem]) -> Pool:
    return Pool(prefix, round_.id, group_id, tuple(items), _signature(round_, items))


def pools_of(prefix: str, round_: Round) -> list[Pool]:
    """Every pool a round needs: one per group with its own mix, and the common one if there is a common mix."""
    own = sorted({m.group_id for m in round_.mix if m.group_id is not None})
    pools = [_make_pool(prefix, round_, g, [m for m in round_.mix if m.group_id == g]) for g in own]
    common = [m for m in round_.mix if m.group_id is None]
    if common:
        pools.append(_make_pool(prefix, round_, None, common))
    return pools


def pool_for(prefix: str, round_: Round, group_id: int | None) -> Pool | None:
    """The pool a contestant of ``group_id`` draws from (the same mix :func:`papers.mix_for_group` gives)."""
    items = papers.mix_for_group(round_, group_id)
    if not items:
        return None
    own = group_id is not None and any(m.group_id == group_id for m in round_.mix)
    return _make_pool(prefix, round_, group_id if own else None, items)


# --- Encoding ------------------------------------------------------------------------------------


def encode(paper: Sequence[papers.PaperItem]) -> str | None:
    """A paper as one compact string; None if it cannot be written (a choice position beyond base 36)."""
    if any(p >= len(_DIGITS) for item in paper for p in item.choice_order):
        return None
    return ";".join(
        f"{item.version_id}:{item.mix_index}:{''.join(_DIGITS[p] for p in item.choice_order)}" for item in paper
    )


def decode(raw: str, items: Sequence[RoundMixItem | MixItemFacts]) -> list[papers.PaperItem] | None:
    """The paper a string encodes, or None if it is malformed or does not fit ``items`` (counts per item)."""
    paper = []
    try:
        for position, part in enumerate(raw.split(";")):
            version, index, order = part.split(":")
            paper.append(papers.PaperItem(position, int(version), [int(c, 36) for c in order], int(index)))
    except ValueError:
        return None
    counts = [0] * len(items)
    for item in paper:
        if not 0 <= item.mix_index < len(items) or not item.choice_order:
            return None
        counts[item.mix_index] += 1
    return paper if counts == [m.count for m in items] else None


# --- Taking a paper --------------------------------------------------------------------------------


_CURRENT = (
    select(
        QuestionVersion.id,
        Question.current_version_id,
        Question.is_active,
        Question.bank_id,
        Question.topic,
        Question.difficulty,
    )
    .join(Question, Question.id == QuestionVersion.question_id)
    .where(QuestionVersion.id.in_(bindparam("ids", expanding=True)))
)


def _still_current(
    session: Session, items: Sequence[RoundMixItem | MixItemFacts], paper: Sequence[papers.PaperItem]
) -> bool:
    """Whether each question is still the current version of an active question matching its mix item."""
    found = session.connection().execute(_CURRENT, {"ids": [p.version_id for p in paper]})
    rows = {row.id: row for row in found}
    for entry in paper:
        row, item = rows.get(entry.version_id), items[entry.mix_index]
        if (
            row is None
            or row.current_version_id != entry.version_id
            or not row.is_active
            or row.bank_id != item.bank_id
            or (item.topic is not None and row.topic != item.topic)
            or (item.difficulty is not None and row.difficulty != Difficulty(item.difficulty))
        ):
            return False
    return True


def take_paper(
    session: Session, client: redis.Redis, prefix: str, round_: Round, group_id: int | None
) -> list[papers.PaperItem] | None:
    """Take a pre-drawn paper for a contestant of ``group_id``, or None (the caller draws live)."""
    pool = pool_for(prefix, round_, group_id)
    return None if pool is None else take_from(session, client, pool)


def take_from(session: Session, client: redis.Redis, pool: Pool) -> list[papers.PaperItem] | None:
    """Take a paper from ``pool``, or None.

    None when the pool is empty, when Redis cannot be reached, or after :data:`STALE_TRIES` stale
    papers in a row (each is discarded: it was popped and is not put back).
    """
    for _ in range(STALE_TRIES):
        popped = pop(client, pool)
        if popped is None:
            return None
        if popped and _still_current(session, pool.items, popped):
            return popped
    return None


def pop(client: redis.Redis, pool: Pool) -> list[papers.PaperItem] | None:
    """The next paper of ``pool``, unchecked: None when the pool is empty or Redis cannot be reached, and an
    empty list for a malformed one (discarded). The caller checks it is current before using it: by
    :func:`_still_current`, or in the statement that writes it (:mod:`quiz_engine.services.taking.starts`)."""
    try:
        raw = client.lpop(pool.list_key)
    except (redis.RedisError, OSError):
        return None
    return None if raw is None else decode_or_drop(raw.decode() if isinstance(raw, bytes) else raw, pool)


def decode_or_drop(raw: str, pool: Pool) -> list[papers.PaperItem]:
    """A popped paper of ``pool`` decoded, or an empty list if it is malformed (it is dropped)."""
    return decode(raw, pool.items) or []


# --- Filling -----------------------------------------------------------------------------------------


def fingerprint(candidates: Sequence[list[papers.Candidate]]) -> str:
    """A hash of the questions each mix item may draw (their current versions)."""
    described = "|".join(",".join(str(v) for v in sorted(c.version_id for c in group)) for group in candidates)
    return hashlib.sha256(described.encode()).hexdigest()[:16]


def registrations_by_pool(session: Session, round_: Round, pools: Sequence[Pool]) -> dict[str, int]:
    """How many registered contestants each pool serves."""
    counts = dict(
        session.execute(
            select(Registration.group_id, func.count())
            .where(Registration.contest_id == round_.contest_id)
            .group_by(Registration.group_id)
        ).all()
    )
    own = {p.group_id for p in pools if p.group_id is not None}
    others = sum(n for g, n in counts.items() if g not in own)  # no group, or a group using the common mix
    return {p.name: others if p.group_id is None else counts.get(p.group_id, 0) for p in pools}


def status(
    session: Session, client: redis.Redis, prefix: str, round_: Round, settings: PoolSettings
) -> list[PoolStatus]:
    """Papers ready in each pool of ``round_`` and the target it is topped up to.

    :raises PoolUnavailableError: if Redis cannot be reached.
    """
    pools = pools_of(prefix, round_)
    served = registrations_by_pool(session, round_, pools)
    names = {g.id: g.name for g in round_.contest.groups}
    try:
        ready = [client.llen(p.list_key) for p in pools]
    except (redis.RedisError, OSError) as exc:
        raise _unavailable() from exc
    return [
        PoolStatus(p.group_id, names.get(p.group_id) if p.group_id else None, n, settings.target(served[p.name]))
        for p, n in zip(pools, ready, strict=True)
    ]


def _unavailable() -> PoolUnavailableError:
    return PoolUnavailableError(
        "Không kết nối được Redis nên chưa rút sẵn được đề; thí sinh vẫn được rút đề trực tiếp khi bắt đầu.",
        "Redis is unavailable, so papers cannot be prepared now; starts still draw papers live.",
    )


@dataclass
class FillResult:
    added: int = 0
    ready: int = 0
    refreshed: bool = False
    unfillable: bool = False


def fill_pool(
    session: Session,
    client: redis.Redis,
    pool: Pool,
    round_: Round,
    *,
    target: int,
    limit: int,
    rng: random.Random,
    progress: Progress | None = None,
) -> FillResult:
    """Top ``pool`` up to ``target`` papers, drawing at most ``limit``; empty it first if its questions changed.

    Redis errors propagate (callers decide whether that is fatal).
    """
    result = FillResult()
    candidates = papers.load_candidates(session, pool.items)
    current = fingerprint(candidates)
    stored, length = client.get(pool.fingerprint_key), client.llen(pool.list_key)
    if stored != current:
        length = 0
    expire_at = int((round_.closes_at + RETENTION).timestamp())
    wanted = min(max(0, target - length), limit)
    drawn: list[str] = []
    try:
        for _ in range(wanted):
            encoded = encode(papers.paper_from(round_, pool.items, candidates, rng))
            if encoded is not None:
                drawn.append(encoded)
    except ValidationError:  # the banks can no longer fill this mix: the live draw will say so to contestants
        result.unfillable = True
    chunks = [drawn[i : i + PUSH_CHUNK] for i in range(0, len(drawn), PUSH_CHUNK)] or [[]]
    script = client.register_script(_FILL)
    for chunk in chunks:
        added, ready, fresh = script(
            keys=[pool.list_key, pool.fingerprint_key], args=[current, expire_at, target, *chunk]
        )
        result.added += int(added)
        result.ready = int(ready)
        result.refreshed = result.refreshed or bool(fresh)
        if progress is not None:
            progress(pool, result.ready, target)
    return result


def prepare_round(
    session: Session,
    client: redis.Redis,
    prefix: str,
    round_: Round,
    *,
    settings: PoolSettings,
    now: datetime,
    rng: random.Random,
    count: int | None = None,
    limit: int | None = None,
    progress: Progress | None = None,
) -> PrepareReport:
    """Top every pool of ``round_`` up to ``count`` papers (default: its target), drawing at most ``limit``.

    :raises ValidationError: if the round has closed.
    :raises PoolUnavailableError: if Redis cannot be reached.
    """
    if now >= round_.closes_at:
        raise ValidationError("Đợt thi đã kết thúc; không cần rút sẵn đề.", "The round has closed; no papers needed.")
    pools = pools_of(prefix, round_)
    served = registrations_by_pool(session, round_, pools)
    budget = settings.maximum * len(pools) if limit is None else limit
    added = ready = wanted = refreshed = unfillable = 0
    try:
        for pool in pools:
            target = settings.target(served[pool.name]) if count is None else max(0, count)
            filled = fill_pool(session, client, pool, round_, target=target, limit=budget, rng=rng, progress=progress)
            budget -= filled.added
            added, ready, wanted = added + filled.added, ready + filled.ready, wanted + target
            refreshed += filled.refreshed
            unfillable += filled.unfillable
    except (redis.RedisError, OSError) as exc:
        raise _unavailable() from exc
    return PrepareReport(added, ready, wanted, refreshed, unfillable)


def rounds_due(session: Session, now: datetime, lead: timedelta) -> list[Round]:
    """Rounds of published contests that are open or open within ``lead``, soonest first."""
    return list(
        session.scalars(
            select(Round)
            .join(Contest, Contest.id == Round.contest_id)
            .where(Contest.is_published.is_(True), Round.opens_at <= now + lead, Round.closes_at > now)
            .order_by(Round.opens_at, Round.id)
        )
    )


def top_up_due(
    session: Session, client: redis.Redis, prefix: str, *, settings: PoolSettings, now: datetime, rng: random.Random
) -> dict[int, int]:
    """The maintenance step: top up the pools of :func:`rounds_due`, at most ``settings.batch`` papers in all.

    :return: papers added, by round id (rounds that needed none are left out).
    :raises PoolUnavailableError: if Redis cannot be reached.
    """
    added: dict[int, int] = {}
    budget = settings.batch
    for round_ in rounds_due(session, now, settings.lead):
        report = prepare_round(session, client, prefix, round_, settings=settings, now=now, rng=rng, limit=budget)
        budget -= report.added
        if report.added:
            added[round_.id] = report.added
    return added
