"""The audit log: recording organizer actions and contestant security events.

Functions flush with the caller's transaction, so an action and its audit row commit together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from quiz_engine.models import AuditEvent


@dataclass(frozen=True)
class Origin:
    """Where a request came from."""

    ip_address: str | None = None
    user_agent: str | None = None


CLI = Origin(ip_address=None, user_agent="cli")


def record(
    session: Session,
    action: str,
    *,
    now: datetime,
    actor_id: int | None = None,
    target: tuple[str, int] | None = None,
    origin: Origin = CLI,
    **details: Any,
) -> AuditEvent:
    """Add one audit event; ``details`` must be JSON-serialisable."""
    event = AuditEvent(
        at=now,
        action=action,
        actor_id=actor_id,
        target_type=target[0] if target else None,
        target_id=target[1] if target else None,
        ip_address=origin.ip_address,
        user_agent=(origin.user_agent or "")[:255] or None,
        details=details,
    )
    session.add(event)
    session.flush()
    return event
