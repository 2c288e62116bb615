"""Accounts: creating people, normalising their identifiers, checking passwords.

Functions flush; the caller commits.
"""

from __future__ import annotations

import functools
import re
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from quiz_engine.models import Role, User
from quiz_engine.services.errors import ConflictError, ValidationError

MIN_PASSWORD_LENGTH = 8
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE_SEPARATORS = re.compile(r"[\s.\-()]")


def normalise_phone(raw: str) -> str:
    """Return a Vietnamese phone number as E.164 (``+84`` followed by 9 or 10 digits).

    Accepts ``0912 345 678``, ``091.234.5678``, ``84912345678`` and ``+84912345678``; mobile
    numbers have 9 digits after the country code, landlines (``02x``) have 10.

    :raises ValidationError: if it is not a Vietnamese phone number.
    """
    digits = _PHONE_SEPARATORS.sub("", raw.strip())
    if digits.startswith("+84"):
        national = digits[3:]
    elif digits.startswith("84") and len(digits) in (11, 12):
        national = digits[2:]
    elif digits.startswith("0"):
        national = digits[1:]
    else:
        national = ""
    mobile = len(national) == 9 and national[0] in "35789"
    landline = len(national) == 10 and national[0] == "2"
    if not national.isdigit() or not (mobile or landline):
        raise ValidationError(
            "Số điện thoại không hợp lệ: cần 10 chữ số, ví dụ 0912345678.",
            "Invalid phone number: 10 digits expected, e.g. 0912345678.",
            field="phone",
        )
    return f"+84{national}"


def normalise_email(raw: str) -> str:
    """Lower-case and trim an e-mail address.

    :raises ValidationError: if it does not look like one.
    """
    email = raw.strip().lower()
    if not _EMAIL_RE.match(email) or len(email) > 254:
        raise ValidationError("Địa chỉ e-mail không hợp lệ.", "Invalid e-mail address.", field="email")
    return email


def normalise_login(raw: str) -> tuple[str, str]:
    """Tell an e-mail from a phone number; return ``("email"|"phone", normalised value)``."""
    return ("email", normalise_email(raw)) if "@" in raw else ("phone", normalise_phone(raw))


#: Passwords people in Vietnam pick often that the English-language list below misses.
VIETNAMESE_COMMON = {
    "matkhau", "matkhau1", "matkhau12", "matkhau123", "matkhau1234", "matkhaumoi", "anhyeuem", "emyeuanh",
    "anhyeuem123", "emyeuanh123", "yeuem123", "iloveyou123", "vietnam", "vietnam1", "vietnam123", "vietnam2025",
    "hanoi123", "saigon123", "hochiminh", "conmeo123", "123456aa", "a123456789", "12345678a", "chuyendoiso",
    "chuyendoiso123", "cuocthi123", "quiz12345",
}  # fmt: skip


@functools.cache
def _common_passwords() -> frozenset[str]:
    # zxcvbn's list of the 30,000 most common passwords from real leaks, plus the Vietnamese ones above.
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"]) | VIETNAMESE_COMMON


def _personal(phone: str | None, email: str | None) -> tuple[str, ...]:
    """What a password must not contain: the phone as stored (+84…) and as typed (0…), the e-mail."""
    phone, email = phone or "", email or ""
    national = "0" + phone.removeprefix("+84") if phone.startswith("+84") else phone
    return phone, national, national[1:], email, email.partition("@")[0]


def check_password_rules(password: str, *, personal: tuple[str, ...] = ()) -> None:
    """:raises ValidationError: if the password is too short, among the most common passwords, or is
    just the person's own phone number, e-mail or name (``personal``)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            f"Mật khẩu cần ít nhất {MIN_PASSWORD_LENGTH} ký tự.",
            f"The password needs at least {MIN_PASSWORD_LENGTH} characters.",
            field="password",
        )
    folded = password.lower()
    if folded in _common_passwords() or folded.rstrip("0123456789!.@#") in _common_passwords() - {""}:
        raise ValidationError(
            "Mật khẩu này quá phổ biến, dễ bị đoán. Hãy chọn mật khẩu khác, ví dụ một câu ngắn dễ nhớ.",
            "This password is too common and easy to guess. Choose another, such as a short memorable phrase.",
            field="password",
        )
    if any(item and item.lower() in folded for item in personal if len(item) >= 4):
        raise ValidationError(
            "Mật khẩu không được chứa số điện thoại hay e-mail của bạn.",
            "The password must not contain your phone number or e-mail.",
            field="password",
        )


def create_user(
    session: Session,
    *,
    full_name: str,
    password: str,
    now: datetime,
    email: str | None = None,
    phone: str | None = None,
    role: Role = Role.CONTESTANT,
    unit_id: int | None = None,
) -> User:
    """Add an account identified by e-mail and/or phone.

    :raises ValidationError: on a bad identifier, name or password.
    :raises ConflictError: if the e-mail or phone already has an account.
    """
    if not (email or phone):
        raise ValidationError("Cần e-mail hoặc số điện thoại.", "An e-mail or a phone number is required.")
    email = normalise_email(email) if email else None
    phone = normalise_phone(phone) if phone else None
    full_name = " ".join(full_name.split())
    if not full_name:
        raise ValidationError("Cần nhập họ và tên.", "The full name is required.", field="full_name")
    check_password_rules(password, personal=_personal(phone, email))
    clash = session.scalar(
        select(User).where(or_(User.email == email if email else False, User.phone == phone if phone else False))
    )
    if clash is not None:
        raise ConflictError(
            "E-mail hoặc số điện thoại này đã có tài khoản.",
            "This e-mail or phone number already has an account.",
        )
    user = User(
        full_name=full_name,
        email=email,
        phone=phone,
        role=role,
        unit_id=unit_id,
        password_hash=generate_password_hash(password),
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    session.flush()
    return user


def find_by_login(session: Session, login: str) -> User | None:
    """The account whose e-mail or phone is ``login`` (any accepted spelling), or None."""
    try:
        kind, value = normalise_login(login)
    except ValidationError:
        return None
    column = User.email if kind == "email" else User.phone
    return session.scalar(select(User).where(column == value))


def authenticate(session: Session, login: str, password: str, now: datetime) -> User | None:
    """Return the active account matching ``login`` and ``password``, else None.

    A hash is computed even for unknown logins so response time does not reveal which exist.
    """
    user = find_by_login(session, login)
    if user is None:
        check_password_hash(_dummy_hash(), password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.is_active:
        return None
    user.last_login_at = now
    session.flush()
    return user


def set_password(session: Session, user: User, password: str) -> None:
    """:raises ValidationError: if the password breaks the rules."""
    check_password_rules(password, personal=_personal(user.phone, user.email))
    user.password_hash = generate_password_hash(password)
    session.flush()


def end_sessions(session: Session, user: User) -> None:
    """Revoke every session and "remember me" cookie of the account, on every device.

    Sessions are signed cookies the server keeps no list of; each carries the account's
    :meth:`~quiz_engine.models.User.session_stamp`, which this changes by raising ``session_epoch``.
    Added to in the database, not in Python, so two devices signing out at once both count.
    """
    session.execute(
        update(User).where(User.id == user.id).values(session_epoch=User.session_epoch + 1),
        execution_options={"synchronize_session": False},
    )
    session.expire(user, ["session_epoch"])  # read afresh next time, with the new stamp


@functools.cache
def _dummy_hash() -> str:
    return generate_password_hash("not-a-real-password")
