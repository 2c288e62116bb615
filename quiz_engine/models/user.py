"""People: contestants, organizers and administrators."""

from __future__ import annotations

import enum
import hashlib
from datetime import date, datetime

from flask_login import UserMixin
from sqlalchemy import Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from quiz_engine.extensions import db
from quiz_engine.models.base import TimestampMixin, UTCDateTime, enum_column
from quiz_engine.models.unit import Unit


class Role(enum.StrEnum):
    CONTESTANT = "contestant"
    ORGANIZER = "organizer"
    ADMIN = "admin"

    @property
    def organizes(self) -> bool:
        """Organizers and administrators see the organizer pages."""
        return self in (Role.ORGANIZER, Role.ADMIN)


class User(UserMixin, TimestampMixin, db.Model):
    """An account. Phone (E.164, +84...), e-mail (lower case) and CCCD are each unique when set."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    role: Mapped[Role] = mapped_column(enum_column(Role, name="user_role"), default=Role.CONTESTANT)
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    cccd: Mapped[str | None] = mapped_column(String(12), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    full_name: Mapped[str] = mapped_column(String(120))
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="SET NULL"), index=True)
    is_active_account: Mapped[bool] = mapped_column(default=True)
    #: When the person consented to the stated purpose of processing (Decree 13/2023/NĐ-CP).
    consented_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Set when an organizer reset the password: the person must choose a new one at next sign-in.
    must_change_password: Mapped[bool] = mapped_column(default=False)
    #: Set when personal fields were anonymised after a contest; results are kept.
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Raised by one at each sign-out. Part of :meth:`session_stamp`, so signing out ends every session
    #: and "remember me" cookie of the account, copies included: they are signed cookies, not server rows.
    session_epoch: Mapped[int] = mapped_column(default=0)

    unit: Mapped[Unit | None] = relationship()

    def session_stamp(self) -> str:
        """Changes whenever the password or :attr:`session_epoch` does; a session and a "remember me"
        cookie carry it, so a new password or a sign-out ends every one issued before."""
        return self.stamp_of(self.password_hash, self.session_epoch)

    @staticmethod
    def stamp_of(password_hash: str, session_epoch: int | None) -> str:
        """:meth:`session_stamp` from the two columns, for readers that select them without the ORM object."""
        # Epoch 0 hashes the password hash alone, as before the epoch existed: adding the column did not
        # sign anybody out (a mass sign-in at a round's start costs minutes of scrypt).
        epoch = session_epoch or 0
        material = f"{password_hash}#{epoch}" if epoch else password_hash
        return hashlib.sha256(material.encode()).hexdigest()[:16]

    def get_id(self) -> str:
        """What Flask-Login keeps in the session and the remember-me cookie: id and session stamp."""
        return f"{self.id}:{self.session_stamp()}"

    @staticmethod
    def parse_session_id(value: object) -> tuple[int | None, str]:
        """What :meth:`get_id` wrote, read back as ``(id, stamp)``; ``(None, "")`` for anything else."""
        user_id, _, stamp = value.partition(":") if isinstance(value, str) else ("", "", "")
        return (int(user_id), stamp) if user_id.isdigit() else (None, "")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts at login
        return self.is_active_account and self.anonymised_at is None

    @property
    def is_organizer(self) -> bool:
        return self.role.organizes

    @property
    def login_name(self) -> str:
        return self.email or self.phone or f"#{self.id}"

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role.value}>"
