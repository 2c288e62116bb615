"""Sign in and sign out (Flask-Login), and the forced password change after a reset."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user, login_required, login_user, logout_user
from flask_login.config import COOKIE_NAME
from flask_wtf import FlaskForm

from quiz_engine.extensions import db
from quiz_engine.models import User, utcnow
from quiz_engine.services.errors import QuizError
from quiz_engine.services.people import accounts, audit
from quiz_engine.web import deps, rate_limits
from quiz_engine.web.auth.forms import LoginForm, show_error
from quiz_engine.web.navigation import safe_next

bp = Blueprint("auth", __name__, url_prefix="/auth")

#: What a person who must choose a new password may still open.
OPEN_DURING_FORCED_CHANGE = frozenset({"auth.change_password", "auth.logout", "main.set_language", "static"})
MUST_CHANGE_PASSWORD = "must_change_password"


def request_origin() -> audit.Origin:
    return audit.Origin(request.remote_addr, request.headers.get("User-Agent"))


def signed_in_user() -> User:
    """The signed-in person as a model instance (``current_user`` is a proxy)."""
    return db.get_or_404(User, current_user.id)


def registration_rules() -> dict[str, Any]:
    """The settings the registration service applies: local time zone and minimum age."""
    return {
        "tz": ZoneInfo(current_app.config["TIMEZONE"]),
        "min_age": current_app.config.get("REGISTRATION_MIN_AGE", 12),
    }


def render_form(template: str, form: FlaskForm, **context: Any) -> ResponseReturnValue:
    """Show a form page: 200 when it is first shown, 400 when it came back with errors."""
    return render_template(template, form=form, **context), 400 if form.is_submitted() else 200


def refuse(template: str, form: FlaskForm, exc: QuizError, **context: Any) -> ResponseReturnValue:
    """Undo what the service flushed and show its refusal on the form."""
    db.session.rollback()
    show_error(form, exc, deps.locale())
    return render_template(template, form=form, **context), exc.status_code


def remember_cookie_sent() -> bool:
    """Whether this browser holds a "remember me" cookie (valid or not), i.e. asked to be remembered."""
    return current_app.config.get("REMEMBER_COOKIE_NAME", COOKIE_NAME) in request.cookies


def start_session(user: User, *, remember: bool = False) -> None:
    """Sign ``user`` in on a fresh session, keeping only the chosen language.

    With ``remember`` Flask-Login also sets the "remember me" cookie (``REMEMBER_COOKIE_DURATION``),
    which signs the person back in once the session cookie has expired or the browser was closed.
    """
    locale = session.get("locale")
    session.clear()  # a new session at login: no fixation of a pre-login session id or token
    if locale:
        session["locale"] = locale
    login_user(user, remember=remember)
    if user.must_change_password:
        # Kept in the signed session so the per-request check below never loads the account.
        session[MUST_CHANGE_PASSWORD] = True


@bp.route("/login", methods=["GET", "POST"])
@rate_limits.login_by_account
@rate_limits.login_by_account_anywhere
@rate_limits.login_by_address
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
    start_session(user, remember=form.remember.data)
    if user.must_change_password:
        return redirect(url_for("auth.change_password", next=safe_next(form.next.data)))
    return redirect(safe_next(form.next.data) or url_for("main.index"))


@bp.post("/logout")
@login_required
def logout() -> ResponseReturnValue:
    """End the session here and every session and "remember me" cookie of the account elsewhere.

    Those are signed cookies the server keeps no list of, so a copied one would outlive a sign-out
    that only cleared this browser; raising the account's session epoch revokes them all. A person
    signed in on a phone and a computer is signed out of both (docs/SECURITY.md).
    """
    me = signed_in_user()
    audit.record(db.session, "auth.logout", now=utcnow(), actor_id=me.id, origin=request_origin())
    accounts.end_sessions(db.session, me)
    db.session.commit()
    had_remember_cookie = remember_cookie_sent()
    logout_user()
    session.clear()
    if had_remember_cookie:
        # logout_user asked for this, but session.clear() dropped the request: delete this browser's copy too.
        session["_remember"] = "clear"
    flash(gettext("Bạn đã đăng xuất."), "info")
    return redirect(url_for("main.index"))


@bp.before_app_request
def require_new_password() -> ResponseReturnValue | None:
    """After an organizer reset the temporary password, the person chooses a new one before anything else."""
    if request.endpoint in OPEN_DURING_FORCED_CHANGE or request.endpoint is None:
        return None
    if session.get(MUST_CHANGE_PASSWORD):
        if request.path.startswith("/api/"):
            return jsonify(
                error=gettext("Bạn cần đổi mật khẩu trước khi tiếp tục."), code="password_change_required", status=403
            ), 403
        back = safe_next(request.full_path.rstrip("?")) if request.method == "GET" else None
        return redirect(url_for("auth.change_password", next=back))
    return None
