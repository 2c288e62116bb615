"""The organizer's live dashboard in a real Chromium: populated by contestants, refreshed in place,
readable on a phone; screenshots are saved as test artifacts."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests import contest_fixture
from tests.browser.conftest import sign_in


@pytest.fixture
def config_overrides() -> dict[str, object]:
    return {"DASHBOARD_REFRESH_SECONDS": 1}


def test_dashboard_in_a_real_browser(app, browser, live_server, demo_round, artifacts) -> None:
    app.config["WTF_CSRF_ENABLED"] = True  # the browser goes through the real forms
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, live_server)
    page.goto(f"{live_server}/organizer/rounds/{demo_round}/dashboard")
    tiles = {name: page.text_content(f"[data-count={name}]") for name in ("participants", "in_progress", "submitted")}
    assert tiles == {"participants": "22", "in_progress": "2", "submitted": "22"}
    for chart in ("timeline", "distribution", "units"):
        assert page.locator(f"[data-chart={chart}] svg").count() == 1
    page.screenshot(path=str(artifacts / "dashboard.png"), full_page=True)

    # A submission while the page is open shows up without a reload.
    app.config["WTF_CSRF_ENABLED"] = False  # this contestant plays through the test client, not the browser
    contest_fixture.play(app, "ts0@example.vn", demo_round, right=10)
    app.config["WTF_CSRF_ENABLED"] = True
    expect(page.locator("[data-count=submitted]")).to_have_text("23", timeout=10_000)
    assert page.text_content("[data-count=participants]") == "22"  # the same person again

    phone = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True)
    phone_page = phone.new_page()
    sign_in(phone_page, live_server)
    phone_page.goto(f"{live_server}/organizer/rounds/{demo_round}/dashboard")
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the dashboard scrolls sideways on a phone ({width}px)"
    phone_page.screenshot(path=str(artifacts / "dashboard-phone.png"), full_page=True)
    assert errors == []
    context.close()
    phone.close()
