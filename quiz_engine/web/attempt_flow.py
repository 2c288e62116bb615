"""The commit-then-Redis sequences shared by the attempt pages, the API and the CLI sweep.

Services flush; these helpers commit once and then apply the Redis side effects, in that order,
so Redis never holds state the database does not (STYLE.md §10.2).
"""

from __future__ import annotations

from datetime import datetime

import redis
from flask import current_app, request
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from quiz_engine.extensions import db, redis_client
from quiz_engine.models import Attempt, AttemptStatus, Round
from quiz_engine.services import admission, attempt_state, attempts, audit, scoring
from quiz_engine.web import deps


def start(round_: Round) -> Attempt:
    """Start (or resume) the current user's attempt in ``round_``.

    :raises admission.QueuedError: when the round is busy and this start must wait its turn; nothing
        has been written then (the queue is in Redis).
    """
    now = deps.now()
    if round_.is_open(now):  # a refusal (not open yet, closed) needs no place in the queue
        ticket = admission.admit_start(
            db.session,
            redis_client(),
            deps.redis_prefix(),
            round_id=round_.id,
            user_id=current_user.id,
            now=now,
            rate=float(current_app.config["ADMISSION_RATE"]),
            burst=int(current_app.config["ADMISSION_BURST"]),
        )
        if not ticket.admitted:
            raise admission.QueuedError(ticket)
    try:
        attempt = attempts.start_attempt(
            db.session,
            round_=round_,
            user_id=current_user.id,
            now=now,
            tz=deps.timezone(),
            ip_address=request.remote_addr,
            user_agent=request.headers.get("User-Agent"),
            client=redis_client(),
            prefix=deps.redis_prefix(),
        )
        audit.record(
            db.session,
            "attempt.start",
            now=now,
            actor_id=current_user.id,
            target=("attempt", attempt.id),
            origin=deps.origin(),
            round_id=round_.id,
        )
        db.session.commit()
    except IntegrityError:
        db.session.rollback()  # a simultaneous start won the race: both clicks get that attempt
        attempt = attempts.current_attempt(db.session, current_user.id)
        if attempt is None:
            raise
    attempts.open_state(db.session, redis_client(), deps.redis_prefix(), attempt)
    scoring.load_paper_key(db.session, redis_client(), deps.redis_prefix(), attempt)
    return attempt


def close(
    attempt: Attempt,
    *,
    client: redis.Redis,
    prefix: str,
    now: datetime,
    by_server: bool = False,
    sent_answers: dict[str, str] | None = None,
    origin: audit.Origin = audit.CLI,
) -> bool:
    """Close ``attempt`` once, commit, then score it into the boards; False if it was already closed."""
    closed = attempts.submit_attempt(
        db.session, client, prefix, attempt, now=now, by_server=by_server, sent_answers=sent_answers
    )
    if closed:
        audit.record(
            db.session,
            "attempt.submit",
            now=now,
            actor_id=attempt.user_id,
            target=("attempt", attempt.id),
            origin=origin,
            status=attempt.status.value,
            correct=attempt.correct_count,
        )
    db.session.commit()  # the record first: only then may Redis repeat it
    if closed and not scoring.apply_to_boards(db.session, client, prefix, attempt, now):
        db.session.commit()  # the stale mark, so the maintenance rebuilds this round's boards
    return closed


def submit(attempt: Attempt, *, by_server: bool = False, sent_answers: dict[str, str] | None = None) -> bool:
    """:func:`close` for a web request."""
    return close(
        attempt,
        client=redis_client(),
        prefix=deps.redis_prefix(),
        now=deps.now(),
        by_server=by_server,
        sent_answers=sent_answers,
        origin=deps.origin(),
    )


def touch(attempt: Attempt) -> Attempt:
    """On every visit: close an attempt whose time is up, or restore its Redis state if it went missing."""
    if attempt.status is not AttemptStatus.IN_PROGRESS:
        return attempt
    round_ = db.session.get(Round, attempt.round_id)
    if deps.now() > attempts.accept_until(attempt, round_):
        submit(attempt, by_server=True)
    else:
        try:
            if not attempt_state.has_state(redis_client(), deps.redis_prefix(), attempt.round_id, attempt.id):
                attempts.open_state(db.session, redis_client(), deps.redis_prefix(), attempt)
                scoring.load_paper_key(db.session, redis_client(), deps.redis_prefix(), attempt)
        except (redis.RedisError, OSError):
            pass  # Redis is away: submitting still works from the answers the browser sends
    return attempt
