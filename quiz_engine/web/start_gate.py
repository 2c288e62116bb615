"""The first door of a start request: when the round is busy, answer "wait your turn" for almost nothing.

At a synchronised start thousands of contestants press "start" within seconds, and many of them must
wait (:mod:`quiz_engine.services.taking.admission`). Those are answered here, before the account is loaded
from the database or the full page layout is rendered: identity from the signed session, the round's
times from a few-seconds cache, the ticket from one Redis script (which also counts the contestant's own
start limit, ``RATE_LIMIT_ATTEMPT_START``, lets anyone with an attempt running in the round through to
resume it, and takes an admitted start's pre-drawn paper: :func:`starts.pool_hint`), and a slim waiting
page (or the API's 503): no database read at all. Everyone admitted goes on to the cheap start
(:func:`quiz_engine.web.attempt_flow.quick_start`), or to the full one, which checks the same ticket again
(:func:`quiz_engine.web.attempt_flow.start`).

The cache holds copies of database rows for a few seconds per process; no instance needs another's.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from flask import current_app, g
from flask.typing import ResponseReturnValue
from flask_babel import format_decimal
from flask_wtf.csrf import generate_csrf
from markupsafe import escape
from sqlalchemy import select

from quiz_engine import __version__
from quiz_engine.extensions import db, redis_client
from quiz_engine.models import Contest, Round
from quiz_engine.services.taking import admission, starts
from quiz_engine.services.taking.admission import Admission
from quiz_engine.web import deps, rate_limits, template_gettext
from quiz_engine.web.stencil import kept, slot

#: Seconds a round's times and title are reused before being read again.
CACHE_SECONDS = 5.0


@dataclass(frozen=True)
class Door:
    """What the waiting page and the gate need of a round (no ORM object: it outlives the session)."""

    round_id: int
    title: str
    opens_at: datetime
    closes_at: datetime
    contest_slug: str
    contest_title: str
    has_brand: bool
    has_logo: bool
    branding_version: str | None

    @classmethod
    def of(cls, round_: Round) -> Door:
        contest = round_.contest
        return cls(
            round_.id,
            round_.title,
            round_.opens_at,
            round_.closes_at,
            contest.slug,
            contest.title,
            bool(contest.brand_color or contest.logo_type or contest.banner_type),
            bool(contest.logo_type),
            contest.branding_version,
        )


def _door(round_id: int) -> Door | None:
    doors: dict[int, tuple[float, Door | None]] = current_app.extensions.setdefault("quiz_start_doors", {})
    cached = doors.get(round_id)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    round_ = db.session.scalar(select(Round).join(Contest).where(Round.id == round_id, Contest.is_published.is_(True)))
    door = Door.of(round_) if round_ is not None else None
    doors[round_id] = (time.monotonic() + CACHE_SECONDS, door)
    return door


def _queued(round_id: int) -> tuple[Door, Admission] | None:
    user_id = deps.session_user_id()
    if user_id is None:
        return None  # not signed in: the view's login_required answers
    now = deps.now()
    door = _door(round_id)
    if door is None or not Round.open_between(door.opens_at, door.closes_at, now):
        return None  # the full start explains why it cannot start
    rate, burst = deps.admission_limits()
    prefix = deps.redis_prefix()
    pool_key = starts.pool_hint(prefix, round_id)
    ticket = admission.admit(
        redis_client(),
        prefix,
        round_id=round_id,
        user_id=user_id,
        now=now,
        rate=rate,
        burst=burst,
        limits=rate_limits.start_limits(),
        take_from=pool_key,
    )
    if ticket.admitted:
        g.quiz_start_admitted = user_id  # the cheap start may follow (attempt_flow.quick_start)
        g.quiz_start_paper = starts.Popped(pool_key, ticket.paper) if pool_key and ticket.paper else None
        return None
    return door, ticket


def gate(respond: Callable[[Door, Admission], ResponseReturnValue]) -> Callable[..., Any]:
    """Answer with ``respond(door, ticket)`` while the contestant must wait, 429 past their own start limit
    (``RATE_LIMIT_ATTEMPT_START``, counted by the same script as the queue); otherwise run the view."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def gated(round_id: int, **kwargs: Any) -> Any:
            waiting = _queued(round_id)
            if waiting is not None:
                door, ticket = waiting
                return rate_limits.refused(ticket.wait_seconds) if ticket.limited else respond(door, ticket)
            return view(round_id=round_id, **kwargs)

        return gated

    return decorator


#: Stand-ins for what differs from one waiting page to the next (the page is rendered once per round and language).
_STANDIN_TICKET = SimpleNamespace(
    position=slot("position"), wait_seconds=slot("wait_s"), wait_ms=slot("wait_ms"), rate=slot("rate")
)


def waiting_page(door: Door, ticket: Admission) -> ResponseReturnValue:
    """The queue's waiting page: 200, so in-app browsers and proxies show it rather than an error page of theirs."""
    language = template_gettext.language()

    def render() -> str:
        # Straight from the template, without the context processors: Flask-Login's would load the account.
        return current_app.jinja_env.get_template("contest/waiting.html").render(
            door=door,
            ticket=_STANDIN_TICKET,
            position_text=slot("position_text"),
            wait_text=slot("wait_text"),
            csrf_token=lambda: slot("token"),
            current_locale=language,
            app_version=__version__,
        )

    filled = kept("quiz_waiting_pages", (door, language), render).fill(
        {
            "position_text": str(escape(format_decimal(ticket.position))),
            "wait_text": str(escape(format_decimal(ticket.wait_seconds))),
            "position": str(ticket.position),
            "wait_s": str(ticket.wait_seconds),
            "wait_ms": str(ticket.wait_ms),
            "rate": str(ticket.rate),
            "token": str(escape(generate_csrf())),
        }
    )
    return filled, 200, {"Retry-After": str(ticket.wait_seconds), "Cache-Control": "no-store"}
