"""An attempt's hot state in Redis: who owns it, until when answers count, and the saved answers.

Saving an answer is one Lua call that checks owner, status, question number, choice range and
deadline (grace included) and stores the answer with the server time it arrived, so the request
that stores an answer never touches the database. Every key of a round shares the hash tag
``{r:<round id>}`` so the same script runs on Redis Cluster. The database keeps the paper and,
from submission on, the answers; this state can be rebuilt from it while the attempt is open.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import redis

#: Keep the keys a week past the deadline: enough for the close sweep and any repair.
RETENTION = timedelta(days=7)
PREDICTION_FIELD = "p"

_SAVE = """
for i = 3, #KEYS do
  local hits = redis.call('INCR', KEYS[i])
  if hits == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[5 + 2 * (i - 3) + 1]) end
  if hits > tonumber(ARGV[5 + 2 * (i - 3)]) then return -6 end
end
local att = redis.call('HMGET', KEYS[1], 'user', 'accept_until', 'status', 'layout')
if not att[1] then return -1 end
if att[1] ~= ARGV[1] then return -2 end
if att[3] ~= 'open' then return -3 end
local field, value, now = ARGV[2], ARGV[3], tonumber(ARGV[4])
if field ~= 'p' then
  local index = tonumber(field)
  local layout = {}
  for spec in string.gmatch(att[4], '[^,]+') do layout[#layout + 1] = spec end
  if index == nil or index < 0 or index >= #layout or index ~= math.floor(index) then return -4 end
  local spec = layout[index + 1]
  local choices, multiple = tonumber(string.match(spec, '%d+')), string.sub(spec, -1) == 'm'
  local count = 0
  for choice in string.gmatch(value, '[^,]+') do
    local c = tonumber(choice)
    if c == nil or c < 0 or c >= choices then return -4 end
    count = count + 1
  end
  if count > 1 and not multiple then return -4 end
end
local current = redis.call('HGET', KEYS[2], field)
if current and string.sub(current, 1, string.find(current, '|', 1, true) - 1) == value then return 2 end
if now > tonumber(att[2]) then return -5 end
redis.call('HSET', KEYS[2], field, value .. '|' .. ARGV[4])
return 1
"""


class SaveResult(enum.IntEnum):
    SAVED = 1
    UNCHANGED = 2  # the same answer was already saved: a resend is harmless
    UNKNOWN = -1  # no such open attempt in Redis (closed long ago, or state to rebuild)
    NOT_OWNER = -2
    CLOSED = -3
    INVALID = -4
    LATE = -5
    RATE_LIMITED = -6  # too many saves for this attempt in the current window


@dataclass(frozen=True)
class SavedAnswer:
    value: str
    saved_at: datetime

    @property
    def choices(self) -> list[int]:
        return [int(c) for c in self.value.split(",") if c]


def _tag(prefix: str, round_id: int) -> str:
    return f"{prefix}:{{r:{round_id}}}"


def attempt_key(prefix: str, round_id: int, attempt_id: int) -> str:
    return f"{_tag(prefix, round_id)}:att:{attempt_id}"


def answers_key(prefix: str, round_id: int, attempt_id: int) -> str:
    return f"{_tag(prefix, round_id)}:ans:{attempt_id}"


def running_key(prefix: str, round_id: int) -> str:
    """The round's open attempts by contestant (user id -> attempt id): lets a resumer past the start queue."""
    return f"{_tag(prefix, round_id)}:running"


def save_limit_key(prefix: str, round_id: int, attempt_id: int, index: int) -> str:
    """The counter of one save-rate limit (fixed window from the first save in it)."""
    return f"{_tag(prefix, round_id)}:rl:{attempt_id}:{index}"


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def layout_of(choice_counts: Sequence[int], multiple: Sequence[bool]) -> str:
    """Each question's number of choices, with ``m`` where several may be chosen."""
    return ",".join(f"{n}{'m' if many else ''}" for n, many in zip(choice_counts, multiple, strict=True))


def open_state(
    client: redis.Redis,
    prefix: str,
    *,
    round_id: int,
    attempt_id: int,
    user_id: int,
    accept_until: datetime,
    layout: str,
) -> None:
    """Create (or re-create) the state of an open attempt; saved answers are kept."""
    key = attempt_key(prefix, round_id, attempt_id)
    expire_at = accept_until + RETENTION
    pipe = client.pipeline(transaction=True)  # one slot ({r:ID}), so a MULTI on a Cluster too
    pipe.hset(
        key, mapping={"user": str(user_id), "accept_until": str(_ms(accept_until)), "status": "open", "layout": layout}
    )
    pipe.expireat(key, expire_at)
    pipe.expireat(answers_key(prefix, round_id, attempt_id), expire_at)
    pipe.hset(running_key(prefix, round_id), str(user_id), str(attempt_id))
    pipe.expireat(running_key(prefix, round_id), expire_at)
    pipe.execute()


def has_state(client: redis.Redis, prefix: str, round_id: int, attempt_id: int) -> bool:
    return bool(client.exists(attempt_key(prefix, round_id, attempt_id)))


def save_answer(
    client: redis.Redis,
    prefix: str,
    *,
    round_id: int,
    attempt_id: int,
    user_id: int,
    field: str,
    value: str,
    now: datetime,
    limits: Sequence[tuple[int, int]] = (),
) -> SaveResult:
    """Store one answer (``field`` is the question position, or ``p`` for the prediction).

    :param limits: ``(saves, window seconds)`` pairs, counted per attempt in the same script, so the
        rate limit costs no extra round trip; a refused save is :attr:`SaveResult.RATE_LIMITED`.
    """
    keys = [attempt_key(prefix, round_id, attempt_id), answers_key(prefix, round_id, attempt_id)]
    keys += [save_limit_key(prefix, round_id, attempt_id, index) for index in range(len(limits))]
    args = [str(user_id), field, value, str(_ms(now))]
    args += [str(n) for amount, seconds in limits for n in (amount, seconds * 1000)]
    # register_script runs EVALSHA and loads the script only when the server lacks it.
    return SaveResult(int(client.register_script(_SAVE)(keys=keys, args=args)))


def save_retry_after(
    client: redis.Redis, prefix: str, round_id: int, attempt_id: int, limits: Sequence[tuple[int, int]]
) -> int:
    """Seconds until every exhausted save-rate window of ``attempt_id`` has reset (at least 1)."""
    pipe = client.pipeline(transaction=False)
    for index in range(len(limits)):
        key = save_limit_key(prefix, round_id, attempt_id, index)
        pipe.get(key)
        pipe.pttl(key)
    found = pipe.execute()
    waits = [
        pttl
        for (amount, _seconds), hits, pttl in zip(limits, found[::2], found[1::2], strict=True)
        if hits is not None and int(hits) >= amount and pttl > 0
    ]
    return max(1, -(-max(waits, default=1000) // 1000))


def saved_answers(client: redis.Redis, prefix: str, round_id: int, attempt_id: int) -> dict[str, SavedAnswer]:
    """Every saved answer by field, with the server time it arrived."""
    return _decode(client.hgetall(answers_key(prefix, round_id, attempt_id)))


_CLOSE = """
local user = redis.call('HGET', KEYS[1], 'user')
if user then
  redis.call('HSET', KEYS[1], 'status', 'closed')
  if redis.call('HGET', KEYS[3], user) == ARGV[1] then redis.call('HDEL', KEYS[3], user) end
end
return redis.call('HGETALL', KEYS[2])
"""


def close_and_read(client: redis.Redis, prefix: str, round_id: int, attempt_id: int) -> dict[str, SavedAnswer]:
    """Refuse further answers and return those saved, in one step (no answer slips in between)."""
    keys = [
        attempt_key(prefix, round_id, attempt_id),
        answers_key(prefix, round_id, attempt_id),
        running_key(prefix, round_id),
    ]
    flat = client.register_script(_CLOSE)(keys=keys, args=[str(attempt_id)])
    return _decode(dict(zip(flat[::2], flat[1::2], strict=True)))


def _decode(found: dict[str, str]) -> dict[str, SavedAnswer]:
    answers = {}
    for field, stored in found.items():
        value, _, ms = stored.rpartition("|")
        answers[field] = SavedAnswer(value, datetime.fromtimestamp(int(ms) / 1000, UTC))
    return answers


def close_state(client: redis.Redis, prefix: str, round_id: int, attempt_id: int) -> None:
    """Refuse further answers (the database now holds them)."""
    key = attempt_key(prefix, round_id, attempt_id)
    if client.exists(key):
        client.hset(key, "status", "closed")
