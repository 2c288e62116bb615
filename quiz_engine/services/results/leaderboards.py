"""Live leaderboards and round counters in Redis: scoring a submitted attempt, reading, rebuilding.

Live ranking rule (the prediction's true value is unknown until close, so it is not used here):
more correct answers first, then shorter time taken, then earlier submission. The three are packed
into one sorted-set score that a double holds exactly (53 bits):

    correct × 2^46 + (2^22 − 1 − time taken in centiseconds) × 2^24 + (2^24 − 1 − seconds from round open to submission)

so time taken counts to 1/100 s (up to 11.6 hours) and submission to the second (up to 194 days).
Contestants whose three values are equal share a rank. Only each contestant's counting attempt is
on the board: the best (by that same order; the earlier of equal attempts), the first or the last
submitted, as the round says.

Scoring an attempt is one Lua script (:data:`_SCORE`): it reads the answers saved in Redis,
grades them against the round's answer key by the rule of :mod:`grading` (its Lua twin,
:data:`grading.LUA_MARK`), records the score, moves the contestant on the round and
unit boards and updates the counters, atomically; a second run for the same attempt changes nothing.
It runs after the database committed the attempt, so Redis only ever repeats what the database
holds; everything here can be rebuilt from the database (:func:`rebuild`).

Every key of a round, the unit boards and the rebuild's temporary keys included, carries the
round's hash tag ``{r:<round id>}`` (:class:`RoundKeys`), so all of them sit in one Redis Cluster
slot: the scripts may touch them together, even the unit boards the scoring script only learns
of from ``who`` and so cannot declare in ``KEYS``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import redis

from quiz_engine.services.taking import attempt_state, grading

CORRECT_SHIFT = 2**46
DURATION_SHIFT = 2**24
MAX_DURATION_CS = 2**22 - 1
MAX_SUBMITTED_S = 2**24 - 1

_SCORE = (
    grading.LUA_MARK
    + """
local att, ans, key, scored, board, who, stats = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local attempt, user, unit, policy = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local accept_until, duration_ms, submitted_s = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local unit_board_prefix = ARGV[9]
if redis.call('SISMEMBER', scored, attempt) == 1 then
  local done = redis.call('HMGET', att, 'correct', 'scored_count')
  return {tonumber(done[1]) or -1, tonumber(done[2]) or -1, 0}
end
local correct, counted, position = 0, 0, 0
for version in string.gmatch(ARGV[8], '[^,]+') do
  local c, r = mark(redis.call('HGET', key, version), redis.call('HGET', ans, tostring(position)), accept_until)
  counted, correct, position = counted + c, correct + r, position + 1
end
local duration_cs = math.min(math.floor(duration_ms / 10), 4194303)
local composite = correct * 70368744177664 + (4194303 - duration_cs) * 16777216
  + (16777215 - math.min(submitted_s, 16777215))
redis.call('SADD', scored, attempt)
redis.call('HSET', att, 'correct', correct, 'scored_count', counted)
local previous = redis.call('HGET', who, user)
local replace = previous == false
local old_unit = ''
if previous then
  local p_attempt, p_unit, p_composite, p_submitted = string.match(previous, '^([^|]*)|([^|]*)|([^|]*)|([^|]*)$')
  old_unit = p_unit
  if policy == 'best' then replace = composite > tonumber(p_composite)
  elseif policy == 'last' then replace = submitted_s >= tonumber(p_submitted)
  else replace = submitted_s < tonumber(p_submitted) end
end
local score_text = string.format('%.17g', composite)
if replace then
  redis.call('ZADD', board, score_text, user)
  redis.call('HSET', who, user, attempt .. '|' .. unit .. '|' .. score_text .. '|' .. submitted_s)
  if previous and old_unit ~= unit and old_unit ~= '' then
    redis.call('ZREM', unit_board_prefix .. old_unit, user)
    redis.call('HINCRBY', stats, 'u:' .. old_unit .. ':participants', -1)
  end
  if unit ~= '' then
    redis.call('ZADD', unit_board_prefix .. unit, score_text, user)
    if (not previous) or old_unit ~= unit then redis.call('HINCRBY', stats, 'u:' .. unit .. ':participants', 1) end
  end
end
if not previous then redis.call('HINCRBY', stats, 'participants', 1) end
redis.call('HINCRBY', stats, 'submitted', 1)
redis.call('HINCRBY', stats, 'in_progress', -1)
redis.call('HINCRBY', stats, 'dist:' .. correct, 1)
if correct == counted then redis.call('HINCRBY', stats, 'perfect', 1) end
if unit ~= '' then
  redis.call('HINCRBY', stats, 'u:' .. unit .. ':submitted', 1)
  redis.call('HINCRBY', stats, 'u:' .. unit .. ':score_sum', correct)
  if correct == counted then redis.call('HINCRBY', stats, 'u:' .. unit .. ':perfect', 1) end
end
return {correct, counted, 1}
"""
)


def count_start_lua(stats: str, started: str, attempt: str, unit: str) -> str:
    """Lua that counts a newly started attempt once (a re-opened Redis state is not counted again).

    The arguments are the Lua expressions holding the stats key, the started-set key, the attempt id and
    the unit id (``''`` for none), so the cheap start's script (:mod:`starts`) counts a start exactly so.
    """
    return f"""
if redis.call('SADD', {started}, {attempt}) == 1 then
  redis.call('HINCRBY', {stats}, 'started', 1)
  redis.call('HINCRBY', {stats}, 'in_progress', 1)
  if {unit} ~= '' then redis.call('HINCRBY', {stats}, 'u:' .. {unit} .. ':started', 1) end
end
"""


_STARTED = count_start_lua("KEYS[1]", "KEYS[2]", "ARGV[1]", "ARGV[2]") + "return 1\n"


def _tag(prefix: str, round_id: int) -> str:
    return f"{prefix}:{{r:{round_id}}}"


@dataclass(frozen=True)
class RoundKeys:
    """Every key of one round's board and counters (one hash tag: one Cluster slot)."""

    prefix: str
    round_id: int

    def _k(self, name: str) -> str:
        return f"{_tag(self.prefix, self.round_id)}:{name}"

    @property
    def answer_key(self) -> str:
        return self._k("key")

    @property
    def scored(self) -> str:
        return self._k("scored")

    @property
    def started(self) -> str:
        return self._k("started")

    @property
    def board(self) -> str:
        return self._k("lb")

    @property
    def frozen(self) -> str:
        return self._k("lb:frozen")

    @property
    def frozen_built(self) -> str:
        return self._k("lb:frozen:built")

    @property
    def who(self) -> str:
        return self._k("who")

    @property
    def stats(self) -> str:
        return self._k("stats")

    @property
    def unit_board_prefix(self) -> str:
        return self._k("lb:u:")

    def unit_board(self, unit_id: int) -> str:
        return f"{self.unit_board_prefix}{unit_id}"


def composite(correct: int, duration_ms: int, submitted_s: int) -> int:
    """The live sorting value (see the module docstring); higher ranks first."""
    duration_cs = min(duration_ms // 10, MAX_DURATION_CS)
    return (
        correct * CORRECT_SHIFT
        + (MAX_DURATION_CS - duration_cs) * DURATION_SHIFT
        + (MAX_SUBMITTED_S - min(submitted_s, MAX_SUBMITTED_S))
    )


def seconds_since_open(submitted_at: datetime, opens_at: datetime) -> int:
    return max(0, int((submitted_at - opens_at).total_seconds()))


def load_answer_key(client: redis.Redis, prefix: str, round_id: int, entries: dict[int, str]) -> None:
    """Put answer-key entries (question version id -> ``"0"``, ``"0,2"``, ``*`` or ``-``) into Redis."""
    if entries:
        client.hset(RoundKeys(prefix, round_id).answer_key, mapping={str(k): v for k, v in entries.items()})


def replace_answer_key(client: redis.Redis, prefix: str, round_id: int, entries: dict[int, str]) -> None:
    """Swap in a whole new answer key at once (built under a temporary name in the same slot), so a
    submission scored meanwhile sees the old key or the new one, never an empty one."""
    live = RoundKeys(prefix, round_id).answer_key
    temp = RoundKeys(prefix + ":rebuild", round_id).answer_key
    # Plain commands, not a pipeline: a cluster client refuses RENAME in a pipeline (same slot or not).
    client.delete(temp)
    if entries:
        client.hset(temp, mapping={str(k): v for k, v in entries.items()})
        client.rename(temp, live)
    else:
        client.delete(live)


def unscored(client: redis.Redis, prefix: str, round_id: int, attempt_ids: Sequence[int]) -> list[int]:
    """Those of ``attempt_ids`` that the round's boards have not counted yet."""
    key = RoundKeys(prefix, round_id).scored
    missing: list[int] = []
    for start in range(0, len(attempt_ids), 10_000):
        chunk = attempt_ids[start : start + 10_000]
        missing += [
            a for a, seen in zip(chunk, client.smismember(key, [str(a) for a in chunk]), strict=True) if not seen
        ]
    return missing


def rebuild_lock(client: redis.Redis, prefix: str, round_id: int):  # type: ignore[no-untyped-def]
    """One rebuild of a round at a time, across every app instance and maintenance loop."""
    return client.lock(f"{_tag(prefix, round_id)}:rebuild-lock", timeout=600, blocking_timeout=300)


def mark_started(client: redis.Redis, prefix: str, round_id: int, attempt_id: int, unit_id: int | None) -> None:
    """Count a newly started attempt once (a re-opened Redis state is not counted again)."""
    keys = RoundKeys(prefix, round_id)
    client.register_script(_STARTED)(keys=[keys.stats, keys.started], args=[str(attempt_id), str(unit_id or "")])


@dataclass(frozen=True)
class ScoredAttempt:
    """What Lua scoring needs to know of a closed attempt (all of it from the database row)."""

    attempt_id: int
    user_id: int
    unit_id: int | None
    accept_until: datetime
    duration_ms: int
    submitted_s: int
    version_ids: Sequence[int]


def score_attempt(
    client: redis.Redis, prefix: str, round_id: int, policy: str, attempt: ScoredAttempt
) -> tuple[int, int]:
    """Run the scoring script for ``attempt``; return ``(correct, counted questions)``. Idempotent."""
    keys = RoundKeys(prefix, round_id)
    redis_keys = [
        attempt_state.attempt_key(prefix, round_id, attempt.attempt_id),
        attempt_state.answers_key(prefix, round_id, attempt.attempt_id),
        keys.answer_key,
        keys.scored,
        keys.board,
        keys.who,
        keys.stats,
    ]
    args = [
        str(attempt.attempt_id),
        str(attempt.user_id),
        str(attempt.unit_id or ""),
        policy,
        str(int(attempt.accept_until.timestamp() * 1000)),
        str(attempt.duration_ms),
        str(attempt.submitted_s),
        ",".join(str(v) for v in attempt.version_ids),
        keys.unit_board_prefix,
    ]
    correct, counted, _fresh = client.register_script(_SCORE)(keys=redis_keys, args=args)
    return int(correct), int(counted)


@dataclass(frozen=True)
class BoardEntry:
    rank: int
    user_id: int
    correct: int
    duration_ms: int
    submitted_s: int


def decode(value: float) -> tuple[int, int, int]:
    """``(correct, duration in ms (to 10 ms), seconds from open)`` from a board score."""
    packed = int(value)
    correct, rest = divmod(packed, CORRECT_SHIFT)
    duration_part, submitted_part = divmod(rest, DURATION_SHIFT)
    return correct, (MAX_DURATION_CS - duration_part) * 10, MAX_SUBMITTED_S - submitted_part


def top(client: redis.Redis, board_key: str, count: int) -> list[BoardEntry]:
    """The first ``count`` places; equal scores share the rank of the first of them."""
    rows = client.zrevrange(board_key, 0, count - 1, withscores=True)
    entries: list[BoardEntry] = []
    for index, (member, score) in enumerate(rows):
        rank = entries[-1].rank if entries and score == rows[index - 1][1] else index + 1
        entries.append(BoardEntry(rank, int(member), *decode(score)))
    return entries


def rank_of(client: redis.Redis, board_key: str, user_id: int) -> tuple[BoardEntry | None, int]:
    """The contestant's place (ties share it) and the number of contestants on the board; O(log N)."""
    pipe = client.pipeline(transaction=False)
    pipe.zscore(board_key, str(user_id))
    pipe.zcard(board_key)
    score, total = pipe.execute()
    if score is None:
        return None, int(total)
    above = client.zcount(board_key, f"({score!r}", "+inf")
    return BoardEntry(int(above) + 1, user_id, *decode(score)), int(total)


@dataclass
class LiveStats:
    """The round's live counters (no database query behind them)."""

    started: int = 0
    in_progress: int = 0
    submitted: int = 0
    participants: int = 0
    perfect: int = 0
    distribution: dict[int, int] = field(default_factory=dict)
    units: dict[int, dict[str, int]] = field(default_factory=dict)


def live_stats(client: redis.Redis, prefix: str, round_id: int) -> LiveStats:
    raw = client.hgetall(RoundKeys(prefix, round_id).stats)
    stats = LiveStats()
    for name, value in raw.items():
        number = int(value)
        if name.startswith("dist:"):
            stats.distribution[int(name[5:])] = number
        elif name.startswith("u:"):
            _, unit, metric = name.split(":", 2)
            stats.units.setdefault(int(unit), {})[metric] = number
        elif hasattr(stats, name):
            setattr(stats, name, number)
    return stats


@dataclass(frozen=True)
class ClosedAttempt:
    """A closed attempt as the database holds it, for a rebuild (and for the tests' plain ranking)."""

    attempt_id: int
    user_id: int
    unit_id: int | None
    correct: int
    counted: int
    duration_ms: int
    submitted_s: int

    @property
    def value(self) -> int:
        return composite(self.correct, self.duration_ms, self.submitted_s)


def counting_attempts(attempts: Iterable[ClosedAttempt], policy: str) -> dict[int, ClosedAttempt]:
    """Each contestant's counting attempt under ``policy`` (best, first or last), in plain Python."""
    chosen: dict[int, ClosedAttempt] = {}
    for attempt in sorted(attempts, key=lambda a: (a.submitted_s, a.attempt_id)):
        held = chosen.get(attempt.user_id)
        if held is None or (
            (policy == "best" and attempt.value > held.value)
            or (policy == "last" and attempt.submitted_s >= held.submitted_s)
            or (policy == "first" and attempt.submitted_s < held.submitted_s)
        ):
            chosen[attempt.user_id] = attempt
    return chosen


def rebuild(
    client: redis.Redis,
    prefix: str,
    round_id: int,
    policy: str,
    closed: Sequence[ClosedAttempt],
    *,
    started: Sequence[tuple[int, int | None]],
    in_progress: int,
) -> None:
    """Replace the round's boards and counters with what the database says.

    Built under temporary names (same hash tag) and swapped in by one script, so readers never see
    a half-built board. ``started`` lists ``(attempt id, unit id)`` of every attempt ever started.
    The old unit boards are found with SCAN, which a cluster client runs on every primary.
    """
    keys = RoundKeys(prefix, round_id)
    temp = RoundKeys(prefix + ":rebuild", round_id)
    chosen = counting_attempts(closed, policy)
    old_units = {int(k.rsplit(":", 1)[1]) for k in client.scan_iter(match=f"{keys.unit_board_prefix}*", count=1000)}
    stats: dict[str, int] = {
        "started": len(started),
        "in_progress": in_progress,
        "submitted": len(closed),
        "participants": len(chosen),
    }
    for _attempt_id, unit in started:
        if unit is not None:
            stats[f"u:{unit}:started"] = stats.get(f"u:{unit}:started", 0) + 1
    for a in closed:
        _count_closed(stats, a)
    for a in chosen.values():
        if a.unit_id is not None:
            stats[f"u:{a.unit_id}:participants"] = stats.get(f"u:{a.unit_id}:participants", 0) + 1
    pipe = client.pipeline(transaction=False)
    for name in (temp.board, temp.who, temp.stats, temp.scored, temp.started):
        pipe.delete(name)
    _write_in_chunks(pipe, temp, chosen, closed, started, stats)
    pipe.execute()
    new_units = {a.unit_id for a in chosen.values() if a.unit_id is not None}
    pairs = [
        (temp.board, keys.board),
        (temp.who, keys.who),
        (temp.stats, keys.stats),
        (temp.scored, keys.scored),
        (temp.started, keys.started),
    ]
    pairs += [(temp.unit_board(u), keys.unit_board(u)) for u in new_units]
    pairs += [(temp.unit_board(u), keys.unit_board(u)) for u in old_units - new_units]  # no source: deleted
    flat = [k for pair in pairs for k in pair] + [keys.frozen]
    client.register_script(_SWAP)(keys=flat, args=[])
    client.delete(keys.frozen_built)  # the frozen board is rebuilt from the database on its next read


_SWAP = """
for i = 1, #KEYS - 1, 2 do
  if redis.call('EXISTS', KEYS[i]) == 1 then redis.call('RENAME', KEYS[i], KEYS[i + 1])
  else redis.call('DEL', KEYS[i + 1]) end
end
redis.call('DEL', KEYS[#KEYS])
return 1
"""


def _count_closed(stats: dict[str, int], a: ClosedAttempt) -> None:
    stats[f"dist:{a.correct}"] = stats.get(f"dist:{a.correct}", 0) + 1
    if a.correct == a.counted:
        stats["perfect"] = stats.get("perfect", 0) + 1
    if a.unit_id is not None:
        # The same fields the scoring script creates: score_sum even at 0, perfect only when it happens.
        metrics = [("submitted", 1), ("score_sum", a.correct)] + [("perfect", 1)] * (a.correct == a.counted)
        for metric, amount in metrics:
            name = f"u:{a.unit_id}:{metric}"
            stats[name] = stats.get(name, 0) + amount


def _write_in_chunks(pipe, temp: RoundKeys, chosen, closed, started, stats) -> None:  # type: ignore[no-untyped-def]
    if stats:
        pipe.hset(temp.stats, mapping=stats)
    for chunk_start in range(0, len(closed), 5000):
        pipe.sadd(temp.scored, *[str(a.attempt_id) for a in closed[chunk_start : chunk_start + 5000]])
    for chunk_start in range(0, len(started), 5000):
        pipe.sadd(temp.started, *[str(a) for a, _u in started[chunk_start : chunk_start + 5000]])
    entries = list(chosen.values())
    for chunk_start in range(0, len(entries), 5000):
        chunk = entries[chunk_start : chunk_start + 5000]
        pipe.zadd(temp.board, {str(a.user_id): a.value for a in chunk})
        pipe.hset(
            temp.who,
            mapping={str(a.user_id): f"{a.attempt_id}|{a.unit_id or ''}|{a.value}|{a.submitted_s}" for a in chunk},
        )
        for a in chunk:
            if a.unit_id is not None:
                pipe.zadd(temp.unit_board(a.unit_id), {str(a.user_id): a.value})
