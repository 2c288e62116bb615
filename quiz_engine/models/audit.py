"""The audit log: who did what, when, from where."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from quiz_engine.extensions import db
from quiz_engine.models.base import JSONType, UTCDateTime, utcnow


class AuditEvent(db.Model):
    """An organizer action or a contestant security event. Rows are only ever added."""

    __tablename__ = "audit_events"
    # The audit log's filters: by action, by address, by target (each newest first).
    __table_args__ = (
        Index("ix_audit_events_action_at", "action", "at"),
        Index("ix_audit_events_ip_address_at", "ip_address", "at"),
        Index("ix_audit_events_target_at", "target_type", "target_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    #: Dotted verb, e.g. ``auth.login``, ``bank.import``, ``round.update``.
    action: Mapped[str] = mapped_column(String(60))
    target_type: Mapped[str | None] = mapped_column(String(40))
    target_id: Mapped[int | None] = mapped_column()
    ip_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
