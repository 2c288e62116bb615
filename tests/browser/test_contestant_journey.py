"""A contestant's whole journey in Chromium on a phone: register, start, answer (autosaved), reload and
resume, predict, submit, see the result; and the timer running out with the page open."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from quiz_engine.extensions import db
from quiz_engine.models import Attempt, AttemptItem, AttemptStatus, Contest, Round, User
from quiz_engine.services import demo

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
PASSWORD = "mot-cau-de-nho-2026"


@pytest.fixture
def phone(app, browser):  # type: ignore[no-untyped-def]
    app.config["WTF_CSRF_ENABLED"] = True  # the browser goes through the real forms
    context = browser.new_context(locale="vi-VN", **PHONE)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield page
    context.close()
    assert errors == []


def _register(page, base: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/auth/register?contest={demo.DEMO_CONTEST_SLUG}")
    page.fill("input[name=full_name]", "Phạm Thị Hoa")
    page.fill("input[name=date_of_birth]", "1990-05-17")
    page.fill("input[name=cccd]", "001190012345")
    page.fill("input[name=phone]", "0912 345 678")
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=password_confirm]", PASSWORD)
    page.locator("input[name=group]").first.check()
    page.locator("select[name=unit]").select_option(index=1)
    page.locator("input[name=consent]").check()
    page.get_by_role("button", name="Đăng ký", exact=True).click()
    expect(page.locator("main")).to_contain_text("Đăng ký thành công")


def _start(page, base: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/contests/{demo.DEMO_CONTEST_SLUG}")
    page.get_by_role("button", name="Bắt đầu làm bài").first.click()
    page.wait_for_url("**/attempts/*")


def test_register_answer_resume_submit_and_see_the_result(app, live_server, demo_contest, phone, artifacts) -> None:
    _register(phone, live_server)
    _start(phone, live_server)
    questions = phone.locator("fieldset.question:not(.prediction)")
    count = questions.count()
    assert count == 10
    for n in range(3):  # autosaved as they are chosen, no button pressed
        questions.nth(n).locator("input").first.check()
    expect(phone.locator("#save-state")).to_have_text("Mọi câu trả lời đã được lưu")
    phone.screenshot(path=str(artifacts / "journey-attempt.png"))

    phone.reload()  # the phone reloads (or another device opens the same attempt): answers are still there
    for n in range(3):
        expect(questions.nth(n).locator("input").first).to_be_checked()
    phone.fill("#prediction", "1234")
    phone.locator("#prediction").blur()
    expect(phone.locator("#save-state")).to_have_text("Mọi câu trả lời đã được lưu")

    phone.locator("#submit-button").click()
    expect(phone.locator("#confirm-text")).to_contain_text("Các câu chưa trả lời:")
    phone.locator("#confirm-yes").click()
    phone.wait_for_url("**/result")
    expect(phone.locator("main")).to_contain_text("/10")
    phone.screenshot(path=str(artifacts / "journey-result.png"), full_page=True)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.phone == "+84912345678"))
        attempt = db.session.scalar(select(Attempt).where(Attempt.user_id == user.id))
        answered = db.session.scalars(select(AttemptItem).where(AttemptItem.attempt_id == attempt.id)).all()
        assert attempt.status is AttemptStatus.SUBMITTED and attempt.prediction == 1234
        assert sum(1 for item in answered if item.selected) == 3


def test_the_timer_runs_out_with_the_page_open(app, live_server, demo_contest, phone) -> None:
    with app.app_context():
        contest = db.session.get(Contest, demo_contest)
        round_ = db.session.scalar(select(Round).where(Round.contest_id == contest.id, Round.number == 1))
        round_.time_limit_seconds = 5  # set directly: the form's floor is there for people, not this test
        db.session.commit()
    _register(phone, live_server)
    _start(phone, live_server)
    phone.locator("fieldset.question").first.locator("input").first.check()
    expect(phone.locator("#save-state")).to_have_text("Mọi câu trả lời đã được lưu")
    phone.wait_for_url("**/result", timeout=20_000)  # nobody pressed anything
    with app.app_context():
        attempt = db.session.scalar(select(Attempt))
        assert attempt.status is not AttemptStatus.IN_PROGRESS
        assert db.session.scalar(select(AttemptItem).where(AttemptItem.position == 0)).selected
