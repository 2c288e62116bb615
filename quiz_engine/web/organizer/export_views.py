"""A round's Excel exports: ask for one, follow its progress, download it (organizers only).

Every export runs as a job (see ``services.export_jobs``). The request waits a moment for it, so a
small export downloads straight away; a large one hands over to a page with a progress bar that
works across app instances. Asking for and downloading a file are both audited: some carry contact
details.
"""

from __future__ import annotations

import io

from flask import abort, current_app, flash, jsonify, redirect, render_template, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy.orm import undefer

from quiz_engine.export_runner import runner
from quiz_engine.extensions import db, redis_client
from quiz_engine.models import ExportJob
from quiz_engine.services.people import audit
from quiz_engine.services.results import export_jobs, exports
from quiz_engine.web import deps, rate_limits
from quiz_engine.web.access import ensure_manages, managed_contests, organizer_required, round_or_404
from quiz_engine.web.organizer.blueprint import bp
from quiz_engine.web.organizer.forms import EXPORT_LABELS, ExportForm

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.post("/rounds/<int:round_id>/exports")
@organizer_required
@rate_limits.export
def round_export(round_id: int) -> ResponseReturnValue:
    """Queue an export; download it at once if it is ready within a moment, else show its progress."""
    round_ = round_or_404(round_id)
    form = ExportForm()
    if not form.validate_on_submit():
        flash(gettext("Không xuất được: hãy chọn loại tệp và thử lại."), "error")
        return redirect(url_for("organizer.contest_detail", contest_id=round_.contest_id))
    kind = exports.ExportKind(form.kind.data)
    job, created = export_jobs.request(
        db.session, redis_client(), deps.redis_prefix(), round_, kind, user_id=current_user.id, now=deps.now()
    )
    if created:
        _audit("export.create", job)
    db.session.commit()
    if created and _finished_soon(job.id):
        return redirect(url_for("organizer.export_download", job_id=job.id), 303)
    return redirect(url_for("organizer.export_job", job_id=job.id), 303)


def _audit(action: str, job: ExportJob) -> None:
    audit.record(
        db.session,
        action,
        now=deps.now(),
        actor_id=current_user.id,
        target=("round", job.round_id),
        origin=deps.origin(),
        kind=job.kind,
        job=job.id,
    )


def _finished_soon(job_id: int) -> bool:
    future = runner().submit(job_id)
    try:
        future.result(timeout=current_app.config["EXPORT_INLINE_WAIT_SECONDS"])
    except TimeoutError:
        return False
    return db.session.get(ExportJob, job_id, populate_existing=True).downloadable  # type: ignore[union-attr]


def _view(job_id: int) -> export_jobs.JobView:
    job = db.get_or_404(ExportJob, job_id)
    ensure_manages(job.round.contest)
    view = export_jobs.view(db.session, redis_client(), deps.redis_prefix(), job, deps.now())
    db.session.commit()  # an interrupted job has just been marked failed
    return view


def error_text(job: ExportJob) -> str | None:
    """Why a job failed, in the reader's language."""
    if job.error is None:
        return None
    if job.error == export_jobs.INTERRUPTED:
        return gettext("Việc xuất bị gián đoạn vì máy chủ khởi động lại. Hãy xuất lại.")
    return gettext(
        "Lỗi khi xuất tệp (%(code)s). Hãy thử lại; nếu vẫn lỗi, báo cho quản trị hệ thống.",
        code=job.error.removeprefix("failed:"),
    )


@bp.get("/exports/<int:job_id>")
@organizer_required
def export_job(job_id: int) -> ResponseReturnValue:
    """The job's progress bar, then its download link."""
    return render_template(
        "organizer/export_job.html", view=_view(job_id), labels=EXPORT_LABELS, error_text=error_text, refresh_ms=1000
    )


@bp.get("/exports/<int:job_id>.json")
@organizer_required
def export_job_data(job_id: int) -> ResponseReturnValue:
    """The job's status for the progress bar's script."""
    view = _view(job_id)
    job = view.job
    response = jsonify(
        status=job.status.value,
        done=view.done,
        total=view.total,
        percent=view.percent,
        error=error_text(job),
        download_url=url_for("organizer.export_download", job_id=job.id) if job.downloadable else None,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/exports/<int:job_id>/download")
@organizer_required
def export_download(job_id: int) -> ResponseReturnValue:
    """The finished workbook (audited: a download may carry contact details)."""
    job = db.session.get(ExportJob, job_id, options=[undefer(ExportJob.content)]) or abort(404)
    ensure_manages(job.round.contest)
    if not job.downloadable or job.content is None:
        flash(gettext("Tệp này không còn để tải; hãy xuất lại."), "error")
        return redirect(url_for("organizer.export_job", job_id=job_id))
    _audit("export.download", job)
    db.session.commit()
    return send_file(io.BytesIO(job.content), mimetype=XLSX, as_attachment=True, download_name=job.filename)


@bp.get("/exports")
@organizer_required
def export_list() -> ResponseReturnValue:
    """The newest exports of every round, with their state and download links."""
    return render_template(
        "organizer/exports.html", jobs=export_jobs.recent(db.session, managed_contests()), labels=EXPORT_LABELS
    )
