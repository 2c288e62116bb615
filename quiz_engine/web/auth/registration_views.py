"""Registering (a new account entered in a contest) and joining another contest when signed in."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user, login_required
from sqlalchemy import select

from quiz_engine.extensions import db
from quiz_engine.models import Contest
from quiz_engine.services.errors import QuizError
from quiz_engine.services.people import registration
from quiz_engine.web import deps, rate_limits
from quiz_engine.web.auth.forms import JoinForm, RegisterForm, offer_entry
from quiz_engine.web.auth.views import (
    bp,
    refuse,
    registration_rules,
    render_form,
    signed_in_user,
    start_session,
)


def _published_or_404(slug: str) -> Contest:
    return db.first_or_404(select(Contest).where(Contest.slug == slug, Contest.is_published.is_(True)))


def _choose_contest(published: list[Contest]) -> ResponseReturnValue:
    """The published contests to choose from; a form posted without choosing one is told so, nothing is made."""
    if request.method != "POST" or not published:
        return render_template("auth/choose_contest.html", contests=published)
    error = gettext("Hãy chọn cuộc thi bạn muốn đăng ký trước khi gửi thông tin.")
    return render_template("auth/choose_contest.html", contests=published, error=error), 400


@bp.route("/register", methods=["GET", "POST"])
@rate_limits.registration_by_account
@rate_limits.registration_by_address
def register() -> ResponseReturnValue:
    """Create an account entered in ``?contest=<slug>``; without a slug, the only published contest or a list."""
    contest = _contest_to_register_in()
    if not isinstance(contest, Contest):
        return contest
    if current_user.is_authenticated:
        return redirect(url_for("auth.join_contest", slug=contest.slug))
    form = RegisterForm()
    offer_entry(form, contest)
    if not form.validate_on_submit():
        return render_form("auth/register.html", form, contest=contest)
    try:
        user = registration.register(
            db.session, contest, **form.application(), now=deps.now(), origin=deps.origin(), **registration_rules()
        )
    except QuizError as exc:
        return refuse("auth/register.html", form, exc, contest=contest)
    db.session.commit()
    start_session(user, remember=True)  # as the sign-in form does by default: no new sign-in at the round's start
    flash(gettext("Đăng ký thành công. Chào mừng bạn đến với %(title)s!", title=contest.title), "success")
    return redirect(url_for("main.index"))


def _contest_to_register_in() -> Contest | ResponseReturnValue:
    """The contest in ``?contest=``, else the only published one; else the page to choose one."""
    slug = request.args.get("contest")
    if not slug:
        published = registration.published_contests(db.session)
        if len(published) != 1:
            return _choose_contest(published)
        slug = published[0].slug
    return _published_or_404(slug)


@bp.route("/contests/<slug>/join", methods=["GET", "POST"])
@login_required
def join_contest(slug: str) -> ResponseReturnValue:
    """Enter the signed-in person in another published contest, with a group and a unit."""
    contest = _published_or_404(slug)
    me = signed_in_user()
    if registration.registration_for(db.session, me.id, contest.id) is not None:
        flash(gettext("Bạn đã đăng ký cuộc thi này."), "info")
        return redirect(url_for("auth.profile"))
    form = JoinForm()
    offer_entry(form, contest)
    context = {"contest": contest, "needs_consent": me.consented_at is None}
    if not form.validate_on_submit():
        return render_form("auth/join.html", form, **context)
    try:
        registration.join_contest(
            db.session, me, contest, form.entry(), consented=form.consent.data, now=deps.now(), origin=deps.origin()
        )
    except QuizError as exc:
        return refuse("auth/join.html", form, exc, **context)
    db.session.commit()
    flash(gettext("Bạn đã đăng ký tham gia %(title)s.", title=contest.title), "success")
    return redirect(url_for("main.index"))
