"""A contest's brand in the organizer area: header colour, logo and banner, with a preview.

The preview's stylesheet and images are served here too (organizers only), so a contest can be
branded before it is published; the public copies live in web/contest/branding_views.py.
"""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.datastructures import FileStorage
from wtforms import BooleanField, ColorField, StringField
from wtforms.validators import Length, Optional

from quiz_engine.extensions import db
from quiz_engine.models import Contest
from quiz_engine.services.errors import QuizError
from quiz_engine.services.organising import branding
from quiz_engine.services.people import audit
from quiz_engine.web import deps
from quiz_engine.web.access import contest_or_404, organizer_required
from quiz_engine.web.organizer.blueprint import bp
from quiz_engine.web.organizer.contest_forms import show_error

#: The site's own header colour (static/css/site.css), what the colour picker shows for "none".
SITE_COLOR = "#b3261e"
#: The preview box and the colour picker (forms.css has no rule for either).
_PREVIEW_RULES = (
    ".brand-preview{border:1px solid var(--line);border-radius:8px;overflow:hidden;background:var(--bg)}\n"
    ".brand-preview>:not(.site-header){margin:1rem}\n"
    "input[type=color]{min-height:44px;width:6rem;padding:.2rem;border:1px solid #767676;border-radius:6px}\n"
)


class BrandingForm(FlaskForm):
    """Shape only; services/organising/branding.py checks the colour's contrast and the images' contents."""

    color_picker = ColorField(_l("Chọn màu"), validators=[Optional()])
    color = StringField(
        _l("Mã màu (#rrggbb)"),
        validators=[Optional(), Length(max=7)],
        render_kw={"autocomplete": "off", "spellcheck": "false", "placeholder": "#1a4d8f"},
    )
    logo = FileField(
        _l("Logo (PNG, JPEG hoặc WebP, tối đa 200 KB)"), render_kw={"accept": "image/png,image/jpeg,image/webp"}
    )
    remove_logo = BooleanField(_l("Xóa logo hiện tại"))
    banner = FileField(
        _l("Ảnh bìa (PNG, JPEG hoặc WebP, tối đa 500 KB)"), render_kw={"accept": "image/png,image/jpeg,image/webp"}
    )
    remove_banner = BooleanField(_l("Xóa ảnh bìa hiện tại"))

    def chosen_color(self, current: str | None) -> str:
        """The colour asked for: the text box if it was changed, else the picker if it was, else the current one."""
        text = (self.color.data or "").strip()
        if text != (current or ""):
            return text
        picked = (self.color_picker.data or "").strip().lower()
        if picked and picked != (current or SITE_COLOR):
            return picked
        return current or ""


def _upload(field: FileField, kind: str) -> branding.Upload | None:
    storage = field.data
    if not isinstance(storage, FileStorage) or not storage.filename:
        return None
    return storage.stream.read(branding.MAX_BYTES[kind] + 1), storage.filename  # a byte over the limit is enough


def _page(contest: Contest, form: BrandingForm, status: int = 200) -> ResponseReturnValue:
    return render_template(
        "organizer/contest_branding.html",
        contest=contest,
        form=form,
        version=branding.version(contest),
        has_branding=branding.has_branding(contest),
    ), status


def _save(contest: Contest, form: BrandingForm) -> list[str]:
    now = deps.now()
    changed = branding.set_branding(
        db.session,
        contest,
        color=form.chosen_color(contest.brand_color),
        logo=_upload(form.logo, "logo"),
        banner=_upload(form.banner, "banner"),
        remove_logo=form.remove_logo.data,
        remove_banner=form.remove_banner.data,
        now=now,
    )
    if changed:
        audit.record(
            db.session,
            "contest.branding",
            now=now,
            actor_id=current_user.id,
            target=("contest", contest.id),
            origin=deps.origin(),
            changed=changed,
            brand_color=contest.brand_color,
            logo_type=contest.logo_type,
            banner_type=contest.banner_type,
        )
    db.session.commit()
    return changed


@bp.route("/contests/<int:contest_id>/branding", methods=["GET", "POST"])
@organizer_required
def contest_branding(contest_id: int) -> ResponseReturnValue:
    """The contest's colour, logo and banner, and a preview of its header."""
    contest = contest_or_404(contest_id)
    form = BrandingForm()
    if not form.is_submitted():
        form.color.data = contest.brand_color or ""
        form.color_picker.data = contest.brand_color or SITE_COLOR
    if not form.validate_on_submit():
        return _page(contest, form, 400 if form.is_submitted() else 200)
    try:
        changed = _save(contest, form)
    except QuizError as exc:
        db.session.rollback()
        if not show_error(form, exc, deps.locale()):
            flash(exc.message(deps.locale()), "error")
        return _page(contest, form, exc.status_code)
    if changed:
        flash(gettext("Đã lưu nhận diện của cuộc thi."), "success")
    else:
        flash(gettext("Không có gì thay đổi."), "info")
    return redirect(url_for("organizer.contest_branding", contest_id=contest.id))


@bp.get("/contests/<int:contest_id>/branding/preview.css")
@organizer_required
def contest_branding_css(contest_id: int) -> ResponseReturnValue:
    """The contest's stylesheet with its colour scoped to the preview box (the page keeps the site's own)."""
    contest = contest_or_404(contest_id)
    css = branding.stylesheet(contest, scope=".brand-preview") + _PREVIEW_RULES
    response = Response(css, content_type="text/css; charset=utf-8")
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.get("/contests/<int:contest_id>/branding/<any(logo, banner):kind>")
@organizer_required
def contest_branding_image(contest_id: int, kind: branding.Kind) -> ResponseReturnValue:
    """The stored logo or banner, published or not, for the preview."""
    found = branding.image(contest_or_404(contest_id), kind)
    if found is None:
        abort(404)
    response = Response(found[0], content_type=found[1])
    response.headers["Cache-Control"] = "private, no-cache"
    return response
