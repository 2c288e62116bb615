"""Certificates (giấy chứng nhận) issued for a finalised round, each with a public verification code."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from quiz_engine.extensions import db
from quiz_engine.models.base import UTCDateTime
from quiz_engine.models.contest import Round


class Certificate(db.Model):
    """One person's certificate for one round; revoked certificates stay so their code still verifies as revoked.

    There is deliberately no relationship to :class:`User`: what a certificate shows is copied onto it,
    so no page that renders a certificate can reach the holder's phone, e-mail or CCCD.
    """

    __tablename__ = "certificates"
    # One certificate per person and round: issuing again returns it instead of adding another.
    __table_args__ = (UniqueConstraint("round_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Verification code in canonical form, e.g. ``CN-7K3P-Q9XD`` (see services/results/certificates.py).
    code: Mapped[str] = mapped_column(String(16), unique=True)
    # RESTRICT: a certificate is a public document; its round and holder cannot vanish from under it.
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="RESTRICT"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    #: The result it was issued for; finalising the round again replaces results, which sets this to NULL.
    result_id: Mapped[int | None] = mapped_column(ForeignKey("round_results.id", ondelete="SET NULL"))
    award: Mapped[str] = mapped_column(String(255))
    # Name and unit are copied at issue time, so a certificate stays verifiable and printable
    # with the name it was issued to even after the account is anonymised or the unit renamed.
    holder_name: Mapped[str] = mapped_column(String(120))
    unit_name: Mapped[str | None] = mapped_column(String(255))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    issued_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    round: Mapped[Round] = relationship()

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def __repr__(self) -> str:
        return f"<Certificate {self.code} round={self.round_id} user={self.user_id}>"
