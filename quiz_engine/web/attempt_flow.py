"""The commit-then-Redis sequences shared by the attempt pages, the API and the CLI sweep.

Services flush; these helpers commit once and then apply the Redis side effects, in that order,
so Redis never holds state the database does not (STYLE.md §10.2).
"""

from __future__ import annotations

import contextlib
from datetime import datetime

import redis
from flask import g, request, session
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from quiz_engine.extensions import db, redis_client
from quiz_engine.models import Attempt, AttemptStatus, Round, User
from quiz_engine.services.people import audit
from quiz_engine.services.results import scoring
from quiz_engine.services.taking import admission, attempt_state, attempts, starts
from quiz_engine.web import deps


def quick_start(round_id: int) -> starts.QuickStart | None:
    """Start the common case cheaply (:mod:`quiz_engine.services.taking.starts`); return what was started.

    Only for a contestant the start gate admitted in this request (so the queue was asked) and whose
    signed session names the account; the service checks the session's stamp itself, so the account is
    not loaded. None whenever :func:`start` must run instead (behind ``login_required``), with nothing
    written.
    """
    user_id, stamp = User.parse_session_id(session.get("_user_id"))
    if user_id is None or g.get("quiz_start_admitted") != user_id:
        return None
    try:
        started = starts.quick_start(
            db.session,
            redis_client(),
            deps.redis_prefix(),
            round_id=round_id,
            user_id=user_id,
            stamp=stamp,
            now=deps.now(),
            tz=deps.timezone(),
            origin=deps.origin(),
            popped=g.pop("quiz_start_paper", None),
        )
        if started is None:
            db.session.rollback()
            return None
        db.session.commit()  # the record first: the 2xx follows only a committed start
    except IntegrityError:
        db.session.rollback()  # a simultaneous start won the race: the full path returns that attempt
        return None
    # Recorded already; if Redis is away the paper page restores the state when it is back (touch).
    with contextlib.suppress(redis.RedisError, OSError):
        starts.open_in_redis(db.session, redis_client(), deps.redis_prefix(), started)
    return started


def start(round_: Round) -> Attempt:
    """Start (or resume) the current user's attempt in ``round_``.

    :raises admission.QueuedError: when the round is busy and this start must wait its turn; nothing
        has been written then (the queue is in Redis).
    """
    now = deps.now()
    if round_.is_open(now):  # a refusal (not open yet, closed) needs no place in the queue
        rate, burst = deps.admission_limits()
        ticket = admission.admit_start(
            db.session,
            redis_client(),
            deps.redis_prefix(),
            round_id=round_.id,
            user_id=current_user.id,
            now=now,
            rate=rate,
            burst=burst,
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
    # Held here, so the session's (weak) identity map keeps it: closing and scoring read it without a query.
    round_ = db.session.get(Round, attempt.round_id)
    voided = attempts.voids(db.session, attempt.round_id)  # read once: for the marks and for the board's key
    closed = attempts.submit_attempt(
        db.session, client, prefix, attempt, now=now, by_server=by_server, sent_answers=sent_answers, voided=voided
    )
    # Taken before the commit expires what is loaded, so scoring into the boards reads nothing again.
    entry = scoring.board_entry(db.session, attempt, round_, voided) if closed else None
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
    if entry is not None and not scoring.apply_entry(db.session, client, prefix, entry, now):
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
