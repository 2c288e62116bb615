"""The organizer's live dashboard: who may see it, what the page shows, and the JSON it refreshes from."""

import re
import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import select

from quiz_engine.extensions import db
from quiz_engine.models import Role, Round, Unit
from tests import contest_fixture
from tests.conftest import PASSWORD

HOSTILE = '<script>alert("x")</script> & Co'


@pytest.fixture
def played(app):  # type: ignore[no-untyped-def]
    """An (in a unit whose name is hostile, 100 people) all right; Bình (no unit) all wrong."""
    with app.app_context():
        built = contest_fixture.build(db.session, per_paper=5)
        contest_fixture.register(db.session, built.contest, "binh@example.vn")
        db.session.scalar(select(Unit)).name = HOSTILE
        db.session.commit()
        round_id = built.round.id
    contest_fixture.play(app, "an@example.vn", round_id, right=5)
    contest_fixture.play(app, "binh@example.vn", round_id, right=0)
    return round_id


@pytest.fixture
def organizer(app, make_user, played):  # type: ignore[no-untyped-def]
    contest_fixture.list_as_organizer(app, make_user("btc@example.vn", Role.ORGANIZER, "Ban Tổ chức"))
    browser = app.test_client()
    browser.post("/auth/login", data={"login": "btc@example.vn", "password": PASSWORD})
    return browser


def test_contestants_get_403_and_visitors_are_sent_to_sign_in(app, client, played) -> None:
    assert client.get(f"/organizer/rounds/{played}/dashboard").status_code == 302
    assert "/auth/login" in client.get(f"/organizer/rounds/{played}/dashboard.json").headers["Location"]
    client.post("/auth/login", data={"login": "an@example.vn", "password": "mat-khau-123"})
    assert client.get(f"/organizer/rounds/{played}/dashboard").status_code == 403
    refused = client.get(f"/organizer/rounds/{played}/dashboard.json", headers={"Accept": "application/json"})
    assert refused.status_code == 403 and refused.get_json()["status"] == 403


def test_page_shows_tiles_charts_and_weakest_units(organizer, played) -> None:
    response = organizer.get(f"/organizer/rounds/{played}/dashboard")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    tiles = dict(re.findall(r'<dd data-count="(\w+)">([^<]*)</dd>', page))
    assert tiles == {"participants": "2", "in_progress": "0", "submitted": "2", "perfect": "1"}
    assert re.search(r'id="dashboard-status" role="status" aria-live="polite">Đã cập nhật lúc \d\d:\d\d<', page)
    assert f'data-url="/organizer/rounds/{played}/dashboard.json"' in page
    for chart, title in (
        ("chart-units", "Tỷ lệ tham gia theo đơn vị"),
        ("chart-timeline", "Lượt thi bắt đầu mỗi giờ"),
        ("chart-distribution", "Phân bố số câu đúng"),
    ):
        assert f'<title id="{chart}-title">{title}</title>' in page
    # The distribution names both papers: one with nothing right, one with all five.
    assert "0: 1 bài; 1: 0 bài; 2: 0 bài; 3: 0 bài; 4: 0 bài; 5: 1 bài" in page
    assert "Tổng cộng 2 lượt" in page
    weakest = re.search(r'<tbody id="weakest-rows">(.*?)</tbody>', page, re.S).group(1)
    assert re.findall(r"<td[^>]*>([^<]*)</td>", weakest) == [
        "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co",
        "1",
        "100",
        "1%",
    ]


def test_page_is_safe_and_works_under_the_csp(organizer, played, static_url) -> None:
    response = organizer.get(f"/organizer/rounds/{played}/dashboard")
    page = response.get_data(as_text=True)
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page
    scripts = re.findall(r"<script[^>]*>", page)
    assert scripts == [f'<script src="{static_url("js/dashboard.js")}" defer>']  # no inline script
    assert ' style="' not in page  # the CSP forbids inline styles, in the SVG too
    assert f'<link rel="stylesheet" href="{static_url("css/dashboard.css")}">' in page
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    for svg in re.findall(r"<svg.*?</svg>", page, re.S):
        ET.fromstring(svg)  # every chart is well-formed XML, as dashboard.js needs


def test_json_refresh_carries_numbers_and_charts_and_follows_new_attempts(app, organizer, played) -> None:
    url = f"/organizer/rounds/{played}/dashboard.json"
    response = organizer.get(url)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    data = response.get_json()
    assert data["counts"] == {"started": 2, "in_progress": 0, "submitted": 2, "participants": 2, "perfect": 1}
    assert data["tiles"] == {"participants": "2", "in_progress": "0", "submitted": "2", "perfect": "1"}
    assert data["live"] is True and data["round_id"] == played
    assert re.fullmatch(r"Đã cập nhật lúc \d\d:\d\d", data["updated_text"])
    assert set(data["charts"]) == {"units", "timeline", "distribution"}
    for svg in data["charts"].values():
        assert ET.fromstring(svg).get("role") == "img"
    assert "&lt;script&gt;" in data["charts"]["units"] and "<script>" not in data["charts"]["units"]
    [weakest] = data["weakest"]
    assert (weakest["name"], weakest["participants"], weakest["headcount"], weakest["rate"]) == (HOSTILE, 1, 100, 1.0)
    assert weakest["cells"] == [HOSTILE, "1", "100", "1%"]  # text for dashboard.js to set with textContent
    with app.app_context():
        contest_fixture.register(db.session, db.session.get(Round, played).contest, "chi@example.vn")
    contest_fixture.play(app, "chi@example.vn", played, right=5, submit=False)
    again = organizer.get(url).get_json()
    assert again["counts"] == {"started": 3, "in_progress": 1, "submitted": 2, "participants": 2, "perfect": 1}
    assert again["tiles"]["in_progress"] == "1"
    assert "Tổng cộng 3 lượt" in again["charts"]["timeline"]


def test_english_page_renders_its_charts(organizer, played) -> None:
    organizer.post("/language/en", data={"next": "/"})
    response = organizer.get(f"/organizer/rounds/{played}/dashboard")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'lang="en"' in page
    assert len(re.findall(r'<svg [^>]*role="img"', page)) == 3 and "1%" in page


def test_unknown_and_practice_rounds_are_not_found(app, organizer, played) -> None:
    assert organizer.get("/organizer/rounds/999/dashboard").status_code == 404
    with app.app_context():
        db.session.get(Round, played).is_practice = True
        db.session.commit()
    assert organizer.get(f"/organizer/rounds/{played}/dashboard").status_code == 404
    assert organizer.get(f"/organizer/rounds/{played}/dashboard.json").status_code == 404


def test_contest_page_links_to_the_dashboard(app, organizer, played) -> None:
    with app.app_context():
        contest_id = db.session.get(Round, played).contest_id
    page = organizer.get(f"/organizer/contests/{contest_id}").get_data(as_text=True)
    assert f'href="/organizer/rounds/{played}/dashboard"' in page and "Số liệu trực tiếp" in page


def test_the_script_is_served(client) -> None:
    with client.get("/static/js/dashboard.js") as script:
        assert script.status_code == 200 and b"visibilitychange" in script.data
