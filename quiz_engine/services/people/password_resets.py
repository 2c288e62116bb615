"""Password resets: a temporary password, handed over through a channel, replaced at next sign-in.

No e-mail or SMS server is assumed. Today an organizer finds the account, resets it, reads the
temporary password off the screen (shown once) and gives it to the person, by phone or in person.
The account gets ``must_change_password``, so at the next sign-in the person is sent to the
change-password page before anything else. Every reset is audited as ``user.password_reset``.

Functions flush; the caller commits.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from quiz_engine.models import Role, User
from quiz_engine.services.errors import QuizError, ValidationError
from quiz_engine.services.people import accounts, audit
from quiz_engine.services.people.oversight import Oversight

#: Letters and digits without look-alikes (0/O, 1/l/I): the password is read out and typed on a phone.
TEMPORARY_PASSWORD_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
TEMPORARY_PASSWORD_LENGTH = 10
SEARCH_LIMIT = 50


class ResetNotAllowedError(QuizError):
    """The requester may not reset this account's password."""

    status_code = 403


class PasswordResetChannel(Protocol):
    """How a temporary password reaches the person whose password was reset.

    Extension point for an OTP provider (SMS, Zalo ZNS, e-mail): write a class with a ``name``
    and a ``deliver`` that sends the temporary password to ``user.phone`` or ``user.email`` as a
    one-time code and returns None, so nothing is shown on screen. A self-service "forgot password"
    page then finds the account with :func:`quiz_engine.services.people.accounts.find_by_login` and calls
    :func:`reset_password` with ``actor=None`` and that channel; the person signs in with the code
    and ``must_change_password`` sends them to the change-password page, exactly as after an
    organizer's reset. Such a channel should

    * send only after the caller commits (queue the message in ``deliver``, send it after the
      commit), so a rolled-back reset never sends a code;
    * come with an expiry for the temporary password and a rate limit per phone number, which
      need a column and a Redis counter that this organizer-only flow does not.
    """

    #: Recorded in the audit event, e.g. ``"organizer"`` or ``"sms"``.
    name: str

    def deliver(self, user: User, temporary_password: str) -> str | None:
        """Pass the temporary password on; return it if the requester must hand it over, else None."""
        ...


class OrganizerHandover:
    """The organizer is the channel: the temporary password is shown to them once, to pass on."""

    name = "organizer"

    def deliver(self, user: User, temporary_password: str) -> str:
        """Return the password for the organizer's screen."""
        return temporary_password


@dataclass(frozen=True)
class ResetOutcome:
    """A finished reset: whose, through which channel, and what (if anything) to show the requester."""

    user: User
    channel: str
    #: What the requester must pass on (shown once, never stored in clear), or None if the channel delivered it.
    shown_once: str | None


def generate_temporary_password(length: int = TEMPORARY_PASSWORD_LENGTH) -> str:
    """A random password from :data:`TEMPORARY_PASSWORD_ALPHABET` (about 5.8 bits a character)."""
    return "".join(secrets.choice(TEMPORARY_PASSWORD_ALPHABET) for _ in range(length))


def reset_password(
    session: Session,
    user: User,
    *,
    actor: User | None,
    channel: PasswordResetChannel,
    now: datetime,
    origin: audit.Origin = audit.CLI,
) -> ResetOutcome:
    """Give ``user`` a new temporary password they must change at next sign-in, and deliver it.

    Who may reset whom: an organizer resets contestants; an administrator resets contestants and
    organizers; nobody resets their own password here (they change it on their profile page), and
    an administrator's password is never reset through this path. ``actor=None`` is for a
    self-service channel that proves the person's identity itself (see :class:`PasswordResetChannel`).

    :raises ResetNotAllowedError: if ``actor`` may not reset ``user``.
    :raises ValidationError: if the account is anonymised (it can no longer sign in).
    """
    _check_may_reset(actor, user)
    if user.anonymised_at is not None:
        raise ValidationError(
            "Tài khoản này đã được ẩn danh, không thể đặt lại mật khẩu.",
            "This account was anonymised; its password cannot be reset.",
        )
    temporary = generate_temporary_password()
    accounts.set_password(session, user, temporary)
    user.must_change_password = True
    session.flush()
    audit.record(
        session,
        "user.password_reset",
        now=now,
        actor_id=actor.id if actor is not None else None,
        target=("user", user.id),
        origin=origin,
        channel=channel.name,
    )
    return ResetOutcome(user=user, channel=channel.name, shown_once=channel.deliver(user, temporary))


def _check_may_reset(actor: User | None, user: User) -> None:
    if actor is None:
        return
    if actor.id == user.id:
        raise ResetNotAllowedError(
            "Hãy đổi mật khẩu của chính bạn trong trang Hồ sơ.", "Change your own password on your profile page."
        )
    may_reset = {Role.ORGANIZER: {Role.CONTESTANT}, Role.ADMIN: {Role.CONTESTANT, Role.ORGANIZER}}
    if user.role not in may_reset.get(actor.role, set()):
        raise ResetNotAllowedError(
            "Bạn không có quyền đặt lại mật khẩu của tài khoản này.",
            "You may not reset this account's password.",
        )


_DIGITS = re.compile(r"\D")


def find_users(session: Session, query: str, *, scope: Oversight | None, limit: int = SEARCH_LIMIT) -> list[User]:
    """Accounts within ``scope`` (None: all, for an administrator) whose name or e-mail contains ``query``, or
    whose phone or CCCD contains its digits.

    A phone number matches in any spelling (``0912 345 678``, ``+84912345678``) and by its last
    digits. Names match ignoring case, except that SQLite folds only ASCII letters.
    """
    text = " ".join(query.split())
    if len(text) < 2:
        return []
    conditions = [
        User.full_name.contains(text, autoescape=True),
        func.lower(User.full_name).contains(text.lower(), autoescape=True),
        func.lower(User.email).contains(text.lower(), autoescape=True),
    ]
    digits = _DIGITS.sub("", text)
    if len(digits) >= 4 and len(digits) >= len(text.replace(" ", "")) - 4:  # mostly digits: a number
        if digits.startswith("0"):
            national = digits[1:]
        elif digits.startswith("84") and len(digits) >= 11:
            national = digits[2:]
        else:
            national = digits  # the last digits of a number
        conditions += [User.phone.contains(national, autoescape=True), User.cccd.contains(digits, autoescape=True)]
    stmt = select(User).where(or_(*conditions))
    if scope is not None:
        stmt = stmt.where(User.id.in_(scope.accounts()))
    return list(session.scalars(stmt.order_by(User.full_name, User.id).limit(limit)))
