"""Reading the audit log: filter, page through (newest first) and export to Excel.

Filters combine with AND: an action (exact, ``auth.login``) or a family of actions (its prefix,
``auth.``), the actor by a piece of their name, e-mail or phone number, the target, the IP address
(exact, or a prefix ending in ``.`` or ``:``) and a range of days in the contest's time zone.

Pages are keyset pages of :data:`PAGE_SIZE` events in ``(at, id)`` order: a page is asked for as the
events older (``before``) or newer (``after``) than a given event, so a page costs the same however
deep it is and events written meanwhile never shift a page. The export streams the filtered events
into a write-only workbook, at most :data:`EXPORT_LIMIT` of them. An organizer sees only the events of their
contests and of the accounts registered in them (:mod:`oversight`); an administrator sees them all.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from quiz_engine.models import AuditEvent, User
from quiz_engine.services.errors import ValidationError
from quiz_engine.services.people import audit
from quiz_engine.services.people.oversight import Oversight
from quiz_engine.services.spreadsheets import ReportSheet, parameters_sheet, save

PAGE_SIZE = 50
#: Most events one export holds: it is built within the request (some seconds for this many).
EXPORT_LIMIT = 100_000
BATCH = 2000

#: Families of actions, by the prefix their actions share.
FAMILIES = (
    "auth.",
    "user.",
    "attempt.",
    "contest.",
    "round.",
    "question.",
    "bank.",
    "units.",
    "export.",
    "certificate.",
    "audit.",
)
#: Actions the application records, for the filter's list (others can still be asked for by name).
KNOWN_ACTIONS = (
    "auth.login",
    "auth.login_failed",
    "user.register",
    "user.join_contest",
    "user.profile_update",
    "user.password_change",
    "user.password_reset",
    "user.create",
    "attempt.start",
    "attempt.submit",
    "attempt.late_answer",
    "contest.create",
    "contest.update",
    "contest.organizer_add",
    "contest.organizer_remove",
    "round.create",
    "round.update",
    "round.delete",
    "round.finalize",
    "round.void_question",
    "round.restore_question",
    "question.edit",
    "bank.import",
    "bank.export",
    "units.import",
    "export.create",
    "export.download",
    "export.finish",
    "certificate.issue",
    "certificate.revoke",
    "audit.export",
)
#: What events point at (``AuditEvent.target_type``).
TARGET_TYPES = ("attempt", "bank", "certificate", "contest", "question", "round", "user")

_ACTION = re.compile(r"^[a-z_]+\.([a-z_]+)?$")
_NON_DIGITS = re.compile(r"\D")


@dataclass(frozen=True)
class AuditFilter:
    """Which events to show; empty values do not filter."""

    #: An exact action (``auth.login``) or a family's prefix (``auth.``).
    action: str = ""
    #: A piece of the actor's name, e-mail or phone number.
    actor: str = ""
    target_type: str = ""
    target_id: int | None = None
    #: An exact address, or a prefix ending in ``.`` (IPv4) or ``:`` (IPv6).
    ip_address: str = ""
    #: First and last day included, in the contest's time zone.
    date_from: date | None = None
    date_to: date | None = None

    def details(self) -> dict[str, Any]:
        """The filters that are set, JSON-serialisable (for the audit event and the export's parameters)."""
        values = {
            "action": self.action,
            "actor": self.actor,
            "target_type": self.target_type,
            "target_id": self.target_id,
            "ip_address": self.ip_address,
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
        }
        return {name: value for name, value in values.items() if value not in ("", None)}


@dataclass(frozen=True)
class AuditRow:
    """One event as the log shows it, with its actor's name and e-mail."""

    id: int
    at: datetime
    action: str
    actor_id: int | None
    actor_name: str | None
    actor_email: str | None
    target_type: str | None
    target_id: int | None
    ip_address: str | None
    user_agent: str | None
    details: dict[str, Any]

    @property
    def details_text(self) -> str:
        """The details as compact JSON, keys sorted, Vietnamese kept readable."""
        return json.dumps(self.details or {}, ensure_ascii=False, sort_keys=True, separators=(", ", ": "))


@dataclass(frozen=True)
class AuditPage:
    """Up to :data:`PAGE_SIZE` events, newest first, and the cursors of the pages around them."""

    rows: list[AuditRow]
    #: Pass as ``after`` for the newer page, None on the newest page.
    newer: int | None
    #: Pass as ``before`` for the older page, None on the oldest page.
    older: int | None


def check(filters: AuditFilter) -> AuditFilter:
    """``filters`` with text trimmed, after checking them.

    :raises ValidationError: on a malformed action, an unknown target type or a reversed date range.
    """
    clean = AuditFilter(
        action=filters.action.strip().lower(),
        actor=" ".join(filters.actor.split())[:100],
        target_type=filters.target_type.strip(),
        target_id=filters.target_id,
        ip_address=filters.ip_address.strip()[:45],
        date_from=filters.date_from,
        date_to=filters.date_to,
    )
    if clean.action and not _ACTION.match(clean.action):
        raise ValidationError(
            "Hành động phải có dạng nhóm.việc (ví dụ auth.login) hoặc nhóm. (ví dụ auth.).",
            "The action must look like family.verb (e.g. auth.login) or family. (e.g. auth.).",
            field="action",
        )
    if clean.target_type and clean.target_type not in TARGET_TYPES:
        raise ValidationError("Loại đối tượng không hợp lệ.", "Unknown target type.", field="target_type")
    if clean.date_from and clean.date_to and clean.date_from > clean.date_to:
        raise ValidationError(
            "Ngày bắt đầu phải trước hoặc bằng ngày kết thúc.",
            "The start date must be on or before the end date.",
            field="date_to",
        )
    return clean


def _actor_condition(text: str) -> ColumnElement[bool]:
    """Accounts whose name or e-mail contains ``text``, or whose phone contains its digits."""
    conditions = [
        User.full_name.contains(text, autoescape=True),
        func.lower(User.full_name).contains(text.lower(), autoescape=True),
        func.lower(User.email).contains(text.lower(), autoescape=True),
    ]
    digits = _NON_DIGITS.sub("", text)
    if len(digits) >= 3:
        national = digits[1:] if digits.startswith("0") else digits  # 0912... is stored as +84912...
        conditions.append(User.phone.contains(national, autoescape=True))
    return AuditEvent.actor_id.in_(select(User.id).where(or_(*conditions)))


def _conditions(filters: AuditFilter, tz: ZoneInfo, scope: Oversight | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [] if scope is None else [scope.audit_entries()]
    if filters.action.endswith("."):
        conditions.append(AuditEvent.action.startswith(filters.action, autoescape=True))
    elif filters.action:
        conditions.append(AuditEvent.action == filters.action)
    if filters.actor:
        conditions.append(_actor_condition(filters.actor))
    if filters.target_type:
        conditions.append(AuditEvent.target_type == filters.target_type)
    if filters.target_id is not None:
        conditions.append(AuditEvent.target_id == filters.target_id)
    if filters.ip_address.endswith((".", ":")):
        conditions.append(AuditEvent.ip_address.startswith(filters.ip_address, autoescape=True))
    elif filters.ip_address:
        conditions.append(AuditEvent.ip_address == filters.ip_address)
    if filters.date_from:
        conditions.append(AuditEvent.at >= datetime.combine(filters.date_from, time.min, tzinfo=tz))
    if filters.date_to:
        conditions.append(AuditEvent.at < datetime.combine(filters.date_to + timedelta(days=1), time.min, tzinfo=tz))
    return conditions


def _query(filters: AuditFilter, tz: ZoneInfo, scope: Oversight | None) -> Select[Any]:
    return (
        select(
            AuditEvent.id,
            AuditEvent.at,
            AuditEvent.action,
            AuditEvent.actor_id,
            User.full_name,
            User.email,
            AuditEvent.target_type,
            AuditEvent.target_id,
            AuditEvent.ip_address,
            AuditEvent.user_agent,
            AuditEvent.details,
        )
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .where(*_conditions(filters, tz, scope))
    )


def _around(session: Session, event_id: int, *, older: bool) -> ColumnElement[bool] | None:
    """Events older (or newer) than event ``event_id`` in ``(at, id)`` order; None if it does not exist."""
    at = session.scalar(select(AuditEvent.at).where(AuditEvent.id == event_id))
    if at is None:
        return None
    if older:
        return or_(AuditEvent.at < at, and_(AuditEvent.at == at, AuditEvent.id < event_id))
    return or_(AuditEvent.at > at, and_(AuditEvent.at == at, AuditEvent.id > event_id))


def page(
    session: Session,
    filters: AuditFilter,
    *,
    tz: ZoneInfo,
    scope: Oversight | None,
    before: int | None = None,
    after: int | None = None,
    size: int = PAGE_SIZE,
) -> AuditPage:
    """The newest ``size`` events within ``scope`` (None: all) matching ``filters`` that are older than event
    ``before`` (or, with ``after``, the oldest ones newer than event ``after``, still shown newest first).
    Without a cursor, or with one naming no event, the page is the newest one.

    :raises ValidationError: on filters :func:`check` refuses.
    """
    stmt = _query(check(filters), tz, scope)
    cursor_id, going_back = (after, True) if after is not None else (before, False)
    cursor = _around(session, cursor_id, older=not going_back) if cursor_id is not None else None
    if cursor is None:
        rows, more = _fetch(session, stmt, size, newest_first=True)
        return _page(rows, has_newer=False, has_older=more)
    if going_back:
        rows, more = _fetch(session, stmt.where(cursor), size, newest_first=False)
        return _page(rows, has_newer=more, has_older=True)
    rows, more = _fetch(session, stmt.where(cursor), size, newest_first=True)
    return _page(rows, has_newer=True, has_older=more)


def _fetch(session: Session, stmt: Select[Any], size: int, *, newest_first: bool) -> tuple[list[AuditRow], bool]:
    """Up to ``size`` rows, newest first, and whether more lie beyond them in the order read."""
    if newest_first:
        stmt = stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    else:
        stmt = stmt.order_by(AuditEvent.at, AuditEvent.id)
    rows = [AuditRow(*values) for values in session.execute(stmt.limit(size + 1))]
    more = len(rows) > size
    rows = rows[:size]
    if not newest_first:
        rows.reverse()
    return rows, more


def _page(rows: list[AuditRow], *, has_newer: bool, has_older: bool) -> AuditPage:
    return AuditPage(
        rows=rows,
        newer=rows[0].id if rows and has_newer else None,
        older=rows[-1].id if rows and has_older else None,
    )


EXPORT_COLUMNS = [
    ("Mã sự kiện", 11),
    ("Thời điểm", 20),
    ("Hành động", 24),
    ("Người thực hiện", 26),
    ("E-mail", 28),
    ("Loại đối tượng", 14),
    ("Mã đối tượng", 12),
    ("Địa chỉ IP", 18),
    ("Trình duyệt (User-Agent)", 40),
    ("Chi tiết", 60),
]


@dataclass(frozen=True)
class AuditExport:
    """The workbook's bytes and how many events it holds."""

    content: bytes
    rows: int
    #: More events matched than :data:`EXPORT_LIMIT`; only the newest are in the file.
    truncated: bool


def _stream(
    session: Session, filters: AuditFilter, tz: ZoneInfo, scope: Oversight | None, limit: int
) -> Iterator[AuditRow]:
    """The matching events, newest first, read in batches on the session's connection (memory stays flat)."""
    stmt = (
        _query(filters, tz, scope)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
        .execution_options(yield_per=BATCH)
    )
    result = session.connection().execute(stmt)
    try:
        for values in result:
            yield AuditRow(*values)
    finally:
        result.close()


def export(
    session: Session,
    filters: AuditFilter,
    *,
    tz: ZoneInfo,
    scope: Oversight | None,
    now: datetime,
    exported_by: str,
    actor_id: int | None = None,
    origin: audit.Origin = audit.CLI,
    limit: int = EXPORT_LIMIT,
) -> AuditExport:
    """The events within ``scope`` (None: all) matching ``filters``, newest first, as an .xlsx workbook (times
    in ``tz``). The export is itself recorded (``audit.export``, with its filters), as any copy of the log is."""
    filters = check(filters)
    workbook = Workbook(write_only=True)
    local = now.astimezone(tz).strftime("%H:%M %d/%m/%Y")
    sheet = ReportSheet(workbook, "Nhật ký", f"Nhật ký hệ thống (xuất lúc {local})", EXPORT_COLUMNS, tz)
    for row in _stream(session, filters, tz, scope, limit):
        sheet.row(
            [
                row.id,
                row.at,
                row.action,
                row.actor_name or "",
                row.actor_email or "",
                row.target_type or "",
                row.target_id,
                row.ip_address or "",
                row.user_agent or "",
                row.details_text,
            ]
        )
    truncated = sheet.count == limit and _count(session, filters, tz, scope) > limit
    described = filters.details()
    parameters: list[tuple[str, Any]] = [
        ("Loại", "Nhật ký hệ thống"),
        ("Bộ lọc", json.dumps(described, ensure_ascii=False, sort_keys=True) if described else "(không lọc)"),
        ("Số sự kiện", sheet.count),
        ("Đã cắt bớt", f"Có: chỉ {limit} sự kiện mới nhất" if truncated else "Không"),
        ("Thời điểm xuất", now),
        ("Người xuất", exported_by),
    ]
    parameters_sheet(workbook, parameters, tz)
    audit.record(
        session, "audit.export", now=now, actor_id=actor_id, origin=origin, filters=described, rows=sheet.count
    )
    return AuditExport(content=save(workbook), rows=sheet.count, truncated=truncated)


def _count(session: Session, filters: AuditFilter, tz: ZoneInfo, scope: Oversight | None) -> int:
    return session.scalar(select(func.count(AuditEvent.id)).where(*_conditions(filters, tz, scope))) or 0
