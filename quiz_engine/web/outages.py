"""While the database or Redis cannot be reached: a 503 with ``Retry-After`` and a message people can act on,
and one log line per outage instead of a traceback per request.

A database restart, a failover or a Redis restart lasts seconds. Every request in that window fails the same
way, and none of them is a bug: the page says to try again in a few seconds, the browser's scripts (autosave,
the waiting page) read 503 as "try again later", and the log says once that the store is away and once
that it is back. What counts as "cannot be reached": the driver lost or could not open its connection
(PostgreSQL restarting, shutting down or unreachable; SQLite busy past its timeout), or Redis refused,
dropped or timed out a connection. Anything else is a real error and stays a 500.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time

import redis
from flask import Flask, g, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from quiz_engine.extensions import db, login_manager

log = logging.getLogger(__name__)

#: What the 503 tells the client to wait, in seconds: a restart's usual length.
RETRY_AFTER_SECONDS = 5
#: An outage is over when this long has passed without a failure; the next failure starts a new one.
QUIET_SECONDS = 30.0

REDIS_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


class _Outages:
    """When each store last failed, so that an outage is logged when it starts, not on every request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}

    def failed(self, store: str, exc: BaseException) -> None:
        now = time.monotonic()
        with self._lock:
            last = self._last.get(store)
            self._last[store] = now
        if last is None or now - last > QUIET_SECONDS:
            log.error("%s unreachable (%s: %s); answering 503 until it is back", store, type(exc).__name__, exc)

    def succeeded(self) -> None:
        """After a good request: log the end of an outage that has gone quiet."""
        if not self._last:
            return
        now = time.monotonic()
        with self._lock:
            over = [store for store, last in self._last.items() if now - last > QUIET_SECONDS]
            for store in over:
                del self._last[store]
        for store in over:
            log.warning("%s reachable again", store)


_outages = _Outages()


def database_unreachable(exc: DBAPIError) -> bool:
    """True for a lost or refused database connection, or SQLite busy past its timeout."""
    if getattr(exc, "connection_invalidated", False):
        return True
    original = exc.orig
    if isinstance(original, sqlite3.OperationalError):
        return "locked" in str(original) or "busy" in str(original)
    try:
        import psycopg
    except ImportError:  # pragma: no cover - PostgreSQL's driver is installed wherever PostgreSQL is used
        return False
    # psycopg's OperationalError: the connection failed, was closed, or the server is shutting down
    # (AdminShutdown, CannotConnectNow). Its other errors (a bad query, a constraint) are not outages.
    return isinstance(original, psycopg.OperationalError) and not isinstance(original, psycopg.errors.QueryCanceled)


def _answer(store: str, exc: BaseException) -> ResponseReturnValue:
    from quiz_engine.web import error_response  # the package imports this module first

    _outages.failed(store, exc)
    try:
        db.session.rollback()
    except Exception:  # the connection may be gone: drop it with the session
        db.session.invalidate()
    # The page's header asks who is signed in; with the store away that question would fail again.
    g._login_user = login_manager.anonymous_user()
    saving = request.method == "PUT" and request.path.startswith("/api/")  # an autosave: the page resends it
    if saving:
        message = gettext("Hệ thống đang bận, câu trả lời của bạn sẽ được gửi lại tự động.")
    else:
        message = gettext("Hệ thống đang bận, vui lòng thử lại sau ít giây.")
    body, status = error_response(503, message, "service_unavailable")  # type: ignore[misc]
    return body, status, {"Retry-After": str(RETRY_AFTER_SECONDS)}


def _database_error(exc: DBAPIError) -> ResponseReturnValue:
    if not database_unreachable(exc):
        raise exc
    return _answer("database", exc)


def _redis_error(exc: redis.exceptions.RedisError) -> ResponseReturnValue:
    return _answer("redis", exc)


def init_app(app: Flask) -> None:
    for error in (OperationalError, InterfaceError):
        app.register_error_handler(error, _database_error)
    for error in REDIS_ERRORS:
        app.register_error_handler(error, _redis_error)

    @app.teardown_request
    def _quiet(exc: BaseException | None) -> None:
        if exc is None:
            _outages.succeeded()
