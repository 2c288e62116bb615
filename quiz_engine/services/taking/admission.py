"""Admission to start a round at the rate the servers sustain: a fair queue in Redis, so a synchronised start
never overloads them.

Each contestant asking to start gets a ticket: the moment their start is due. Tickets are handed out
in order of asking, ``1 / rate`` seconds apart once the burst is used up, so across every app instance
at most ``burst`` starts pass at once and then ``rate`` per second (a token bucket whose tokens are
reserved in turn). One Lua script (:data:`_ADMIT`) issues or reads the ticket atomically:

- with nobody queued, the first ``burst`` askers pass at once (no crowd, no waiting);
- the next one is due ``1 / rate`` s after the last ticket issued; the place in the queue is
  ``ceil((due - now) × rate)`` and the wait ``due - now``;
- asking again keeps the ticket (and the place); once due it passes, and stays admitted for
  :data:`KEEP` (retries pass); after that a new ticket is issued on the next ask.

The rate follows capacity unless it is set (``ADMISSION_RATE``): :func:`live_cores` adds up the cores of
the app hosts that are running (each renews a heartbeat in Redis), and :func:`admission_rate` multiplies them
by the starts one core sustains, each with its paper page, while leaving room for the autosaves of those
already writing (``ADMISSION_STARTS_PER_CORE``, measured by ``make bench``: docs/PERFORMANCE.md). So the queue
engages only when the servers would otherwise fall behind, and a deployment with more hosts admits more.

Keys (the round's hash tag, one Cluster slot): ``{prefix}:{r:<round>}:adm:tickets`` (hash: user ->
due, ms) and ``{prefix}:{r:<round>}:adm:last`` (due of the last ticket issued). Both expire when the
last ticket issued has been due for :data:`KEEP`. Times come from the caller's ``now`` (the app
server's clock), never Redis TIME, so tests control time. A contestant with an attempt in progress
in the round passes without a ticket (resuming never queues): opening an attempt marks it in the round's
``running`` hash (:func:`attempt_state.running_key`) and closing it unmarks it, so the script asks Redis,
not the database. Should the mark be missing (an attempt running in another round, a Redis that lost it),
the contestant queues like anyone and is then sent back to that attempt; a mark left behind (the attempt
closed while Redis was away) only lets one start skip the queue. The same script can take an admitted start's
pre-drawn paper (``take_from``), saving the start a round trip. ``rate = 0`` turns admission off, and when Redis
cannot be reached everyone passes: the rate limits and the database are the last line.
An abandoned ticket still uses its slot; the queue then moves on without it.
Nothing here writes to the database.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import redis
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from quiz_engine.models import Attempt, AttemptStatus
from quiz_engine.services.errors import QuizError
from quiz_engine.services.taking import attempt_state

#: How long an admitted ticket keeps passing (retries, a reload) before a new one is needed.
KEEP = timedelta(minutes=10)

_ADMIT = """
local now, interval, burst, keep = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
if interval > 0 and redis.call('HEXISTS', KEYS[3], ARGV[1]) == 0 then
  local due = tonumber(redis.call('HGET', KEYS[1], ARGV[1]))
  if due and now > due + keep then due = nil end
  if not due then
    local last = tonumber(redis.call('GET', KEYS[2])) or 0
    due = math.max(last, now - burst * interval) + interval
    local text = string.format('%.3f', due)
    redis.call('SET', KEYS[2], text)
    redis.call('HSET', KEYS[1], ARGV[1], text)
    local ttl = math.ceil(due - now + keep)
    redis.call('PEXPIRE', KEYS[1], ttl)
    redis.call('PEXPIRE', KEYS[2], ttl)
  end
  if due > now then return {0, math.ceil((due - now) / interval), math.ceil(due - now)} end
end
local limits = #KEYS - tonumber(ARGV[6])
for i = 4, limits do
  local hits = redis.call('INCR', KEYS[i])
  if hits == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[7 + 2 * (i - 4) + 1]) end
  if hits > tonumber(ARGV[7 + 2 * (i - 4)]) then return {-1, 0, math.max(1, redis.call('PTTL', KEYS[i]))} end
end
if limits < #KEYS and redis.call('HEXISTS', KEYS[3], ARGV[1]) == 0 then
  return {1, 0, 0, redis.call('LPOP', KEYS[#KEYS])}
end
return {1, 0, 0}
"""


@dataclass(frozen=True)
class Admission:
    admitted: bool
    #: Place in the queue (1 = next); 0 when admitted.
    position: int = 0
    #: Estimated wait in milliseconds; 0 when admitted. Clients come back after this, not the rounded
    #: ``Retry-After``: whole seconds would bring a second's admissions back at the same instant.
    wait_ms: int = 0
    #: The rate the queue moves at (starts per second), for the waiting page's estimate of the place.
    rate: float = field(default=0.0, compare=False)
    #: Admitted by the queue but over the contestant's own start limit: refuse (429) for ``wait_ms``.
    limited: bool = False
    #: The pre-drawn paper taken for the start on admission (``take_from``), still encoded; None if none was.
    paper: str | None = field(default=None, compare=False)

    @property
    def wait_seconds(self) -> int:
        """The wait rounded up to whole seconds (at least 1 while queued): what ``Retry-After`` says."""
        return 0 if self.admitted else max(1, math.ceil(self.wait_ms / 1000))


ADMITTED = Admission(True)


class QueuedError(QuizError):
    """Not admitted yet: the round is busy; ask again after :attr:`Admission.wait_seconds`."""

    status_code = 503

    def __init__(self, ticket: Admission) -> None:
        super().__init__(
            f"Đợt thi đang có nhiều người bắt đầu cùng lúc. Bạn đang ở vị trí {ticket.position} trong hàng chờ; "
            f"vui lòng thử lại sau khoảng {ticket.wait_seconds} giây.",
            f"Many people are starting this round at once. You are number {ticket.position} in the queue; "
            f"please try again in about {ticket.wait_seconds} seconds.",
        )
        self.ticket = ticket


#: How long a host's heartbeat counts its cores towards the capacity (each process renews it more often).
HEARTBEAT_TTL = timedelta(seconds=30)

_CAPACITY = """
local now = tonumber(ARGV[3])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. '|' .. (now + tonumber(ARGV[4])))
local cores, stale = 0, {}
local entries = redis.call('HGETALL', KEYS[1])
for i = 1, #entries, 2 do
  local value = entries[i + 1]
  local bar = string.find(value, '|', 1, true)
  if tonumber(string.sub(value, bar + 1)) < now then
    stale[#stale + 1] = entries[i]
  else
    cores = cores + tonumber(string.sub(value, 1, bar - 1))
  end
end
if #stale > 0 then redis.call('HDEL', KEYS[1], unpack(stale)) end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return cores
"""


def capacity_key(prefix: str) -> str:
    return f"{prefix}:capacity:cores"


def live_cores(client: redis.Redis, prefix: str, *, host: str, cores: int, now: datetime) -> int:
    """Count ``host``'s ``cores`` for :data:`HEARTBEAT_TTL` and return the cores of every host counted now.

    Each app host (a machine, whatever its processes) writes one field, so several instances behind a
    load balancer add up and a host that stops is forgotten within the TTL. Redis errors propagate.
    """
    args = [host, str(cores), str(_ms(now)), str(_ms_of(HEARTBEAT_TTL))]
    return int(client.register_script(_CAPACITY)(keys=[capacity_key(prefix)], args=args))


def admission_rate(starts_per_core: float, cores: int) -> float:
    """Starts per second a round admits when the rate follows capacity: what the live cores sustain."""
    return max(1.0, starts_per_core * cores)


def tickets_key(prefix: str, round_id: int) -> str:
    return f"{prefix}:{{r:{round_id}}}:adm:tickets"


def last_key(prefix: str, round_id: int) -> str:
    return f"{prefix}:{{r:{round_id}}}:adm:last"


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def limit_key(prefix: str, round_id: int, user_id: int, index: int) -> str:
    """The counter of one of a contestant's start limits in a round (fixed window from the first start)."""
    return f"{prefix}:{{r:{round_id}}}:adm:limit:{user_id}:{index}"


def admit(
    client: redis.Redis,
    prefix: str,
    *,
    round_id: int,
    user_id: int,
    now: datetime,
    rate: float,
    burst: int,
    limits: Sequence[tuple[int, int]] = (),
    take_from: str | None = None,
) -> Admission:
    """Issue or read ``user_id``'s ticket for ``round_id`` and say whether it may start now.

    :param rate: starts admitted per second across all instances; 0 (or less) admits everyone.
    :param burst: starts admitted at once before anyone queues (at least 1).
    :param limits: the contestant's own start limits, ``(starts, window seconds)`` pairs (``RATE_LIMIT_ATTEMPT_START``),
        counted in the same script once the queue admits (a wait in the queue never counts), so the limit
        costs the start no round trip of its own; over one, the answer is :attr:`Admission.limited`.
    :param take_from: a pre-drawn paper list of the round (:mod:`paper_pool`): on admission, unless the contestant
        has an attempt running in the round (they resume, no paper needed), its next paper is taken in the same
        script (:attr:`Admission.paper`), which saves the start a round trip. The caller owns that paper: it
        uses it or puts it back.
    """
    if rate <= 0 and not limits and take_from is None:
        return ADMITTED
    keys = [tickets_key(prefix, round_id), last_key(prefix, round_id), attempt_state.running_key(prefix, round_id)]
    keys += [limit_key(prefix, round_id, user_id, index) for index in range(len(limits))]
    keys += [take_from] if take_from is not None else []
    interval = f"{1000 / rate:.3f}" if rate > 0 else "0"
    args = [
        str(user_id),
        str(_ms(now)),
        interval,
        str(max(1, burst)),
        str(_ms_of(KEEP)),
        "0" if take_from is None else "1",
    ]
    args += [str(n) for amount, seconds in limits for n in (amount, seconds * 1000)]
    try:
        answer = client.register_script(_ADMIT)(keys=keys, args=args)
    except (redis.RedisError, OSError):
        return ADMITTED  # fail open: the database is the last line
    admitted, position, wait_ms = answer[:3]
    if admitted == 1:
        paper = answer[3] if len(answer) > 3 else None
        return (
            ADMITTED if paper is None else Admission(True, paper=paper.decode() if isinstance(paper, bytes) else paper)
        )
    if admitted == -1:
        return Admission(False, 0, int(wait_ms), rate, limited=True)
    return Admission(False, int(position), int(wait_ms), rate)


def _ms_of(span: timedelta) -> int:
    return int(span.total_seconds() * 1000)


_RUNNING = (
    select(Attempt.id)
    .where(Attempt.user_id == bindparam("user_id"), Attempt.status == AttemptStatus.IN_PROGRESS)
    .limit(1)
)


def has_running_attempt(session: Session, user_id: int) -> bool:
    """Whether the contestant has an attempt in progress in any round (they never queue: see :func:`admit_start`).

    The full start's check, which also covers a running attempt the round's Redis mark does not know of.
    """
    return session.connection().execute(_RUNNING, {"user_id": user_id}).first() is not None


def admit_start(
    session: Session,
    client: redis.Redis,
    prefix: str,
    *,
    round_id: int,
    user_id: int,
    now: datetime,
    rate: float,
    burst: int,
) -> Admission:
    """:func:`admit`, except that a contestant with an attempt in progress passes at once.

    Resuming in this round must never queue; with an attempt running in another round the start only
    sends the contestant back to it (no paper is drawn, nothing is written), so that never queues either:
    their time is running there. Reads the database (one indexed row) but never writes to it.
    """
    if rate <= 0 or has_running_attempt(session, user_id):
        return ADMITTED
    return admit(client, prefix, round_id=round_id, user_id=user_id, now=now, rate=rate, burst=burst)
