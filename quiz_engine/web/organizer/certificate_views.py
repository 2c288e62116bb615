"""Certificates of a finalised round in the organizer area: issue them, list them, revoke one."""

from __future__ import annotations

from datetime import datetime

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user

from quiz_engine.extensions import db
from quiz_engine.models import Certificate, Round
from quiz_engine.services.errors import QuizError
from quiz_engine.services.results import certificates
from quiz_engine.web import deps
from quiz_engine.web.access import ensure_manages, organizer_required, round_or_404
from quiz_engine.web.certificates.forms import IssueForm
from quiz_engine.web.organizer.blueprint import bp
from quiz_engine.web.organizer.contest_forms import show_error
from quiz_engine.web.organizer.forms import ConfirmForm


def _page(round_: Round, form: IssueForm, status: int = 200) -> ResponseReturnValue:
    return render_template(
        "organizer/certificates.html",
        round=round_,
        form=form,
        confirm=ConfirmForm(),
        issuable=certificates.issuable(round_),
        certificates=certificates.round_certificates(db.session, round_.id),
        perfect_award=certificates.PERFECT_AWARD,
    ), status


def _issue(round_: Round, form: IssueForm, now: datetime) -> list[Certificate]:
    return certificates.issue_for_round(
        db.session,
        round_,
        top_n=form.top_n.data or 0,
        perfect=form.perfect.data,
        actor_id=current_user.id,
        now=now,
        origin=deps.origin(),
    )


@bp.route("/rounds/<int:round_id>/certificates", methods=["GET", "POST"])
@organizer_required
def round_certificates(round_id: int) -> ResponseReturnValue:
    """The round's certificates, and the form that issues more (finalised rounds only)."""
    round_ = round_or_404(round_id)
    form = IssueForm()
    if not form.validate_on_submit():
        return _page(round_, form, 400 if form.is_submitted() else 200)
    now = deps.now()
    try:
        covered = _issue(round_, form, now)
    except QuizError as exc:
        db.session.rollback()  # drop whatever the service flushed before it refused
        if not show_error(form, exc, deps.locale()):
            flash(exc.message(deps.locale()), "error")
        return _page(round_, form, exc.status_code)
    new = sum(1 for c in covered if c.issued_at == now)  # counted before the commit expires them
    db.session.commit()
    flash(
        gettext("Đã cấp %(new)d giấy chứng nhận mới; %(old)d người đã có từ trước.", new=new, old=len(covered) - new),
        "success",
    )
    return redirect(url_for("organizer.round_certificates", round_id=round_.id))


@bp.post("/certificates/<int:certificate_id>/revoke")
@organizer_required
def certificate_revoke(certificate_id: int) -> ResponseReturnValue:
    """Revoke a certificate: its code then verifies as revoked and it no longer prints."""
    certificate = db.get_or_404(Certificate, certificate_id)
    ensure_manages(certificate.round.contest)
    if ConfirmForm().validate_on_submit():
        certificates.revoke(db.session, certificate, actor_id=current_user.id, now=deps.now(), origin=deps.origin())
        db.session.commit()
        flash(gettext("Đã thu hồi giấy chứng nhận %(code)s.", code=certificate.code), "success")
    return redirect(url_for("organizer.round_certificates", round_id=certificate.round_id))
