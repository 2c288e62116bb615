"""Showing UTC instants in the contest's time zone, Vietnamese style (dd/mm/yyyy HH:MM)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext


def to_local(value: datetime) -> datetime:
    return value.astimezone(ZoneInfo(current_app.config["TIMEZONE"]))


def format_local(value: datetime | None, pattern: str = "%H:%M %d/%m/%Y") -> str:
    """Jinja filter ``localtime``."""
    return "" if value is None else to_local(value).strftime(pattern)


def until(value: datetime, now: datetime) -> str:
    """How long until ``value``, in words: "còn 2 ngày 5 giờ", "còn 3 giờ 20 phút", "còn 7 phút"."""
    minutes = max(0, int((value - now).total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return gettext("còn %(d)d ngày %(h)d giờ", d=days, h=hours)
    if hours:
        return gettext("còn %(h)d giờ %(m)d phút", h=hours, m=minutes)
    return gettext("còn %(m)d phút", m=minutes)
