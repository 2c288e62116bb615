"""Signs that one person holds several accounts in a contest, for the organizers to review."""

from __future__ import annotations

from flask import abort, render_template, request
from flask.typing import ResponseReturnValue

from quiz_engine.extensions import db
from quiz_engine.services.people import suspicious
from quiz_engine.web.access import contest_or_404, organizer_required
from quiz_engine.web.organizer.blueprint import bp


@bp.get("/contests/<int:contest_id>/suspicious")
@organizer_required
def contest_suspicious(contest_id: int) -> ResponseReturnValue:
    """Shared addresses and devices at registration and sign-in, identical answers; ``?round=ID`` for one round."""
    contest = contest_or_404(contest_id)
    round_id = request.args.get("round", type=int)
    round_ = None
    if round_id is not None:
        round_ = next((r for r in contest.rounds if r.id == round_id), None)
        if round_ is None:
            abort(404)
    found = suspicious.report(db.session, contest, round_)
    response = render_template("organizer/suspicious.html", contest=contest, round=round_, report=found)
    return response, 200, {"Cache-Control": "no-store"}  # names and contact details of many people
