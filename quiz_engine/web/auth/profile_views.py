"""The signed-in person's profile: personal details, contest entries, password change."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import login_required, login_user
from sqlalchemy import select

from quiz_engine.extensions import db
from quiz_engine.models import Contest, Registration, User
from quiz_engine.services.errors import QuizError
from quiz_engine.services.people import registration
from quiz_engine.web import deps
from quiz_engine.web.auth.forms import ChangePasswordForm, EntryForm, ProfileForm, offer_entry, show_error
from quiz_engine.web.auth.views import (
    MUST_CHANGE_PASSWORD,
    bp,
    refuse,
    registration_rules,
    remember_cookie_sent,
    render_form,
    signed_in_user,
)
from quiz_engine.web.navigation import safe_next


def _details_of(user: User) -> dict[str, Any]:
    # Phone numbers are stored as +84...; people recognise and retype them as 0...
    phone = "0" + user.phone[3:] if user.phone and user.phone.startswith("+84") else user.phone or ""
    return {
        "full_name": user.full_name,
        "date_of_birth": user.date_of_birth,
        "cccd": user.cccd or "",
        "phone": phone,
        "email": user.email or "",
    }


def _entry_form(contest: Contest, entry: Registration | None = None) -> EntryForm:
    """One contest's entry form, filled from ``entry`` or else from the request.

    Prefixed with the contest, as the profile page shows one such form per contest.
    """
    prefix = f"c{contest.id}"
    if entry is None:
        form = EntryForm(prefix=prefix)
    else:
        form = EntryForm(
            formdata=None, prefix=prefix, data={"group": str(entry.group_id or ""), "unit": str(entry.unit_id or "")}
        )
    offer_entry(form, contest)
    return form


def _profile_page(
    user: User, form: ProfileForm | None = None, submitted: dict[int, EntryForm] | None = None, status: int = 200
) -> ResponseReturnValue:
    submitted = submitted or {}
    entries = [
        (contest, submitted.get(contest.id) or _entry_form(contest, entry))
        for contest, entry in registration.entries_of(db.session, user.id)
    ]
    form = form or ProfileForm(formdata=None, data=_details_of(user))
    return render_template("auth/profile.html", form=form, entries=entries), status


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile() -> ResponseReturnValue:
    """Show and correct the signed-in person's details."""
    me = signed_in_user()
    form = ProfileForm() if request.method == "POST" else ProfileForm(data=_details_of(me))
    if not form.validate_on_submit():
        return _profile_page(me, form, status=400 if form.is_submitted() else 200)
    try:
        changed = registration.update_profile(
            db.session, me, form.details(), now=deps.now(), origin=deps.origin(), **registration_rules()
        )
    except QuizError as exc:
        db.session.rollback()
        show_error(form, exc, deps.locale())
        return _profile_page(me, form, status=exc.status_code)
    db.session.commit()
    flash(gettext("Đã lưu thông tin của bạn.") if changed else gettext("Không có gì thay đổi."), "success")
    return redirect(url_for("auth.profile"))


@bp.post("/profile/contests/<slug>")
@login_required
def update_entry(slug: str) -> ResponseReturnValue:
    """Change the group and unit of the signed-in person's entry in one contest."""
    me = signed_in_user()
    contest = db.first_or_404(select(Contest).where(Contest.slug == slug))
    form = _entry_form(contest)
    if not form.validate_on_submit():
        return _profile_page(me, submitted={contest.id: form}, status=400)
    try:
        changed = registration.update_entry(db.session, me, contest, form.entry(), now=deps.now(), origin=deps.origin())
    except QuizError as exc:
        db.session.rollback()
        show_error(form, exc, deps.locale())
        return _profile_page(me, submitted={contest.id: form}, status=exc.status_code)
    db.session.commit()
    message = gettext("Đã lưu đối tượng và đơn vị dự thi.") if changed else gettext("Không có gì thay đổi.")
    flash(message, "success")
    return redirect(url_for("auth.profile"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password() -> ResponseReturnValue:
    """Change the password, knowing the current one; after a reset this page comes before anything else."""
    me = signed_in_user()
    form = ChangePasswordForm(next=request.args.get("next", ""))
    context = {"forced": me.must_change_password}
    if not form.validate_on_submit():
        return render_form("auth/change_password.html", form, **context)
    try:
        registration.change_password(
            db.session,
            me,
            current_password=form.current_password.data,
            new_password=form.new_password.data,
            now=deps.now(),
            origin=deps.origin(),
        )
    except QuizError as exc:
        return refuse("auth/change_password.html", form, exc, **context)
    db.session.commit()
    # The new password ended every session, this one included: carry on in a fresh one, and renew the
    # "remember me" cookie if this browser had one (its stamp is now stale), so the choice made at sign-in holds.
    login_user(me, remember=remember_cookie_sent())
    session.pop(MUST_CHANGE_PASSWORD, None)
    flash(gettext("Đã đổi mật khẩu. Các phiên đăng nhập khác của bạn đã bị đăng xuất."), "success")
    return redirect(safe_next(form.next.data) or url_for("main.index"))
