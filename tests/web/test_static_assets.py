"""Static files under fingerprinted names with a one-year immutable cache; plain names briefly cached."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from flask import url_for

SITE_CSS = Path(__file__).resolve().parents[2] / "quiz_engine" / "static" / "css" / "site.css"


def test_pages_link_fingerprinted_assets_served_for_a_year(app, client) -> None:
    digest = hashlib.sha256(SITE_CSS.read_bytes()).hexdigest()[:12]
    with app.test_request_context():
        assert url_for("static", filename="css/site.css") == f"/static/css/site.{digest}.css"
    page = client.get("/").get_data(as_text=True)
    assert f"/static/css/site.{digest}.css" in page and 'href="/static/css/site.css"' not in page
    response = client.get(f"/static/css/site.{digest}.css")
    assert response.status_code == 200 and response.data == SITE_CSS.read_bytes()
    cache = response.headers["Cache-Control"]
    response.close()
    assert "max-age=31536000" in cache and "immutable" in cache and "public" in cache


def test_every_script_and_stylesheet_on_a_page_is_fingerprinted(client) -> None:
    page = client.get("/auth/login").get_data(as_text=True)
    assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', page)
    assert assets and all(re.search(r"\.[0-9a-f]{12}\.(css|js)$", a) for a in assets)


def test_another_releases_fingerprint_and_a_plain_name_are_cached_briefly(client) -> None:
    other_release = client.get("/static/css/site.000000000000.css")  # a page from another instance mid-upgrade
    other_release.close()
    assert other_release.status_code == 200 and "max-age=300" in other_release.headers["Cache-Control"]
    assert "immutable" not in other_release.headers["Cache-Control"]
    assert client.get("/static/css/khong-co.css").status_code == 404
    assert client.get("/static/css/khong-co.000000000000.css").status_code == 404
    plain = client.get("/static/css/site.css")
    plain.close()
    assert plain.status_code == 200 and "max-age=300" in plain.headers["Cache-Control"]
    assert "immutable" not in plain.headers["Cache-Control"]


def test_the_attempt_page_weighs_under_150_kb_with_everything_it_loads(app, client) -> None:
    from quiz_engine.extensions import db
    from tests import contest_fixture

    with app.app_context():
        round_id = contest_fixture.build(db.session, questions=30, per_paper=20).round.id
    client.post("/auth/login", data={"login": "an@example.vn", "password": "mat-khau-123"})
    attempt_id = client.post(f"/api/v1/rounds/{round_id}/attempts").get_json()["id"]
    page = client.get(f"/attempts/{attempt_id}")
    assert page.status_code == 200
    total = len(page.data)
    for asset in re.findall(r'(?:href|src)="(/static/[^"]+)"', page.get_data(as_text=True)):
        response = client.get(asset)
        total += len(response.data)
        response.close()
    assert total < 150 * 1024, f"{total} bytes, uncompressed"  # the target is for bytes transferred
