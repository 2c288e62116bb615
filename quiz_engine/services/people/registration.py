"""Contestants: registering for a contest, joining another, correcting details, changing the password.

Each change is audited in the same transaction (``user.register``, ``user.join_contest``,
``user.profile_update``, ``user.password_change``). Functions flush; the caller commits, and rolls
back after a refusal (a refused flush leaves the session unusable until then).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash

from quiz_engine.models import Contest, Registration, Role, User
from quiz_engine.services.errors import ConflictError, NotFoundError, ValidationError
from quiz_engine.services.people import accounts, audit, identity_numbers

#: Identifies the wording of the consent shown next to the checkbox (templates/auth/_consent.html);
#: recorded with each consent, so change it whenever that wording changes.
CONSENT_VERSION = "nd13-2023/v2"
#: Nobody older than this registers; a larger age is a typing mistake in the year.
MAX_AGE = 120
MAX_NAME_LENGTH = 120


class IdentifierTakenError(ConflictError):
    """The phone number, e-mail or CCCD already belongs to another account; ``field`` says which."""

    def __init__(self, vi: str, en: str, *, field: str) -> None:
        super().__init__(vi, en)
        self.field = field


@dataclass(frozen=True)
class PersonalDetails:
    """What a person tells about themselves; empty strings mean "not given"."""

    full_name: str
    date_of_birth: date | None = None
    cccd: str = ""
    phone: str = ""
    email: str = ""


@dataclass(frozen=True)
class EntryChoice:
    """The eligibility group and unit a person competes for in one contest."""

    group_id: int | None
    unit_id: int | None


@dataclass(frozen=True)
class _CleanDetails:
    full_name: str
    date_of_birth: date | None
    cccd: str | None
    phone: str | None
    email: str | None


_PROFILE_FIELDS = ("full_name", "date_of_birth", "cccd", "phone", "email")


def published_contests(session: Session) -> list[Contest]:
    """Every published contest, oldest first: those a person may register for."""
    return list(session.scalars(select(Contest).where(Contest.is_published.is_(True)).order_by(Contest.id)))


def registration_for(session: Session, user_id: int, contest_id: int) -> Registration | None:
    """The person's entry in the contest, if they joined it."""
    return session.scalar(
        select(Registration).where(Registration.user_id == user_id, Registration.contest_id == contest_id)
    )


def entries_of(session: Session, user_id: int) -> list[tuple[Contest, Registration]]:
    """The contests the person joined, with their entries, in the order they joined."""
    rows = session.execute(
        select(Contest, Registration)
        .join(Registration, Registration.contest_id == Contest.id)
        .where(Registration.user_id == user_id)
        .order_by(Registration.registered_at, Registration.id)
    )
    return [(contest, entry) for contest, entry in rows]


def register(
    session: Session,
    contest: Contest,
    details: PersonalDetails,
    *,
    password: str,
    entry: EntryChoice,
    consented: bool,
    now: datetime,
    tz: tzinfo = UTC,
    min_age: int = 12,
    origin: audit.Origin = audit.CLI,
) -> User:
    """Create a contestant's account and their entry in ``contest``; ``User.unit_id`` is the entry's unit.

    The person must consent to the stated purpose of processing (Decree 13/2023/NĐ-CP), be at
    least ``min_age`` on today's date in ``tz``, give a CCCD agreeing with their date of birth,
    and a phone number or an e-mail (or both). Phone, e-mail and CCCD are each one account's only.

    :raises ValidationError: naming the field in ``field`` (``consent``, ``unit``, ``group``, ...).
    :raises IdentifierTakenError: naming which identifier another account already has.
    :raises NotFoundError: if the contest is not published.
    """
    if not contest.is_published:
        raise NotFoundError("Cuộc thi này chưa mở đăng ký.", "This contest is not open for registration.")
    if not consented:
        raise ValidationError(
            "Bạn cần đồng ý với mục đích xử lý dữ liệu cá nhân để đăng ký.",
            "You need to agree to the purpose of processing your personal data to register.",
            field="consent",
        )
    clean = _clean_details(session, details, now=now, tz=tz, min_age=min_age, require_identity=True)
    accounts.check_password_rules(password)
    group_id, unit_id = _check_entry(contest, entry)
    try:
        user = accounts.create_user(
            session,
            full_name=clean.full_name,
            password=password,
            now=now,
            email=clean.email,
            phone=clean.phone,
            unit_id=unit_id,
        )
        user.date_of_birth = clean.date_of_birth
        user.cccd = clean.cccd
        user.consented_at = now
        session.add(
            Registration(contest_id=contest.id, user_id=user.id, group_id=group_id, unit_id=unit_id, registered_at=now)
        )
        session.flush()
    except IntegrityError as exc:  # a simultaneous registration took an identifier after our checks
        raise _race_lost() from exc
    audit.record(
        session,
        "user.register",
        now=now,
        actor_id=user.id,
        target=("contest", contest.id),
        origin=origin,
        consent=CONSENT_VERSION,
    )
    return user


def join_contest(
    session: Session,
    user: User,
    contest: Contest,
    entry: EntryChoice,
    *,
    consented: bool,
    now: datetime,
    origin: audit.Origin = audit.CLI,
) -> Registration:
    """Enter a signed-in person in another published contest; their unit becomes the one chosen here.

    ``consented`` matters only for accounts that never consented (created by an organizer or the CLI).

    :raises NotFoundError: if the contest is not published.
    :raises ConflictError: if they already joined it.
    :raises ValidationError: on a group or unit not offered by the contest, or missing consent.
    """
    if not contest.is_published:
        raise NotFoundError("Cuộc thi này chưa mở đăng ký.", "This contest is not open for registration.")
    if registration_for(session, user.id, contest.id) is not None:
        raise ConflictError("Bạn đã đăng ký cuộc thi này.", "You have already joined this contest.")
    if user.consented_at is None and not consented:
        raise ValidationError(
            "Bạn cần đồng ý với mục đích xử lý dữ liệu cá nhân để đăng ký.",
            "You need to agree to the purpose of processing your personal data to register.",
            field="consent",
        )
    group_id, unit_id = _check_entry(contest, entry)
    registration = Registration(
        contest_id=contest.id, user_id=user.id, group_id=group_id, unit_id=unit_id, registered_at=now
    )
    session.add(registration)
    if user.consented_at is None:
        user.consented_at = now
    if unit_id is not None:
        user.unit_id = unit_id
    try:
        session.flush()
    except IntegrityError as exc:  # a double click: the other request's entry won
        raise ConflictError("Bạn đã đăng ký cuộc thi này.", "You have already joined this contest.") from exc
    audit.record(
        session,
        "user.join_contest",
        now=now,
        actor_id=user.id,
        target=("contest", contest.id),
        origin=origin,
        consent=CONSENT_VERSION,
    )
    return registration


def update_entry(
    session: Session,
    user: User,
    contest: Contest,
    entry: EntryChoice,
    *,
    now: datetime,
    origin: audit.Origin = audit.CLI,
) -> list[str]:
    """Change the group and unit of the person's entry in ``contest``; return the fields that changed.

    Attempts already started keep the group and unit they were started with.

    :raises NotFoundError: if the person has not joined the contest.
    :raises ValidationError: on a group or unit the contest does not offer.
    """
    registration = registration_for(session, user.id, contest.id)
    if registration is None:
        raise NotFoundError("Bạn chưa đăng ký cuộc thi này.", "You have not joined this contest.")
    group_id, unit_id = _check_entry(contest, entry)
    changed = [
        name
        for name, old, new in (("group", registration.group_id, group_id), ("unit", registration.unit_id, unit_id))
        if old != new
    ]
    registration.group_id, registration.unit_id = group_id, unit_id
    if unit_id is not None:
        user.unit_id = unit_id
    session.flush()
    if changed:
        audit.record(
            session,
            "user.profile_update",
            now=now,
            actor_id=user.id,
            target=("contest", contest.id),
            origin=origin,
            fields=changed,
        )
    return changed


def update_profile(
    session: Session,
    user: User,
    details: PersonalDetails,
    *,
    now: datetime,
    tz: tzinfo = UTC,
    min_age: int = 12,
    origin: audit.Origin = audit.CLI,
) -> list[str]:
    """Correct the person's own details under the registration rules; return the names of the changed fields.

    Contestants must keep a date of birth and a CCCD; organizers' accounts may leave them empty.
    The audit event lists which fields changed, never their values (data minimisation).

    :raises ValidationError: naming the field in ``field``.
    :raises IdentifierTakenError: if another account has the new phone, e-mail or CCCD.
    """
    clean = _clean_details(
        session,
        details,
        now=now,
        tz=tz,
        min_age=min_age,
        require_identity=user.role is Role.CONTESTANT,
        user_id=user.id,
    )
    changed = [name for name in _PROFILE_FIELDS if getattr(user, name) != getattr(clean, name)]
    if not changed:
        return []
    for name in changed:
        setattr(user, name, getattr(clean, name))
    try:
        session.flush()
    except IntegrityError as exc:
        raise _race_lost() from exc
    audit.record(
        session,
        "user.profile_update",
        now=now,
        actor_id=user.id,
        target=("user", user.id),
        origin=origin,
        fields=changed,
    )
    return changed


def change_password(
    session: Session,
    user: User,
    *,
    current_password: str,
    new_password: str,
    now: datetime,
    origin: audit.Origin = audit.CLI,
) -> None:
    """Replace the password after checking the current one; this also ends a forced change after a reset.

    :raises ValidationError: (``current_password``) if the current password is wrong, or
        (``new_password``) if the new one breaks the rules or equals the current one.
    """
    if not check_password_hash(user.password_hash, current_password):
        raise ValidationError(
            "Mật khẩu hiện tại không đúng.", "The current password is wrong.", field="current_password"
        )
    if new_password == current_password:
        raise ValidationError(
            "Mật khẩu mới phải khác mật khẩu hiện tại.",
            "The new password must differ from the current one.",
            field="new_password",
        )
    try:
        accounts.set_password(session, user, new_password)
    except ValidationError as exc:
        raise ValidationError(exc.vi, exc.en, field="new_password") from exc
    forced = user.must_change_password
    user.must_change_password = False
    session.flush()
    audit.record(
        session,
        "user.password_change",
        now=now,
        actor_id=user.id,
        target=("user", user.id),
        origin=origin,
        forced=forced,
    )


def _clean_details(
    session: Session,
    details: PersonalDetails,
    *,
    now: datetime,
    tz: tzinfo,
    min_age: int,
    require_identity: bool,
    user_id: int | None = None,
) -> _CleanDetails:
    full_name = " ".join(details.full_name.split())
    if not full_name or len(full_name) > MAX_NAME_LENGTH:
        raise ValidationError(
            f"Cần nhập họ và tên (tối đa {MAX_NAME_LENGTH} ký tự).",
            f"The full name is required (at most {MAX_NAME_LENGTH} characters).",
            field="full_name",
        )
    if details.date_of_birth is not None:
        _check_age(details.date_of_birth, now.astimezone(tz).date(), min_age)
    elif require_identity:
        raise ValidationError("Cần nhập ngày sinh.", "The date of birth is required.", field="date_of_birth")
    cccd = identity_numbers.check_cccd(details.cccd, details.date_of_birth) if details.cccd.strip() else None
    if cccd is None and require_identity:
        raise ValidationError("Cần nhập số CCCD.", "The CCCD number is required.", field="cccd")
    phone = accounts.normalise_phone(details.phone) if details.phone.strip() else None
    email = accounts.normalise_email(details.email) if details.email.strip() else None
    if phone is None and email is None:
        raise ValidationError(
            "Cần số điện thoại hoặc e-mail (hoặc cả hai) để đăng nhập.",
            "A phone number or an e-mail (or both) is needed to sign in.",
            field="phone",
        )
    clean = _CleanDetails(full_name, details.date_of_birth, cccd, phone, email)
    _check_not_taken(session, clean, user_id)
    return clean


def _check_age(date_of_birth: date, today: date, min_age: int) -> None:
    if date_of_birth > today:
        raise ValidationError(
            "Ngày sinh không thể ở tương lai.", "The date of birth cannot be in the future.", field="date_of_birth"
        )
    age = today.year - date_of_birth.year - ((today.month, today.day) < (date_of_birth.month, date_of_birth.day))
    if age < min_age:
        raise ValidationError(
            f"Cuộc thi dành cho người từ {min_age} tuổi trở lên.",
            f"The contest is open to people aged {min_age} or over.",
            field="date_of_birth",
        )
    if age > MAX_AGE:
        raise ValidationError(
            "Ngày sinh không hợp lệ: hãy kiểm tra lại năm sinh.",
            "Invalid date of birth: please check the year.",
            field="date_of_birth",
        )


_TAKEN = {
    "phone": (
        "Số điện thoại này đã được dùng cho một tài khoản khác.",
        "This phone number already belongs to another account.",
    ),
    "email": ("E-mail này đã được dùng cho một tài khoản khác.", "This e-mail already belongs to another account."),
    "cccd": (
        "Số CCCD này đã được dùng cho một tài khoản khác.",
        "This CCCD number already belongs to another account.",
    ),
}
_HINT = (
    " Nếu đó là bạn, hãy đăng nhập; nếu quên mật khẩu, hãy liên hệ Ban Tổ chức.",
    " If it is yours, sign in; if you forgot the password, contact the organizers.",
)


def _check_not_taken(session: Session, clean: _CleanDetails, user_id: int | None) -> None:
    for name in ("phone", "email", "cccd"):
        value = getattr(clean, name)
        if value is None:
            continue
        owner = session.scalar(select(User.id).where(getattr(User, name) == value))
        if owner is not None and owner != user_id:
            vi, en = _TAKEN[name]
            raise IdentifierTakenError(vi + _HINT[0], en + _HINT[1], field=name)


def _race_lost() -> ConflictError:
    return ConflictError(
        "Số điện thoại, e-mail hoặc số CCCD vừa được dùng cho một tài khoản khác. Vui lòng thử lại.",
        "The phone number, e-mail or CCCD was just taken by another account. Please try again.",
    )


def _check_entry(contest: Contest, entry: EntryChoice) -> tuple[int | None, int | None]:
    """The entry's group and unit after checking the contest offers them (None where it offers none)."""
    group_id = _pick(
        entry.group_id,
        [g.id for g in contest.groups],
        ValidationError("Hãy chọn đối tượng dự thi.", "Please choose your group.", field="group"),
    )
    unit_id = _pick(
        entry.unit_id,
        [u.id for u in contest.units],
        ValidationError("Hãy chọn đơn vị trong danh sách.", "Please choose your unit from the list.", field="unit"),
    )
    return group_id, unit_id


def _pick(chosen: int | None, offered: Sequence[int], refusal: ValidationError) -> int | None:
    if not offered:
        return None
    if chosen not in offered:
        raise refusal
    return chosen
