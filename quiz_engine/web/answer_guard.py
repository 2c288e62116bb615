"""What guards the answer-saving endpoints without costing the hot path: CSRF and the rate limit.

Autosave is most of a contest's traffic, so its checks are the cheap equivalents of the app-wide ones:

- **CSRF.** The paper page carries a save token, an HMAC of the session's CSRF secret under the app's
  secret key. It proves what Flask-WTF's token proves (the page was served to this session) but is
  checked with one HMAC instead of unsigning a timestamped token. A request without it (an API client
  holding a Flask-WTF token) gets Flask-WTF's full check, so both kinds of token work.
- **Rate limit.** ``RATE_LIMIT_ANSWER_SAVE`` (Flask-Limiter's notation) is counted per attempt inside the
  save script itself (:func:`quiz_engine.services.taking.attempt_state.save_answer`), not by a separate round
  trip through Flask-Limiter.
Saving through the API also needs a JSON body, which a cross-site form cannot send without CORS.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Callable
from typing import Any

from flask import current_app, request, session
from flask_wtf.csrf import generate_csrf

from quiz_engine.extensions import csrf
from quiz_engine.web import rate_limits

_PURPOSE = b"quiz-answer-save:"


def save_token() -> str:
    """The token the paper page hands to ``attempt.js`` for its saves (stable for the session)."""
    field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    if field not in session:
        generate_csrf()  # creates the session's CSRF secret
    return _expected(session[field])


def _expected(secret: str) -> str:
    key = current_app.secret_key.encode() if isinstance(current_app.secret_key, str) else current_app.secret_key
    return hmac.new(key, _PURPOSE + secret.encode(), hashlib.sha256).hexdigest()  # type: ignore[arg-type]


def _check() -> None:
    config = current_app.config
    if not config.get("WTF_CSRF_ENABLED", True) or not config.get("WTF_CSRF_CHECK_DEFAULT", True):
        return
    sent = request.headers.get("X-CSRFToken") or request.headers.get("X-CSRF-Token") or ""
    secret = session.get(config.get("WTF_CSRF_FIELD_NAME", "csrf_token"))
    if secret and sent and hmac.compare_digest(sent, _expected(secret)):
        return
    csrf.protect()  # a Flask-WTF token, or the usual CSRF error


def csrf_checked(view: Callable[..., Any]) -> Callable[..., Any]:
    """Exempt ``view`` from the app-wide CSRF hook and check its requests with :func:`_check` instead."""

    @functools.wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        _check()
        return view(*args, **kwargs)

    return csrf.exempt(checked)


def save_limits() -> tuple[tuple[int, int], ...]:
    """``RATE_LIMIT_ANSWER_SAVE`` as ``(saves, window seconds)`` pairs (read on each request)."""
    return rate_limits.parsed(current_app.config["RATE_LIMIT_ANSWER_SAVE"])
