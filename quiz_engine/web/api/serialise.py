"""Turning service results into the API's JSON shapes (documented in openapi.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import url_for

from quiz_engine.models import Attempt, Round
from quiz_engine.services.taking.attempts import AttemptResult, PaperView


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def round_json(round_: Round, attempts_used: int | None = None) -> dict[str, Any]:
    left = None
    if attempts_used is not None and round_.max_attempts is not None:
        left = max(0, round_.max_attempts - attempts_used)
    return {
        "id": round_.id,
        "contest": {"slug": round_.contest.slug, "title": round_.contest.title},
        "title": round_.title,
        "opens_at": iso(round_.opens_at),
        "closes_at": iso(round_.closes_at),
        "time_limit_seconds": round_.time_limit_seconds,
        "question_count": round_.question_count(),
        "is_practice": round_.is_practice,
        "max_attempts": round_.max_attempts,
        "attempts_used": attempts_used,
        "attempts_left": left,
    }


def attempt_summary(attempt: Attempt) -> dict[str, Any]:
    return {
        "id": attempt.id,
        "round_id": attempt.round_id,
        "number": attempt.number,
        "status": attempt.status.value,
        "started_at": iso(attempt.started_at),
        "deadline_at": iso(attempt.deadline_at),
        "submitted_at": iso(attempt.submitted_at),
        "question_count": attempt.question_count,
        "correct_count": attempt.correct_count,
        "duration_ms": attempt.duration_ms,
        "links": {
            "paper": url_for("api.attempt_paper", attempt_id=attempt.id),
            "submit": url_for("api.attempt_submit", attempt_id=attempt.id),
            "result": url_for("api.attempt_result", attempt_id=attempt.id),
        },
    }


def paper_json(view: PaperView, csrf_token: str) -> dict[str, Any]:
    round_ = view.round
    prediction = None
    if round_.prediction_kind.value != "none":
        prediction = {
            "kind": round_.prediction_kind.value,
            "prompt": round_.prediction_prompt,
            "value": view.prediction,
            "save_url": url_for("api.save_prediction", round_id=round_.id, attempt_id=view.attempt.id),
        }
    return {
        **attempt_summary(view.attempt),
        "remaining_ms": view.remaining_ms,
        "saving_paused": view.saving_paused,
        "is_practice": round_.is_practice,
        "csrf_token": csrf_token,
        "questions": [
            {
                "position": q.position,
                "text": q.text,
                "multiple": q.multiple,
                "selected": q.selected,
                "choices": [{"id": position, "text": text} for position, text in q.choices],
                "save_url": url_for(
                    "api.save_answer", round_id=round_.id, attempt_id=view.attempt.id, position=q.position
                ),
            }
            for q in view.questions
        ],
        "prediction": prediction,
    }


def result_json(result: AttemptResult) -> dict[str, Any]:
    body = attempt_summary(result.attempt)
    body["review"] = (
        None
        if result.review is None
        else [
            {
                "position": r.position,
                "text": r.text,
                "selected": r.selected,
                "is_correct": r.is_correct,
                "explanation": r.explanation,
                "choices": [{"id": p, "text": t, "correct": c} for p, t, c in r.choices],
            }
            for r in result.review
        ]
    )
    body["prediction"] = result.attempt.prediction
    return body
