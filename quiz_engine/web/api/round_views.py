"""Rounds open now, and starting an attempt."""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import func, select

from quiz_engine.extensions import db
from quiz_engine.models import Attempt, AttemptStatus, Contest, Round
from quiz_engine.services.taking.admission import QueuedError
from quiz_engine.web import attempt_flow, deps, rate_limits, start_gate
from quiz_engine.web.api.blueprint import api_login_required, bp
from quiz_engine.web.api.serialise import attempt_summary, round_json


@bp.get("/rounds")
def open_rounds() -> ResponseReturnValue:
    """Rounds of published contests open now; with the caller's attempts used when signed in."""
    now = deps.now()
    stmt = (
        select(Round).join(Contest).where(Contest.is_published.is_(True), Round.is_open(now)).order_by(Round.closes_at)
    )
    rounds = list(db.session.scalars(stmt))
    used: dict[int, int] = {}
    if current_user.is_authenticated and rounds:
        used = dict(
            db.session.execute(
                select(Attempt.round_id, func.count())
                .where(
                    Attempt.user_id == current_user.id,
                    Attempt.status != AttemptStatus.VOID,
                    Attempt.round_id.in_([r.id for r in rounds]),
                )
                .group_by(Attempt.round_id)
            ).all()
        )
    signed_in = current_user.is_authenticated
    return jsonify(rounds=[round_json(r, used.get(r.id, 0) if signed_in else None) for r in rounds])


@bp.post("/rounds/<int:round_id>/attempts")
@rate_limits.limiter.exempt  # its limit is counted by the start gate's script
@start_gate.gate(lambda _door, ticket: queued(QueuedError(ticket)))  # first: queued costs no account load
def start_attempt(round_id: int) -> ResponseReturnValue:
    """Start an attempt (or get the one in progress in this round): 201 with its summary."""
    started = attempt_flow.quick_start(round_id)  # checks the session's account without loading it
    if started is not None:
        return jsonify(attempt_summary(db.session.get(Attempt, started.attempt_id))), 201
    return _start_attempt(round_id)


@api_login_required
def _start_attempt(round_id: int) -> ResponseReturnValue:
    round_ = db.get_or_404(Round, round_id)
    try:
        attempt = attempt_flow.start(round_)
    except QueuedError as exc:
        return queued(exc)
    return jsonify(attempt_summary(attempt)), 201


def queued(exc: QueuedError) -> ResponseReturnValue:
    """503 with ``Retry-After``: the API's error shape plus the place in the queue and the wait."""
    ticket = exc.ticket
    body = {
        "error": exc.message(deps.locale()),
        "code": "queued",
        "status": 503,
        "queue": {"position": ticket.position, "wait_seconds": ticket.wait_seconds, "wait_ms": ticket.wait_ms},
    }
    return jsonify(body), 503, {"Retry-After": str(ticket.wait_seconds)}
