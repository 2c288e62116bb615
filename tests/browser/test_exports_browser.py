"""An organizer exports a leaderboard in a real Chromium: the form, the progress page, the download."""

from __future__ import annotations

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.browser.conftest import sign_in


@pytest.fixture
def config_overrides() -> dict[str, object]:
    return {"EXPORT_INLINE_WAIT_SECONDS": 0}  # every export goes through the progress page


def test_export_job_progress_page_downloads_the_file(app, browser, live_server, demo_round, artifacts) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    context = browser.new_context(viewport={"width": 390, "height": 844}, accept_downloads=True, locale="vi-VN")
    page = context.new_page()
    sign_in(page, live_server)
    page.goto(f"{live_server}/organizer/contests")
    page.get_by_role("link", name="Cuộc thi trực tuyến tìm hiểu về chuyển đổi số").first.click()
    form = page.locator(f"form[action='/organizer/rounds/{demo_round}/exports']")
    form.get_by_label("Xuất Excel").select_option("attempts")
    with page.expect_download(timeout=20_000) as download_info:
        form.get_by_role("button", name="Xuất").click()
        page.wait_for_url("**/organizer/exports/*")
    download = download_info.value
    assert download.suggested_filename.startswith("attempts-dot-1-")
    path = artifacts / download.suggested_filename
    download.save_as(path)
    rows = list(load_workbook(path)["Bài thi"].iter_rows(min_row=4, values_only=True))
    assert len(rows) == 24  # every attempt, the two in progress included
    expect(page.locator("#export-progress")).to_have_attribute("value", "100")
    expect(page.locator("#export-ready")).to_be_visible()
    page.screenshot(path=str(artifacts / "export-job.png"), full_page=True)
    context.close()
