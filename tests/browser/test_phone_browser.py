"""A contestant's pages on phones 360 and 390 px wide, measured in Chromium: the header is one line (its menu
opens inside the screen), the paper counts the questions answered as they are answered (and after a reload,
answers kept in the browser included), the public boards fit the screen without scrolling sideways, and the
result page shows the place, the time taken, a word of encouragement and the next round, with no software
version in the footer. Screenshots: ``test-artifacts/phone/<page>-<width>.png``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from quiz_engine import __version__
from quiz_engine.extensions import db
from quiz_engine.models import Contest, Registration, Unit, User
from quiz_engine.services import demo
from tests import contest_fixture
from tests.browser.conftest import PASSWORD

EMAIL = "dien-thoai@example.vn"
#: One line of the header: a 44 px tap target and a little padding.
HEADER_MAX_PX = 56
#: The header's parts on a phone: the site's name, the account menu's button, the language switch.
HEADER_PARTS = (".brand", ".account-menu summary", ".lang-switch")
#: Each public board and the container it sits in.
BOARD_TABLES = "main .table-scroll > table"


@pytest.fixture
def board(app, demo_round: int) -> int:  # type: ignore[no-untyped-def]
    """The demo round's board with every contestant's unit on it (long names: "Sở Khoa học và Công nghệ"), and
    one more contestant, registered but not started, for the phone. Returns the round's id."""
    with app.app_context():
        for registration in db.session.scalars(select(Registration)):
            db.session.get(User, registration.user_id).unit_id = registration.unit_id
        contest = db.session.scalar(select(Contest).where(Contest.slug == demo.DEMO_CONTEST_SLUG))
        unit = db.session.scalar(select(Unit).where(Unit.name == "Sở Khoa học và Công nghệ"))
        contest_fixture.register(
            db.session, contest, EMAIL, full_name="Nguyễn Thị Phương Thảo", password=PASSWORD, unit_id=unit.id
        )
    return demo_round


@pytest.fixture
def shots(artifacts: Path) -> Path:
    folder = artifacts / "phone"
    folder.mkdir(exist_ok=True)
    return folder


def _phone(browser, width: int):  # type: ignore[no-untyped-def]
    return browser.new_context(
        locale="vi-VN", viewport={"width": width, "height": 800}, device_scale_factor=2, is_mobile=True, has_touch=True
    )


def _header_is_one_line(page: Page, label: str) -> None:
    """The header is at most ``HEADER_MAX_PX`` high and its parts stand side by side on one line."""
    height = page.locator("header.site-header").bounding_box()["height"]
    assert height <= HEADER_MAX_PX, f"{label}: the header is {height:.1f} px high"
    boxes = [page.locator(f"header {part}").bounding_box() for part in HEADER_PARTS]
    assert all(boxes), f"{label}: a part of the header is not shown: {boxes}"
    assert max(b["y"] for b in boxes) < min(b["y"] + b["height"] for b in boxes), f"{label}: not one line: {boxes}"
    assert max(b["x"] + b["width"] for b in boxes) <= page.viewport_size["width"], f"{label}: header overflows"


def _fits(page: Page, label: str) -> None:
    """Nothing on the page is wider than the screen."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{label}: the page is {width} px wide"


def _tables_fit(page: Page, label: str) -> list[tuple[int, int]]:
    """Every board's table is no wider than its box: nothing hidden to the side. Returns (table, box) widths."""
    widths = page.eval_on_selector_all(
        BOARD_TABLES, "tables => tables.map(t => [t.scrollWidth, t.parentElement.clientWidth])"
    )
    assert widths, f"{label}: no table"
    assert all(table <= box for table, box in widths), f"{label}: a table is cut off: {widths}"
    return widths


def _progress(page: Page) -> tuple[str, int, int]:
    bar = page.locator("#answered-progress")
    return (
        page.locator("#answered-count").inner_text(),
        int(bar.evaluate("b => b.value")),
        int(bar.evaluate("b => b.max")),
    )


def _no_version_in_footer(page: Page, label: str) -> None:
    footer = page.locator("footer.site-footer").inner_text()
    assert "Múi giờ" in footer and __version__ not in footer and "quiz_engine" not in footer, f"{label}: {footer}"


@pytest.mark.parametrize("width", [360, 390])
def test_a_contestant_on_a_phone(app, browser, live_server, board: int, shots: Path, width: int) -> None:  # type: ignore[no-untyped-def]
    app.config["WTF_CSRF_ENABLED"] = True  # the browser goes through the real forms
    context = _phone(browser, width)
    errors: list[str] = []
    context.on("page", lambda opened: opened.on("pageerror", lambda exc: errors.append(str(exc))))
    page = context.new_page()
    page.goto(f"{live_server}/auth/login")
    page.fill("input[name=login]", EMAIL)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.locator("form.card").get_by_role("button", name="Đăng nhập").click()
    page.goto(f"{live_server}/contests/{demo.DEMO_CONTEST_SLUG}")
    _header_is_one_line(page, "contest")
    _no_version_in_footer(page, "contest")
    page.get_by_role("button", name="Bắt đầu làm bài").first.click()
    page.wait_for_url("**/attempts/*")

    # The paper: one header line, the language switch as "EN" named in full, nothing answered yet.
    _header_is_one_line(page, "attempt")
    _fits(page, "attempt")
    switch = page.locator("header .lang-switch")
    assert switch.inner_text().strip() == "EN"  # what shows ("English" is there for wider screens, hidden)
    expect(switch).to_have_attribute("aria-label", "English, EN")
    expect(switch).to_have_attribute("lang", "en")
    assert _progress(page) == ("0/10 đã trả lời", 0, 10)
    _no_version_in_footer(page, "attempt")
    page.screenshot(path=str(shots / f"attempt-{width}.png"))

    # Answering counts at once; an answer the server has not got yet (kept in the browser) counts after a reload.
    questions = page.locator("fieldset.question:not(.prediction)")
    questions.nth(0).locator("label.choice").nth(1).click()
    expect(page.locator("#answered-count")).to_have_text("1/10 đã trả lời")
    questions.nth(4).locator("label.choice").nth(2).click()
    expect(page.locator("#answered-count")).to_have_text("2/10 đã trả lời")
    assert _progress(page) == ("2/10 đã trả lời", 2, 10)
    expect(page.locator("#save-state")).to_have_text("Mọi câu trả lời đã được lưu")
    context.route("**/answers/*", lambda route: route.abort())  # the network drops every save from now on
    questions.nth(7).locator("label.choice").first.click()
    expect(page.locator("#answered-count")).to_have_text("3/10 đã trả lời")
    expect(page.locator("#nav-" + questions.nth(7).get_attribute("data-position"))).to_have_class(re.compile("unsaved"))
    address = page.url
    page.close()  # the tab dies with the answer unsaved; the paper opened again has the server's 2 answers
    page = context.new_page()
    page.goto(address)
    questions = page.locator("fieldset.question:not(.prediction)")
    expect(questions.nth(7).locator("input").first).to_be_checked()  # put back from the browser's storage
    expect(page.locator("#answered-count")).to_have_text("3/10 đã trả lời")
    assert _progress(page)[1:] == (3, 10)
    context.unroute("**/answers/*")  # the network is back: the page's retry saves it
    expect(page.locator("#save-state")).to_have_text("Mọi câu trả lời đã được lưu", timeout=10_000)
    page.screenshot(path=str(shots / f"attempt-answered-{width}.png"))

    # The account menu opens inside the screen, over the paper.
    page.locator("header .account-menu summary").click()
    panel = page.locator("header .menu-panel")
    expect(panel).to_be_visible()
    expect(panel.get_by_role("link", name="Hồ sơ")).to_be_visible()
    expect(panel.get_by_role("button", name="Đăng xuất")).to_be_visible()
    box = panel.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, f"the menu leaves the screen: {box}"
    page.screenshot(path=str(shots / f"menu-{width}.png"))
    page.locator("header .account-menu summary").click()
    expect(panel).to_be_hidden()

    # Submit: the result page shows the place, the time, a word of encouragement and the way on.
    page.locator("#submit-button").click()
    page.locator("#confirm-yes").click()
    page.wait_for_url("**/result")
    _header_is_one_line(page, "result")
    _fits(page, "result")
    rank = page.locator("#stat-rank dd").inner_text()
    assert re.fullmatch(r"\d+/23", rank.replace("\n", "")), rank  # 22 played before, and this contestant
    expect(page.locator("#stat-time dd")).to_have_text(re.compile(r"^\d\d:\d\d$"))
    expect(page.locator("#stat-score dd")).to_have_text(re.compile(r"^\d+/10$"))
    expect(page.locator(".cheer")).to_have_text(re.compile(r"^(Tuyệt vời|Rất giỏi|Khá lắm|Đừng nản lòng)! "))
    steps = page.locator("section.next-steps")
    expect(steps).to_contain_text(
        re.compile(r"Đợt tiếp theo: Tuần 2, mở lúc \d\d:\d\d \d\d/\d\d/\d{4} \(giờ Việt Nam\)")
    )
    expect(steps.get_by_role("link", name="Xem trang cuộc thi")).to_have_attribute(
        "href", f"/contests/{demo.DEMO_CONTEST_SLUG}"
    )
    expect(steps.get_by_role("button", name="Thi lại: Tuần 1")).to_be_visible()
    expect(steps).to_contain_text("Bạn còn 2 lượt thi trong đợt này.")
    _no_version_in_footer(page, "result")
    page.screenshot(path=str(shots / f"result-{width}.png"), full_page=True)

    # The public boards fit the screen: the unit goes under the name.
    page.goto(f"{live_server}/rounds/{board}/leaderboard")
    _header_is_one_line(page, "leaderboard")
    _fits(page, "leaderboard")
    _tables_fit(page, "leaderboard")
    expect(page.locator("main table tr.me")).to_contain_text("Sở Khoa học và Công nghệ")
    _no_version_in_footer(page, "leaderboard")
    page.screenshot(path=str(shots / f"leaderboard-{width}.png"), full_page=True)
    page.goto(f"{live_server}/contests/{demo.DEMO_CONTEST_SLUG}/standings")
    _fits(page, "standings")
    assert len(_tables_fit(page, "standings")) == 2
    page.screenshot(path=str(shots / f"standings-{width}.png"), full_page=True)
    context.close()
    assert errors == []


@pytest.mark.parametrize("width", [360, 390])
def test_a_visitor_s_header_is_one_line_too(browser, live_server, board: int, shots: Path, width: int) -> None:  # type: ignore[no-untyped-def]
    context = _phone(browser, width)
    page = context.new_page()
    page.goto(f"{live_server}/rounds/{board}/leaderboard")
    header = page.locator("header.site-header")
    assert header.bounding_box()["height"] <= HEADER_MAX_PX
    visible = (".brand", "nav a[href='/auth/login']", ".lang-switch")
    parts = [page.locator(f"header {part}").bounding_box() for part in visible]
    assert max(b["y"] for b in parts) < min(b["y"] + b["height"] for b in parts), parts
    expect(page.locator("header nav a", has_text="Đăng ký")).to_be_hidden()  # on the sign-in page and the contest's
    _tables_fit(page, "leaderboard, signed out")
    page.screenshot(path=str(shots / f"leaderboard-visitor-{width}.png"))
    context.close()
