"""Rate limits (Flask-Limiter), counted in Redis so they hold across workers and app instances.

Keys name the account first and the IP address only when there is no account: Vietnamese mobile carriers put
many phones behind one address (carrier-grade NAT), and a school or a commune office registers its whole staff
from one, so an address limit is only a high ceiling. An IPv6 address counts as its /64 (one subscriber's
network: a phone may change the rest at will). Registration is limited per account being registered (its
phone, else its e-mail), and per address only far above what an office registers.
Sign-in counts failures only, three ways: by the account being tried *from one address* (so a stranger's
wrong passwords hold back the stranger, not the owner signing in from elsewhere), by the account from every
address (a much higher ceiling, against guessing spread over many addresses), and by address (generously).
The limits are settings (``RATE_LIMIT_*``), read on each request. A refused request answers 429 with
``Retry-After`` and a Vietnamese (or English) message saying how long to wait. If Redis is away the limits
are skipped rather than locking everyone out.
"""

from __future__ import annotations

import functools
import ipaddress
import math
import time
from collections.abc import Callable

from flask import Flask, current_app, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_limiter import Limiter, RateLimitExceeded
from limits import parse_many

from quiz_engine.services.errors import QuizError
from quiz_engine.services.people import accounts
from quiz_engine.web import deps


def client_address() -> str:
    """The visitor's address for limits: IPv4 as it is, IPv6 as its /64 network."""
    address = request.remote_addr or "unknown"
    if ":" in address:
        try:
            return str(ipaddress.ip_network(f"{address}/64", strict=False))
        except ValueError:
            return address
    return address


def account_or_address() -> str:
    user_id = deps.session_user_id()
    return f"u:{user_id}" if user_id is not None else f"ip:{client_address()}"


def _login_account() -> str:
    raw = request.form.get("login", "")
    try:
        kind, value = accounts.normalise_login(raw)
    except QuizError:  # an unparseable login is still one bucket, by its raw text
        kind, value = "raw", raw.strip().lower()[:100]
    return f"login:{kind}:{value}"


def _registering_account() -> str:
    """The account a registration form would create: its phone, else its e-mail (as stored, normalised)."""
    for field in ("phone", "email"):
        raw = request.form.get(field, "").strip()
        if raw:
            try:
                return "register:{}:{}".format(*accounts.normalise_login(raw))
            except QuizError:  # the form will refuse it; count it by its text meanwhile
                return f"register:raw:{raw.lower()[:100]}"
    return f"register:none:{client_address()}"


def _login_account_from_address() -> str:
    return f"{_login_account()}@{client_address()}"


def _attempt() -> str:
    return f"attempt:{(request.view_args or {}).get('attempt_id')}"


def _setting(name: str):  # type: ignore[no-untyped-def]
    return lambda: current_app.config[name]


def _failed(response) -> bool:  # type: ignore[no-untyped-def]
    return response.status_code == 401  # the sign-in page answers 401 to wrong credentials


limiter = Limiter(key_func=account_or_address, swallow_errors=True, headers_enabled=False)


def _failed_sign_ins(setting: str, scope: str, key_func: Callable[[], str]):  # type: ignore[no-untyped-def]
    """A limit on failed sign-ins (the page's 401s), counted per ``key_func``; successful ones never count."""
    return limiter.shared_limit(
        _setting(setting), scope=scope, key_func=key_func, methods=["POST"], deduct_when=_failed
    )


login_by_account = _failed_sign_ins("RATE_LIMIT_LOGIN_ACCOUNT", "login-account", _login_account_from_address)
login_by_account_anywhere = _failed_sign_ins(
    "RATE_LIMIT_LOGIN_ACCOUNT_ANYWHERE", "login-account-anywhere", _login_account
)
login_by_address = _failed_sign_ins("RATE_LIMIT_LOGIN_ADDRESS", "login-address", client_address)
registration_by_account = limiter.shared_limit(
    _setting("RATE_LIMIT_REGISTER_ACCOUNT"), scope="register-account", key_func=_registering_account, methods=["POST"]
)
registration_by_address = limiter.shared_limit(
    _setting("RATE_LIMIT_REGISTER_ADDRESS"), scope="register", key_func=client_address, methods=["POST"]
)
answer_save = limiter.shared_limit(_setting("RATE_LIMIT_ANSWER_SAVE"), scope="answer-save", key_func=_attempt)
export = limiter.shared_limit(_setting("RATE_LIMIT_EXPORT"), scope="export")


def retry_after_seconds() -> int:
    """Seconds until the limit that was hit lets the next request through (at least 1)."""
    current = limiter.current_limit
    if current is None:
        return 60
    return max(1, math.ceil(current.reset_at - time.time()))


def _limited(_exc: RateLimitExceeded) -> ResponseReturnValue:
    return refused(retry_after_seconds())


def refused(seconds: int) -> ResponseReturnValue:
    """429 with ``Retry-After`` and how long to wait, as a page or as JSON: every limit answers alike."""
    from quiz_engine.web import error_response  # the app's one way of answering an error

    message = gettext("Bạn thao tác quá nhanh. Vui lòng thử lại sau %(n)d giây.", n=seconds)
    body, status = error_response(429, message, "rate_limited")  # type: ignore[misc]
    return body, status, {"Retry-After": str(seconds)}


@functools.lru_cache(maxsize=16)
def parsed(setting: str) -> tuple[tuple[int, int], ...]:
    """A limit in Flask-Limiter's notation (``"10 per minute; 50 per hour"``) as ``(amount, seconds)`` pairs,
    for the hot paths that count their limit inside their own Redis script."""
    return tuple((item.amount, item.get_expiry()) for item in parse_many(setting))


def start_limits() -> tuple[tuple[int, int], ...]:
    """``RATE_LIMIT_ATTEMPT_START``, counted per contestant and round by the start queue's script
    (:func:`quiz_engine.services.taking.admission.admit`), not by a Flask-Limiter round trip of its own."""
    return parsed(current_app.config["RATE_LIMIT_ATTEMPT_START"])


def init_app(app: Flask) -> None:
    """Count limits in the app's Redis, under ``<REDIS_KEY_PREFIX>:rl``.

    One server or Sentinel: the limiter shares the app's connection pool (a Sentinel pool follows a
    failover). Cluster: limits' own cluster storage, built with the same seed nodes, credentials,
    TLS and timeouts (it cannot borrow the app's client). Every limit is one key, or two under one
    hash tag (sliding window), so its scripts run on a Cluster.
    """
    from redis.cluster import RedisCluster

    from quiz_engine import redis_connection
    from quiz_engine.extensions import redis_client

    with app.app_context():
        client = redis_client()
    options: dict[str, object] = {"key_prefix": f"{app.config['REDIS_KEY_PREFIX']}:rl"}
    if isinstance(client, RedisCluster):
        target = redis_connection.parse(app.config["REDIS_URL"], cluster=bool(app.config["REDIS_CLUSTER"]))
        seeds = ",".join(f"{host}:{port}" for host, port in target.nodes)
        app.config.setdefault("RATELIMIT_STORAGE_URI", f"redis+cluster://{seeds}")
        options.update(redis_connection.cluster_kwargs(target))
    else:
        app.config.setdefault("RATELIMIT_STORAGE_URI", "redis://")
        options["connection_pool"] = client.connection_pool
    app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", options)
    # Flask-Limiter merges each app's storage options into those earlier apps left on this one limiter;
    # start afresh, or a cluster app after a one-server app (the tests make both) inherits a stale pool.
    limiter._storage_options = {}
    limiter.init_app(app)
    app.register_error_handler(RateLimitExceeded, _limited)
