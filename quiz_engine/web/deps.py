"""What views need from the app beyond the request: the clock, Redis key prefix, the locale."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, request, session
from flask_babel import get_locale

from quiz_engine.models import User, utcnow
from quiz_engine.services import audit, paper_pool


def now() -> datetime:
    """The request's "now" in UTC; services receive it as an argument."""
    return utcnow()


def redis_prefix() -> str:
    return current_app.config["REDIS_KEY_PREFIX"]


def locale() -> str:
    return str(get_locale())


def origin() -> audit.Origin:
    """Where the current request came from, for the audit log."""
    return audit.Origin(request.remote_addr, request.headers.get("User-Agent"))


def session_user_id() -> int | None:
    """The signed-in user's id straight from the signed session cookie.

    The answer-saving endpoint uses this instead of ``current_user``: loading the account from the
    database on every autosave would halve what one server can take (docs/PERFORMANCE.md).
    """
    return User.parse_session_id(session.get("_user_id"))[0]


def timezone() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def paper_pool_settings() -> paper_pool.PoolSettings:
    """The ``PAPER_POOL_*`` settings, for the services that draw papers ahead of time."""
    config = current_app.config
    return paper_pool.PoolSettings(
        lead=timedelta(minutes=config["PAPER_POOL_LEAD_MINUTES"]),
        factor=float(config["PAPER_POOL_FACTOR"]),
        minimum=int(config["PAPER_POOL_MIN"]),
        maximum=int(config["PAPER_POOL_MAX"]),
        batch=int(config["PAPER_POOL_BATCH"]),
    )
