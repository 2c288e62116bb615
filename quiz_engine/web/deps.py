"""What views need from the app beyond the request: the clock, Redis key prefix, the locale."""

from __future__ import annotations

from datetime import datetime

from flask import current_app, request
from flask_babel import get_locale

from quiz_engine.models import utcnow
from quiz_engine.services import audit


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
