"""An attempt through the API: its paper, autosaving answers and the prediction, submit, result."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from quiz_engine.extensions import db, redis_client
from quiz_engine.services.people import audit
from quiz_engine.services.taking import attempt_state, attempts
from quiz_engine.services.taking.attempt_state import SaveResult
from quiz_engine.web import answer_guard, attempt_flow, deps, rate_limits
from quiz_engine.web.api.blueprint import api_login_required, bp, error
from quiz_engine.web.api.serialise import paper_json, result_json

MAX_PREDICTION = 1_000_000_000


def _own(attempt_id: int):  # type: ignore[no-untyped-def]
    return attempts.get_own_attempt(db.session, attempt_id, current_user.id)


@bp.get("/attempts/<int:attempt_id>")
@api_login_required
def attempt_paper(attempt_id: int) -> ResponseReturnValue:
    """The paper with the answers saved so far and the true time left (never the correct answers)."""
    attempt = attempt_flow.touch(_own(attempt_id))
    view = attempts.paper_view(db.session, redis_client(), deps.redis_prefix(), attempt, deps.now())
    return jsonify(paper_json(view, generate_csrf()))


_SAVE_ERRORS = {
    SaveResult.UNKNOWN: (404, "not_found", "Không tìm thấy bài thi đang làm."),
    SaveResult.NOT_OWNER: (404, "not_found", "Không tìm thấy bài thi đang làm."),
    SaveResult.CLOSED: (409, "closed", "Bài thi đã nộp; không thể thay đổi câu trả lời."),
    SaveResult.INVALID: (422, "invalid", "Câu trả lời không hợp lệ."),
    SaveResult.LATE: (409, "late", "Đã hết giờ làm bài; câu trả lời gửi sau thời hạn không được tính."),
}


def _store(round_id: int, attempt_id: int, field: str, value: str) -> ResponseReturnValue:
    user_id = deps.session_user_id() or (current_user.id if current_user.is_authenticated else None)
    if user_id is None:
        return error(401, "unauthenticated", gettext("Vui lòng đăng nhập để tiếp tục."))
    limits = answer_guard.save_limits()
    result = attempt_state.save_answer(
        redis_client(),
        deps.redis_prefix(),
        round_id=round_id,
        attempt_id=attempt_id,
        user_id=user_id,
        field=field,
        value=value,
        now=deps.now(),
        limits=limits,
    )
    if result is SaveResult.RATE_LIMITED:
        seconds = attempt_state.save_retry_after(redis_client(), deps.redis_prefix(), round_id, attempt_id, limits)
        message = gettext("Bạn thao tác quá nhanh. Vui lòng thử lại sau %(n)d giây.", n=seconds)
        body, status = error(429, "rate_limited", message)  # type: ignore[misc]
        return body, status, {"Retry-After": str(seconds)}
    if result is SaveResult.LATE:  # rare: worth a database row, so disputes can be settled
        audit.record(
            db.session,
            "attempt.late_answer",
            now=deps.now(),
            actor_id=user_id,
            target=("attempt", attempt_id),
            origin=deps.origin(),
            field=field,
            value=value,
        )
        db.session.commit()
    if result in _SAVE_ERRORS:
        status, code, message = _SAVE_ERRORS[result]
        return error(status, code, gettext(message))
    return jsonify(saved=True, status=result.name.lower())


@bp.put("/rounds/<int:round_id>/attempts/<int:attempt_id>/answers/<int:position>")
@rate_limits.limiter.exempt  # limited inside the save script instead (answer_guard)
@answer_guard.csrf_checked
def save_answer(round_id: int, attempt_id: int, position: int) -> ResponseReturnValue:
    """Autosave one answer: ``{"choices": [choice ids]}``; idempotent and safe to resend."""
    body = request.get_json(silent=True)
    choices = body.get("choices") if isinstance(body, dict) else None
    if not isinstance(choices, list) or not all(isinstance(c, int) and 0 <= c < 6 for c in choices):
        return error(400, "bad_request", gettext("Dữ liệu gửi lên không hợp lệ."))
    response = _store(round_id, attempt_id, str(position), ",".join(str(c) for c in sorted(set(choices))))
    if request.args.get("feedback") and getattr(response, "status_code", 0) == 200:
        return _with_practice_feedback(attempt_id, position, response)
    return response


def _with_practice_feedback(attempt_id: int, position: int, response):  # type: ignore[no-untyped-def]
    correct, explanation = attempts.practice_feedback(db.session, _own(attempt_id), position)
    return jsonify(
        saved=True, status=response.get_json()["status"], feedback={"correct": correct, "explanation": explanation}
    )


@bp.put("/rounds/<int:round_id>/attempts/<int:attempt_id>/prediction")
@rate_limits.limiter.exempt  # limited inside the save script instead (answer_guard)
@answer_guard.csrf_checked
def save_prediction(round_id: int, attempt_id: int) -> ResponseReturnValue:
    """Autosave the prediction: ``{"value": whole number}``."""
    body = request.get_json(silent=True)
    value = body.get("value") if isinstance(body, dict) else None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_PREDICTION:
        return error(400, "bad_request", gettext("Dự đoán phải là một số nguyên không âm."))
    return _store(round_id, attempt_id, attempt_state.PREDICTION_FIELD, str(value))


@bp.post("/attempts/<int:attempt_id>/submit")
@api_login_required
def attempt_submit(attempt_id: int) -> ResponseReturnValue:
    """Submit; a resent submit returns the same result with ``already_submitted``."""
    attempt = attempt_flow.touch(_own(attempt_id))
    body = request.get_json(silent=True)
    if request.content_length and body is None:  # a body that is not JSON: refuse rather than guess
        return error(400, "bad_request", gettext("Dữ liệu gửi lên không hợp lệ."))
    closed = False
    if attempt.status.value == "in_progress":
        closed = attempt_flow.submit(attempt, sent_answers=_sent_answers(body))
    result = result_json(attempts.attempt_result(db.session, attempt, deps.now()))
    return jsonify({**result, "already_submitted": not closed})


def _sent_answers(body: object) -> dict[str, str] | None:
    """``{"answers": {"0": [2], ...}, "prediction": 120}`` sent with a submission (used if Redis is down)."""
    if not isinstance(body, dict) or not isinstance(body.get("answers"), dict):
        return None
    sent = {
        str(position): ",".join(str(c) for c in sorted(set(choices)))
        for position, choices in body["answers"].items()
        if str(position).isdigit()
        and isinstance(choices, list)
        and all(isinstance(c, int) and 0 <= c < 6 for c in choices)
    }
    prediction = body.get("prediction")
    if isinstance(prediction, int) and not isinstance(prediction, bool) and 0 <= prediction <= MAX_PREDICTION:
        sent[attempt_state.PREDICTION_FIELD] = str(prediction)
    return sent


@bp.get("/attempts/<int:attempt_id>/result")
@api_login_required
def attempt_result(attempt_id: int) -> ResponseReturnValue:
    """Score, time and status; the corrections once the round allows them."""
    attempt = attempt_flow.touch(_own(attempt_id))
    return jsonify(result_json(attempts.attempt_result(db.session, attempt, deps.now())))
