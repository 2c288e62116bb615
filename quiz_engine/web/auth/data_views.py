"""The signed-in person downloads everything the system holds about them (Decree 13/2023/NĐ-CP)."""

from __future__ import annotations

import redis
from flask import Response
from flask.typing import ResponseReturnValue
from flask_login import login_required

from quiz_engine.extensions import db, redis_client
from quiz_engine.models import Attempt
from quiz_engine.services.people import audit, personal_data
from quiz_engine.services.taking import attempt_state
from quiz_engine.web import deps
from quiz_engine.web.auth.views import bp, signed_in_user


def _saved_answers(attempt: Attempt) -> dict[int, list[int]]:
    """An attempt in progress's answers saved so far (kept in Redis); none if Redis cannot be reached."""
    try:
        saved = attempt_state.saved_answers(redis_client(), deps.redis_prefix(), attempt.round_id, attempt.id)
    except (redis.RedisError, OSError):
        return {}
    return {int(f): a.choices for f, a in saved.items() if f.isdigit()}


@bp.get("/profile/data.json")
@login_required
def personal_data_json() -> ResponseReturnValue:
    """Everything held about the signed-in person, as a UTF-8 JSON file; the download is audited."""
    me = signed_in_user()
    now = deps.now()
    document = personal_data.collect(db.session, me.id, now, saved_answers=_saved_answers)
    audit.record(
        db.session, "user.data_download", now=now, actor_id=me.id, target=("user", me.id), origin=deps.origin()
    )
    db.session.commit()
    response = Response(personal_data.to_json(document), mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="du-lieu-ca-nhan-{me.id}.json"'
    response.headers["Cache-Control"] = "no-store"  # personal data: never kept by a shared cache
    return response
