"""A contest's brand: its header colour, logo and banner, checked before they are stored.

The colour must keep the white header text readable (WCAG contrast at least 4.5:1). Images must be
PNG, JPEG or WebP, recognised by their first bytes (never by the file name) and small; SVG is never
accepted, since it can carry scripts. ``branding_updated_at`` versions the public URLs, so browsers
may cache them for a year and still see a change at once.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from sqlalchemy.orm import Session

from quiz_engine.models import Contest
from quiz_engine.services.errors import ValidationError

Kind = Literal["logo", "banner"]
#: An upload as ``(bytes, file name)``; the name is only reported, never trusted.
Upload = tuple[bytes, str]

MAX_BYTES: dict[str, int] = {"logo": 200 * 1024, "banner": 500 * 1024}
MIN_CONTRAST = 4.5
_COLOR = re.compile(r"#[0-9a-fA-F]{6}")


def relative_luminance(color: str) -> float:
    """WCAG 2 relative luminance of ``#rrggbb``."""

    def channel(hex_pair: str) -> float:
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(color[i : i + 2]) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_with_white(color: str) -> float:
    """The WCAG contrast ratio of white text on ``color`` (1 to 21)."""
    return 1.05 / (relative_luminance(color) + 0.05)


def check_color(color: str) -> str:
    """``color`` normalised to lower-case ``#rrggbb``, or a refusal."""
    if not _COLOR.fullmatch(color):
        raise ValidationError(
            "Màu phải có dạng #rrggbb, ví dụ #1a4d8f.",
            "The colour must look like #rrggbb, e.g. #1a4d8f.",
            field="color",
        )
    ratio = contrast_with_white(color)
    if ratio < MIN_CONTRAST:
        raise ValidationError(
            f"Màu này quá sáng: chữ trắng trên nền này khó đọc (độ tương phản {ratio:.1f}:1, cần ít nhất 4,5:1). "
            "Hãy chọn màu đậm hơn.",
            f"This colour is too light: white text on it is hard to read (contrast {ratio:.1f}:1, "
            "at least 4.5:1 is needed). Choose a darker colour.",
            field="color",
        )
    return color.lower()


def sniff(data: bytes) -> str | None:
    """The image type the bytes' magic numbers show: image/png, image/jpeg, image/webp, or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def check_image(kind: Kind, upload: Upload) -> tuple[bytes, str]:
    """``(bytes, content type)`` of an acceptable image, or a refusal naming the field ``kind``."""
    data, filename = upload
    content_type = sniff(data)
    if content_type is None:
        raise ValidationError(
            f"Tệp “{filename}” không phải ảnh PNG, JPEG hoặc WebP. Chỉ nhận ba định dạng này (không nhận SVG).",
            f"“{filename}” is not a PNG, JPEG or WebP image. Only these three formats are accepted (not SVG).",
            field=kind,
        )
    limit = MAX_BYTES[kind]
    if len(data) > limit:
        raise ValidationError(
            f"Tệp “{filename}” quá lớn: tối đa {limit // 1024} KB.",
            f"“{filename}” is too large: {limit // 1024} KB at most.",
            field=kind,
        )
    return data, content_type


def set_branding(
    session: Session,
    contest: Contest,
    *,
    color: str | None,
    logo: Upload | None = None,
    banner: Upload | None = None,
    remove_logo: bool = False,
    remove_banner: bool = False,
    now: datetime,
) -> list[str]:
    """Check everything, then store it; returns the names of what changed (empty: nothing did).

    ``color`` None or empty means the site's own colour. A new image replaces the old one even if its
    "remove" box is ticked too. Nothing changes when anything is refused.
    """
    new_color = check_color(color.strip()) if color and color.strip() else None
    new_logo = check_image("logo", logo) if logo else None
    new_banner = check_image("banner", banner) if banner else None
    changed = []
    if new_color != contest.brand_color:
        contest.brand_color = new_color
        changed.append("color")
    for kind, new, remove in (("logo", new_logo, remove_logo), ("banner", new_banner, remove_banner)):
        if new is not None or (remove and getattr(contest, f"{kind}_type") is not None):
            data, content_type = new if new is not None else (None, None)
            setattr(contest, kind, data)
            setattr(contest, f"{kind}_type", content_type)
            changed.append(kind)
    if changed:
        contest.branding_updated_at = now
        session.flush()
    return changed


def version(contest: Contest) -> str | None:
    """The branding's version for cache-busting URLs (see ``Contest.branding_version``), or None if never set."""
    return contest.branding_version


def image(contest: Contest, kind: Kind) -> tuple[bytes, str] | None:
    """The stored logo or banner as ``(bytes, content type)``, or None."""
    content_type = getattr(contest, f"{kind}_type")
    data = getattr(contest, kind) if content_type else None
    return (data, content_type) if data else None


#: Sizes of the contest's logo and banner (the CSP allows no inline styles, so they travel with the colour).
_IMAGE_RULES = (
    ".contest-masthead{display:flex;align-items:center;gap:.75rem;margin:0 0 1rem}\n"
    ".contest-logo{height:3.5rem;width:auto;max-width:40%;object-fit:contain}\n"
    ".contest-banner{display:block;width:100%;height:auto;max-height:16rem;object-fit:cover;border-radius:8px;"
    "margin:0 0 1rem}\n"
)


def stylesheet(contest: Contest, scope: str = ":root") -> str:
    """The contest's stylesheet: its colour in place of the site's ``--brand`` within ``scope``, image sizes."""
    colour = f"{scope}{{--brand:{contest.brand_color}}}\n" if contest.brand_color else ""
    return colour + _IMAGE_RULES


def has_branding(contest: Contest) -> bool:
    """Whether the contest has a colour, logo or banner of its own."""
    return bool(contest.brand_color or contest.logo_type or contest.banner_type)
