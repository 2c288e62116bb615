"""The public pages: Vietnamese by default, English on request, error pages in both."""

import re
from datetime import timedelta
from pathlib import Path

from flask import Flask

from quiz_engine.extensions import db
from quiz_engine.models import utcnow
from quiz_engine.services import demo
from quiz_engine.services.organising import rounds
from tests import contest_fixture
from tests.banks_fixture import write_catalog


def _load_demo(app: Flask, tmp_path: Path) -> None:
    with app.app_context():
        demo.load_demo(
            db.session,
            now=utcnow(),
            banks_dir=write_catalog(tmp_path / "banks"),
            organizer_password="mat-khau-demo",
            timezone="Asia/Ho_Chi_Minh",
        )
        db.session.commit()


def test_home_is_vietnamese_and_lists_the_open_demo_round(app: Flask, client, tmp_path: Path) -> None:
    _load_demo(app, tmp_path)
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="vi">' in page
    assert "Các cuộc thi trực tuyến" in page
    assert "Cuộc thi trực tuyến tìm hiểu về chuyển đổi số và Nghị quyết 57-NQ/TW (demo)" in page
    assert "Tuần 1" in page and "10 câu hỏi, 10 phút" in page
    assert "Đợt tiếp theo: Tuần 2" in page


def test_home_without_contests_says_so(client) -> None:
    page = client.get("/").get_data(as_text=True)
    assert "Hiện chưa có cuộc thi nào" in page


def test_language_switch_is_remembered(client) -> None:
    response = client.post("/language/en", data={"next": "/auth/login"})
    assert response.status_code == 302 and response.headers["Location"] == "/auth/login"
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in page and "Online contests" in page
    client.post("/language/vi", data={"next": "https://evil.example/"})
    assert '<html lang="vi">' in client.get("/").get_data(as_text=True)


def test_not_found_page_in_both_languages(client) -> None:
    response = client.get("/khong-co-trang-nay")
    assert response.status_code == 404
    assert "Không tìm thấy trang" in response.get_data(as_text=True)
    client.post("/language/en")
    assert "could not be found" in client.get("/nope").get_data(as_text=True)


def test_security_headers_are_set(client) -> None:
    headers = client.get("/").headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "script-src 'self'" in headers["Content-Security-Policy"]


def test_home_counts_down_to_the_next_round(app, client) -> None:
    with app.app_context():
        built = contest_fixture.build(db.session)
        opens = contest_fixture.utcnow() + timedelta(days=2, hours=5, minutes=30)
        rounds.add_round(
            db.session,
            built.contest,
            rounds.RoundRules(
                title="Tuần 2",
                opens_at=opens,
                closes_at=opens + timedelta(days=7),
                time_limit_seconds=600,
                mix=[rounds.MixItem("bank", 5)],
            ),
            now=contest_fixture.utcnow(),
        )
        db.session.commit()
    page = client.get("/").get_data(as_text=True)
    assert "Đợt tiếp theo: Tuần 2" in page and ">còn 2 ngày 5 giờ</time>" in page
    left = int(re.search(r'data-ms-left="(\d+)"', page).group(1))  # type: ignore[union-attr]
    assert 2 * 86400_000 + 5 * 3600_000 < left <= 2 * 86400_000 + 5.5 * 3600_000
    assert "js/countdown." in page
