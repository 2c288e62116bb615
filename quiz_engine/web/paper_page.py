"""The paper page, rendered once per round and filled in per contestant: every contestant loads it at a round's start.

``contest/attempt.html`` is rendered without the context processors (Flask-Login's would load the account)
once per (round, its ``updated_at``, language, organizer or not), with stand-ins for what differs from one
contestant to the next: the attempt's number in every address, the time left, the deadline, the questions
(:mod:`paper_html`), the numbers above them, how many are answered, the prediction, the contestant's name, the
form tokens and any messages. The result is kept as a stencil (:mod:`stencil`) for a few seconds per process (a
contest's title or brand may change without the round's ``updated_at``), and each answer fills it in: no template
runs.

The page comes from two places: the paper's own address (``GET /attempts/<id>``), and the start itself
when the cheap start (:mod:`quiz_engine.services.taking.starts`) has just drawn the paper, which then answers with
the paper instead of a redirect, and so saves every contestant one request at the synchronised start.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Protocol

from flask import current_app, session, url_for
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape

from quiz_engine import __version__
from quiz_engine.extensions import db
from quiz_engine.models import Round
from quiz_engine.services.taking import attempts
from quiz_engine.services.taking.attempts import PaperQuestion, PaperView
from quiz_engine.services.taking.starts import QuickStart
from quiz_engine.web import answer_guard, localtime, paper_html, template_gettext
from quiz_engine.web.stencil import Stencil, kept, slot

#: Seconds a rendered page is reused (what the round's ``updated_at`` does not cover: the contest's title).
CACHE_SECONDS = 5.0

#: Stands for the attempt's number in the page's addresses; no attempt has it (far above any serial id).
_ATTEMPT_STANDIN = 987_654_321_987_654_321
_SLOTS = SimpleNamespace(
    **{
        name: Markup(slot(name))
        for name in (
            "flashes",
            "remaining_ms",
            "save_token",
            "timer",
            "deadline",
            "navigator",
            "questions",
            "prediction",
            "answered",
            "total",
        )
    }
)


class Viewer(Protocol):
    """Who the page is for, as the header shows them (an account, or what the cheap start read of it)."""

    @property
    def full_name(self) -> str: ...

    @property
    def is_organizer(self) -> bool: ...


@dataclass(frozen=True)
class Sheet:
    """What one contestant's paper page shows."""

    round_id: int
    round_updated_at: datetime
    attempt_id: int
    deadline_at: datetime
    remaining_ms: int
    questions: Sequence[PaperQuestion]
    prediction: int | None

    @classmethod
    def of(cls, view: PaperView) -> Sheet:
        """An attempt's paper as it stands, answers and all."""
        attempt = view.attempt
        return cls(
            view.round.id,
            view.round.updated_at,
            attempt.id,
            attempt.deadline_at,
            view.remaining_ms,
            view.questions,
            view.prediction,
        )

    @classmethod
    def started(cls, started: QuickStart, now: datetime) -> Sheet:
        """The paper the cheap start has just drawn: nothing answered yet."""
        items = [(p.position, p.version_id, p.choice_order) for p in started.paper]
        return cls(
            started.round_id,
            started.round_updated_at,
            started.attempt_id,
            started.deadline_at,
            attempts.remaining_ms(started.deadline_at, now),
            attempts.paper_questions(db.session, items, {}),
            None,
        )


def render(sheet: Sheet, viewer: Viewer) -> ResponseReturnValue:
    """The paper page of ``sheet`` for ``viewer``; never stored (it shows the answers of the moment)."""
    page = _stencil(sheet.round_id, sheet.round_updated_at, viewer.is_organizer)
    save_prefix = url_for("api.save_answer", round_id=sheet.round_id, attempt_id=sheet.attempt_id, position=0)[:-1]
    remaining = sheet.remaining_ms
    values = {
        "attempt_id": str(sheet.attempt_id),
        "user_name": str(escape(viewer.full_name)),
        "csrf": str(escape(generate_csrf())),
        "flashes": _flashes(),
        "remaining_ms": str(remaining),
        "save_token": answer_guard.save_token(),
        "timer": f"{remaining // 60000:02d}:{(remaining // 1000) % 60:02d}",
        "deadline": str(escape(localtime.format_local(sheet.deadline_at, "%H:%M:%S %d/%m/%Y"))),
        "navigator": paper_html.navigator(sheet.questions),
        "questions": paper_html.questions(sheet.questions, save_prefix),
        "prediction": "" if sheet.prediction is None else str(sheet.prediction),
        # The page's count of answered questions before its script runs (and without it).
        "answered": str(sum(1 for q in sheet.questions if q.selected)),
        "total": str(len(sheet.questions)),
    }
    return page.fill(values), 200, {"Cache-Control": "no-store"}


def _flashes() -> str:
    if not session.get("_flashes"):
        return ""
    return current_app.jinja_env.get_template("_flashes.html").render()


def _stencil(round_id: int, updated_at: datetime, is_organizer: bool) -> Stencil:
    language = template_gettext.language()

    def render() -> str:
        round_ = db.session.get(Round, round_id)
        assert round_ is not None  # an attempt's round is never deleted
        page_url = url_for("contest.take_attempt", attempt_id=_ATTEMPT_STANDIN)
        html = current_app.jinja_env.get_template("contest/attempt.html").render(
            round=round_,
            attempt_id=_ATTEMPT_STANDIN,
            slot=_SLOTS,
            current_user=SimpleNamespace(is_authenticated=True, is_organizer=is_organizer, full_name=slot("user_name")),
            request=SimpleNamespace(query_string=b"", path=page_url),  # the language switch comes back here
            csrf_token=lambda: slot("csrf"),
            current_locale=language,
            app_version=__version__,
        )
        return html.replace(str(_ATTEMPT_STANDIN), slot("attempt_id"))

    key = (round_id, updated_at, language, is_organizer)
    return kept("quiz_paper_pages", key, render, seconds=CACHE_SECONDS)
