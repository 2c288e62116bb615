"""Contest branding: the organizer's page, the checks on colour and images, and the public brand URLs."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from quiz_engine.extensions import db
from quiz_engine.models import AuditEvent, Contest, Role, utcnow
from quiz_engine.services.errors import ValidationError
from quiz_engine.services.organising import branding
from tests import contest_fixture

ORGANIZER = "btc@example.vn"
PASSWORD = "mat-khau-thu-nghiem"
COLOR = "#1a4d8f"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(padding: int = 0) -> bytes:
    """A valid 1×1 red PNG, with an optional ancillary text chunk of ``padding`` bytes to make it big."""
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    extra = _chunk(b"tEXt", b"c\x00" + b"x" * padding) if padding else b""
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + extra + _chunk(b"IDAT", pixels) + _chunk(b"IEND", b"")


#: The start of a JFIF file and its end marker: the service recognises JPEG by its first bytes.
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 32 + b"\xff\xd9"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


@pytest.fixture
def contest_id(app: Flask) -> int:
    with app.app_context():
        return contest_fixture.build(db.session).contest.id


@pytest.fixture
def organizer(client: FlaskClient, make_user, contest_id: int) -> FlaskClient:  # type: ignore[no-untyped-def]
    contest_fixture.list_as_organizer(client.application, make_user(ORGANIZER, Role.ORGANIZER, "Ban Tổ chức"))
    client.post("/auth/login", data={"login": ORGANIZER, "password": PASSWORD})
    return client


def _post(client: FlaskClient, contest_id: int, **fields: object):  # type: ignore[no-untyped-def]
    data = {"color": "", **fields}
    return client.post(f"/organizer/contests/{contest_id}/branding", data=data, content_type="multipart/form-data")


def _brand(app: Flask, contest_id: int) -> str:
    """Brand the contest through the service: colour, PNG logo, JPEG banner; returns the version."""
    with app.app_context():
        contest = db.session.get(Contest, contest_id)
        branding.set_branding(
            db.session, contest, color=COLOR, logo=(png(), "logo.png"), banner=(JPEG, "bia.jpg"), now=utcnow()
        )
        db.session.commit()
        return str(contest.branding_version)


def _stored(app: Flask, contest_id: int) -> tuple[object, ...]:
    with app.app_context():
        c = db.session.get(Contest, contest_id)
        return (c.brand_color, c.logo, c.logo_type, c.banner, c.banner_type, c.branding_updated_at)


def test_organizer_brands_a_contest_and_the_public_pages_show_it(app: Flask, organizer: FlaskClient, contest_id):  # type: ignore[no-untyped-def]
    page = organizer.get(f"/organizer/contests/{contest_id}/branding")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for control in ("color_picker", "color", "logo", "banner"):
        assert f'for="{control}"' in html
    assert 'type="color"' in html and 'enctype="multipart/form-data"' in html
    assert "Nhận diện (logo, màu, ảnh bìa)" in organizer.get(f"/organizer/contests/{contest_id}").get_data(as_text=True)

    response = _post(
        organizer,
        contest_id,
        color=COLOR,
        logo=(io.BytesIO(png()), "logo.png"),
        banner=(io.BytesIO(JPEG), "bia.jpg"),
    )
    assert response.status_code == 302
    assert "Đã lưu nhận diện của cuộc thi." in organizer.get(response.headers["Location"]).get_data(as_text=True)
    color, logo, logo_type, banner, banner_type, updated = _stored(app, contest_id)
    assert (color, logo, logo_type, banner, banner_type) == (COLOR, png(), "image/png", JPEG, "image/jpeg")
    assert updated is not None
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "contest.branding")).one()
        assert (event.target_type, event.target_id) == ("contest", contest_id)
        assert event.details["brand_color"] == COLOR and set(event.details["changed"]) == {"color", "logo", "banner"}
        version = db.session.get(Contest, contest_id).branding_version

    html = organizer.get("/contests/thi").get_data(as_text=True)
    assert f'href="/contests/thi/brand.css?v={version}"' in html
    assert f'src="/contests/thi/logo?v={version}"' in html
    assert f'src="/contests/thi/banner?v={version}"' in html
    assert "style=" not in html  # the CSP forbids inline styles
    assert f"/contests/thi/brand.css?v={version}" in organizer.get("/contests/thi/standings").get_data(as_text=True)

    logo_response = organizer.get(f"/contests/thi/logo?v={version}")
    assert logo_response.data == png() and logo_response.content_type == "image/png"
    assert logo_response.headers["X-Content-Type-Options"] == "nosniff"
    assert organizer.get("/contests/thi/banner").content_type == "image/jpeg"
    preview = organizer.get(f"/organizer/contests/{contest_id}/branding/preview.css")
    assert f".brand-preview{{--brand:{COLOR}}}" in preview.get_data(as_text=True)


def test_brand_css_and_images_are_cached_for_a_year_only_at_their_current_version(app: Flask, client, contest_id):  # type: ignore[no-untyped-def]
    version = _brand(app, contest_id)
    css = client.get(f"/contests/thi/brand.css?v={version}")
    assert css.status_code == 200 and css.mimetype == "text/css"
    assert f":root{{--brand:{COLOR}}}" in css.get_data(as_text=True)
    for url in (f"/contests/thi/brand.css?v={version}", f"/contests/thi/logo?v={version}"):
        cache = client.get(url).headers["Cache-Control"]
        assert "immutable" in cache and "max-age=31536000" in cache and "public" in cache
    for url in ("/contests/thi/brand.css", "/contests/thi/brand.css?v=1", "/contests/thi/banner?v=old"):
        cache = client.get(url).headers["Cache-Control"]
        assert "immutable" not in cache and "max-age=300" in cache


def test_a_contest_without_a_brand_keeps_the_site_look(client, contest_id):  # type: ignore[no-untyped-def]
    html = client.get("/contests/thi").get_data(as_text=True)
    assert "brand.css" not in html and "/contests/thi/logo" not in html
    assert client.get("/contests/thi/logo").status_code == 404
    assert client.get("/contests/thi/banner").status_code == 404
    assert ":root" not in client.get("/contests/thi/brand.css").get_data(as_text=True)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"color": "#ffff00"}, "Màu này quá sáng: chữ trắng trên nền này khó đọc"),
        ({"color": "xanh"}, "Màu phải có dạng #rrggbb"),
        ({"logo": (SVG, "logo.svg")}, "không phải ảnh PNG, JPEG hoặc WebP"),
        ({"banner": (b"just some text, not an image", "bia.jpg")}, "không phải ảnh PNG, JPEG hoặc WebP"),
        ({"logo": (png(padding=210 * 1024), "to.png")}, "quá lớn: tối đa 200 KB"),
    ],
)
def test_refusals_change_nothing(app: Flask, organizer: FlaskClient, contest_id, fields, message):  # type: ignore[no-untyped-def]
    _brand(app, contest_id)
    before = _stored(app, contest_id)
    files = {k: (io.BytesIO(v[0]), v[1]) for k, v in fields.items() if isinstance(v, tuple)}
    color = fields.get("color", COLOR)
    response = _post(organizer, contest_id, **{"color": color, "remove_logo": "y", "remove_banner": "y", **files})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert _stored(app, contest_id) == before
    with app.app_context():
        assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "contest.branding")).all() == []


def test_remove_flags_clear_the_images_and_an_empty_code_the_colour(app: Flask, organizer, contest_id):  # type: ignore[no-untyped-def]
    _brand(app, contest_id)
    assert _post(organizer, contest_id, color=COLOR, remove_logo="y").status_code == 302
    color, logo, logo_type, _banner, banner_type, _ = _stored(app, contest_id)
    assert (color, logo, logo_type, banner_type) == (COLOR, None, None, "image/jpeg")
    assert organizer.get("/contests/thi/logo").status_code == 404
    assert _post(organizer, contest_id, color="", remove_banner="y").status_code == 302
    assert _stored(app, contest_id)[:5] == (None, None, None, None, None)
    assert "brand.css" not in organizer.get("/contests/thi").get_data(as_text=True)


def test_the_colour_picker_counts_when_the_code_is_left_as_it_was(app: Flask, organizer, contest_id):  # type: ignore[no-untyped-def]
    assert _post(organizer, contest_id, color="", color_picker="#1B5E20").status_code == 302
    assert _stored(app, contest_id)[0] == "#1b5e20"


def test_contestants_get_403_and_other_contests_organizers_404(client, make_user, contest_id):  # type: ignore[no-untyped-def]
    client.post("/auth/login", data={"login": "an@example.vn", "password": "mat-khau-123"})
    assert client.get(f"/organizer/contests/{contest_id}/branding").status_code == 403
    assert _post(client, contest_id, color=COLOR).status_code == 403
    client.post("/auth/logout")
    make_user("khac@example.vn", Role.ORGANIZER, "Ban Tổ chức khác")
    client.post("/auth/login", data={"login": "khac@example.vn", "password": PASSWORD})
    assert client.get(f"/organizer/contests/{contest_id}/branding").status_code == 404
    assert _post(client, contest_id, color=COLOR).status_code == 404
    assert client.get(f"/organizer/contests/{contest_id}/branding/logo").status_code == 404


def test_an_unpublished_contests_brand_is_not_public(app: Flask, organizer, contest_id):  # type: ignore[no-untyped-def]
    _brand(app, contest_id)
    with app.app_context():
        db.session.get(Contest, contest_id).is_published = False
        db.session.commit()
    for url in ("/contests/thi/logo", "/contests/thi/banner", "/contests/thi/brand.css"):
        assert organizer.get(url).status_code == 404
    assert organizer.get(f"/organizer/contests/{contest_id}/branding/logo").data == png()  # the preview still works


@pytest.mark.parametrize(
    ("color", "readable"), [("#b3261e", True), ("#1a4d8f", True), ("#ffff00", False), ("#777777", False)]
)
def test_colour_contrast_with_white_text(color: str, readable: bool) -> None:
    assert (branding.contrast_with_white(color) >= 4.5) is readable
    if not readable:
        with pytest.raises(ValidationError) as refused:
            branding.check_color(color)
        assert refused.value.field == "color"


def test_a_banner_may_be_larger_than_a_logo_but_not_over_500_kb() -> None:
    # Checked on the service: a test client's upload over 500 KB leaves a temporary file open.
    assert branding.check_image("banner", (png(padding=300 * 1024), "bia.png"))[1] == "image/png"
    with pytest.raises(ValidationError, match="quá lớn: tối đa 500 KB") as refused:
        branding.check_image("banner", (png(padding=510 * 1024), "bia.png"))
    assert refused.value.field == "banner"


def test_image_types_come_from_the_bytes() -> None:
    assert branding.sniff(png()) == "image/png"
    assert branding.sniff(JPEG) == "image/jpeg"
    assert branding.sniff(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert branding.sniff(SVG) is None
    assert branding.sniff(b"GIF89a") is None
