"""A published contest's brand for its public pages: logo, banner and a stylesheet with its colour.

The pages link these with ``?v=<version>`` (services/organising/branding.py); a request carrying the current
version may be cached for a year, anything else only for a few minutes.
"""

from __future__ import annotations

from flask import Response, abort, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from quiz_engine.extensions import db
from quiz_engine.models import Contest
from quiz_engine.services.organising import branding
from quiz_engine.web.contest.views import bp

YEAR = 365 * 24 * 3600
SHORT_MAX_AGE = 300


def _published(slug: str) -> Contest:
    return db.first_or_404(select(Contest).where(Contest.slug == slug, Contest.is_published.is_(True)))


def _cached(body: bytes | str, content_type: str, contest: Contest) -> Response:
    response = Response(body, content_type=content_type)
    current = branding.version(contest)
    response.cache_control.public = True
    if current is not None and request.args.get("v") == current:
        response.cache_control.max_age = YEAR
        response.cache_control.immutable = True
    else:
        response.cache_control.max_age = SHORT_MAX_AGE
    return response


def _image(slug: str, kind: branding.Kind) -> ResponseReturnValue:
    contest = _published(slug)
    found = branding.image(contest, kind)
    if found is None:
        abort(404)
    return _cached(found[0], found[1], contest)


@bp.get("/contests/<slug>/logo")
def contest_logo(slug: str) -> ResponseReturnValue:
    """The contest's logo (PNG, JPEG or WebP)."""
    return _image(slug, "logo")


@bp.get("/contests/<slug>/banner")
def contest_banner(slug: str) -> ResponseReturnValue:
    """The contest's banner image."""
    return _image(slug, "banner")


@bp.get("/contests/<slug>/brand.css")
def contest_brand_css(slug: str) -> ResponseReturnValue:
    """``:root{--brand:#rrggbb}`` and the logo and banner sizes (inline styles are not allowed by the CSP)."""
    contest = _published(slug)
    return _cached(branding.stylesheet(contest), "text/css; charset=utf-8", contest)
