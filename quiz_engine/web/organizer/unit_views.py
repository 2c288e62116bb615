"""The unit list in the organizer area: browse the hierarchy, import a file (all or nothing)."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import select

from quiz_engine.extensions import db
from quiz_engine.models import Unit
from quiz_engine.services.organising import units
from quiz_engine.web import deps
from quiz_engine.web.access import organizer_required
from quiz_engine.web.organizer.blueprint import bp
from quiz_engine.web.organizer.forms import UnitUploadForm


def _page(form: UnitUploadForm, problems: list | None = None, status: int = 200) -> ResponseReturnValue:  # type: ignore[type-arg]
    listing = list(db.session.scalars(select(Unit).order_by(Unit.code)))
    return render_template(
        "organizer/units.html", form=form, units=listing, problems=problems or [], locale=deps.locale()
    ), status


@bp.route("/units", methods=["GET", "POST"])
@organizer_required
def units_page() -> ResponseReturnValue:
    """List units; an uploaded list is imported whole or, with any problem, not at all."""
    form = UnitUploadForm()
    if not form.validate_on_submit():
        return _page(form)
    upload = form.file.data
    report = units.import_units_file(
        db.session,
        upload.filename or "units",
        upload.read(),
        max_bytes=current_app.config["BANK_MAX_UPLOAD_BYTES"],
        now=deps.now(),
        actor_id=current_user.id,
        origin=deps.origin(),
    )
    if not report.ok:
        db.session.rollback()
        return _page(form, report.problems, 400)
    db.session.commit()
    counts = {"a": report.added, "u": report.updated, "n": report.unchanged}
    flash(gettext("Đã nhập: thêm %(a)d, cập nhật %(u)d, giữ nguyên %(n)d đơn vị.", **counts), "success")
    return redirect(url_for("organizer.units_page"))
