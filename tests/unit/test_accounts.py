"""Accounts: identifier normalisation, uniqueness, authentication."""

import pytest
from sqlalchemy import select

from quiz_engine.models import Role, User, utcnow
from quiz_engine.services.errors import ConflictError, ValidationError
from quiz_engine.services.people import accounts


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0912345678", "+84912345678"),
        ("0912 345 678", "+84912345678"),
        ("091.234.5678", "+84912345678"),
        ("84912345678", "+84912345678"),
        ("+84 912 345 678", "+84912345678"),
        ("0388-123-456", "+84388123456"),
        ("02073822222", "+842073822222"),
    ],
)
def test_normalise_phone_accepts_vietnamese_formats(raw: str, expected: str) -> None:
    assert accounts.normalise_phone(raw) == expected


@pytest.mark.parametrize(
    "raw", ["", "12345", "0112345678", "091234567", "+1 415 555 0100", "09123456789", "09a2345678"]
)
def test_normalise_phone_refuses_non_vietnamese_numbers(raw: str) -> None:
    with pytest.raises(ValidationError) as err:
        accounts.normalise_phone(raw)
    assert err.value.field == "phone"
    assert "Số điện thoại" in err.value.vi and "phone" in err.value.en


def test_create_user_normalises_and_refuses_duplicates(session) -> None:
    user = accounts.create_user(
        session,
        full_name="  Trần   Thị  Bình ",
        email="Binh@Example.VN",
        phone="0912 345 678",
        password="12345678x",
        now=utcnow(),
    )
    assert (user.email, user.phone, user.full_name) == ("binh@example.vn", "+84912345678", "Trần Thị Bình")
    assert user.password_hash.startswith("scrypt:")
    with pytest.raises(ConflictError):
        accounts.create_user(
            session,
            full_name="Khác",
            email="other@example.vn",
            phone="+84912345678",
            password="12345678x",
            now=utcnow(),
        )
    with pytest.raises(ConflictError):
        accounts.create_user(session, full_name="Khác", email="BINH@example.vn", password="12345678x", now=utcnow())
    assert session.scalar(select(User).where(User.email == "other@example.vn")) is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"email": "a@b.vn", "password": "short"}, "password"),
        ({"email": "not-an-email", "password": "12345678x"}, "email"),
        ({"email": "a@b.vn", "password": "12345678x", "full_name": "   "}, "full_name"),
    ],
)
def test_create_user_refuses_bad_input(session, kwargs: dict, field: str) -> None:
    kwargs.setdefault("full_name", "Lê Văn C")
    with pytest.raises(ValidationError) as err:
        accounts.create_user(session, now=utcnow(), **kwargs)
    assert err.value.field == field
    assert session.scalar(select(User)) is None


def test_authenticate_by_phone_or_email(session) -> None:
    accounts.create_user(
        session,
        full_name="Phạm D",
        email="d@example.vn",
        phone="0987654321",
        password="dung-mat-khau",
        role=Role.ORGANIZER,
        now=utcnow(),
    )
    now = utcnow()
    assert accounts.authenticate(session, "+84 987 654 321", "dung-mat-khau", now).email == "d@example.vn"
    user = accounts.authenticate(session, "D@EXAMPLE.VN", "dung-mat-khau", now)
    assert user is not None and user.last_login_at == now
    assert accounts.authenticate(session, "d@example.vn", "sai-mat-khau", now) is None
    assert accounts.authenticate(session, "nobody@example.vn", "dung-mat-khau", now) is None
    assert accounts.authenticate(session, "garbage", "dung-mat-khau", now) is None
