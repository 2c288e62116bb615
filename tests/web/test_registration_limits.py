"""Registration limits that survive carrier NAT: many people from one address get in, one account hammered does
not; the limits come from the QUIZ_RATE_LIMIT_* settings."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from quiz_engine import create_app
from quiz_engine.extensions import db
from quiz_engine.models import Registration, User
from quiz_engine.services.people import accounts
from tests import contest_fixture
from tests.conftest import _close


@pytest.fixture
def contest(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        built = contest_fixture.build(db.session)
        return built.contest.slug, built.contest.groups[0].id, built.contest.units[0].id


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch):  # type: ignore[no-untyped-def]
    """Two hundred scrypt hashes would take most of a minute and test nothing here."""
    monkeypatch.setattr(accounts, "generate_password_hash", lambda pw: generate_password_hash(pw, "pbkdf2:sha256:1"))


def _form(n: int, group: int, unit: int) -> dict[str, str]:
    return {
        "full_name": f"Cán bộ xã số {n}",
        "date_of_birth": "1990-05-17",
        "cccd": f"001090{n:06d}",
        "phone": f"0912{n:06d}",
        "password": "mat-khau-rat-dai-2026",
        "password_confirm": "mat-khau-rat-dai-2026",
        "group": str(group),
        "unit": str(unit),
        "consent": "y",
    }


def test_two_hundred_people_register_from_one_office_address(app, contest) -> None:
    slug, group, unit = contest
    statuses = [
        app.test_client().post(f"/auth/register?contest={slug}", data=_form(n, group, unit)).status_code
        for n in range(200)
    ]  # one address for all (the test client's 127.0.0.1), a fresh phone each: a commune office behind one NAT
    assert statuses == [302] * 200
    with app.app_context():
        assert db.session.scalar(select(func.count(Registration.id))) == 201  # and the fixture's contestant


def test_two_hundred_tries_at_one_account_are_held_back(app, contest) -> None:
    slug, group, unit = contest
    client = app.test_client()
    statuses = [
        client.post(f"/auth/register?contest={slug}", data=_form(7, group, unit)).status_code for _ in range(200)
    ]
    limit = 10  # RATE_LIMIT_REGISTER_ACCOUNT's default, per 10 minutes
    assert 429 not in statuses[:limit] and set(statuses[limit:]) == {429}
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id)).where(User.phone == "+84912000007")) == 1


RATE_LIMIT_SETTINGS = (
    "RATE_LIMIT_LOGIN_ACCOUNT",
    "RATE_LIMIT_LOGIN_ACCOUNT_ANYWHERE",
    "RATE_LIMIT_LOGIN_ADDRESS",
    "RATE_LIMIT_REGISTER_ACCOUNT",
    "RATE_LIMIT_REGISTER_ADDRESS",
    "RATE_LIMIT_ATTEMPT_START",
    "RATE_LIMIT_ANSWER_SAVE",
    "RATE_LIMIT_EXPORT",
)


def test_the_limits_come_from_quiz_environment_variables(app, redis_url, monkeypatch) -> None:
    # The same (emptied) database as the app fixture's, named the way a deployment names it: by variable.
    monkeypatch.setenv("QUIZ_DATABASE_URL", app.config["SQLALCHEMY_DATABASE_URI"])
    monkeypatch.setenv("QUIZ_REDIS_URL", redis_url)
    monkeypatch.setenv("QUIZ_SECRET_KEY", "env-secret")
    monkeypatch.setenv("QUIZ_WTF_CSRF_ENABLED", "false")
    for n, name in enumerate(RATE_LIMIT_SETTINGS, start=2):
        monkeypatch.setenv(f"QUIZ_{name}", f"{n} per 10 minutes")
    app = create_app()  # no test config: the settings come from the environment, as in production
    try:
        assert {name: app.config[name] for name in RATE_LIMIT_SETTINGS} == {
            name: f"{n} per 10 minutes" for n, name in enumerate(RATE_LIMIT_SETTINGS, start=2)
        }
        with app.app_context():
            contest = contest_fixture.build(db.session).contest
            slug, group, unit = contest.slug, contest.groups[0].id, contest.units[0].id
        client = app.test_client()
        same = [client.post(f"/auth/register?contest={slug}", data=_form(1, group, unit)).status_code for _ in range(6)]
        # QUIZ_RATE_LIMIT_REGISTER_ACCOUNT=5 per 10 minutes: the sixth try at one account is held back
        assert 429 not in same[:5] and same[5] == 429
    finally:
        _close(app)
