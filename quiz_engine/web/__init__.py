"""HTTP adapters: blueprints, error pages, the user loader and template helpers."""

from __future__ import annotations

import hmac
from typing import Any

from flask import Flask, Response, jsonify, render_template, request, session
from flask.typing import ResponseReturnValue
from flask_babel import format_decimal, get_locale, gettext, lazy_gettext
from flask_login import user_loaded_from_cookie
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter, Map

from quiz_engine import __version__
from quiz_engine.extensions import db, login_manager
from quiz_engine.models import User
from quiz_engine.services.errors import QuizError
from quiz_engine.web import (
    answer_guard,
    deps,
    json_bodies,
    localtime,
    outages,
    paper_html,
    rate_limits,
    sessions,
    static_assets,
    template_gettext,
)
from quiz_engine.web.api import bp as api_bp
from quiz_engine.web.auth import bp as auth_bp
from quiz_engine.web.certificates import bp as certificates_bp
from quiz_engine.web.contest import bp as contest_bp
from quiz_engine.web.main import bp as main_bp
from quiz_engine.web.organizer import bp as organizer_bp


class DatabaseId(IntegerConverter):
    """``<int:...>`` in every route: no larger than a database INTEGER (PostgreSQL's is 32-bit), so a
    typed-in id of 10**30 is a plain 404 instead of an overflow deep in the database driver."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def init_app(app: Flask) -> None:
    """Register blueprints, error handlers and template helpers."""
    app.url_map.converters["int"] = DatabaseId  # before any route is added
    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(organizer_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(contest_bp)
    app.register_blueprint(certificates_bp)
    login_manager.login_view = "auth.login"
    login_manager.login_message = lazy_gettext("Vui lòng đăng nhập để tiếp tục.")
    login_manager.login_message_category = "info"
    login_manager.user_loader(_load_user)
    user_loaded_from_cookie.connect(_renew_remember_cookie, app)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(QuizError, _quiz_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.jinja_env.filters["localtime"] = localtime.format_local
    app.jinja_env.globals["until"] = localtime.until
    app.jinja_env.globals["answer_save_token"] = answer_guard.save_token
    app.jinja_env.filters["number"] = format_decimal  # 1.234,5 in Vietnamese, 1,234.5 in English
    app.context_processor(lambda: {"app_version": __version__, "current_locale": str(get_locale())})
    app.after_request(_security_headers)
    rate_limits.init_app(app)
    sessions.init_app(app)
    static_assets.init_app(app)
    paper_html.init_app(app)
    template_gettext.init_app(app)
    json_bodies.init_app(app)
    outages.init_app(app)


def _load_user(session_id: str) -> User | None:
    """The account a session or remember cookie names, if it has not been signed out and its password
    has not changed since (see ``User.get_id``); otherwise forget the stale id (see :func:`_forget`)."""
    user_id, stamp = User.parse_session_id(session_id)
    user = db.session.get(User, user_id) if user_id is not None else None
    if user is not None and hmac.compare_digest(user.session_stamp(), stamp):
        return user
    _forget(session_id)
    return None


def _forget(session_id: str) -> None:
    """Drop a revoked id from the session, and have the browser delete a remember cookie holding it.

    Runs only when the loader refuses, never on a good request. Without it the revoked id would stay
    in the session (Flask-Login copies the cookie's id there before asking the loader), and the
    browser would keep sending the dead cookie: each request would load the account twice to refuse
    it, and ``deps.session_user_id`` would go on naming the account.
    """
    if session.get("_user_id") == session_id:
        session.pop("_user_id")
        session.pop("_fresh", None)
    if deps.remember_cookie_value() == session_id:
        session["_remember"] = "clear"  # Flask-Login deletes the cookie on this response


def _renew_remember_cookie(_app: Flask, **_extra: Any) -> None:
    """Slide "remember me": when it has just restored a session, send the cookie again for another
    ``REMEMBER_COOKIE_DURATION`` (30 days from the last visit, not from the sign-in).

    Flask-Login sends the signal only on the request that read the cookie; later requests use the
    restored session, so nothing is added to the others (answer saves above all).
    """
    session["_remember"] = "set"  # Flask-Login's own after-request hook writes the cookie


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return request.path.startswith("/api/") or request.path == "/healthz" or best == "application/json"


def error_response(status: int, message: str, code: str = "error") -> ResponseReturnValue:
    """An error as JSON for the API and JSON callers, else as the error page."""
    if _wants_json():
        return jsonify(error=message, code=code, status=status), status
    return render_template("errors/error.html", status=status, message=message), status


def _http_error(exc: HTTPException) -> ResponseReturnValue:
    if exc.code and exc.code >= 500:
        db.session.rollback()
    messages = {
        403: gettext("Bạn không có quyền truy cập trang này."),
        404: gettext("Không tìm thấy trang bạn yêu cầu."),
        405: gettext("Phương thức không được hỗ trợ."),
        413: gettext("Tệp hoặc dữ liệu gửi lên quá lớn."),
        429: gettext("Bạn thao tác quá nhanh. Vui lòng thử lại sau ít phút."),
        500: gettext("Hệ thống gặp lỗi. Vui lòng thử lại sau."),
    }
    code = exc.code or 500
    return error_response(code, messages.get(code, exc.description or ""), _snake(exc.name))


def _quiz_error(exc: QuizError) -> ResponseReturnValue:
    db.session.rollback()
    return error_response(exc.status_code, exc.message(str(get_locale())), _snake(type(exc).__name__))


def _csrf_error(_exc: CSRFError) -> ResponseReturnValue:
    return error_response(400, gettext("Phiên làm việc đã hết hạn. Vui lòng tải lại trang và thử lại."), "csrf")


def _snake(name: str) -> str:
    """``AttemptLimitError`` -> ``attempt_limit``; ``Not Found`` -> ``not_found`` (the API's error codes)."""
    name = name.removesuffix("Error").replace(" ", "")
    return "".join(f"_{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(name))


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
    )
    return response
