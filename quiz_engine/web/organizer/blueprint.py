"""The organizer blueprint; every route under it requires an organizer or admin."""

from __future__ import annotations

from flask import Blueprint, redirect, url_for
from flask.typing import ResponseReturnValue

from quiz_engine.web.access import organizer_required

bp = Blueprint("organizer", __name__, url_prefix="/organizer")


@bp.get("/")
@organizer_required
def home() -> ResponseReturnValue:
    """The organizer area opens on the question banks."""
    return redirect(url_for("organizer.banks_list"))
