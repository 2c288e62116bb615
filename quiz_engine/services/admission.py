"""Admission to start a round at a steady rate: a fair queue in Redis, so a synchronised start never
overloads the database.

Each contestant asking to start gets a ticket: the moment their start is due. Tickets are handed out
in order of asking, ``1 / rate`` seconds apart once the burst is used up, so across every app instance
at most ``burst`` starts pass at once and then ``rate`` per second (a token bucket whose tokens are
reserved in turn). One Lua script (:data:`_ADMIT`) issues or reads the ticket atomically:

- with nobody queued, the first ``burst`` askers pass at once (no crowd, no waiting);
- the next one is due ``1 / rate`` s after the last ticket issued; the place in the queue is
  ``ceil((due - now) × rate)`` and the wait ``due - now``;
- asking again keeps the ticket (and the place); once due it passes, and stays admitted for
  :data:`KEEP` (retries pass); after that a new ticket is issued on the next ask.

Keys (the round's hash tag, one Cluster slot): ``{prefix}:{r:<round>}:adm:tickets`` (hash: user ->
due, ms) and ``{prefix}:{r:<round>}:adm:last`` (due of the last ticket issued). Both expire when the
last ticket issued has been due for :data:`KEEP`. Times come from the caller's ``now`` (the app
server's clock), never Redis TIME, so tests control time. A contestant with an attempt in progress
always passes (resuming never queues). ``rate = 0`` turns admission off, and when Redis
cannot be reached everyone passes: the rate limits and the database are the last line.
An abandoned ticket still uses its slot; the queue then moves on without it.
Nothing here writes to the database.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from quiz_engine.models import Attempt, AttemptStatus
from quiz_engine.services.errors import QuizError

#: How long an admitted ticket keeps passing (retries, a reload) before a new one is needed.
KEEP = timedelta(minutes=10)

_ADMIT = """
local now, interval, burst, keep = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
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
if due <= now then return {1, 0, 0} end
return {0, math.ceil((due - now) / interval), math.ceil(due - now)}
"""


@dataclass(frozen=True)
class Admission:
    admitted: bool
    #: Place in the queue (1 = next); 0 when admitted.
    position: int = 0
    #: Estimated wait in milliseconds; 0 when admitted.
    wait_ms: int = 0

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


def tickets_key(prefix: str, round_id: int) -> str:
    return f"{prefix}:{{r:{round_id}}}:adm:tickets"


def last_key(prefix: str, round_id: int) -> str:
    return f"{prefix}:{{r:{round_id}}}:adm:last"


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def admit(
    client: redis.Redis, prefix: str, *, round_id: int, user_id: int, now: datetime, rate: float, burst: int
) -> Admission:
    """Issue or read ``user_id``'s ticket for ``round_id`` and say whether it may start now.

    :param rate: starts admitted per second across all instances; 0 (or less) admits everyone.
    :param burst: starts admitted at once before anyone queues (at least 1).
    """
    if rate <= 0:
        return ADMITTED
    keys = [tickets_key(prefix, round_id), last_key(prefix, round_id)]
    args = [str(user_id), str(_ms(now)), f"{1000 / rate:.3f}", str(max(1, burst)), str(_ms_of(KEEP))]
    try:
        admitted, position, wait_ms = client.register_script(_ADMIT)(keys=keys, args=args)
    except (redis.RedisError, OSError):
        return ADMITTED  # fail open: the rate limits and the database are the last line
    return ADMITTED if admitted else Admission(False, int(position), int(wait_ms))


def _ms_of(span: timedelta) -> int:
    return int(span.total_seconds() * 1000)


def has_running_attempt(session: Session, user_id: int) -> bool:
    """Whether the contestant has an attempt in progress in any round (they never queue: see :func:`admit_start`)."""
    running = select(Attempt.id).where(Attempt.user_id == user_id, Attempt.status == AttemptStatus.IN_PROGRESS)
    return session.scalar(running) is not None


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
