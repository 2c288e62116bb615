"""Showing UTC instants in the contest's time zone, Vietnamese style (dd/mm/yyyy HH:MM)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app


def to_local(value: datetime) -> datetime:
    return value.astimezone(ZoneInfo(current_app.config["TIMEZONE"]))


def format_local(value: datetime | None, pattern: str = "%H:%M %d/%m/%Y") -> str:
    """Jinja filter ``localtime``."""
    return "" if value is None else to_local(value).strftime(pattern)
