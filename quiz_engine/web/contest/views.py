"""Contest page, the attempt page (works with and without JavaScript), submit, result, history."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user, login_required
from sqlalchemy import select

from quiz_engine.extensions import db, redis_client
from quiz_engine.models import Attempt, AttemptStatus, Contest, Round, User
from quiz_engine.services.errors import ConflictError
from quiz_engine.services.people import registration
from quiz_engine.services.people.names import mask_name
from quiz_engine.services.results import boards, outcome, standings
from quiz_engine.services.taking import attempt_state, attempts
from quiz_engine.services.taking.admission import QueuedError
from quiz_engine.services.taking.attempts import NotRegisteredError
from quiz_engine.web import attempt_flow, deps, paper_page, rate_limits, start_gate
from quiz_engine.web.contest.forms import AttemptActionForm

bp = Blueprint("contest", __name__)


def join_url(contest: Contest) -> str:
    """Where a signed-in contestant joins ``contest`` (registration when signed out)."""
    if not current_user.is_authenticated:
        return url_for("auth.register", contest=contest.slug)
    return url_for("auth.join_contest", slug=contest.slug)


@bp.get("/contests/<slug>")
def show_contest(slug: str) -> ResponseReturnValue:
    """Rules, rounds and, for a signed-in contestant, their attempts and a start button."""
    contest = db.first_or_404(select(Contest).where(Contest.slug == slug, Contest.is_published.is_(True)))
    signed_in = current_user.is_authenticated
    registered = signed_in and registration.registration_for(db.session, current_user.id, contest.id) is not None
    return render_template(
        "contest/show.html",
        contest=contest,
        mine=attempts.in_contest(db.session, current_user.id, contest.id) if signed_in else {},
        registered=registered,
        now=deps.now(),
        join_url=join_url(contest),
        form=AttemptActionForm(),
    )


@bp.post("/rounds/<int:round_id>/start")
@rate_limits.limiter.exempt  # its limit is counted by the start gate's script; Flask-Limiter's hook skips it
@start_gate.gate(start_gate.waiting_page)  # first: a queued start costs no account load and no rate-limit count
def start_round(round_id: int) -> ResponseReturnValue:
    """Start (or resume) an attempt and open its paper (the form's CSRF token is checked app-wide).

    A paper drawn ahead of time comes back in this answer (its page moves the address bar to the paper's own
    address); every other start redirects to the paper, or explains why it cannot start.
    """
    started = attempt_flow.quick_start(round_id)  # checks the session's account without loading it
    if started is not None:
        return paper_page.render(paper_page.Sheet.started(started, deps.now()), started)
    return _start_round(round_id)


@login_required
def _start_round(round_id: int) -> ResponseReturnValue:
    """Every other start: not the common case, or nothing pre-drawn (the full path, with its refusals)."""
    round_ = db.get_or_404(Round, round_id)
    try:
        attempt = attempt_flow.start(round_)
    except QueuedError as exc:
        return start_gate.waiting_page(start_gate.Door.of(round_), exc.ticket)
    except NotRegisteredError as exc:
        db.session.rollback()
        flash(exc.message(deps.locale()), "info")
        return redirect(join_url(round_.contest))
    except ConflictError as exc:  # an attempt in another round is running: take the contestant back to it
        db.session.rollback()
        flash(exc.message(deps.locale()), "info")
        running = attempts.current_attempt(db.session, current_user.id)
        return redirect(url_for("contest.take_attempt", attempt_id=running.id) if running else url_for("main.index"))
    return redirect(url_for("contest.take_attempt", attempt_id=attempt.id))


def _own(attempt_id: int) -> Attempt:
    return attempt_flow.touch(attempts.get_own_attempt(db.session, attempt_id, current_user.id))


@bp.get("/attempts/<int:attempt_id>")
@rate_limits.limiter.exempt  # no limit: every contestant loads it at a round's start; skip Flask-Limiter's hook
@login_required
def take_attempt(attempt_id: int) -> ResponseReturnValue:
    """The paper: all questions on one page, answers saved so far, the server's time left."""
    attempt = _own(attempt_id)
    if attempt.status is not AttemptStatus.IN_PROGRESS:
        return redirect(url_for("contest.attempt_result", attempt_id=attempt.id))
    view = attempts.paper_view(db.session, redis_client(), deps.redis_prefix(), attempt, deps.now())
    if view.saving_paused:
        flash(gettext("Hệ thống đang bận, câu trả lời của bạn sẽ được gửi lại tự động. Đừng đóng trang."), "error")
    return paper_page.render(paper_page.Sheet.of(view), current_user)


@bp.post("/attempts/<int:attempt_id>")
@login_required
@rate_limits.answer_save
def save_attempt_form(attempt_id: int) -> ResponseReturnValue:
    """Without JavaScript: save every answer in the form, then stay, or ask to confirm the submission."""
    attempt = _own(attempt_id)
    if attempt.status is not AttemptStatus.IN_PROGRESS or not AttemptActionForm().validate_on_submit():
        return redirect(url_for("contest.attempt_result", attempt_id=attempt.id))
    refused = _save_form_answers(attempt)
    if refused:
        flash(gettext("Không lưu được câu trả lời: đã hết giờ làm bài."), "error")
    view = attempts.paper_view(db.session, redis_client(), deps.redis_prefix(), attempt, deps.now())
    if request.form.get("action") == "submit":
        return render_template("contest/confirm_submit.html", view=view, form=AttemptActionForm())
    flash(gettext("Đã lưu các câu trả lời."), "success")
    return redirect(url_for("contest.take_attempt", attempt_id=attempt.id))


def form_answers(attempt: Attempt) -> dict[str, str]:
    """The answers in a posted attempt form, as the save endpoint stores them."""
    fields = {str(i.position): ",".join(sorted(request.form.getlist(f"q{i.position}"))) for i in attempt.items}
    prediction = request.form.get("prediction", "").strip()
    if prediction.isdigit() and len(prediction) <= 10:
        fields[attempt_state.PREDICTION_FIELD] = str(int(prediction))
    return fields


def _save_form_answers(attempt: Attempt) -> bool:
    late = False
    for field, value in form_answers(attempt).items():
        result = attempt_state.save_answer(
            redis_client(),
            deps.redis_prefix(),
            round_id=attempt.round_id,
            attempt_id=attempt.id,
            user_id=current_user.id,
            field=field,
            value=value,
            now=deps.now(),
        )
        late = late or result is attempt_state.SaveResult.LATE
    return late


@bp.post("/attempts/<int:attempt_id>/submit")
@login_required
def submit_attempt(attempt_id: int) -> ResponseReturnValue:
    """Submit (the confirmation has been shown); a resent submit changes nothing."""
    attempt = _own(attempt_id)
    if AttemptActionForm().validate_on_submit() and attempt.status is AttemptStatus.IN_PROGRESS:
        # The form carries the answers too: they count only if Redis (which holds them) is down.
        attempt_flow.submit(attempt, sent_answers=form_answers(attempt))
    return redirect(url_for("contest.attempt_result", attempt_id=attempt_id))  # not attempt.id: read again


@bp.get("/attempts/<int:attempt_id>/result")
@login_required
def attempt_result(attempt_id: int) -> ResponseReturnValue:
    """Score, place in the round, time taken and the way on; corrections once the round allows them."""
    attempt = _own(attempt_id)
    if attempt.status is AttemptStatus.IN_PROGRESS:
        return redirect(url_for("contest.take_attempt", attempt_id=attempt.id))
    page = outcome.gather(db.session, redis_client(), deps.redis_prefix(), attempt, now=deps.now(), tz=deps.timezone())
    return render_template("contest/result.html", result=page.result, page=page)


@bp.get("/rounds/<int:round_id>/leaderboard")
def round_leaderboard(round_id: int) -> ResponseReturnValue:
    """The round's leaderboard as this visitor may see it, overall or for one unit."""
    round_ = db.get_or_404(Round, round_id)
    if round_.is_practice:
        abort(404)
    viewer = current_user.id if current_user.is_authenticated else None
    unit_id = request.args.get("unit", type=int)
    board = boards.board_for(
        db.session,
        redis_client(),
        deps.redis_prefix(),
        round_,
        now=deps.now(),
        viewer_id=viewer,
        organizer=current_user.is_authenticated and current_user.is_organizer,
        unit_id=unit_id,
    )
    return render_template("contest/leaderboard.html", round=round_, board=board, unit_id=unit_id)


@bp.get("/contests/<slug>/standings")
def contest_standings(slug: str) -> ResponseReturnValue:
    """Standings across the contest's rounds, and the units' collective ranking."""
    contest = db.first_or_404(select(Contest).where(Contest.slug == slug, Contest.is_published.is_(True)))
    people = standings.contest_standings(db.session, contest)[:100]
    names = {
        u.id: mask_name(u.full_name)
        for u in db.session.scalars(select(User).where(User.id.in_([p.user_id for p in people])))
    }
    return render_template(
        "contest/standings.html",
        contest=contest,
        people=people,
        names=names,
        units=standings.unit_standings(db.session, contest),
    )


@bp.get("/me/attempts")
@login_required
def my_attempts() -> ResponseReturnValue:
    """Every attempt of the signed-in contestant, newest first."""
    return render_template("contest/history.html", attempts=attempts.history(db.session, current_user.id))
