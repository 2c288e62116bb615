"""Leaderboards and live round statistics through the API."""

from __future__ import annotations

from dataclasses import asdict

from flask import abort, jsonify, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from quiz_engine.extensions import db, redis_client
from quiz_engine.models import Round
from quiz_engine.services.results import boards, leaderboards
from quiz_engine.web import deps
from quiz_engine.web.api.blueprint import api_login_required, bp
from quiz_engine.web.api.serialise import iso


def _viewer() -> tuple[int | None, bool]:
    if not current_user.is_authenticated:
        return None, False
    return current_user.id, bool(current_user.is_organizer)


@bp.get("/rounds/<int:round_id>/leaderboard")
def round_leaderboard(round_id: int) -> ResponseReturnValue:
    """Top N (``limit`` ≤ 500) and the caller's rank; ``unit`` narrows to one unit's board."""
    round_ = db.get_or_404(Round, round_id)
    if round_.is_practice:
        abort(404)
    viewer, organizer = _viewer()
    board = boards.board_for(
        db.session,
        redis_client(),
        deps.redis_prefix(),
        round_,
        now=deps.now(),
        viewer_id=viewer,
        organizer=organizer,
        unit_id=request.args.get("unit", type=int),
        limit=min(max(request.args.get("limit", 100, type=int), 1), 500),
    )
    mine = board.mine.user_id if board.mine else None
    return jsonify(
        kind=board.kind.value,
        total=board.total,
        frozen_at=iso(board.frozen_at),
        rows=[_public(r, mine) for r in board.rows],
        me=_public(board.mine, mine) if board.mine else None,
    )


def _public(row: boards.Row, mine: int | None) -> dict[str, object]:
    """A board row as the public sees it: no account id (it would link the masked names to accounts), only
    whether the row is the viewer's own."""
    shown = asdict(row)
    shown["is_me"] = shown.pop("user_id") == mine
    return shown


@bp.get("/rounds/<int:round_id>/stats")
@api_login_required
def round_stats(round_id: int) -> ResponseReturnValue:
    """Live counters of a round for organizers, straight from Redis."""
    if not current_user.is_organizer:
        abort(403)
    round_ = db.get_or_404(Round, round_id)
    stats = leaderboards.live_stats(redis_client(), deps.redis_prefix(), round_.id)
    return jsonify(
        round_id=round_.id,
        started=stats.started,
        in_progress=stats.in_progress,
        submitted=stats.submitted,
        participants=stats.participants,
        perfect=stats.perfect,
        distribution={str(k): v for k, v in sorted(stats.distribution.items())},
        units={str(k): v for k, v in sorted(stats.units.items())},
    )
