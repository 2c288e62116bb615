"""Real-browser fixtures: the app served on a loopback port, and Debian's Chromium driven by Playwright.

Chromium is ``QUIZ_CHROMIUM`` or the ``chromium`` on PATH (CI installs Debian's); without it these tests
skip, which under ``CI=true`` fails the run. Screenshots go to ``QUIZ_TEST_ARTIFACTS`` (default
``test-artifacts/``), kept after the run.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

from quiz_engine.extensions import db
from quiz_engine.models import Contest, Registration, Round, Unit
from quiz_engine.services import demo
from quiz_engine.services.people import accounts
from tests import contest_fixture

CHROMIUM = os.environ.get("QUIZ_CHROMIUM") or shutil.which("chromium") or ""
ARTIFACTS = Path(os.environ.get("QUIZ_TEST_ARTIFACTS", "test-artifacts"))
# As root in a container Chromium needs --no-sandbox; the rest keep it off this machine's closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():  # type: ignore[no-untyped-def]
    if not CHROMIUM:
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The test's app on a free loopback port, served by threads as gunicorn's gthread workers would."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


PASSWORD = "mat-khau-123"
ORGANIZER_PASSWORD = "ban-to-chuc-demo-1"


@pytest.fixture
def demo_contest(app) -> int:  # type: ignore[no-untyped-def]
    """What `quiz demo` loads: the shipped banks, the sample units, the demo organizer and contest (its id)."""
    with app.app_context():
        demo.load_demo(
            db.session,
            now=contest_fixture.utcnow(),
            banks_dir=Path(app.config["QUESTION_BANKS_DIR"]),
            organizer_password=ORGANIZER_PASSWORD,
            timezone=app.config["TIMEZONE"],
        )
        db.session.commit()
        return db.session.scalar(select(Contest.id).where(Contest.slug == demo.DEMO_CONTEST_SLUG))


@pytest.fixture
def demo_round(app, demo_contest: int) -> int:  # type: ignore[no-untyped-def]
    """The demo contest's open round, taken by 24 contestants across the sample units with every score."""
    with app.app_context():
        now = contest_fixture.utcnow()
        contest = db.session.get(Contest, demo_contest)
        round_ = db.session.scalar(select(Round).where(Round.contest_id == contest.id, Round.number == 1))
        units = db.session.scalars(select(Unit).where(Unit.is_sample.is_(True)).order_by(Unit.code)).all()
        for n in range(24):
            user = accounts.create_user(
                db.session, full_name=f"Thí Sinh {n}", email=f"ts{n}@example.vn", password=PASSWORD, now=now
            )
            unit = units[(n * 5) % 7]  # a few units take part heavily, most not at all
            db.session.add(
                Registration(
                    contest_id=contest.id,
                    user_id=user.id,
                    group_id=contest.groups[n % 2].id,
                    unit_id=unit.id,
                    registered_at=now,
                )
            )
        db.session.commit()
        round_id = round_.id
    for n in range(22):  # two stay in progress
        contest_fixture.play(app, f"ts{n}@example.vn", round_id, right=(n * 7) % 11, prediction=20 + n)
    for n in (22, 23):
        contest_fixture.play(app, f"ts{n}@example.vn", round_id, right=3, submit=False)
    return round_id


def sign_in(page, base: str) -> None:  # type: ignore[no-untyped-def]
    """Sign in as the demo organizer through the login form."""
    page.goto(f"{base}/auth/login")
    page.fill("input[name=login]", demo.DEMO_ORGANIZER_EMAIL)
    page.fill("input[name=password]", ORGANIZER_PASSWORD)
    page.locator("form.card").get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{base}/**")
