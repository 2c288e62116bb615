"""The organizer's journey in Chromium: import a question bank (upload, preview, confirm) and set up a
round on it through the forms; the dashboard and the exports have tests of their own beside this one."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import expect
from sqlalchemy import func, select

from quiz_engine.extensions import db
from quiz_engine.models import Question, QuestionBank, Round
from tests import contest_fixture
from tests.browser.conftest import sign_in

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def test_import_a_bank_then_create_a_round_on_it(app, browser, live_server, demo_contest, tmp_path, artifacts) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    page = context.new_page()
    sign_in(page, live_server)

    upload = tmp_path / "cau-hoi-moi.csv"
    upload.write_bytes(contest_fixture.bank_csv(12))
    page.goto(f"{live_server}/organizer/banks/import")
    page.set_input_files("input[name=file]", str(upload))
    page.locator("select[name=bank]").select_option("__new__")
    page.fill("input[name=new_slug]", "ngan-hang-moi")
    page.fill("input[name=new_title]", "Ngân hàng mới")
    page.get_by_role("button", name="Kiểm tra và xem trước").click()
    expect(page.get_by_role("button", name="Xác nhận nhập")).to_be_visible()
    page.screenshot(path=str(artifacts / "organizer-bank-preview.png"), full_page=True)
    page.get_by_role("button", name="Xác nhận nhập").click()
    page.wait_for_url("**/organizer/banks/ngan-hang-moi**")
    with app.app_context():
        bank = db.session.scalar(select(QuestionBank).where(QuestionBank.slug == "ngan-hang-moi"))
        assert db.session.scalar(select(func.count()).select_from(Question).where(Question.bank_id == bank.id)) == 12

    page.goto(f"{live_server}/organizer/contests/{demo_contest}")
    page.get_by_role("link", name="Thêm đợt thi").click()
    opens = (contest_fixture.utcnow() + timedelta(days=20)).astimezone(TZ)
    page.fill("input[name=title]", "Tuần đặc biệt")
    page.fill("input[name=opens_at]", opens.strftime("%Y-%m-%dT08:00"))
    page.fill("input[name=closes_at]", (opens + timedelta(days=7)).strftime("%Y-%m-%dT08:00"))
    page.fill("input[name=time_limit]", "15")
    page.locator("select[name='mix-0-bank']").select_option("ngan-hang-moi")
    page.fill("input[name='mix-0-count']", "8")
    page.get_by_role("button", name="Thêm đợt thi").click()
    page.wait_for_url(f"**/organizer/contests/{demo_contest}")
    expect(page.locator("main")).to_contain_text("Tuần đặc biệt")
    with app.app_context():
        round_ = db.session.scalar(select(Round).where(Round.title == "Tuần đặc biệt"))
        assert round_.contest_id == demo_contest and round_.time_limit_seconds == 15 * 60
        assert round_.opens_at.astimezone(TZ).hour == 8
        assert [(m.bank_id, m.count) for m in round_.mix] == [(bank.id, 8)]
    context.close()
