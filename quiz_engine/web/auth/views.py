"""Sign in and sign out (Flask-Login)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user, login_required, login_user, logout_user

from quiz_engine.extensions import db
from quiz_engine.models import utcnow
from quiz_engine.services import accounts, audit
from quiz_engine.web.auth.forms import LoginForm
from quiz_engine.web.navigation import safe_next

bp = Blueprint("auth", __name__, url_prefix="/auth")


def request_origin() -> audit.Origin:
    return audit.Origin(request.remote_addr, request.headers.get("User-Agent"))


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """Show the sign-in form; on valid credentials start a fresh session."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm(next=request.args.get("next", ""))
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form)
    now = utcnow()
    user = accounts.authenticate(db.session, form.login.data, form.password.data, now)
    if user is None:
        audit.record(db.session, "auth.login_failed", now=now, origin=request_origin(), login=form.login.data[:100])
        db.session.commit()
        flash(gettext("Sai số điện thoại/e-mail hoặc mật khẩu."), "error")
        return render_template("auth/login.html", form=form), 401
    audit.record(db.session, "auth.login", now=now, actor_id=user.id, origin=request_origin())
    db.session.commit()
    locale = session.get("locale")
    session.clear()  # a new session at login: no fixation of a pre-login session id or token
    if locale:
        session["locale"] = locale
    login_user(user, remember=form.remember.data)
    return redirect(safe_next(form.next.data) or url_for("main.index"))


@bp.post("/logout")
@login_required
def logout() -> ResponseReturnValue:
    """End the session."""
    logout_user()
    session.clear()
    flash(gettext("Bạn đã đăng xuất."), "info")
    return redirect(url_for("main.index"))
