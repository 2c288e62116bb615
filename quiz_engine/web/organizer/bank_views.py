"""Question banks in the organizer area: list, upload → preview → confirm, browse, export."""

from __future__ import annotations

import io

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from quiz_engine.extensions import db, redis_client
from quiz_engine.models import Difficulty, QuestionBank
from quiz_engine.services.catalogue import bank_workbooks, banks, pending_uploads
from quiz_engine.services.people import audit
from quiz_engine.services.results import question_statistics
from quiz_engine.web import deps
from quiz_engine.web.access import organizer_required
from quiz_engine.web.organizer.blueprint import bp
from quiz_engine.web.organizer.forms import NEW_BANK, BankConfirmForm, BankUploadForm, ConfirmForm

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _bank_or_404(slug: str) -> QuestionBank:
    return db.first_or_404(select(QuestionBank).where(QuestionBank.slug == slug))


@bp.get("/banks")
@organizer_required
def banks_list() -> ResponseReturnValue:
    """Every bank with its active questions counted by topic and difficulty."""
    return render_template("organizer/banks.html", summaries=banks.summarise_banks(db.session), Difficulty=Difficulty)


@bp.get("/banks/template.xlsx")
@organizer_required
def bank_template() -> ResponseReturnValue:
    """The blank Excel template with its guide sheet."""
    return send_file(
        io.BytesIO(bank_workbooks.build_template()),
        mimetype=XLSX,
        as_attachment=True,
        download_name="mau-ngan-hang-cau-hoi.xlsx",
    )


@bp.route("/banks/import", methods=["GET", "POST"])
@organizer_required
def bank_upload() -> ResponseReturnValue:
    """Take a file and the target bank, keep it aside, and show the dry-run preview."""
    form = BankUploadForm()
    existing = db.session.scalars(select(QuestionBank).order_by(QuestionBank.title))
    form.bank.choices = [SelectChoice(b.slug, b.title) for b in existing]
    form.bank.choices.append(SelectChoice(NEW_BANK, gettext("+ Ngân hàng mới")))
    if request.method == "GET" and request.args.get("bank"):
        form.bank.data = request.args["bank"]
    if not form.validate_on_submit():
        return render_template("organizer/bank_upload.html", form=form)
    slug = form.new_slug.data if form.bank.data == NEW_BANK else form.bank.data
    if not slug:
        form.new_slug.errors = [gettext("Hãy nhập mã cho ngân hàng mới.")]
        return render_template("organizer/bank_upload.html", form=form), 400
    upload = form.file.data
    token = pending_uploads.save(
        redis_client(),
        deps.redis_prefix(),
        user_id=current_user.id,
        filename=upload.filename or "upload",
        data=upload.read(),
        meta={"slug": slug, "title": form.new_title.data or slug},
    )
    return redirect(url_for("organizer.bank_preview", token=token))


def _pending(token: str) -> tuple[pending_uploads.PendingUpload, QuestionBank]:
    pending = pending_uploads.load(redis_client(), deps.redis_prefix(), token, current_user.id)
    if pending is None:
        abort(404)
    return pending, banks.get_or_create_bank(db.session, pending.meta["slug"], pending.meta["title"])


def _import(
    pending: pending_uploads.PendingUpload, bank: QuestionBank, *, dry_run: bool, skip_unsupported: bool
) -> banks.ImportReport:
    return banks.import_and_record(
        db.session,
        bank,
        pending.filename,
        pending.data,
        now=deps.now(),
        actor_id=current_user.id,
        origin=deps.origin(),
        dry_run=dry_run,
        skip_unsupported=skip_unsupported,
        max_bytes=current_app.config["BANK_MAX_UPLOAD_BYTES"],
    )


def _render_report(pending: pending_uploads.PendingUpload, bank: QuestionBank, report: banks.ImportReport) -> str:
    return render_template(
        "organizer/bank_preview.html",
        pending=pending,
        bank=bank,
        report=report,
        by_row=report.problems_by_row(),
        form=BankConfirmForm(),
        locale=deps.locale(),
    )


@bp.get("/banks/import/<token>")
@organizer_required
def bank_preview(token: str) -> ResponseReturnValue:
    """Every row as read, problems and unsupported questions in place; confirmation unless there are problems."""
    pending, bank = _pending(token)
    # Unsupported questions are shown apart from the problems: the organizer may choose to skip them.
    report = _import(pending, bank, dry_run=True, skip_unsupported=True)
    db.session.rollback()  # a preview never creates the bank it names
    return _render_report(pending, bank, report)


@bp.post("/banks/import/<token>")
@organizer_required
def bank_confirm(token: str) -> ResponseReturnValue:
    """Import the previewed file for real: all or nothing, or all but the unsupported questions if ticked."""
    pending, bank = _pending(token)
    form = BankConfirmForm()
    valid = form.validate_on_submit()  # before anything is written
    report = _import(pending, bank, dry_run=False, skip_unsupported=form.skip_unsupported.data) if valid else None
    if report is None or not report.committed:
        db.session.rollback()
        flash(gettext("Chưa nhập gì: tệp còn lỗi, hoặc còn câu chưa hỗ trợ mà bạn chưa chọn bỏ qua."), "error")
        return redirect(url_for("organizer.bank_preview", token=token))
    db.session.commit()
    pending_uploads.discard(redis_client(), deps.redis_prefix(), token)
    counts = {"a": report.added, "u": report.updated, "n": report.unchanged}
    flash(gettext("Đã nhập: thêm %(a)d, cập nhật %(u)d, giữ nguyên %(n)d câu hỏi.", **counts), "success")
    if report.skipped:  # the list may be long for a flash message in a cookie session: shown on this page
        return _render_report(pending, bank, report)
    return redirect(url_for("organizer.bank_detail", slug=bank.slug))


@bp.get("/banks/<slug>")
@organizer_required
def bank_detail(slug: str) -> ResponseReturnValue:
    """Search a bank's questions by text or code, topic and difficulty; each with its figures over past rounds."""
    bank = _bank_or_404(slug)
    page = max(request.args.get("page", 1, type=int), 1)
    filters = {k: request.args.get(k, "") for k in ("text", "topic", "difficulty")}
    questions, total = banks.search_questions(db.session, bank, limit=50, offset=(page - 1) * 50, **filters)
    topics = sorted({q.topic for q in bank.questions})
    return render_template(
        "organizer/bank_detail.html",
        bank=bank,
        questions=questions,
        total=total,
        page=page,
        filters=filters,
        topics=topics,
        Difficulty=Difficulty,
        form=ConfirmForm(),
        lifetime=question_statistics.lifetime(db.session, [q.id for q in questions]),
    )


@bp.get("/banks/<slug>/export.xlsx")
@organizer_required
def bank_export(slug: str) -> ResponseReturnValue:
    """The bank in the import schema, re-importable as it is."""
    bank = _bank_or_404(slug)
    specs = banks.bank_specs(db.session, bank)
    audit.record(
        db.session,
        "bank.export",
        now=deps.now(),
        actor_id=current_user.id,
        target=("bank", bank.id),
        origin=deps.origin(),
        questions=len(specs),
    )
    db.session.commit()
    return send_file(
        io.BytesIO(bank_workbooks.build_bank_export(specs)),
        mimetype=XLSX,
        as_attachment=True,
        download_name=f"{bank.slug}.xlsx",
    )
