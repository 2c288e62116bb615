"""What the contestant's pages serve for phones, checked in the HTML (tests/browser/test_phone_browser.py
measures them in Chromium): the header's menu and short language switch, the answered count the paper starts
from without script, the result page's place, time, encouragement and next round, and no software version in
the contestants' footer (organizers keep it)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from quiz_engine import __version__
from quiz_engine.extensions import db
from quiz_engine.models import AttemptItem, LeaderboardVisibility, Role, Round, utcnow
from quiz_engine.services.organising import rounds
from tests import contest_fixture

PASSWORD = "mat-khau-123"
VERSION = f"quiz_engine {__version__}"


@pytest.fixture
def setup(app: Flask) -> tuple[int, str]:
    """The fixture's contest (one open round of 5 questions, 2 attempts each) with a second round in 3 days."""
    with app.app_context():
        built = contest_fixture.build(db.session, per_paper=5, max_attempts=2)
        now = utcnow()
        rounds.add_round(
            db.session,
            built.contest,
            rounds.RoundRules(
                title="Tuần 2",
                opens_at=now + timedelta(days=3),
                closes_at=now + timedelta(days=10),
                time_limit_seconds=600,
                mix=[rounds.MixItem("bank", 5)],
            ),
            now=now,
        )
        db.session.commit()
        return built.round.id, built.contest.slug


@pytest.fixture
def signed_in(client: FlaskClient, setup: tuple[int, str]) -> tuple[int, str]:
    client.post("/auth/login", data={"login": "an@example.vn", "password": PASSWORD})
    return setup


def _start(client: FlaskClient, round_id: int) -> int:
    response = client.post(f"/rounds/{round_id}/start")
    assert response.status_code == 302
    return int(response.headers["Location"].rsplit("/", 1)[1])


def test_the_header_has_a_menu_and_a_short_language_switch(client: FlaskClient, signed_in: tuple[int, str]) -> None:
    page = client.get(f"/contests/{signed_in[1]}").get_data(as_text=True)
    header = page.split("</header>")[0]
    assert '<details class="account-menu">' in header and "Menu tài khoản" in header
    assert '<button type="submit" class="link-button lang-switch" lang="en" aria-label="English, EN">' in header
    assert '<span class="narrow-only">EN</span>' in header and '<span class="wide-only">English</span>' in header
    client.post("/language/en", data={"next": "/"})
    english = client.get(f"/contests/{signed_in[1]}").get_data(as_text=True).split("</header>")[0]
    assert 'lang="vi" aria-label="Tiếng Việt, VI"' in english and '<span class="narrow-only">VI</span>' in english


def test_the_paper_counts_the_answers_it_was_served_with(
    app: Flask, client: FlaskClient, signed_in: tuple[int, str]
) -> None:
    attempt_id = _start(client, signed_in[0])
    fresh = client.get(f"/attempts/{attempt_id}").get_data(as_text=True)
    assert '<p id="answered-count" class="answered-count">0/5 đã trả lời</p>' in fresh
    assert '<progress id="answered-progress" max="5" value="0" aria-labelledby="answered-count">' in fresh
    assert 'data-msg-progress="{n}/{total} đã trả lời"' in fresh  # the script's wording, from the same message
    with app.app_context():
        first_choice = {
            i.position: i.choice_order[0]
            for i in db.session.scalars(select(AttemptItem).where(AttemptItem.attempt_id == attempt_id))
        }
    form = {"q0": str(first_choice[0]), "q3": str(first_choice[3]), "action": "save"}  # without script: "Lưu bài"
    client.post(f"/attempts/{attempt_id}", data=form)
    saved = client.get(f"/attempts/{attempt_id}").get_data(as_text=True)
    assert "2/5 đã trả lời" in saved and 'max="5" value="2"' in saved


def test_the_result_page_shows_place_time_encouragement_and_the_next_round(
    app: Flask, client: FlaskClient, signed_in: tuple[int, str]
) -> None:
    round_id, slug = signed_in
    attempt_id = contest_fixture.play(app, "an@example.vn", round_id, right=5)
    page = client.get(f"/attempts/{attempt_id}/result").get_data(as_text=True)
    rank = re.search(r'id="stat-rank">\s*<dt>Hạng</dt>\s*<dd>(.*?)</dd>', page, re.S)
    assert rank and re.sub(r"<[^>]+>", "", rank.group(1)) == "1/1"
    assert "<strong>5/5</strong>" in page
    assert re.search(r'id="stat-time">\s*<dt>Thời gian</dt>\s*<dd><span class="stat-value">\d\d:\d\d</span>', page)
    assert "Tuyệt vời! Bạn đã trả lời đúng tất cả các câu hỏi." in page
    assert "Đợt tiếp theo: Tuần 2, mở lúc " in page and f'href="/contests/{slug}"' in page
    assert f'action="/rounds/{round_id}/start"' in page and "Thi lại: Tuần 1" in page
    assert "Bạn còn 1 lượt thi trong đợt này." in page


def test_the_result_page_says_when_the_place_is_pending(
    app: Flask, client: FlaskClient, signed_in: tuple[int, str]
) -> None:
    round_id, _slug = signed_in
    with app.app_context():
        db.session.get(Round, round_id).leaderboard_visibility = LeaderboardVisibility.HIDDEN
        db.session.commit()
    attempt_id = contest_fixture.play(app, "an@example.vn", round_id, right=1)
    page = client.get(f"/attempts/{attempt_id}/result").get_data(as_text=True)
    assert "Đang cập nhật" in page and "khi bảng xếp hạng được công bố" in page
    assert "Đừng nản lòng!" in page


def test_contestants_see_no_software_version_and_organizers_do(
    client: FlaskClient,
    signed_in: tuple[int, str],
    make_user,
    auth,  # type: ignore[no-untyped-def]
) -> None:
    round_id, slug = signed_in
    attempt_id = _start(client, round_id)
    for path in ("/", f"/contests/{slug}", f"/attempts/{attempt_id}", f"/rounds/{round_id}/leaderboard"):
        page = client.get(path).get_data(as_text=True)
        assert "Múi giờ: Việt Nam (GMT+7)" in page and __version__ not in page.split('<footer class="site-footer">')[1]
    client.post(f"/attempts/{attempt_id}/submit")
    assert VERSION not in client.get(f"/attempts/{attempt_id}/result").get_data(as_text=True)
    auth.logout()
    make_user("btc@example.vn", role=Role.ORGANIZER)
    auth.login("btc@example.vn")
    assert VERSION in client.get("/organizer/banks").get_data(as_text=True)
    assert VERSION not in client.get(f"/contests/{slug}").get_data(as_text=True)
