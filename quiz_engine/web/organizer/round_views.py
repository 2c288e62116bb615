"""Rounds in the organizer area: add, edit (rules frozen once someone has started) and delete."""

from __future__ import annotations

import random

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user

from quiz_engine.extensions import db, redis_client
from quiz_engine.models import Contest, Round
from quiz_engine.services.errors import QuizError
from quiz_engine.services.organising import rounds
from quiz_engine.services.people import audit
from quiz_engine.services.taking import paper_pool
from quiz_engine.web import deps
from quiz_engine.web.access import contest_or_404, organizer_required, round_or_404
from quiz_engine.web.organizer import contest_forms
from quiz_engine.web.organizer.blueprint import bp
from quiz_engine.web.organizer.contest_forms import RoundAfterStartForm, RoundForm
from quiz_engine.web.organizer.forms import ConfirmForm


def _page(
    form: RoundAfterStartForm, contest: Contest, round_: Round | None = None, status: int = 200
) -> ResponseReturnValue:
    locked = round_ is not None and rounds.has_attempts(db.session, round_)
    rules = rounds.rules_of(db.session, round_) if locked and round_ is not None else None
    return render_template(
        "organizer/round_form.html",
        form=form,
        contest=contest,
        round=round_,
        locked=locked,
        rules=rules,
        labels=contest_forms.LABELS,
        pools=_pools(round_) if round_ is not None else None,
        now=deps.now(),
    ), status


def _pools(round_: Round) -> list[paper_pool.PoolStatus] | None:
    """Papers ready per pool, or None when Redis cannot say."""
    try:
        return paper_pool.status(db.session, redis_client(), deps.redis_prefix(), round_, deps.paper_pool_settings())
    except paper_pool.PoolUnavailableError:
        return None


def _refused(form: RoundAfterStartForm, exc: QuizError, contest: Contest, round_: Round | None) -> ResponseReturnValue:
    db.session.rollback()  # drop whatever the service flushed before it refused
    if not contest_forms.show_error(form, exc, deps.locale()):
        flash(exc.message(deps.locale()), "error")
    return _page(form, contest, round_, exc.status_code)


def _record(action: str, round_id: int, **details: object) -> None:
    audit.record(
        db.session,
        action,
        now=deps.now(),
        actor_id=current_user.id,
        target=("round", round_id),
        origin=deps.origin(),
        **details,
    )


@bp.route("/contests/<int:contest_id>/rounds/new", methods=["GET", "POST"])
@organizer_required
def round_new(contest_id: int) -> ResponseReturnValue:
    """Add a round; the banks must be able to fill its mix."""
    contest = contest_or_404(contest_id)
    initial = None if request.method == "POST" else contest_forms.round_data(None, len(contest.rounds) + 1)
    form = RoundForm(data=initial)
    form.offer(rounds.mix_banks(db.session), contest.groups)
    if not form.validate_on_submit():
        return _page(form, contest, status=400 if form.is_submitted() else 200)
    try:
        round_ = rounds.add_round(db.session, contest, form.rules(), now=deps.now())
    except QuizError as exc:
        return _refused(form, exc, contest, None)
    _record("round.create", round_.id, contest=contest.id, title=round_.title, practice=round_.is_practice)
    db.session.commit()
    flash(gettext("Đã thêm đợt thi “%(title)s”.", title=round_.title), "success")
    return redirect(url_for("organizer.contest_detail", contest_id=contest.id))


def _edit_form_class(locked: bool) -> type[RoundAfterStartForm]:
    # A posted form says which fields it carries: a full form sent just after the first attempt began
    # goes to the service whole, which refuses it, rather than being cut down to a few fields silently.
    if request.method == "POST":
        return RoundForm if request.form.get("scope") == "all" else RoundAfterStartForm
    return RoundAfterStartForm if locked else RoundForm


@bp.route("/rounds/<int:round_id>/edit", methods=["GET", "POST"])
@organizer_required
def round_edit(round_id: int) -> ResponseReturnValue:
    """Change a round; once someone has started it only its title, close, leaderboard and reveal can change."""
    round_ = round_or_404(round_id)
    current = rounds.rules_of(db.session, round_)
    form_class = _edit_form_class(rounds.has_attempts(db.session, round_))
    form = form_class(data=None if request.method == "POST" else contest_forms.round_data(current, round_.number))
    form.offer(rounds.mix_banks(db.session), round_.contest.groups)
    if not form.validate_on_submit():
        return _page(form, round_.contest, round_, 400 if form.is_submitted() else 200)
    try:
        changed = rounds.update_round(db.session, round_, form.rules(current), now=deps.now())
    except QuizError as exc:
        return _refused(form, exc, round_.contest, round_)
    if changed:
        _record("round.update", round_.id, contest=round_.contest_id, changed=changed)
    db.session.commit()
    flash(gettext("Đã lưu đợt thi.") if changed else gettext("Không có thay đổi nào."), "success")
    return redirect(url_for("organizer.contest_detail", contest_id=round_.contest_id))


@bp.post("/rounds/<int:round_id>/delete")
@organizer_required
def round_delete(round_id: int) -> ResponseReturnValue:
    """Delete a round nobody has started."""
    round_ = round_or_404(round_id)
    contest_id, title = round_.contest_id, round_.title
    target = redirect(url_for("organizer.contest_detail", contest_id=contest_id))
    if not ConfirmForm().validate_on_submit():
        return target
    try:
        rounds.delete_round(db.session, round_)
    except QuizError as exc:
        db.session.rollback()
        flash(exc.message(deps.locale()), "error")
        return target
    _record("round.delete", round_id, contest=contest_id, title=title)
    db.session.commit()
    flash(gettext("Đã xoá đợt thi “%(title)s”.", title=title), "success")
    return target


@bp.post("/rounds/<int:round_id>/papers")
@organizer_required
def round_prepare_papers(round_id: int) -> ResponseReturnValue:
    """Draw the round's papers ahead of time now (top every pool up to its target)."""
    round_ = round_or_404(round_id)
    target = redirect(url_for("organizer.round_edit", round_id=round_id))
    if not ConfirmForm().validate_on_submit():
        return target
    try:
        report = paper_pool.prepare_round(
            db.session,
            redis_client(),
            deps.redis_prefix(),
            round_,
            settings=deps.paper_pool_settings(),
            now=deps.now(),
            rng=random.SystemRandom(),
        )
    except QuizError as exc:
        db.session.rollback()
        flash(exc.message(deps.locale()), "error")
        return target
    _record("round.prepare_papers", round_.id, contest=round_.contest_id, added=report.added, ready=report.ready)
    db.session.commit()
    _flash_prepared(report)
    return target


def _flash_prepared(report: paper_pool.PrepareReport) -> None:
    message = gettext(
        "Đã rút sẵn thêm %(added)d đề; hiện có %(ready)d đề sẵn sàng.", added=report.added, ready=report.ready
    )
    flash(message, "success")
    if report.unfillable:
        flash(gettext("Ngân hàng câu hỏi không còn đủ câu cho đề của đợt này; hãy kiểm tra đề thi của đợt."), "error")
