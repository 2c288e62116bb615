"""Accounts in the organizer area: find a person, reset their password to a temporary one."""

from __future__ import annotations

from flask import flash, make_response, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from quiz_engine.extensions import db
from quiz_engine.models import User
from quiz_engine.services.errors import QuizError
from quiz_engine.services.people import password_resets
from quiz_engine.web import deps
from quiz_engine.web.access import account_or_404, organizer_required, oversight
from quiz_engine.web.organizer.blueprint import bp
from quiz_engine.web.organizer.forms import ConfirmForm


@bp.get("/users")
@organizer_required
def users() -> ResponseReturnValue:
    """Find accounts by phone number, e-mail, name or CCCD (an organizer: those registered in their contests)."""
    query = request.args.get("q", "").strip()[:100]
    found = password_resets.find_users(db.session, query, scope=oversight()) if query else []
    return render_template("organizer/users.html", query=query, users=found, limit=password_resets.SEARCH_LIMIT)


@bp.route("/users/<int:user_id>/reset", methods=["GET", "POST"])
@organizer_required
def user_reset(user_id: int) -> ResponseReturnValue:
    """Confirm, then set a temporary password shown once, to be changed at the person's next sign-in."""
    user = account_or_404(user_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return render_template("organizer/user_reset.html", user=user, form=form, outcome=None)
    try:
        outcome = password_resets.reset_password(
            db.session,
            user,
            actor=db.get_or_404(User, current_user.id),
            channel=password_resets.OrganizerHandover(),
            now=deps.now(),
            origin=deps.origin(),
        )
    except QuizError as exc:
        db.session.rollback()
        flash(exc.message(deps.locale()), "error")
        return render_template("organizer/user_reset.html", user=user, form=form, outcome=None), exc.status_code
    db.session.commit()
    response = make_response(render_template("organizer/user_reset.html", user=user, form=form, outcome=outcome))
    response.headers["Cache-Control"] = "no-store"  # the temporary password must not outlive this page
    return response
