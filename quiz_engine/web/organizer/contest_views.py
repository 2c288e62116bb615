"""Contests in the organizer area: the list, creating and editing one, and its page with its rounds."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user

from quiz_engine.extensions import db
from quiz_engine.models import Contest, User
from quiz_engine.services.errors import QuizError
from quiz_engine.services.organising import contests, rounds, units
from quiz_engine.services.people import audit
from quiz_engine.web import deps
from quiz_engine.web.access import admin_required, contest_or_404, managed_contests, organizer_required
from quiz_engine.web.organizer import contest_forms
from quiz_engine.web.organizer.blueprint import bp
from quiz_engine.web.organizer.forms import ConfirmForm, ExportForm, OrganizerForm


def _form_page(form: contest_forms.ContestForm, contest: Contest | None, status: int = 200) -> ResponseReturnValue:
    return render_template("organizer/contest_form.html", form=form, contest=contest), status


def _invalid(form: contest_forms.ContestForm, contest: Contest | None) -> ResponseReturnValue:
    return _form_page(form, contest, 400 if form.is_submitted() else 200)


def _refused(form: contest_forms.ContestForm, exc: QuizError, contest: Contest | None) -> ResponseReturnValue:
    db.session.rollback()  # drop whatever the service flushed before it refused
    if not contest_forms.show_error(form, exc, deps.locale()):
        flash(exc.message(deps.locale()), "error")
    return _form_page(form, contest, exc.status_code)


def _record(action: str, contest: Contest, **details: object) -> None:
    audit.record(
        db.session,
        action,
        now=deps.now(),
        actor_id=current_user.id,
        target=("contest", contest.id),
        origin=deps.origin(),
        **details,
    )


@bp.get("/contests")
@organizer_required
def contests_list() -> ResponseReturnValue:
    """Every contest, newest first, with its rounds counted."""
    return render_template("organizer/contests.html", contests=contests.list_contests(db.session, managed_contests()))


@bp.route("/contests/new", methods=["GET", "POST"])
@organizer_required
def contest_new() -> ResponseReturnValue:
    """Create a contest: details, rules, groups and units (every unit selected to begin with)."""
    tree = units.unit_tree(db.session)
    form = contest_forms.NewContestForm(data=contest_forms.contest_data(None, [u.id for u, _ in tree]))
    form.offer_units(tree)
    if not form.validate_on_submit():
        return _invalid(form, None)
    try:
        chosen = units.choose_units(db.session, form.units.data, form.under_id())
        contest = contests.create_contest(db.session, form.slug.data, form.details(chosen), now=deps.now())
    except QuizError as exc:
        return _refused(form, exc, None)
    contest.organizers.append(db.session.get(User, current_user.id))  # whoever creates it manages it
    _record("contest.create", contest, slug=contest.slug, units=len(chosen), groups=len(contest.groups))
    db.session.commit()
    flash(gettext("Đã tạo cuộc thi. Bây giờ hãy thêm các đợt thi."), "success")
    return redirect(url_for("organizer.contest_detail", contest_id=contest.id))


@bp.route("/contests/<int:contest_id>/edit", methods=["GET", "POST"])
@organizer_required
def contest_edit(contest_id: int) -> ResponseReturnValue:
    """Change a contest's details, groups and units (its slug stays)."""
    contest = contest_or_404(contest_id)
    initial = None if request.method == "POST" else contest_forms.contest_data(contest, [])
    form = contest_forms.ContestForm(data=initial)
    form.offer_units(units.unit_tree(db.session))
    if not form.validate_on_submit():
        return _invalid(form, contest)
    try:
        chosen = units.choose_units(db.session, form.units.data, form.under_id())
        changed = contests.update_contest(db.session, contest, form.details(chosen), now=deps.now())
    except QuizError as exc:
        return _refused(form, exc, contest)
    if changed:
        _record("contest.update", contest, changed=changed)
    db.session.commit()
    flash(gettext("Đã lưu cuộc thi.") if changed else gettext("Không có thay đổi nào."), "success")
    return redirect(url_for("organizer.contest_detail", contest_id=contest.id))


@bp.get("/contests/<int:contest_id>")
@organizer_required
def contest_detail(contest_id: int) -> ResponseReturnValue:
    """A contest's settings and its rounds, with links to add, edit and delete rounds."""
    contest = contest_or_404(contest_id)
    return render_template(
        "organizer/contest_detail.html",
        contest=contest,
        rounds=rounds.round_summaries(db.session, contest),
        labels=contest_forms.LABELS,
        form=ConfirmForm(),
        export_form=ExportForm(),
        organizer_form=OrganizerForm(),
    )


@bp.post("/contests/<int:contest_id>/organizers")
@admin_required
def contest_organizer_add(contest_id: int) -> ResponseReturnValue:
    """List an organizer on the contest (admins only): they may then manage it."""
    contest = contest_or_404(contest_id)
    form = OrganizerForm()
    try:
        if not form.validate_on_submit():
            raise QuizError(gettext("Hãy nhập e-mail của tài khoản ban tổ chức."))
        user = contests.add_organizer(db.session, contest, form.email.data)
    except QuizError as exc:
        db.session.rollback()
        flash(exc.message(deps.locale()), "error")
        return redirect(url_for("organizer.contest_detail", contest_id=contest.id))
    _record("contest.organizer_add", contest, user=user.id)
    db.session.commit()
    flash(gettext("%(name)s nay là ban tổ chức của cuộc thi.", name=user.full_name), "success")
    return redirect(url_for("organizer.contest_detail", contest_id=contest.id))


@bp.post("/contests/<int:contest_id>/organizers/<int:user_id>/remove")
@admin_required
def contest_organizer_remove(contest_id: int, user_id: int) -> ResponseReturnValue:
    """Take an organizer off the contest (admins only)."""
    contest = contest_or_404(contest_id)
    if ConfirmForm().validate_on_submit() and contests.remove_organizer(db.session, contest, user_id):
        _record("contest.organizer_remove", contest, user=user_id)
        db.session.commit()
        flash(gettext("Đã bỏ người này khỏi ban tổ chức cuộc thi."), "success")
    return redirect(url_for("organizer.contest_detail", contest_id=contest.id))
