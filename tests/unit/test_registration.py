"""Registration, contest entries, profile corrections, password changes and organizer resets (services)."""

from dataclasses import replace
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from quiz_engine.models import AuditEvent, Contest, Registration, Role, Unit, UnitKind, User
from quiz_engine.services.errors import ConflictError, NotFoundError, ValidationError
from quiz_engine.services.organising import contests
from quiz_engine.services.organising.units import UnitSpec, import_units
from quiz_engine.services.people import accounts, password_resets, registration
from quiz_engine.services.people.registration import EntryChoice, IdentifierTakenError, PersonalDetails

NOW = datetime(2025, 10, 1, 3, 0, tzinfo=UTC)  # 10:00 in Việt Nam
PASSWORD = "mat-khau-123"
AN = PersonalDetails(
    full_name="  Nguyễn   Văn An ",
    date_of_birth=date(1990, 5, 17),
    cccd="001 090 012 345",
    phone="0912 345 678",
    email="An@Example.VN",
)
BINH = PersonalDetails(
    full_name="Trần Thị Bình",
    date_of_birth=date(2005, 1, 2),
    cccd="079305001234",
    phone="0987654321",
    email="binh@example.vn",
)


def _contest(session: Session, slug: str = "thi", *, published: bool = True, with_lists: bool = True) -> Contest:
    if session.scalar(select(Unit).where(Unit.code == "X1")) is None:
        import_units(
            session,
            [
                UnitSpec("X1", "Xã Một", UnitKind.COMMUNE, None, 100, 2),
                UnitSpec("P2", "Phường Hai", UnitKind.WARD, None, 50, 3),
                UnitSpec("S3", "Sở Ba", UnitKind.AGENCY, None, 20, 4),
            ],
        )
    units = list(session.scalars(select(Unit).where(Unit.code.in_(["X1", "P2"])).order_by(Unit.code)))
    contest = contests.create_contest(
        session,
        slug,
        contests.ContestDetails(
            title=f"Cuộc thi {slug}",
            groups=[("can-bo", "Cán bộ"), ("nhan-dan", "Nhân dân")] if with_lists else [],
            units=units if with_lists else [],
            published=published,
        ),
        now=NOW,
    )
    session.commit()
    return contest


def _entry(contest: Contest, group: int = 1, unit: int = 0) -> EntryChoice:
    return EntryChoice(group_id=contest.groups[group].id, unit_id=contest.units[unit].id)


def _register(session: Session, contest: Contest, details: PersonalDetails = AN, **kwargs) -> User:  # type: ignore[no-untyped-def]
    if "entry" not in kwargs:
        kwargs["entry"] = _entry(contest)
    return registration.register(
        session, contest, details, **{"password": PASSWORD, "consented": True, "now": NOW, **kwargs}
    )


def _count(session: Session, model) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(select(func.count(model.id)))


def _actions(session: Session) -> list[str]:
    return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


# --- register -------------------------------------------------------------------------------------


def test_register_creates_the_account_its_entry_and_an_audit_event(session: Session) -> None:
    contest = _contest(session)
    user = _register(session, contest)
    session.commit()
    assert (user.full_name, user.phone, user.email, user.cccd) == (
        "Nguyễn Văn An",
        "+84912345678",
        "an@example.vn",
        "001090012345",
    )
    assert user.date_of_birth == date(1990, 5, 17) and user.consented_at == NOW
    assert user.role is Role.CONTESTANT and not user.must_change_password
    assert user.unit_id == contest.units[0].id
    entry = session.scalar(select(Registration))
    assert (entry.contest_id, entry.user_id, entry.group_id, entry.unit_id, entry.registered_at) == (
        contest.id,
        user.id,
        contest.groups[1].id,
        contest.units[0].id,
        NOW,
    )
    event = session.scalar(select(AuditEvent))
    assert (event.action, event.actor_id, event.target_type, event.target_id) == (
        "user.register",
        user.id,
        "contest",
        contest.id,
    )
    assert event.details == {"consent": registration.CONSENT_VERSION}
    assert accounts.authenticate(session, "0912345678", PASSWORD, NOW) is user


def test_register_refuses_without_consent_and_writes_nothing(session: Session) -> None:
    contest = _contest(session)
    with pytest.raises(ValidationError) as err:
        _register(session, contest, consented=False)
    assert err.value.field == "consent"
    assert "đồng ý với mục đích xử lý dữ liệu cá nhân" in err.value.vi
    session.rollback()
    assert _count(session, User) == 0 and _count(session, Registration) == 0 and _count(session, AuditEvent) == 0


@pytest.mark.parametrize(
    ("field", "clash", "message"),
    [
        ("phone", {"phone": "+84 912 345 678"}, "Số điện thoại này đã được dùng cho một tài khoản khác."),
        ("email", {"email": "AN@example.vn", "phone": ""}, "E-mail này đã được dùng cho một tài khoản khác."),
        ("cccd", {"cccd": "001090012345", "date_of_birth": date(1990, 1, 1)}, "Số CCCD này đã được dùng"),
    ],
)
def test_register_refuses_an_identifier_of_another_account_naming_it(
    session: Session, field: str, clash: dict[str, object], message: str
) -> None:
    contest = _contest(session)
    _register(session, contest)
    session.commit()
    other = replace(BINH, **clash)
    with pytest.raises(IdentifierTakenError) as err:
        _register(session, contest, other)
    assert err.value.field == field and err.value.status_code == 409
    assert message in err.value.vi and "another account" in err.value.en
    session.rollback()
    assert _count(session, User) == 1 and _count(session, Registration) == 1


def test_register_needs_a_phone_or_an_email(session: Session) -> None:
    contest = _contest(session)
    with pytest.raises(ValidationError) as err:
        _register(session, contest, replace(AN, phone=" ", email=""))
    assert err.value.field == "phone" and "số điện thoại hoặc e-mail" in err.value.vi
    only_email = _register(session, contest, replace(AN, phone=""))
    assert only_email.phone is None and only_email.email == "an@example.vn"


def test_register_with_only_a_phone(session: Session) -> None:
    user = _register(session, _contest(session), replace(AN, email=""))
    assert user.email is None and user.phone == "+84912345678"


@pytest.mark.parametrize(
    ("details", "field"),
    [
        (replace(AN, full_name="   "), "full_name"),
        (replace(AN, full_name="A" * 121), "full_name"),
        (replace(AN, date_of_birth=None), "date_of_birth"),
        (replace(AN, cccd=""), "cccd"),
        (replace(AN, cccd="00109001234"), "cccd"),
        (replace(AN, date_of_birth=date(1991, 5, 17)), "cccd"),  # disagrees with the CCCD
        (replace(AN, phone="12345"), "phone"),
        (replace(AN, email="not-an-email"), "email"),
        (replace(AN, date_of_birth=date(2026, 1, 1), cccd="001226012345"), "date_of_birth"),
        (replace(AN, date_of_birth=date(1900, 1, 1), cccd="001000012345"), "date_of_birth"),
    ],
)
def test_register_refuses_bad_details_naming_the_field(session: Session, details: PersonalDetails, field: str) -> None:
    with pytest.raises(ValidationError) as err:
        _register(session, _contest(session), details)
    assert err.value.field == field
    session.rollback()
    assert _count(session, User) == 0


def test_register_refuses_a_short_password(session: Session) -> None:
    with pytest.raises(ValidationError) as err:
        _register(session, _contest(session), password="ngan")
    assert err.value.field == "password" and "ít nhất 8 ký tự" in err.value.vi


def test_minimum_age_counts_on_todays_date_in_the_contest_time_zone(session: Session) -> None:
    contest = _contest(session)
    turns_12_today = replace(AN, date_of_birth=date(2013, 10, 1), cccd="001213012345")
    with pytest.raises(ValidationError) as err:
        _register(session, contest, replace(turns_12_today, date_of_birth=date(2013, 10, 2)), min_age=12)
    assert err.value.field == "date_of_birth" and err.value.vi == "Cuộc thi dành cho người từ 12 tuổi trở lên."
    late_evening_utc = datetime(2025, 9, 30, 20, 0, tzinfo=UTC)  # already 1 October in Việt Nam
    with pytest.raises(ValidationError):
        _register(session, contest, turns_12_today, now=late_evening_utc, min_age=12)
    user = _register(session, contest, turns_12_today, now=late_evening_utc, tz=ZoneInfo("Asia/Ho_Chi_Minh"))
    assert user.date_of_birth == date(2013, 10, 1)


def test_minimum_age_is_a_parameter(session: Session) -> None:
    contest = _contest(session)
    with pytest.raises(ValidationError) as err:
        _register(session, contest, BINH, min_age=21)
    assert "21 tuổi" in err.value.vi and "aged 21 or over" in err.value.en


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        (lambda c, s: EntryChoice(group_id=None, unit_id=c.units[0].id), "group"),
        (lambda c, s: EntryChoice(group_id=c.groups[0].id, unit_id=None), "unit"),
        # a unit that exists but is not on this contest's list
        (lambda c, s: EntryChoice(c.groups[0].id, s.scalar(select(Unit.id).where(Unit.code == "S3"))), "unit"),
        (lambda c, s: EntryChoice(group_id=c.groups[0].id + 100, unit_id=c.units[0].id), "group"),
    ],
)
def test_register_refuses_a_group_or_unit_the_contest_does_not_offer(session: Session, entry, field: str) -> None:  # type: ignore[no-untyped-def]
    contest = _contest(session)
    with pytest.raises(ValidationError) as err:
        _register(session, contest, entry=entry(contest, session))
    assert err.value.field == field
    session.rollback()
    assert _count(session, User) == 0


def test_a_contest_without_groups_or_units_takes_entries_without_them(session: Session) -> None:
    contest = _contest(session, with_lists=False)
    user = _register(session, contest, entry=EntryChoice(group_id=None, unit_id=None))
    entry = session.scalar(select(Registration))
    assert (entry.group_id, entry.unit_id, user.unit_id) == (None, None, None)


def test_register_refuses_an_unpublished_contest(session: Session) -> None:
    contest = _contest(session, published=False)
    with pytest.raises(NotFoundError):
        _register(session, contest)


# --- joining another contest ------------------------------------------------------------------------


def test_join_contest_adds_an_entry_once_and_moves_the_persons_unit(session: Session) -> None:
    first, second = _contest(session, "mot"), _contest(session, "hai")
    user = _register(session, first, entry=_entry(first, unit=0))
    registration.join_contest(session, user, second, _entry(second, group=0, unit=1), consented=False, now=NOW)
    session.commit()
    entries = registration.entries_of(session, user.id)
    assert [(c.slug, r.group_id) for c, r in entries] == [("mot", first.groups[1].id), ("hai", second.groups[0].id)]
    assert user.unit_id == second.units[1].id
    assert _actions(session) == ["user.register", "user.join_contest"]
    with pytest.raises(ConflictError) as err:
        registration.join_contest(session, user, second, _entry(second), consented=True, now=NOW)
    assert err.value.vi == "Bạn đã đăng ký cuộc thi này."
    assert _count(session, Registration) == 2


def test_join_contest_asks_consent_of_accounts_that_never_gave_it(session: Session) -> None:
    contest = _contest(session)
    user = accounts.create_user(session, full_name="Lê Văn Cường", email="cuong@example.vn", password=PASSWORD, now=NOW)
    with pytest.raises(ValidationError) as err:
        registration.join_contest(session, user, contest, _entry(contest), consented=False, now=NOW)
    assert err.value.field == "consent"
    registration.join_contest(session, user, contest, _entry(contest), consented=True, now=NOW)
    assert user.consented_at == NOW


def test_join_contest_refuses_an_unpublished_contest(session: Session) -> None:
    user = _register(session, _contest(session))
    hidden = _contest(session, "an", published=False)
    with pytest.raises(NotFoundError):
        registration.join_contest(session, user, hidden, _entry(hidden), consented=True, now=NOW)


def test_published_contests_lists_only_published_ones(session: Session) -> None:
    _contest(session, "mot")
    _contest(session, "an", published=False)
    _contest(session, "hai")
    assert [c.slug for c in registration.published_contests(session)] == ["mot", "hai"]


# --- profile ----------------------------------------------------------------------------------------


def test_update_profile_changes_fields_and_audits_their_names_only(session: Session) -> None:
    user = _register(session, _contest(session))
    changed = registration.update_profile(
        session, user, replace(AN, full_name="Nguyễn Văn Ân", phone="0388 123 456", email=""), now=NOW
    )
    assert changed == ["full_name", "phone", "email"]
    assert (user.full_name, user.phone, user.email) == ("Nguyễn Văn Ân", "+84388123456", None)
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "user.profile_update"))
    assert event.details == {"fields": ["full_name", "phone", "email"]} and event.target_id == user.id
    assert (
        registration.update_profile(
            session, user, replace(AN, full_name="Nguyễn Văn Ân", phone="0388123456", email=""), now=NOW
        )
        == []
    )
    assert _actions(session) == ["user.register", "user.profile_update"]


def test_update_profile_refuses_another_accounts_identifier_and_keeps_the_old_values(session: Session) -> None:
    contest = _contest(session)
    an = _register(session, contest)
    _register(session, contest, BINH)
    session.commit()
    with pytest.raises(IdentifierTakenError) as err:
        registration.update_profile(session, an, replace(AN, cccd=BINH.cccd, date_of_birth=BINH.date_of_birth), now=NOW)
    assert err.value.field == "cccd"
    session.rollback()
    assert session.get(User, an.id).cccd == "001090012345"


def test_update_profile_keeps_date_of_birth_and_cccd_for_contestants_only(session: Session) -> None:
    user = _register(session, _contest(session))
    with pytest.raises(ValidationError) as err:
        registration.update_profile(session, user, replace(AN, cccd=""), now=NOW)
    assert err.value.field == "cccd"
    organizer = accounts.create_user(
        session, full_name="Ban Tổ chức", email="btc@example.vn", password=PASSWORD, role=Role.ORGANIZER, now=NOW
    )
    changed = registration.update_profile(
        session, organizer, PersonalDetails(full_name="Ban Tổ chức tỉnh", email="btc@example.vn"), now=NOW
    )
    assert changed == ["full_name"]


def test_update_entry_changes_group_and_unit(session: Session) -> None:
    contest = _contest(session)
    user = _register(session, contest)
    changed = registration.update_entry(session, user, contest, _entry(contest, group=0, unit=1), now=NOW)
    assert changed == ["group", "unit"]
    entry = registration.registration_for(session, user.id, contest.id)
    assert (entry.group_id, entry.unit_id, user.unit_id) == (
        contest.groups[0].id,
        contest.units[1].id,
        contest.units[1].id,
    )
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "user.profile_update"))
    assert event.details == {"fields": ["group", "unit"]} and event.target_type == "contest"
    with pytest.raises(ValidationError):
        registration.update_entry(session, user, contest, EntryChoice(None, contest.units[0].id), now=NOW)


def test_update_entry_needs_an_entry(session: Session) -> None:
    contest = _contest(session)
    user = accounts.create_user(session, full_name="Lê Văn Cường", email="cuong@example.vn", password=PASSWORD, now=NOW)
    with pytest.raises(NotFoundError):
        registration.update_entry(session, user, contest, _entry(contest), now=NOW)


# --- passwords --------------------------------------------------------------------------------------


def test_change_password_checks_the_current_one_and_the_rules(session: Session) -> None:
    user = _register(session, _contest(session))
    for current, new, field in (
        ("sai-mat-khau", "mat-khau-moi-1", "current_password"),
        (PASSWORD, PASSWORD, "new_password"),
        (PASSWORD, "ngan", "new_password"),
    ):
        with pytest.raises(ValidationError) as err:
            registration.change_password(session, user, current_password=current, new_password=new, now=NOW)
        assert err.value.field == field
    registration.change_password(session, user, current_password=PASSWORD, new_password="mat-khau-moi-1", now=NOW)
    assert accounts.authenticate(session, "an@example.vn", "mat-khau-moi-1", NOW) is user
    assert accounts.authenticate(session, "an@example.vn", PASSWORD, NOW) is None
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "user.password_change"))
    assert event.details == {"forced": False}


def _people(session: Session) -> dict[str, User]:
    people = {
        role.value: accounts.create_user(
            session,
            full_name=f"Người {role.value}",
            email=f"{role.value}@example.vn",
            password=PASSWORD,
            role=role,
            now=NOW,
        )
        for role in Role
    }
    people["other_organizer"] = accounts.create_user(
        session, full_name="Người khác", email="btc2@example.vn", password=PASSWORD, role=Role.ORGANIZER, now=NOW
    )
    return people


def test_organizer_reset_sets_a_temporary_password_the_person_must_change(session: Session) -> None:
    people = _people(session)
    contestant = people["contestant"]
    outcome = password_resets.reset_password(
        session, contestant, actor=people["organizer"], channel=password_resets.OrganizerHandover(), now=NOW
    )
    temporary = outcome.shown_once
    assert outcome.channel == "organizer" and len(temporary) == password_resets.TEMPORARY_PASSWORD_LENGTH
    assert set(temporary) <= set(password_resets.TEMPORARY_PASSWORD_ALPHABET)
    assert contestant.must_change_password
    assert accounts.authenticate(session, "contestant@example.vn", PASSWORD, NOW) is None
    assert accounts.authenticate(session, "contestant@example.vn", temporary, NOW) is contestant
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "user.password_reset"))
    assert (event.actor_id, event.target_type, event.target_id) == (people["organizer"].id, "user", contestant.id)
    assert event.details == {"channel": "organizer"} and temporary not in str(event.details)
    registration.change_password(
        session, contestant, current_password=temporary, new_password="mat-khau-moi-1", now=NOW
    )
    assert not contestant.must_change_password
    changed = session.scalar(select(AuditEvent).where(AuditEvent.action == "user.password_change"))
    assert changed.details == {"forced": True}


@pytest.mark.parametrize(
    ("actor", "target", "allowed"),
    [
        ("organizer", "contestant", True),
        ("admin", "contestant", True),
        ("admin", "organizer", True),
        ("organizer", "other_organizer", False),
        ("organizer", "admin", False),
        ("organizer", "organizer", False),  # one's own: the profile page is for that
        ("contestant", "organizer", False),
        ("admin", "admin", False),
    ],
)
def test_who_may_reset_whom(session: Session, actor: str, target: str, allowed: bool) -> None:
    people = _people(session)
    before = people[target].password_hash
    reset = lambda: password_resets.reset_password(  # noqa: E731
        session, people[target], actor=people[actor], channel=password_resets.OrganizerHandover(), now=NOW
    )
    if allowed:
        assert reset().user is people[target]
    else:
        with pytest.raises(password_resets.ResetNotAllowedError) as err:
            reset()
        assert err.value.status_code == 403
        assert people[target].password_hash == before and not people[target].must_change_password
        assert _count(session, AuditEvent) == 0


def test_anonymised_accounts_cannot_be_reset(session: Session) -> None:
    people = _people(session)
    people["contestant"].anonymised_at = NOW
    with pytest.raises(ValidationError):
        password_resets.reset_password(
            session,
            people["contestant"],
            actor=people["organizer"],
            channel=password_resets.OrganizerHandover(),
            now=NOW,
        )


class _FakeSms:
    """What an OTP provider plugged into the extension point looks like."""

    name = "sms"

    def __init__(self) -> None:
        self.sent: list[tuple[str | None, str]] = []

    def deliver(self, user: User, temporary_password: str) -> None:
        self.sent.append((user.phone, temporary_password))


def test_a_delivering_channel_shows_nothing_and_is_recorded(session: Session) -> None:
    user = _register(session, _contest(session))
    sms = _FakeSms()
    outcome = password_resets.reset_password(session, user, actor=None, channel=sms, now=NOW)
    assert outcome.shown_once is None and outcome.channel == "sms"
    assert sms.sent[0][0] == "+84912345678"
    assert accounts.authenticate(session, "0912345678", sms.sent[0][1], NOW) is user
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "user.password_reset"))
    assert event.actor_id is None and event.details == {"channel": "sms"}


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("Nguyễn", ["Nguyễn Văn An"]),
        ("văn an", ["Nguyễn Văn An"]),
        ("BINH@EXAMPLE", ["Trần Thị Bình"]),
        ("0912 345 678", ["Nguyễn Văn An"]),
        ("+84912345678", ["Nguyễn Văn An"]),
        ("54321", ["Trần Thị Bình"]),  # the last digits of a phone number
        ("079305001234", ["Trần Thị Bình"]),  # a CCCD
        ("example.vn", ["Nguyễn Văn An", "Trần Thị Bình"]),
        ("a", []),  # too short to search
        ("100%", []),  # LIKE wildcards are taken literally
        ("không có ai", []),
    ],
)
def test_find_users_by_name_email_phone_or_cccd(session: Session, query: str, found: list[str]) -> None:
    contest = _contest(session)
    _register(session, contest)
    _register(session, contest, BINH)
    assert [u.full_name for u in password_resets.find_users(session, query, scope=None)] == found
