"""Exports as background jobs: queue one, build it with live progress, keep the file, expire it.

The job row (status, counts, the finished workbook) lives in the database and the live progress in
Redis, so whichever app instance an organizer's next request reaches can show the progress bar and
serve the download. A job's Redis entry expires unless the process building it keeps refreshing it;
an open job whose entry has gone was lost with its process (a restart, a crash) and is marked failed,
so nobody waits for a bar that will never move.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import redis
from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from quiz_engine.models import Contest, ExportJob, ExportStatus, Round, User
from quiz_engine.services.results import exports, question_statistics

#: How long a job's live entry outlives the last sign of life from the process building it.
HEARTBEAT_TTL_SECONDS = 60
#: Progress is written to Redis at most this often (a million rows must not mean a million writes).
PROGRESS_INTERVAL_SECONDS = 0.5
#: Finished files are deleted after this long (they may hold contact details: keep them no longer).
RETENTION = timedelta(hours=24)
#: Workbooks up to this size are built in memory; larger ones spill to a temporary file.
SPOOL_BYTES = 8 * 2**20

#: ``ExportJob.error`` holds a code the web layer words in the reader's language: this one, or
#: ``failed:<ExceptionName>``.
INTERRUPTED = "interrupted"


def _key(prefix: str, job_id: int) -> str:
    return f"{prefix}:export:{job_id}"


def download_name(round_: Round, kind: exports.ExportKind) -> str:
    return f"{kind.value}-dot-{round_.number}-{round_.contest.slug}.xlsx"


def request(
    session: Session,
    client: redis.Redis,
    prefix: str,
    round_: Round,
    kind: exports.ExportKind,
    *,
    user_id: int | None,
    now: datetime,
) -> tuple[ExportJob, bool]:
    """Queue an export; return ``(job, created)``.

    The same person asking again for the same round and kind while their job is still open gets that
    job back instead of a second one: an impatient double click must not build the file twice.
    """
    for job in session.scalars(
        select(ExportJob).where(
            ExportJob.round_id == round_.id,
            ExportJob.kind == kind.value,
            ExportJob.requested_by == user_id,
            ExportJob.status.in_((ExportStatus.QUEUED, ExportStatus.RUNNING)),
        )
    ):
        if _alive(client, prefix, job):
            return job, False
    job = ExportJob(
        round_id=round_.id,
        kind=kind.value,
        requested_by=user_id,
        status=ExportStatus.QUEUED,
        expected_rows=exports.expected_rows(session, kind, round_),
        filename=download_name(round_, kind),
        created_at=now,
    )
    session.add(job)
    session.flush()
    keep_alive(client, prefix, [job.id])
    client.hset(_key(prefix, job.id), mapping={"done": 0})
    return job, True


def keep_alive(client: redis.Redis, prefix: str, job_ids: Iterable[int]) -> None:
    """Refresh the live entries of jobs this process is building or holds in its queue."""
    pipe = client.pipeline(transaction=False)
    for job_id in job_ids:
        pipe.hset(_key(prefix, job_id), "alive", 1)
        pipe.expire(_key(prefix, job_id), HEARTBEAT_TTL_SECONDS)
    pipe.execute()


def _alive(client: redis.Redis, prefix: str, job: ExportJob) -> bool:
    return bool(client.exists(_key(prefix, job.id)))


class Progress:
    """The ``progress`` callback given to :func:`exports.build_export`: counts rows and, now and then,
    writes the count to Redis with the job's heartbeat."""

    def __init__(self, client: redis.Redis, prefix: str, job_id: int) -> None:
        self.client = client
        self.prefix = prefix
        self.job_id = job_id
        self.done = 0
        self._written_at = 0.0

    def __call__(self, rows: int) -> None:
        self.done += rows
        if time.monotonic() - self._written_at >= PROGRESS_INTERVAL_SECONDS:
            self.flush()

    def flush(self) -> None:
        self._written_at = time.monotonic()
        try:
            keep_alive(self.client, self.prefix, [self.job_id])
            self.client.hset(_key(self.prefix, self.job_id), "done", self.done)
        except redis.RedisError:
            pass  # progress is a courtesy; the export itself does not need Redis


def start(session: Session, job: ExportJob, now: datetime) -> None:
    job.status = ExportStatus.RUNNING
    job.started_at = now
    session.flush()


def build(
    session: Session,
    job: ExportJob,
    progress: Progress,
    *,
    now: datetime,
    tz: ZoneInfo,
    thresholds: question_statistics.Thresholds | None = None,
) -> tuple[bytes, int]:
    """Build the job's workbook; return its bytes and the number of data rows."""
    user = session.get(User, job.requested_by) if job.requested_by is not None else None
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as out:
        rows = exports.build_export(
            session,
            exports.ExportKind(job.kind),
            job.round,
            now=now,
            tz=tz,
            exported_by=user.full_name if user is not None else "",
            out=out,
            progress=progress,
            thresholds=thresholds,
        )
        progress.flush()
        out.seek(0)
        return out.read(), rows


def finish(session: Session, job: ExportJob, data: bytes, rows: int, now: datetime) -> None:
    job.status = ExportStatus.DONE
    job.content = data
    job.size_bytes = len(data)
    job.rows = rows
    job.finished_at = now
    session.flush()


def fail(session: Session, job: ExportJob, reason: str, now: datetime) -> None:
    job.status = ExportStatus.FAILED
    job.error = reason[:500]
    job.finished_at = now
    session.flush()


@dataclass(frozen=True)
class JobView:
    """What the progress page shows: status, rows done out of expected, and the percentage."""

    job: ExportJob
    done: int
    total: int

    @property
    def percent(self) -> int:
        if self.job.status is ExportStatus.DONE:
            return 100
        return min(99, self.done * 100 // self.total) if self.total else 0


def view(session: Session, client: redis.Redis, prefix: str, job: ExportJob, now: datetime) -> JobView:
    """The job as it stands; an open job whose process has gone is marked failed here (caller commits)."""
    if not job.is_open:
        return JobView(job, job.rows or 0, job.rows or job.expected_rows)
    try:
        done = client.hget(_key(prefix, job.id), "done")
    except redis.RedisError:
        return JobView(job, 0, job.expected_rows)  # Redis is away: say nothing rather than something wrong
    if done is None:
        session.refresh(job)  # it may have finished a moment ago, in another instance
        if job.is_open:
            fail(session, job, INTERRUPTED, now)
        return view(session, client, prefix, job, now)
    return JobView(job, int(done), job.expected_rows)


def recent(session: Session, contests: Select[tuple[Contest]], limit: int = 50) -> list[ExportJob]:
    """The newest jobs of the rounds of ``contests`` (a query: the contests the reader may manage)."""
    contest_ids = contests.with_only_columns(Contest.id).scalar_subquery()
    stmt = (
        select(ExportJob)
        .join(Round, Round.id == ExportJob.round_id)
        .where(Round.contest_id.in_(contest_ids))
        .order_by(ExportJob.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def expire_old(session: Session, now: datetime, retention: timedelta = RETENTION) -> int:
    """Delete finished files older than ``retention``; the job rows stay as the record. Returns how many."""
    result = session.execute(
        update(ExportJob)
        .where(ExportJob.finished_at < now - retention, ExportJob.expired_at.is_(None), ExportJob.content.is_not(None))
        .values(content=None, expired_at=now)
    )
    return result.rowcount or 0
