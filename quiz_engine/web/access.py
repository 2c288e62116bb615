"""Who may open what: organizer and admin decorators, and each organizer's scope.

Admins manage everything. Organizers manage the contests they are listed on (``Contest.organizers``), the
accounts registered in them and their audit entries (:mod:`quiz_engine.services.people.oversight`), and the
province-wide shared parts (question banks, the unit list); asking for another contest's page, round, export,
certificate or contestant answers 404, as if it did not exist, so ids cannot be probed. Anonymous visitors are
sent to sign in; contestants get 403.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import abort
from flask_login import current_user, login_required
from sqlalchemy import Select, select

from quiz_engine.extensions import db
from quiz_engine.models import Contest, Role, Round, User, contest_organizers
from quiz_engine.services.people.oversight import Oversight


def organizer_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Anonymous visitors go to the sign-in page; signed-in non-organizers get 403."""

    @functools.wraps(view)
    @login_required
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_organizer:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def admin_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Anonymous visitors go to the sign-in page; everyone but admins gets 403."""

    @functools.wraps(view)
    @login_required
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_user.role is not Role.ADMIN:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def manages(contest: Contest) -> bool:
    """Whether the signed-in user may manage ``contest``."""
    if current_user.role is Role.ADMIN:
        return True
    return current_user.is_organizer and any(o.id == current_user.id for o in contest.organizers)


def managed_contests() -> Select[tuple[Contest]]:
    """The contests the signed-in user may manage, as a query to order or filter further."""
    stmt = select(Contest)
    if current_user.role is not Role.ADMIN:
        stmt = stmt.join(contest_organizers).where(contest_organizers.c.user_id == current_user.id)
    return stmt


def ensure_manages(contest: Contest) -> None:
    """404 unless the signed-in user may manage ``contest`` (for records reached through it)."""
    if not manages(contest):
        abort(404)


def oversight() -> Oversight | None:
    """What the signed-in organizer oversees of accounts and the audit log; None for an admin (everything)."""
    return None if current_user.role is Role.ADMIN else Oversight(current_user.id)


def account_or_404(user_id: int) -> User:
    """The account, if the signed-in organizer oversees it (registered in one of their contests) or it is their
    own (the reset then tells them where to change their password); else 404."""
    user = db.get_or_404(User, user_id)
    scope = oversight()
    if scope is not None and user.id != current_user.id and not scope.covers_account(db.session, user.id):
        abort(404)
    return user


def contest_or_404(contest_id: int) -> Contest:
    contest = db.get_or_404(Contest, contest_id)
    ensure_manages(contest)
    return contest


def round_or_404(round_id: int) -> Round:
    round_ = db.get_or_404(Round, round_id)
    ensure_manages(round_.contest)
    return round_
