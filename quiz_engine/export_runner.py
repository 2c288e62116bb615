"""Builds export jobs on a small thread pool inside the app process that accepted them.

Jobs survive nothing here on purpose: their state is in the database and Redis (see
``services.export_jobs``), so another instance can report on them, and a job lost with its process
is noticed there by its expired heartbeat. A heartbeat thread keeps the entries of this process's
queued and running jobs alive, including while one waits in the queue behind another.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from zoneinfo import ZoneInfo

from flask import Flask, current_app

from quiz_engine.extensions import db, redis_client
from quiz_engine.models import ExportJob, ExportStatus, utcnow
from quiz_engine.services.people import audit
from quiz_engine.services.results import export_jobs, question_statistics

log = logging.getLogger(__name__)

HEARTBEAT_EVERY_SECONDS = 10


class ExportRunner:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._mine: set[int] = set()

    def submit(self, job_id: int) -> Future[None]:
        """Queue a committed job; the pool starts on first use (after gunicorn has forked the worker)."""
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.app.config["EXPORT_WORKERS"], thread_name_prefix="quiz-export")
                threading.Thread(target=self._heartbeat, name="quiz-export-heartbeat", daemon=True).start()
            self._mine.add(job_id)
            return self._pool.submit(self._run, job_id)

    def shutdown(self) -> None:
        """Wait for queued and running jobs to finish (tests, and a clean exit)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def _heartbeat(self) -> None:
        while True:
            time.sleep(HEARTBEAT_EVERY_SECONDS)
            with self._lock:
                mine = set(self._mine)
            if mine:
                with self.app.app_context():
                    try:
                        export_jobs.keep_alive(redis_client(), self.app.config["REDIS_KEY_PREFIX"], mine)
                    except Exception:
                        log.warning("export heartbeat failed", exc_info=True)

    def _run(self, job_id: int) -> None:
        try:
            with self.app.app_context():
                self._build(job_id)
        finally:
            with self._lock:
                self._mine.discard(job_id)

    def _build(self, job_id: int) -> None:
        session = db.session
        job = session.get(ExportJob, job_id)
        if job is None or job.status is not ExportStatus.QUEUED:
            return
        export_jobs.start(session, job, utcnow())
        session.commit()
        prefix = self.app.config["REDIS_KEY_PREFIX"]
        progress = export_jobs.Progress(redis_client(), prefix, job.id)
        try:
            data, rows = export_jobs.build(
                session,
                job,
                progress,
                now=utcnow(),
                tz=ZoneInfo(self.app.config["TIMEZONE"]),
                thresholds=question_statistics.Thresholds.from_config(self.app.config),
            )
        except Exception as exc:
            log.exception("export job %s failed", job_id)
            session.rollback()
            job = session.get(ExportJob, job_id)
            if job is not None:
                export_jobs.fail(session, job, f"failed:{type(exc).__name__}", utcnow())
                session.commit()
            return
        export_jobs.finish(session, job, data, rows, utcnow())
        audit.record(
            session,
            "export.finish",
            now=utcnow(),
            actor_id=job.requested_by,
            target=("round", job.round_id),
            kind=job.kind,
            job=job.id,
            rows=rows,
        )
        session.commit()


def init_app(app: Flask) -> None:
    app.extensions["quiz_export_runner"] = ExportRunner(app)


def runner() -> ExportRunner:
    return current_app.extensions["quiz_export_runner"]  # type: ignore[no-any-return]
