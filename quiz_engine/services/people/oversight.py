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

from sqlalchemy import ColumnElement, Select, and_, literal, or_, select
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
        return self.covers_target(session, "user", user_id)

    def covers_target(self, session: Session, target_type: str, target_id: int) -> bool:
        """Whether an audit target (a contest, round, attempt, certificate, account, bank or question) is the
        organizer's to see: a search for one that is not answers 404, as if it did not exist."""
        if target_type in SHARED_TARGETS:
            return True
        ids = self._targets().get(target_type)
        return ids is not None and session.scalar(select(literal(True)).where(literal(target_id).in_(ids))) is not None

    def audit_entries(self) -> ColumnElement[bool]:
        """The audit events the organizer may see (module docstring)."""
        targets = self._targets().items()
        in_scope = (and_(AuditEvent.target_type == kind, AuditEvent.target_id.in_(ids)) for kind, ids in targets)
        return or_(
            AuditEvent.actor_id == self.viewer_id,
            AuditEvent.target_type.in_(SHARED_TARGETS),
            *in_scope,
            and_(AuditEvent.target_type.is_(None), AuditEvent.actor_id.in_(self.accounts())),
        )

    def _targets(self) -> dict[str, Select[tuple[int]]]:
        """Per kind of audit target, the ids of those in scope: the contests, their rounds, attempts and
        certificates, and the accounts registered in them."""
        rounds = select(Round.id).where(Round.contest_id.in_(self.contests()))
        return {
            "contest": self.contests(),
            "round": rounds,
            "attempt": select(Attempt.id).where(Attempt.round_id.in_(rounds)),
            "certificate": select(Certificate.id).where(Certificate.round_id.in_(rounds)),
            "user": self.accounts(),
        }
