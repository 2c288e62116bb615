"""Public pages: the home page with the open contests, ``/healthz`` and the language switch."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from quiz_engine import __version__
from quiz_engine.extensions import db, redis_client
from quiz_engine.models import utcnow
from quiz_engine.services import health
from quiz_engine.services.organising import contests
from quiz_engine.web.navigation import safe_next

bp = Blueprint("main", __name__)


@bp.get("/")
def index() -> ResponseReturnValue:
    """List published contests with their current and next rounds."""
    now = utcnow()
    overview = contests.public_overview(db.session, now)
    return render_template("main/index.html", overview=overview, now=now)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """Report database and Redis status; 503 if either is down (for load balancers)."""
    database = health.check_database(db.session)
    redis_status = health.check_redis(redis_client())
    ok = database.ok and redis_status.ok
    body = {
        "status": "ok" if ok else "unavailable",
        "version": __version__,
        "database": {"ok": database.ok, "detail": database.detail},
        "redis": {"ok": redis_status.ok, "detail": redis_status.detail},
    }
    return jsonify(body), 200 if ok else 503


@bp.post("/language/<code>")
def set_language(code: str) -> ResponseReturnValue:
    """Remember the visitor's language choice in their session."""
    if code in current_app.config["LOCALES"]:
        session["locale"] = code
    return redirect(safe_next(request.form.get("next")) or url_for("main.index"))
