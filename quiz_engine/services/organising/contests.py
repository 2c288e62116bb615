"""Contests: creating and editing them, their groups and organizers, and the home page's overview.

Functions flush; the caller commits.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import nh3
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from quiz_engine.models import (
    Attempt,
    Contest,
    ContestGroup,
    Registration,
    Round,
    RoundMixItem,
    StandingsMode,
    Unit,
    UnitRanking,
    User,
)
from quiz_engine.services.errors import ConflictError, ValidationError

#: Tags an organizer's rules text may keep; everything else is stripped (the text stays).
RULES_TAGS = frozenset({"p", "br", "strong", "em", "ul", "ol", "li", "a", "h3", "h4", "blockquote"})
RULES_URL_SCHEMES = frozenset({"http", "https", "mailto"})
SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
GROUP_CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


def sanitise_rules(text: str) -> str:
    """Reduce organizer-written rules to safe basic HTML; plain text becomes paragraphs."""
    text = text.replace("\r\n", "\n").strip()
    if text and "<" not in text:
        # Typed or pasted without markup: keep its paragraphs and line breaks instead of one run-on line.
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
        text = "".join("<p>" + html.escape(p, quote=False).replace("\n", "<br>") + "</p>" for p in paragraphs)
    return nh3.clean(
        text,
        tags=set(RULES_TAGS),
        attributes={"a": {"href"}},
        link_rel="noopener noreferrer",
        url_schemes=set(RULES_URL_SCHEMES),
    )


@dataclass(frozen=True)
class ContestDetails:
    """What an organizer sets on a contest; its slug is chosen once, at creation (links to it are out there)."""

    title: str
    description: str = ""
    rules_html: str = ""
    #: Eligibility groups as ``(code, name)``, in display order.
    groups: Sequence[tuple[str, str]] = ()
    units: Sequence[Unit] = ()
    published: bool = True
    one_prize_per_person: bool = True
    standings_mode: StandingsMode = StandingsMode.SUM
    unit_ranking: UnitRanking = UnitRanking.PARTICIPATION
    unit_min_participation_pct: int = 0
    unit_participation_weight_pct: int = 50


def create_contest(session: Session, slug: str, details: ContestDetails, *, now: datetime) -> Contest:
    """Add a contest with its eligibility groups and unit list.

    :raises ValidationError: naming the first field that is wrong.
    :raises ConflictError: if the slug is taken.
    """
    slug = slug.strip()
    if not SLUG_PATTERN.match(slug):
        raise ValidationError(
            "Mã cuộc thi chỉ gồm chữ thường không dấu, số và dấu gạch ngang (tối đa 80 ký tự).",
            "The contest slug may hold only a-z, 0-9 and hyphens (80 characters at most).",
            field="slug",
        )
    if session.scalar(select(Contest.id).where(Contest.slug == slug)) is not None:
        raise ConflictError(f"Đã có cuộc thi mã '{slug}'.", f"A contest with slug '{slug}' exists.")
    values = _checked_values(details)
    contest = Contest(
        slug=slug,
        **values,
        created_at=now,
        updated_at=now,
        groups=[ContestGroup(code=c, name=n, position=i) for i, (c, n) in enumerate(_clean_groups(details.groups))],
        units=list(details.units),
    )
    session.add(contest)
    session.flush()
    return contest


def _checked_values(details: ContestDetails) -> dict[str, Any]:
    """The contest's column values from ``details``, once checked.

    :raises ValidationError: naming the first field that is wrong.
    """
    _check_title(details.title)
    pcts = (("unit_min_participation_pct", details.unit_min_participation_pct),)
    pcts += (("unit_participation_weight_pct", details.unit_participation_weight_pct),)
    for name, value in pcts:
        if not 0 <= value <= 100:
            raise ValidationError(
                "Giá trị phần trăm phải từ 0 đến 100.", "Percentages must be from 0 to 100.", field=name
            )
    return {
        "title": details.title.strip(),
        "description": details.description.strip(),
        "rules_html": sanitise_rules(details.rules_html),
        "is_published": details.published,
        "one_prize_per_person": details.one_prize_per_person,
        "standings_mode": StandingsMode(details.standings_mode),
        "unit_ranking": UnitRanking(details.unit_ranking),
        "unit_min_participation_pct": details.unit_min_participation_pct,
        "unit_participation_weight_pct": details.unit_participation_weight_pct,
    }


def update_contest(session: Session, contest: Contest, details: ContestDetails, *, now: datetime) -> list[str]:
    """Change a contest's details (its slug stays); return what changed.

    Groups are matched by code. A group or unit that contestants already registered with cannot be removed.

    :raises ValidationError: naming the first field that is wrong.
    """
    values = _checked_values(details)
    groups = _clean_groups(details.groups)
    changed = [name for name, value in values.items() if getattr(contest, name) != value]
    for name in changed:
        setattr(contest, name, values[name])
    if _sync_groups(session, contest, groups):
        changed.append("groups")
    if {u.id for u in details.units} != {u.id for u in contest.units}:
        _check_units_removable(session, contest, {u.id for u in details.units})
        contest.units = list(details.units)
        changed.append("units")
    if changed:
        contest.updated_at = now
    session.flush()
    return changed


def _check_title(title: str) -> None:
    if not title.strip():
        raise ValidationError("Cần nhập tên cuộc thi.", "The contest title is required.", field="title")


def _clean_groups(groups: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    cleaned = [(code.strip().lower(), name.strip()) for code, name in groups]
    for code, name in cleaned:
        if not GROUP_CODE_PATTERN.match(code) or not name:
            raise ValidationError(
                f"Nhóm đối tượng '{code or name}': cần mã (chữ thường không dấu, số, gạch ngang) và tên.",
                f"Eligibility group '{code or name}': a code (a-z, 0-9, hyphens) and a name are required.",
                field="groups",
            )
    codes = [code for code, _ in cleaned]
    if len(set(codes)) != len(codes):
        raise ValidationError(
            "Mỗi nhóm đối tượng cần một mã riêng.", "Each eligibility group needs its own code.", field="groups"
        )
    return cleaned


def _sync_groups(session: Session, contest: Contest, groups: list[tuple[str, str]]) -> bool:
    """Make the contest's groups match ``groups`` by code; return whether anything changed."""
    existing = {g.code: g for g in contest.groups}
    wanted = dict(groups)
    removed = [g for code, g in existing.items() if code not in wanted]
    for group in removed:
        if _group_in_use(session, group):
            raise ValidationError(
                f"Nhóm '{group.name}' đã có người đăng ký hoặc được dùng trong đợt thi nên không thể bỏ.",
                f"Group '{group.name}' has registrations or is used by a round, so it cannot be removed.",
                field="groups",
            )
        contest.groups.remove(group)
    changed = bool(removed)
    for position, (code, name) in enumerate(groups):
        group = existing.get(code)
        if group is None:
            contest.groups.append(ContestGroup(code=code, name=name, position=position))
            changed = True
        elif (group.name, group.position) != (name, position):
            group.name, group.position = name, position
            changed = True
    return changed


def _group_in_use(session: Session, group: ContestGroup) -> bool:
    uses = (
        select(Registration.id).where(Registration.group_id == group.id),
        select(RoundMixItem.id).where(RoundMixItem.group_id == group.id),
        select(Attempt.id).where(Attempt.group_id == group.id),
    )
    return any(session.scalar(stmt.limit(1)) is not None for stmt in uses)


def _check_units_removable(session: Session, contest: Contest, kept: set[int]) -> None:
    removed = [u for u in contest.units if u.id not in kept]
    registered = session.scalars(
        select(Unit.name)
        .join(Registration, Registration.unit_id == Unit.id)
        .where(Registration.contest_id == contest.id, Unit.id.in_([u.id for u in removed]))
        .distinct()
        .order_by(Unit.name)
        .limit(5)
    ).all()
    if registered:
        names = ", ".join(registered)
        raise ValidationError(
            f"Không thể bỏ đơn vị đã có người đăng ký dự thi: {names}.",
            f"Units with registered contestants cannot be removed: {names}.",
            field="units",
        )


def list_contests(session: Session, among: Select[tuple[Contest]] | None = None) -> list[Contest]:
    """Every contest (or those ``among`` selects), newest first."""
    return list(session.scalars((among if among is not None else select(Contest)).order_by(Contest.id.desc())))


def add_organizer(session: Session, contest: Contest, email: str) -> User:
    """List an organizer account on ``contest`` so it may manage it (idempotent).

    :raises ValidationError: when no organizer or admin account has that e-mail.
    """
    user = session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None or not user.is_organizer:
        raise ValidationError(
            "Không có tài khoản ban tổ chức nào với e-mail này.",
            "No organizer account has this e-mail.",
            field="email",
        )
    if user not in contest.organizers:
        contest.organizers.append(user)
        session.flush()
    return user


def remove_organizer(session: Session, contest: Contest, user_id: int) -> User | None:
    """Take an organizer off ``contest``; returns who was removed, or None if they were not listed."""
    for user in contest.organizers:
        if user.id == user_id:
            contest.organizers.remove(user)
            session.flush()
            return user
    return None


@dataclass(frozen=True)
class ContestOverview:
    """A published contest as the home page shows it."""

    contest: Contest
    open_rounds: list[Round]
    next_round: Round | None


def public_overview(session: Session, now: datetime) -> list[ContestOverview]:
    """Published contests that have a round open now or to come, soonest first."""
    overview = []
    for contest in session.scalars(select(Contest).where(Contest.is_published.is_(True)).order_by(Contest.id)):
        open_rounds = [r for r in contest.rounds if r.is_open(now)]
        coming = next_round(contest, now)
        if open_rounds or coming:
            overview.append(ContestOverview(contest, open_rounds, coming))
    return overview


def next_round(contest: Contest, now: datetime) -> Round | None:
    """The contest's next ranked round to open after ``now`` (practice rounds are not waited for)."""
    upcoming = [r for r in contest.rounds if r.opens_at > now and not r.is_practice]
    return min(upcoming, key=lambda r: r.opens_at, default=None)
