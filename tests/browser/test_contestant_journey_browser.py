"""A contestant's whole journey in Chromium on a phone: register, start, answer (autosaved), reload and
resume, predict, submit, see the result; and the timer running out with the page open."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from quiz_engine.extensions import db
from quiz_engine.models import Attempt, AttemptItem, AttemptStatus, Contest, Round, User
from quiz_engine.services import demo

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
PASSWORD = "mot-cau-de-nho-2026"
#: What the journey reads on the page, in each language.
WORDS = {
    "vi": {
        "countdown": r"^còn \d+ ngày \d+ giờ$",
        "register": "Đăng ký",
        "registered": "Đăng ký thành công",
        "start": "Bắt đầu làm bài",
        "all_saved": "Mọi câu trả lời đã được lưu",
        "unanswered": "Các câu chưa trả lời:",
    },
    "en": {
        "countdown": r"^\d+d \d+h left$",
        "register": "Register",
        "registered": "Registration complete",
        "start": "Start the round",
        "all_saved": "All answers saved",
        "unanswered": "Unanswered questions:",
    },
}


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


def _register(page, base: str, words: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/")  # the home page counts down to the demo's second week
    if words is WORDS["en"]:
        page.locator("form[action='/language/en'] button").click()
    expect(page.locator("time.countdown").first).to_have_text(re.compile(words["countdown"]))
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
    page.get_by_role("button", name=words["register"], exact=True).click()
    expect(page.locator("main")).to_contain_text(words["registered"])


def _start(page, base: str, words: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/contests/{demo.DEMO_CONTEST_SLUG}")
    page.get_by_role("button", name=words["start"]).first.click()
    page.wait_for_url("**/attempts/*")


@pytest.mark.parametrize("language", ["vi", "en"])
def test_register_answer_resume_submit_and_see_the_result(  # type: ignore[no-untyped-def]
    app, live_server, demo_contest, phone, artifacts, language: str
) -> None:
    words = WORDS[language]
    _register(phone, live_server, words)
    _start(phone, live_server, words)
    questions = phone.locator("fieldset.question:not(.prediction)")
    count = questions.count()
    assert count == 10
    for n in range(3):  # autosaved as they are chosen, no button pressed
        questions.nth(n).locator("input").first.check()
    expect(phone.locator("#save-state")).to_have_text(words["all_saved"])
    phone.screenshot(path=str(artifacts / f"journey-attempt-{language}.png"))

    phone.reload()  # the phone reloads (or another device opens the same attempt): answers are still there
    for n in range(3):
        expect(questions.nth(n).locator("input").first).to_be_checked()
    phone.fill("#prediction", "1234")
    phone.locator("#prediction").blur()
    expect(phone.locator("#save-state")).to_have_text(words["all_saved"])

    phone.locator("#submit-button").click()
    expect(phone.locator("#confirm-text")).to_contain_text(words["unanswered"])
    phone.locator("#confirm-yes").click()
    phone.wait_for_url("**/result")
    expect(phone.locator("main")).to_contain_text("/10")
    phone.screenshot(path=str(artifacts / f"journey-result-{language}.png"), full_page=True)
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
    _register(phone, live_server, WORDS["vi"])
    _start(phone, live_server, WORDS["vi"])
    phone.locator("fieldset.question").first.locator("input").first.check()
    expect(phone.locator("#save-state")).to_have_text(WORDS["vi"]["all_saved"])
    phone.wait_for_url("**/result", timeout=20_000)  # nobody pressed anything
    with app.app_context():
        attempt = db.session.scalar(select(Attempt))
        assert attempt.status is not AttemptStatus.IN_PROGRESS
        assert db.session.scalar(select(AttemptItem).where(AttemptItem.position == 0)).selected


def test_a_whole_attempt_by_keyboard_on_a_320_px_screen(app, browser, live_server, demo_contest) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    context = browser.new_context(locale="vi-VN", viewport={"width": 320, "height": 640}, is_mobile=True)
    page = context.new_page()
    narrow: list[str] = []

    def fits(label: str) -> None:
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 320:
            narrow.append(f"{label}: {width}px")

    page.goto(f"{live_server}/")
    fits("home")
    _register(page, live_server, WORDS["vi"])
    page.goto(f"{live_server}/contests/{demo.DEMO_CONTEST_SLUG}")
    fits("contest")
    page.get_by_role("button", name=WORDS["vi"]["start"]).first.focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/attempts/*")
    fits("attempt")
    first = page.locator("fieldset.question").first.locator("input").first
    first.focus()
    page.keyboard.press("Space")  # choose with the keyboard
    page.keyboard.press("ArrowDown")  # and change the choice, as a radio group does
    expect(page.locator("#save-state")).to_have_text(WORDS["vi"]["all_saved"])
    page.locator("#submit-button").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#confirm-dialog")).to_be_visible()
    expect(page.locator("#confirm-yes")).to_be_focused()  # the dialog takes the focus
    page.keyboard.press("Enter")
    page.wait_for_url("**/result")
    fits("result")
    with app.app_context():
        item = db.session.scalar(select(AttemptItem).where(AttemptItem.position == 0))
        assert len(item.selected) == 1 and item.choice_order.index(item.selected[0]) == 1  # B: moved from A
    context.close()
    assert narrow == [], "pages wider than a 320 px screen"
