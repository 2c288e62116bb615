"""A round's drawn questions, and voiding a flawed one (every affected attempt is re-scored)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user

from quiz_engine.extensions import db, redis_client
from quiz_engine.models import VoidMode
from quiz_engine.services.results import scoring, voids
from quiz_engine.web import deps
from quiz_engine.web.access import organizer_required, round_or_404
from quiz_engine.web.organizer.blueprint import bp
from quiz_engine.web.organizer.forms import ConfirmForm


@bp.get("/rounds/<int:round_id>/questions")
@organizer_required
def round_questions(round_id: int) -> ResponseReturnValue:
    """The questions drawn in the round, how often they were answered right, and their voids."""
    round_ = round_or_404(round_id)
    return render_template(
        "organizer/round_questions.html",
        round=round_,
        form=ConfirmForm(),
        questions=voids.round_questions(db.session, round_),
        VoidMode=VoidMode,
    )


@bp.post("/rounds/<int:round_id>/questions/<int:question_id>/<any(void, restore):action>")
@organizer_required
def void_question(round_id: int, question_id: int, action: str) -> ResponseReturnValue:
    """Void a question (counted right for all, or removed) or restore it; then rebuild the boards."""
    round_ = round_or_404(round_id)
    mode = request.form.get("mode", VoidMode.COUNT_CORRECT.value)
    if ConfirmForm().validate_on_submit() and mode in {m.value for m in VoidMode}:
        count = voids.change(
            db.session,
            round_,
            question_id,
            VoidMode(mode) if action == "void" else None,
            now=deps.now(),
            actor_id=current_user.id,
            origin=deps.origin(),
        )
        db.session.commit()
        scoring.rebuild_round(db.session, redis_client(), deps.redis_prefix(), round_)
        db.session.commit()
        flash(gettext("Đã chấm lại %(n)d bài thi.", n=count), "success")
    return redirect(url_for("organizer.round_questions", round_id=round_.id))
