"""The API blueprint, its JSON errors and its sign-in requirement."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def error(status: int, code: str, message: str) -> ResponseReturnValue:
    """The one error shape of the API: ``{"error": message, "code": code, "status": status}``."""
    return jsonify(error=message, code=code, status=status), status


def api_login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """401 with a JSON body for anonymous callers (no redirect to an HTML page)."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return error(401, "unauthenticated", gettext("Vui lòng đăng nhập để tiếp tục."))
        return view(*args, **kwargs)

    return wrapped
