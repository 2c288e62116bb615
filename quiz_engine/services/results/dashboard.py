"""The organizer's live dashboard of a round: counters, participation by unit, attempts over time.

The counters come from the round's Redis counters (:func:`leaderboards.live_stats`), which the
scoring script keeps current; unit names and headcounts, and the start times of the attempts,
come from the database. Read only: nothing is flushed or committed.

Participation rate of a unit = its participants (contestants whose counting attempt is in the
unit) ÷ its headcount, in percent; units without a headcount have no rate. The ten weakest units
are those with the lowest rate (ties by name). Attempts over time are counted per hour, or per
10 minutes for rounds shorter than two days, in buckets that start on the hour (or the tenth
minute) of the contest's time zone, from the round's opening to now or its close.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from redis import Redis, RedisError
from sqlalchemy import select
from sqlalchemy.orm import Session

from quiz_engine.models import Attempt, Round, Unit
from quiz_engine.services.results import leaderboards

WEAKEST = 10
SHORT_ROUND = timedelta(days=2)


@dataclass(frozen=True)
class UnitParticipation:
    """One unit's live counters beside its headcount."""

    unit_id: int
    name: str
    headcount: int | None
    participants: int = 0
    started: int = 0
    submitted: int = 0
    perfect: int = 0

    @property
    def rate(self) -> float | None:
        """Participation rate in percent, or None without a headcount."""
        return 100 * self.participants / self.headcount if self.headcount else None


@dataclass(frozen=True)
class TimeBucket:
    """Attempts started from ``start`` (local time) for one bucket's length."""

    start: datetime
    started: int


@dataclass(frozen=True)
class Dashboard:
    """Everything the dashboard shows of one round at ``as_of`` (local time)."""

    round_id: int
    as_of: datetime
    #: False when Redis could not be read: the counters below are then zeros, not the truth.
    live: bool
    #: Redis missed a submission and waits for the repair: the counters may be a little behind.
    stale: bool
    started: int
    in_progress: int
    submitted: int
    participants: int
    perfect: int
    #: By participation rate, highest first; units without a headcount last.
    units: tuple[UnitParticipation, ...]
    weakest: tuple[UnitParticipation, ...]
    bucket: timedelta
    timeline: tuple[TimeBucket, ...]
    #: Papers by number of correct answers: ``distribution[k]`` papers had ``k`` right, k = 0…question count.
    distribution: tuple[int, ...]

    @property
    def question_count(self) -> int:
        return len(self.distribution) - 1


def round_dashboard(session: Session, redis: Redis, prefix: str, round_: Round, now: datetime, tz: tzinfo) -> Dashboard:
    """Read the round's live counters and the database into one :class:`Dashboard` (see the module docstring)."""
    try:
        stats, live = leaderboards.live_stats(redis, prefix, round_.id), True
    except (RedisError, OSError):
        stats, live = leaderboards.LiveStats(), False  # the database half of the page still helps
    units = _units(session, round_, stats)
    bucket = timedelta(minutes=10) if round_.closes_at - round_.opens_at < SHORT_ROUND else timedelta(hours=1)
    return Dashboard(
        round_id=round_.id,
        as_of=now.astimezone(tz),
        live=live,
        stale=round_.leaderboard_stale_at is not None,
        started=stats.started,
        in_progress=max(stats.in_progress, 0),
        submitted=stats.submitted,
        participants=stats.participants,
        perfect=stats.perfect,
        units=tuple(sorted(units, key=lambda u: (u.rate is None, -(u.rate or 0), u.name))),
        weakest=tuple(sorted((u for u in units if u.rate is not None), key=lambda u: (u.rate, u.name))[:WEAKEST]),
        bucket=bucket,
        timeline=tuple(_timeline(session, round_, now, tz, bucket)),
        distribution=_distribution(round_, stats.distribution),
    )


def _units(session: Session, round_: Round, stats: leaderboards.LiveStats) -> list[UnitParticipation]:
    """The contest's units, and any other unit the counters name (a contestant's unit outside the list)."""
    wanted = {u.id for u in round_.contest.units} | set(stats.units)
    if not wanted:
        return []
    rows = session.execute(select(Unit.id, Unit.name, Unit.headcount).where(Unit.id.in_(wanted))).all()
    units = []
    for unit_id, name, headcount in rows:
        counters = stats.units.get(unit_id, {})
        units.append(
            UnitParticipation(
                unit_id=unit_id,
                name=name,
                headcount=headcount,
                participants=counters.get("participants", 0),
                started=counters.get("started", 0),
                submitted=counters.get("submitted", 0),
                perfect=counters.get("perfect", 0),
            )
        )
    return units


def _floor(moment: datetime, tz: tzinfo, bucket: timedelta) -> datetime:
    """The start of the bucket holding ``moment``, on the local clock's hour or tenth minute, in UTC."""
    local = moment.astimezone(tz)
    minute = local.minute - local.minute % 10 if bucket < timedelta(hours=1) else 0
    return local.replace(minute=minute, second=0, microsecond=0).astimezone(UTC)


def _timeline(session: Session, round_: Round, now: datetime, tz: tzinfo, bucket: timedelta) -> list[TimeBucket]:
    """Attempts started per bucket from the round's opening to now (or its close), empty buckets included.

    Buckets are stepped in UTC from a local round start, so each is exactly one bucket long even
    across a daylight-saving change; grouping is done here because SQL time-zone functions differ
    between SQLite and PostgreSQL.
    """
    first = _floor(round_.opens_at, tz, bucket)
    end = min(now, round_.closes_at)
    if end < round_.opens_at:
        return []
    counts = [0] * ((end - first) // bucket + 1)
    started = session.scalars(
        select(Attempt.started_at).where(
            Attempt.round_id == round_.id, Attempt.started_at >= first, Attempt.started_at <= end
        )
    )
    for moment in started:
        counts[(moment - first) // bucket] += 1
    return [TimeBucket((first + i * bucket).astimezone(tz), n) for i, n in enumerate(counts)]


def _distribution(round_: Round, counts: dict[int, int]) -> tuple[int, ...]:
    """Counts for 0…the longest paper's question count (a group's own mix may be longer than the common one)."""
    longest = max(
        [round_.question_count(None), *(round_.question_count(m.group_id) for m in round_.mix), *counts],
        default=0,
    )
    return tuple(counts.get(k, 0) for k in range(longest + 1))
