"""Answers the server has not acknowledged are kept in the browser (localStorage ``quiz:answers:<attempt id>``)
and sent again when the paper is opened again: offline, a tab closed, a reload. The page says which are not
saved yet; an older acknowledgement never forgets a newer answer; without storage the page saves as before."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from quiz_engine.extensions import db
from quiz_engine.models import Contest, Unit
from quiz_engine.services import demo
from tests import contest_fixture

EMAIL = "mai@example.vn"
PASSWORD = "mot-cau-de-nho-2026"
ALL_SAVED = "Mọi câu trả lời đã được lưu"
NOT_SAVED = "Chưa lưu"
#: Storage that is there but refuses every use, and storage whose very name throws (Safari's private mode,
#: in-app browsers with it turned off): the page must save as it does without the feature.
BROKEN_STORAGE = {
    "throws on use": """
        for (const name of ["getItem", "setItem", "removeItem", "key"]) {
          Storage.prototype[name] = function () { throw new DOMException("full", "QuotaExceededError"); };
        }""",
    "throws on access": """
        Object.defineProperty(window, "localStorage", {
          configurable: true, get() { throw new DOMException("The operation is insecure.", "SecurityError"); }
        });""",
}


@pytest.fixture
def contestant(app, demo_contest: int) -> str:  # type: ignore[no-untyped-def]
    """A contestant registered for the demo contest (its open round waits for them), by their e-mail."""
    app.config["WTF_CSRF_ENABLED"] = True  # the browser goes through the real forms
    with app.app_context():
        unit = db.session.scalars(select(Unit).where(Unit.is_sample.is_(True)).order_by(Unit.code)).first()
        contest = db.session.get(Contest, demo_contest)
        contest_fixture.register(db.session, contest, EMAIL, full_name="Lê Thị Mai", password=PASSWORD, unit_id=unit.id)
    return EMAIL


@pytest.fixture
def context(browser):  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="vi-VN")
    yield context
    context.close()


def _watched(page):  # type: ignore[no-untyped-def]
    """``page`` with its uncaught script errors collected in ``page.script_errors`` (failed requests while
    offline are expected, and show as console errors: these are not)."""
    page.script_errors = []
    page.on("pageerror", lambda exc: page.script_errors.append(str(exc)))
    return page


def _start(context, base: str) -> tuple[Any, int]:  # type: ignore[no-untyped-def]
    """Sign in, start the demo round; the paper's page and the attempt's id."""
    page = _watched(context.new_page())
    page.goto(f"{base}/auth/login")
    page.fill("input[name=login]", EMAIL)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form.card").get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{base}/**")
    page.goto(f"{base}/contests/{demo.DEMO_CONTEST_SLUG}")
    page.get_by_role("button", name="Bắt đầu làm bài").first.click()
    page.wait_for_url("**/attempts/*")
    return page, int(page.locator("#attempt").get_attribute("data-attempt-id"))


def _reopen(context, base: str, attempt_id: int):  # type: ignore[no-untyped-def]
    page = _watched(context.new_page())
    page.goto(f"{base}/attempts/{attempt_id}")
    return page


def _server(context, base: str, attempt_id: int) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """What the server holds for the attempt: position -> chosen ids, and "prediction"."""
    paper = context.request.get(f"{base}/api/v1/attempts/{attempt_id}").json()
    held = {str(q["position"]): q["selected"] for q in paper["questions"]}
    held["prediction"] = paper["prediction"] and paper["prediction"]["value"]
    return held


def _kept(page, attempt_id: int) -> dict[str, Any] | None:  # type: ignore[no-untyped-def]
    return page.evaluate("id => JSON.parse(localStorage.getItem('quiz:answers:' + id))", attempt_id)


def _choose(question, index: int) -> tuple[str, int]:  # type: ignore[no-untyped-def]
    """Tick the question's ``index``-th choice; its position and the choice's id."""
    choice = question.locator("input").nth(index)
    choice.check()
    return question.get_attribute("data-position"), int(choice.get_attribute("value"))


def test_answers_made_offline_reach_the_server_when_the_paper_is_opened_again(  # type: ignore[no-untyped-def]
    live_server, contestant, context, artifacts
) -> None:
    page, attempt_id = _start(context, live_server)
    questions = page.locator("fieldset.question:not(.prediction)")
    context.set_offline(True)
    # Chromium applies the emulation to the page a moment later: until it says so, a save can still get out.
    page.wait_for_function("() => navigator.onLine === false")
    first = _choose(questions.nth(0), 1)
    second = _choose(questions.nth(3), 2)
    page.fill("#prediction", "77")
    page.locator("#prediction").blur()

    # Each says so in words, next to the question and on its number above the paper, and the bar counts them.
    expect(page.locator(".unsaved-mark")).to_have_count(3)
    expect(questions.nth(0).locator("legend")).to_contain_text(NOT_SAVED)
    expect(page.locator("#q-prediction legend")).to_contain_text(NOT_SAVED)
    expect(page.locator("#save-state")).to_have_text("Còn 3 câu trả lời chưa lưu")
    for position, _ in (first, second):
        nav = page.locator(f"#nav-{position}")
        expect(nav).to_have_class(re.compile(r"\banswered\b.*\bunsaved\b|\bunsaved\b.*\banswered\b"))
        expect(nav).to_have_attribute("aria-label", f"Câu {nav.inner_text().strip()}, đã trả lời, {NOT_SAVED}")
    page.screenshot(path=str(artifacts / "answers-not-saved.png"), full_page=True)
    kept = _kept(page, attempt_id)
    assert {name: entry["value"] for name, entry in kept.items()} == {
        first[0]: {"choices": [first[1]]},
        second[0]: {"choices": [second[1]]},
        "prediction": {"value": 77},
    }
    assert all(isinstance(entry["at"], int) for entry in kept.values())
    page.close()  # the tab is gone while offline: nothing reached the server
    context.set_offline(False)
    held = _server(context, live_server, attempt_id)
    assert (held[first[0]], held[second[0]], held["prediction"]) == ([], [], None)

    page = _reopen(context, live_server, attempt_id)
    expect(page.locator("#save-state")).to_have_text(ALL_SAVED)
    expect(page.locator(".unsaved-mark")).to_have_count(0)
    expect(page.locator(".navigator a.unsaved")).to_have_count(0)
    expect(page.locator(f"#q-{first[0]} input[value='{first[1]}']")).to_be_checked()
    expect(page.locator("#prediction")).to_have_value("77")
    held = _server(context, live_server, attempt_id)
    assert (held[first[0]], held[second[0]], held["prediction"]) == ([first[1]], [second[1]], 77)
    assert _kept(page, attempt_id) is None  # acknowledged: forgotten

    # Another attempt's answers are left alone; this one's are forgotten once it is submitted.
    other = json.dumps({"0": {"value": {"choices": [1]}, "at": 1}})
    page.evaluate(
        "([id, other]) => { localStorage.setItem('quiz:answers:' + id, other);"
        " localStorage.setItem('quiz:answers:' + (id + 1), other); }",
        [attempt_id, other],
    )
    page.locator("#submit-button").click()
    page.locator("#confirm-yes").click()
    page.wait_for_url("**/result")
    expect(page.locator("[data-forget-answers]")).to_have_count(1)
    page.wait_for_function("id => localStorage.getItem('quiz:answers:' + id) === null", arg=attempt_id)
    assert _kept(page, attempt_id + 1) == json.loads(other)
    assert page.script_errors == []


def test_an_older_acknowledgement_keeps_the_newer_answer(live_server, contestant, context) -> None:  # type: ignore[no-untyped-def]
    page, attempt_id = _start(context, live_server)
    question = page.locator("fieldset.question:has(input[type=radio])").first
    held: list[Any] = []
    refused: list[str] = []

    def first_held_then_offline(route) -> None:  # type: ignore[no-untyped-def]
        if not held:
            held.append(route)  # answered later, by the test
        else:
            refused.append(route.request.post_data)
            route.abort("internetdisconnected")

    page.route("**/answers/*", first_held_then_offline)
    position, older = _choose(question, 0)
    while not held:
        page.wait_for_timeout(20)
    _, newer = _choose(question, 1)  # while the first answer is on its way
    assert _kept(page, attempt_id)[position]["value"] == {"choices": [newer]}

    held[0].continue_()  # the server takes the older answer and says so ...
    while not refused:  # ... and the newer one goes out only after that acknowledgement was read
        page.wait_for_timeout(20)
    assert json.loads(refused[0]) == {"choices": [newer]}
    assert _server(context, live_server, attempt_id)[position] == [older]
    assert _kept(page, attempt_id)[position]["value"] == {"choices": [newer]}  # not forgotten
    expect(question.locator(".unsaved-mark")).to_have_text(NOT_SAVED)
    page.close()

    page = _reopen(context, live_server, attempt_id)
    expect(page.locator("#save-state")).to_have_text(ALL_SAVED)
    expect(page.locator(f"#q-{position} input[value='{newer}']")).to_be_checked()
    assert _server(context, live_server, attempt_id)[position] == [newer]
    assert _kept(page, attempt_id) is None
    assert page.script_errors == []


def test_only_the_latest_attempts_keep_answers_in_the_browser(live_server, contestant, context) -> None:  # type: ignore[no-untyped-def]
    page, attempt_id = _start(context, live_server)
    # Six other attempts with answers left behind, written at times 1..6 (milliseconds): the paper keeps the
    # four written last (five attempts with its own), and forgets a kept answer the server already has.
    for n in range(1, 7):
        page.evaluate(
            "([key, value]) => localStorage.setItem(key, value)",
            [f"quiz:answers:{10_000 + n}", json.dumps({"0": {"value": {"choices": [0]}, "at": n}})],
        )
    question = page.locator("fieldset.question").first
    position, chosen = _choose(question, 0)
    expect(page.locator("#save-state")).to_have_text(ALL_SAVED)
    page.evaluate(
        "([key, value]) => localStorage.setItem(key, value)",
        [f"quiz:answers:{attempt_id}", json.dumps({position: {"value": {"choices": [chosen]}, "at": 7}})],
    )
    page.reload()
    expect(page.locator("#save-state")).to_have_text("Câu trả lời được lưu tự động")  # nothing to send again
    keys = page.evaluate("() => Object.keys(localStorage).filter(k => k.startsWith('quiz:answers:')).sort()")
    assert keys == [f"quiz:answers:{10_000 + n}" for n in (3, 4, 5, 6)]
    assert page.script_errors == []


@pytest.mark.parametrize("broken", sorted(BROKEN_STORAGE))
def test_without_storage_answers_are_saved_as_before(live_server, contestant, context, broken: str) -> None:  # type: ignore[no-untyped-def]
    context.add_init_script(BROKEN_STORAGE[broken])
    page, attempt_id = _start(context, live_server)
    questions = page.locator("fieldset.question:not(.prediction)")
    first = _choose(questions.nth(0), 1)
    second = _choose(questions.nth(1), 0)
    expect(page.locator("#save-state")).to_have_text(ALL_SAVED)
    expect(page.locator(".unsaved-mark")).to_have_count(0)
    held = _server(context, live_server, attempt_id)
    assert (held[first[0]], held[second[0]]) == ([first[1]], [second[1]])
    page.reload()
    expect(page.locator(f"#q-{first[0]} input[value='{first[1]}']")).to_be_checked()
    page.locator("#submit-button").click()
    page.locator("#confirm-yes").click()
    page.wait_for_url("**/result")  # and the result page's forgetting fails quietly too
    assert page.script_errors == []
