"""The start queue in Chromium on a phone: the waiting page counts down and sends the start form again by
itself, landing on the paper, without moving the page about while it counts. And a paper drawn ahead of
time, which the start answers with directly, under the paper's own address."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from quiz_engine.extensions import db
from quiz_engine.models import Attempt, Round, utcnow
from quiz_engine.services.taking import admission, paper_pool
from tests import contest_fixture

PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}


@pytest.fixture
def config_overrides() -> dict[str, object]:
    return {"ADMISSION_RATE": 0.25, "ADMISSION_BURST": 1}  # one place every 4 s


def _press_start(context, live_server: str, slug: str, round_id: int):  # type: ignore[no-untyped-def]
    """Sign in through the form, open the contest page and press "start"; the page and its console errors."""
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{live_server}/auth/login")
    page.fill("input[name=login]", "an@example.vn")
    page.fill("input[name=password]", "mat-khau-123")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    page.goto(f"{live_server}/contests/{slug}")
    with page.expect_navigation():
        page.locator(f"form[action='/rounds/{round_id}/start'] button").click()
    return page, errors


def test_the_waiting_page_continues_on_its_own(app, browser, live_server) -> None:  # type: ignore[no-untyped-def]
    app.config["WTF_CSRF_ENABLED"] = True  # the browser goes through the real forms
    with app.app_context():
        built = contest_fixture.build(db.session, per_paper=3)
        round_id, user_id, slug = built.round.id, built.user_id, built.contest.slug
    # Someone else takes the burst, so this contestant queues for about 4 s.
    admission.admit(
        app.extensions["quiz_redis"], "quiz", round_id=round_id, user_id=0, now=utcnow(), rate=0.25, burst=1
    )
    context = browser.new_context(locale="vi-VN", **PHONE)
    page, errors = _press_start(context, live_server, slug, round_id)
    expect(page.locator("#queue-position")).to_have_text("Vị trí của bạn trong hàng chờ: 1")
    button = page.locator("#queue-form button")
    wait = page.locator("#queue-wait")
    before, top = wait.text_content(), button.bounding_box()["y"]  # type: ignore[index]
    with app.app_context():
        assert db.session.scalar(select(func.count(Attempt.id))) == 0
    page.wait_for_timeout(1500)
    assert wait.text_content() != before  # counting down...
    assert button.bounding_box()["y"] == top  # ...without moving anything
    page.wait_for_url("**/attempts/*", timeout=10_000)  # no click: the script sent the form when due
    expect(page.locator("fieldset.question")).to_have_count(3)
    with app.app_context():
        assert db.session.scalar(select(func.count(Attempt.id)).where(Attempt.user_id == user_id)) == 1
    assert errors == []
    context.close()


def test_a_paper_drawn_ahead_arrives_with_the_start_under_its_own_address(app, browser, live_server) -> None:  # type: ignore[no-untyped-def]
    app.config["WTF_CSRF_ENABLED"] = True
    redis = app.extensions["quiz_redis"]
    with app.app_context():
        built = contest_fixture.build(db.session, per_paper=3)
        round_id, user_id, slug = built.round.id, built.user_id, built.contest.slug
        round_ = db.session.get(Round, round_id)
        settings = paper_pool.PoolSettings(timedelta(hours=1), 1.0, 1, 10, 10)
        paper_pool.prepare_round(
            db.session, redis, "quiz", round_, settings=settings, now=utcnow(), rng=random.Random(4), count=2
        )
        pool = paper_pool.pool_for("quiz", round_, None)
    context = browser.new_context(locale="vi-VN", **PHONE)
    page, errors = _press_start(context, live_server, slug, round_id)
    with app.app_context():
        attempt_id = db.session.scalar(select(Attempt.id).where(Attempt.user_id == user_id))
    assert redis.llen(pool.list_key) == 1  # the start took the drawn paper and answered with it
    page.wait_for_url(f"{live_server}/attempts/{attempt_id}")  # the address bar shows the paper's own page
    first = page.locator("fieldset.question").first
    first.locator("input").first.check()
    expect(first.locator(".qstate")).to_have_text("Đã lưu")
    page.reload()  # a reload opens the paper again, never a second start
    expect(page.locator("fieldset.question")).to_have_count(3)
    expect(page.locator("fieldset.question").first.locator("input").first).to_be_checked()
    with app.app_context():
        assert db.session.scalar(select(func.count(Attempt.id)).where(Attempt.user_id == user_id)) == 1
    assert errors == []
    context.close()
