"""What an organizer oversees: the accounts registered in the contests they are listed on, and the audit entries
about those contests and accounts. An administrator oversees everything (no :class:`Oversight`: ``None``).

An organizer of contest X must not reach a contestant who took part only in contest Y: not in the account
search, not through a password reset (that would hand them the account), not in the audit log or its export
(addresses, contact details). The contests' shared parts (question banks and their questions) are managed by
every organizer, so their audit entries are seen by all. Entries no contest or account in scope can be tied to
(failed sign-ins, which name no account; another organizer's imports of the unit list) are left to the
administrators, except the organizer's own actions.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.orm import Session

from quiz_engine.models import (
    Attempt,
    AuditEvent,
    Certificate,
    Registration,
    Round,
    contest_organizers,
)

#: Audit targets every organizer sees: the parts the contests share.
SHARED_TARGETS = ("bank", "question")


@dataclass(frozen=True)
class Oversight:
    """What one organizer (``viewer_id``) may see of accounts and of the audit log."""

    viewer_id: int

    def contests(self) -> Select[tuple[int]]:
        """The ids of the contests the organizer is listed on."""
        return select(contest_organizers.c.contest_id).where(contest_organizers.c.user_id == self.viewer_id)

    def accounts(self) -> Select[tuple[int]]:
        """The ids of the accounts registered in one of those contests."""
        return select(Registration.user_id).where(Registration.contest_id.in_(self.contests()))

    def covers_account(self, session: Session, user_id: int) -> bool:
        """Whether the account ``user_id`` is registered in a contest the organizer is listed on."""
        return (
            session.scalar(
                select(Registration.id)
                .where(Registration.user_id == user_id, Registration.contest_id.in_(self.contests()))
                .limit(1)
            )
            is not None
        )

    def covers_target(self, session: Session, target_type: str, target_id: int) -> bool:
        """Whether an audit target (a contest, round, attempt, certificate, account, bank or question) is the
        organizer's to see: a search for one that is not answers 404, as if it did not exist."""
        if target_type in SHARED_TARGETS:
            return True
        rounds = select(Round.id).where(Round.contest_id.in_(self.contests()))
        found: dict[str, Select[tuple[int]]] = {
            "contest": self.contests().where(contest_organizers.c.contest_id == target_id),
            "round": rounds.where(Round.id == target_id),
            "attempt": select(Attempt.id).where(Attempt.id == target_id, Attempt.round_id.in_(rounds)),
            "certificate": select(Certificate.id).where(Certificate.id == target_id, Certificate.round_id.in_(rounds)),
            "user": self.accounts().where(Registration.user_id == target_id),
        }
        query = found.get(target_type)
        return query is not None and session.scalar(query.limit(1)) is not None

    def audit_entries(self) -> ColumnElement[bool]:
        """The audit events the organizer may see (module docstring)."""
        rounds = select(Round.id).where(Round.contest_id.in_(self.contests()))
        target = AuditEvent.target_id
        return or_(
            AuditEvent.actor_id == self.viewer_id,
            AuditEvent.target_type.in_(SHARED_TARGETS),
            and_(AuditEvent.target_type == "contest", target.in_(self.contests())),
            and_(AuditEvent.target_type == "round", target.in_(rounds)),
            and_(
                AuditEvent.target_type == "attempt", target.in_(select(Attempt.id).where(Attempt.round_id.in_(rounds)))
            ),
            and_(
                AuditEvent.target_type == "certificate",
                target.in_(select(Certificate.id).where(Certificate.round_id.in_(rounds))),
            ),
            and_(AuditEvent.target_type == "user", target.in_(self.accounts())),
            and_(AuditEvent.target_type.is_(None), AuditEvent.actor_id.in_(self.accounts())),
        )
