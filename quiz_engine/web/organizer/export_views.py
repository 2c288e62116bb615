"""Downloading a round's Excel exports (organizers only; exports with contact details are audited)."""

from __future__ import annotations

import io

from flask import abort, send_file
from flask.typing import ResponseReturnValue
from flask_login import current_user

from quiz_engine.extensions import db
from quiz_engine.models import Round
from quiz_engine.services import audit, exports
from quiz_engine.web import deps
from quiz_engine.web.access import organizer_required
from quiz_engine.web.organizer.blueprint import bp

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.get("/rounds/<int:round_id>/exports/<kind>.xlsx")
@organizer_required
def round_export(round_id: int, kind: str) -> ResponseReturnValue:
    """One of the round's exports as an .xlsx download."""
    round_ = db.get_or_404(Round, round_id)
    if kind not in {k.value for k in exports.ExportKind}:
        abort(404)
    data, rows = exports.build_export(
        db.session,
        exports.ExportKind(kind),
        round_,
        now=deps.now(),
        tz=deps.timezone(),
        exported_by=current_user.full_name,
    )
    audit.record(
        db.session,
        "export.create",
        now=deps.now(),
        actor_id=current_user.id,
        target=("round", round_.id),
        origin=deps.origin(),
        kind=kind,
        rows=rows,
    )
    db.session.commit()
    return send_file(
        io.BytesIO(data),
        mimetype=XLSX,
        as_attachment=True,
        download_name=f"{kind}-dot-{round_.number}-{round_.contest.slug}.xlsx",
    )
