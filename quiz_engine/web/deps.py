"""What views need from the app beyond the request: the clock, Redis key prefix, the locale."""

from __future__ import annotations

import contextlib
import os
import socket
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import redis
from flask import current_app, request, session
from flask_babel import get_locale
from flask_login.config import COOKIE_NAME
from flask_login.utils import decode_cookie

from quiz_engine.models import User, utcnow
from quiz_engine.services.people import audit
from quiz_engine.services.taking import admission, paper_pool


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
    """The signed-in user's id from the signed session cookie, else from a valid "remember me" cookie.

    The answer-saving endpoint, the start queue's gate and the rate-limit keys use this instead of
    ``current_user``: loading the account from the database on every autosave would halve what one
    server can take (docs/PERFORMANCE.md). It costs no database read: the session's id, or one HMAC
    check of the remember cookie (a phone whose session cookie has expired but that was remembered is
    recognised at a round's start without signing in again).

    Only the signatures are checked, not the session stamp: a session or cookie revoked by a
    sign-out or a new password still names its account here until the account is loaded (which
    refuses it) or the cookie expires. Whatever acts on this id must check ownership itself, as the
    answer-saving script does (docs/SECURITY.md, section 7).
    """
    user_id = User.parse_session_id(session.get("_user_id"))[0]
    if user_id is None:
        user_id = User.parse_session_id(remember_cookie_value())[0]
    return user_id


def remember_cookie_value() -> str | None:
    """What Flask-Login's "remember me" cookie holds (``User.get_id()``) if its signature is valid, else None.

    None also once this session has been told to drop the cookie (a sign-out), as Flask-Login does.
    """
    cookie = request.cookies.get(current_app.config.get("REMEMBER_COOKIE_NAME", COOKIE_NAME))
    if not cookie or session.get("_remember") == "clear":
        return None
    value = decode_cookie(cookie)  # HMAC-SHA512 under the secret key; None when forged or altered
    return value if isinstance(value, str) else None


def admission_limits() -> tuple[float, int]:
    """The start queue's rate (starts per second per round) and burst: as set, or following capacity.

    ``ADMISSION_RATE = "auto"`` (the default) admits what the live app hosts sustain
    (:func:`admission.admission_rate`); the cores are re-read from Redis at most every
    :data:`CAPACITY_REFRESH_SECONDS`, renewing this host's heartbeat. ``ADMISSION_BURST = "auto"``
    lets a quarter of a second's worth in at once before anyone waits.
    """
    config = current_app.config
    rate = _auto_rate() if config["ADMISSION_RATE"] == "auto" else float(config["ADMISSION_RATE"])
    burst = max(1, round(rate / 4)) if config["ADMISSION_BURST"] == "auto" else int(config["ADMISSION_BURST"])
    return rate, burst


#: Seconds a process reuses the capacity it read (each refresh renews its host's heartbeat).
CAPACITY_REFRESH_SECONDS = 10.0


def _auto_rate() -> float:
    cached = current_app.extensions.get("quiz_admission_rate")
    if cached is not None and cached[0] > time.monotonic():
        return float(cached[1])
    config = current_app.config
    cores = int(config["ADMISSION_CORES"]) or os.cpu_count() or 1
    with contextlib.suppress(redis.RedisError, OSError):  # else this host alone: the gate fails open anyway
        cores = admission.live_cores(
            current_app.extensions["quiz_redis"], redis_prefix(), host=socket.gethostname(), cores=cores, now=now()
        )
    rate = admission.admission_rate(float(config["ADMISSION_STARTS_PER_CORE"]), cores)
    current_app.extensions["quiz_admission_rate"] = (time.monotonic() + CAPACITY_REFRESH_SECONDS, rate)
    return rate


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
