"""The audit log in the organizer area: filter it, page through it, download it as Excel (audited)."""

from __future__ import annotations

import io

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, NumberRange, Optional

from quiz_engine.extensions import db
from quiz_engine.services.errors import ValidationError
from quiz_engine.services.people import audit_log
from quiz_engine.web import deps, rate_limits
from quiz_engine.web.access import organizer_required, oversight
from quiz_engine.web.organizer.blueprint import bp

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

ACTION_CHOICES = [
    SelectChoice("", _l("Tất cả")),
    SelectChoice("auth.", _l("Nhóm đăng nhập (auth.*)")),
    SelectChoice("user.", _l("Nhóm tài khoản (user.*)")),
    SelectChoice("attempt.", _l("Nhóm bài thi (attempt.*)")),
    SelectChoice("contest.", _l("Nhóm cuộc thi (contest.*)")),
    SelectChoice("round.", _l("Nhóm đợt thi (round.*)")),
    SelectChoice("question.", _l("Nhóm câu hỏi (question.*)")),
    SelectChoice("bank.", _l("Nhóm ngân hàng câu hỏi (bank.*)")),
    SelectChoice("units.", _l("Nhóm đơn vị (units.*)")),
    SelectChoice("export.", _l("Nhóm xuất tệp (export.*)")),
    SelectChoice("certificate.", _l("Nhóm giấy chứng nhận (certificate.*)")),
    SelectChoice("audit.", _l("Nhóm nhật ký (audit.*)")),
    *(SelectChoice(action, action) for action in audit_log.KNOWN_ACTIONS),
]
TARGET_CHOICES = [
    SelectChoice("", _l("Tất cả")),
    SelectChoice("attempt", _l("Bài thi")),
    SelectChoice("bank", _l("Ngân hàng câu hỏi")),
    SelectChoice("certificate", _l("Giấy chứng nhận")),
    SelectChoice("contest", _l("Cuộc thi")),
    SelectChoice("question", _l("Câu hỏi")),
    SelectChoice("round", _l("Đợt thi")),
    SelectChoice("user", _l("Tài khoản")),
]
FILTER_FIELDS = ("action", "actor", "target_type", "target_id", "ip_address", "date_from", "date_to")


class AuditFilterForm(FlaskForm):
    """The log's filters, sent as query parameters (a search: no CSRF token)."""

    action = SelectField(_l("Hành động"), choices=ACTION_CHOICES, default="")
    actor = StringField(_l("Người thực hiện (họ tên, e-mail hoặc số điện thoại)"), validators=[Length(max=100)])
    target_type = SelectField(_l("Loại đối tượng"), choices=TARGET_CHOICES, default="")
    target_id = IntegerField(_l("Mã đối tượng"), validators=[Optional(), NumberRange(min=1)])
    ip_address = StringField(_l("Địa chỉ IP"), validators=[Length(max=45)])
    date_from = DateField(_l("Từ ngày"), validators=[Optional()])
    date_to = DateField(_l("Đến ngày"), validators=[Optional()])


def _search() -> tuple[AuditFilterForm, audit_log.AuditFilter | None]:
    """The form filled from the query string, and its filters if they are valid."""
    form = AuditFilterForm(request.args, meta={"csrf": False})
    if not form.validate():
        return form, None
    filters = audit_log.AuditFilter(
        action=form.action.data or "",
        actor=form.actor.data or "",
        target_type=form.target_type.data or "",
        target_id=form.target_id.data,
        ip_address=form.ip_address.data or "",
        date_from=form.date_from.data,
        date_to=form.date_to.data,
    )
    try:
        return form, audit_log.check(filters)
    except ValidationError as exc:
        getattr(form, exc.field or "action").errors.append(exc.message(deps.locale()))
        return form, None


def _in_scope(filters: audit_log.AuditFilter) -> None:
    """404 for a search naming a target the organizer does not oversee (another contest's round, attempt or
    contestant), as if it did not exist; anything else is narrowed to their scope by the query itself."""
    scope, kind, target = oversight(), filters.target_type, filters.target_id
    if scope is not None and kind and target is not None and not scope.covers_target(db.session, kind, target):
        abort(404)


def _query() -> dict[str, str]:
    """The filters as query parameters, for the pager and the export link."""
    return {name: request.args[name] for name in FILTER_FIELDS if request.args.get(name)}


@bp.get("/audit")
@organizer_required
def audit_page() -> ResponseReturnValue:
    """The newest events first, 50 a page, filtered by the form above them."""
    form, filters = _search()
    if filters is None:
        return render_template("organizer/audit_log.html", form=form, page=None, query=_query(), limit=0), 400
    _in_scope(filters)
    found = audit_log.page(
        db.session,
        filters,
        tz=deps.timezone(),
        scope=oversight(),
        before=request.args.get("before", type=int),
        after=request.args.get("after", type=int),
    )
    html = render_template(
        "organizer/audit_log.html", form=form, page=found, query=_query(), limit=audit_log.EXPORT_LIMIT
    )
    return html, 200, {"Cache-Control": "no-store"}  # addresses and contact details


@bp.get("/audit.xlsx")
@organizer_required
@rate_limits.export
def audit_export() -> ResponseReturnValue:
    """The filtered events as a workbook; the download is itself audited, with its filters."""
    _form, filters = _search()
    if filters is None:
        flash(gettext("Không xuất được: hãy sửa bộ lọc rồi thử lại."), "error")
        return redirect(url_for("organizer.audit_page", **_query()))
    _in_scope(filters)
    now = deps.now()
    exported = audit_log.export(
        db.session,
        filters,
        tz=deps.timezone(),
        scope=oversight(),
        now=now,
        exported_by=f"{current_user.full_name} ({current_user.login_name})",
        actor_id=current_user.id,
        origin=deps.origin(),
    )
    db.session.commit()
    name = f"nhat-ky-{now.astimezone(deps.timezone()):%Y%m%d-%H%M}.xlsx"
    response = send_file(io.BytesIO(exported.content), mimetype=XLSX, as_attachment=True, download_name=name)
    response.headers["Cache-Control"] = "no-store"  # it carries IP addresses and contact details
    return response
