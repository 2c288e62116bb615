"""The OpenAPI 3.1 description of /api/v1/, served at /api/v1/openapi.json.

Tests validate the real responses against these schemas, so the document cannot drift.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue

from quiz_engine import __version__
from quiz_engine.web.api.blueprint import bp

_STR, _INT, _BOOL = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
_TIME = {"type": ["string", "null"], "format": "date-time"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(required: list[str], **properties: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties}


def _nullable_int() -> dict[str, Any]:
    return {"type": ["integer", "null"]}


SCHEMAS: dict[str, Any] = {
    "Error": _obj(["error", "code", "status"], error=_STR, code=_STR, status=_INT),
    "Queued": {
        "allOf": [
            _ref("Error"),
            _obj(
                ["queue"],
                code={"const": "queued"},
                queue=_obj(
                    ["position", "wait_seconds", "wait_ms"],
                    position={"type": "integer", "minimum": 1},
                    wait_seconds={"type": "integer", "minimum": 1},
                    wait_ms={"type": "integer", "minimum": 0, "description": "The exact wait: come back after it"},
                ),
            ),
        ]
    },
    "Round": _obj(
        ["id", "contest", "title", "opens_at", "closes_at", "time_limit_seconds", "question_count", "is_practice"],
        id=_INT,
        contest=_obj(["slug", "title"], slug=_STR, title=_STR),
        title=_STR,
        opens_at=_TIME,
        closes_at=_TIME,
        time_limit_seconds=_INT,
        question_count=_INT,
        is_practice=_BOOL,
        max_attempts=_nullable_int(),
        attempts_used=_nullable_int(),
        attempts_left=_nullable_int(),
    ),
    "AttemptSummary": _obj(
        ["id", "round_id", "number", "status", "started_at", "deadline_at", "question_count", "links"],
        id=_INT,
        round_id=_INT,
        number=_INT,
        status={"type": "string", "enum": ["in_progress", "submitted", "expired", "void"]},
        started_at=_TIME,
        deadline_at=_TIME,
        submitted_at=_TIME,
        question_count=_INT,
        correct_count=_nullable_int(),
        duration_ms=_nullable_int(),
        links=_obj(["paper", "submit", "result"], paper=_STR, submit=_STR, result=_STR),
    ),
    "Choice": {**_obj(["id", "text"], id=_INT, text=_STR), "additionalProperties": False},
    "Question": {
        **_obj(
            ["position", "text", "multiple", "selected", "choices", "save_url"],
            position=_INT,
            text=_STR,
            multiple=_BOOL,
            selected={"type": "array", "items": _INT},
            choices={"type": "array", "items": _ref("Choice")},
            save_url=_STR,
        ),
        "additionalProperties": False,
    },
    "Paper": {
        "allOf": [
            _ref("AttemptSummary"),
            _obj(
                ["remaining_ms", "saving_paused", "is_practice", "csrf_token", "questions", "prediction"],
                remaining_ms=_INT,
                saving_paused={**_BOOL, "description": "Redis was away: the answers are those the database holds"},
                is_practice=_BOOL,
                csrf_token=_STR,
                questions={"type": "array", "items": _ref("Question")},
                prediction={
                    "oneOf": [
                        {"type": "null"},
                        _obj(
                            ["kind", "prompt", "value", "save_url"],
                            kind=_STR,
                            prompt=_STR,
                            value=_nullable_int(),
                            save_url=_STR,
                        ),
                    ]
                },
            ),
        ]
    },
    "Saved": _obj(
        ["saved", "status"],
        saved=_BOOL,
        status={"type": "string", "enum": ["saved", "unchanged"]},
        feedback=_obj(["correct", "explanation"], correct={"type": "array", "items": _INT}, explanation=_STR),
    ),
    "ReviewItem": _obj(
        ["position", "text", "selected", "is_correct", "explanation", "choices"],
        position=_INT,
        text=_STR,
        selected={"type": "array", "items": _INT},
        is_correct=_BOOL,
        explanation=_STR,
        choices={"type": "array", "items": _obj(["id", "text", "correct"], id=_INT, text=_STR, correct=_BOOL)},
    ),
    "Result": {
        "allOf": [
            _ref("AttemptSummary"),
            _obj(
                ["review", "prediction"],
                prediction=_nullable_int(),
                review={"oneOf": [{"type": "null"}, {"type": "array", "items": _ref("ReviewItem")}]},
                already_submitted=_BOOL,
            ),
        ]
    },
}


def _response(schema: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


_ERRORS = {
    str(code): _response("Error", text)
    for code, text in (
        (400, "Malformed request"),
        (401, "Not signed in"),
        (404, "No such attempt for this user"),
        (409, "Refused by the contest rules (closed, late, limit reached, not registered)"),
        (422, "Answer outside the question's choices"),
        (503, "Answer store unavailable; retry"),
    )
}
_ID = {"in": "path", "required": True, "schema": _INT}


def _operation(
    summary: str, ok: dict[str, Any], *params: str, body: dict[str, Any] | None = None, ok_code: str = "200"
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "responses": {ok_code: ok, **_ERRORS},
        "parameters": [{"name": p, **_ID} for p in params],
    }
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return operation


def _with_queue(operation: dict[str, Any]) -> dict[str, Any]:
    """A start may be queued when many start at once: 503 with ``Retry-After`` (seconds) and the place in line."""
    queued = _response(
        "Queued",
        "The round is busy: not started yet and nothing recorded. Ask again after Retry-After seconds; "
        "the place in the queue is kept, and once admitted the start goes through.",
    )
    queued["headers"] = {
        "Retry-After": {"description": "Seconds to wait before asking again", "schema": {"type": "integer"}}
    }
    operation["responses"]["503"] = queued
    return operation


DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "quiz_engine contestant API",
        "version": __version__,
        "description": "Session-cookie authentication; state-changing calls need the X-CSRFToken header "
        "(the token is in every paper response). Times are UTC (ISO 8601).",
    },
    "paths": {
        "/api/v1/rounds": {
            "get": _operation(
                "Rounds open now",
                {
                    "description": "Open rounds",
                    "content": {
                        "application/json": {
                            "schema": _obj(["rounds"], rounds={"type": "array", "items": _ref("Round")})
                        }
                    },
                },
            )
        },
        "/api/v1/rounds/{round_id}/attempts": {
            "post": _with_queue(
                _operation(
                    "Start an attempt (or get the one in progress)",
                    _response("AttemptSummary", "The attempt"),
                    "round_id",
                    ok_code="201",
                )
            )
        },
        "/api/v1/attempts/{attempt_id}": {
            "get": _operation("The paper, saved answers and time left", _response("Paper", "The paper"), "attempt_id")
        },
        "/api/v1/rounds/{round_id}/attempts/{attempt_id}/answers/{position}": {
            "put": _operation(
                "Autosave one answer (idempotent)",
                _response("Saved", "Stored"),
                "round_id",
                "attempt_id",
                "position",
                body=_obj(
                    ["choices"], choices={"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 5}}
                ),
            )
        },
        "/api/v1/rounds/{round_id}/attempts/{attempt_id}/prediction": {
            "put": _operation(
                "Autosave the prediction",
                _response("Saved", "Stored"),
                "round_id",
                "attempt_id",
                body=_obj(["value"], value={"type": "integer", "minimum": 0, "maximum": 1_000_000_000}),
            )
        },
        "/api/v1/attempts/{attempt_id}/submit": {
            "post": _operation("Submit (accepted once)", _response("Result", "The result"), "attempt_id")
        },
        "/api/v1/attempts/{attempt_id}/result": {
            "get": _operation(
                "Score, time, status and (once allowed) the corrections",
                _response("Result", "The result"),
                "attempt_id",
            )
        },
    },
    "components": {"schemas": SCHEMAS},
}


@bp.get("/openapi.json")
def openapi_document() -> ResponseReturnValue:
    """This API's OpenAPI 3.1 document."""
    return jsonify(DOCUMENT)
