"""The cheap start (services.starts): it records what the full start records, in the database before Redis,
and whenever it does not apply it declines with nothing written and no paper taken."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from quiz_engine.models import (
    Attempt,
    AttemptItem,
    AttemptStatus,
    AuditEvent,
    Question,
    Registration,
    User,
    utcnow,
)
from quiz_engine.services.catalogue import banks
from quiz_engine.services.organising import rounds
from quiz_engine.services.people import audit
from quiz_engine.services.results import leaderboards
from quiz_engine.services.taking import attempt_state, attempts, paper_pool, starts
from quiz_engine.services.taking.attempt_state import SaveResult
from tests import contest_fixture

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
PREFIX = "quiz"
SETTINGS = paper_pool.PoolSettings(lead=timedelta(hours=1), factor=1.0, minimum=1, maximum=100, batch=100)
ORIGIN = audit.Origin("203.0.113.7", "Zalo in-app browser")


def _prepare(session, redis_client, round_, count: int) -> paper_pool.Pool:  # type: ignore[no-untyped-def]
    paper_pool.prepare_round(
        session, redis_client, PREFIX, round_, settings=SETTINGS, now=utcnow(), rng=random.Random(5), count=count
    )
    pool = paper_pool.pool_for(PREFIX, round_, None)
    assert pool is not None
    return pool


def _stamp(session, user_id: int) -> str:  # type: ignore[no-untyped-def]
    return User.parse_session_id(session.get(User, user_id).get_id())[1]


def _quick(session, redis_client, setup, *, stamp=None, now=None, popped=None):  # type: ignore[no-untyped-def]
    return starts.quick_start(
        session,
        redis_client,
        PREFIX,
        round_id=setup.round.id,
        user_id=setup.user_id,
        stamp=stamp if stamp is not None else _stamp(session, setup.user_id),
        now=now or utcnow(),
        tz=TZ,
        origin=ORIGIN,
        popped=popped,
    )


def _rows(session) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    return (
        session.scalar(select(func.count(Attempt.id))),
        session.scalar(select(func.count(AttemptItem.id))),
        session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "attempt.start")),
    )


def test_a_quick_start_records_the_paper_the_audit_and_the_redis_state(session, redis_client) -> None:
    setup = contest_fixture.build(session, per_paper=5, multiple_every=3)
    pool = _prepare(session, redis_client, setup.round, count=2)
    expected = paper_pool.decode(redis_client.lindex(pool.list_key, 0), pool.items)
    now = utcnow()
    started = _quick(session, redis_client, setup, now=now)
    assert started is not None
    session.commit()
    starts.open_in_redis(session, redis_client, PREFIX, started)

    attempt = session.get(Attempt, started.attempt_id)
    registration = session.scalar(select(Registration).where(Registration.user_id == setup.user_id))
    assert (attempt.status, attempt.number, attempt.user_id) == (AttemptStatus.IN_PROGRESS, 1, setup.user_id)
    assert (attempt.unit_id, attempt.group_id) == (registration.unit_id, registration.group_id)
    assert attempt.started_at == now and attempt.deadline_at == now + timedelta(seconds=600)
    assert (attempt.question_count, attempt.ip_address, attempt.user_agent) == (5, "203.0.113.7", "Zalo in-app browser")
    assert [(i.position, i.question_version_id, i.choice_order) for i in attempt.items] == [
        (p.position, p.version_id, p.choice_order) for p in expected
    ]
    assert all(i.selected is None and i.is_correct is None and not i.is_void for i in attempt.items)
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "attempt.start"))
    assert (event.actor_id, event.target_type, event.target_id) == (setup.user_id, "attempt", attempt.id)
    assert (event.details, event.ip_address) == ({"round_id": setup.round.id}, "203.0.113.7")
    assert redis_client.llen(pool.list_key) == 1  # one pre-drawn paper taken

    state = redis_client.hgetall(attempt_state.attempt_key(PREFIX, setup.round.id, attempt.id))
    multiple = [len(i.question_version.correct_positions) > 1 for i in attempt.items]
    assert state["user"] == str(setup.user_id) and state["status"] == "open"
    assert state["layout"] == attempt_state.layout_of([4] * 5, multiple)
    accept_until = attempts.accept_until(attempt, setup.round)
    assert int(state["accept_until"]) == int(accept_until.timestamp() * 1000)
    keys = leaderboards.RoundKeys(PREFIX, setup.round.id)
    key = redis_client.hgetall(keys.answer_key)
    for item in attempt.items:
        assert key[str(item.question_version_id)] == ",".join(map(str, item.question_version.correct_positions))
    assert redis_client.hget(keys.stats, "started") == "1"
    assert redis_client.sismember(keys.started, str(attempt.id))

    # The attempt is as good as one the full path opened: answers save, and submitting scores them.
    first = attempt.items[0]
    saved = attempt_state.save_answer(
        redis_client,
        PREFIX,
        round_id=setup.round.id,
        attempt_id=attempt.id,
        user_id=setup.user_id,
        field="0",
        value=",".join(map(str, first.question_version.correct_positions)),
        now=utcnow(),
    )
    assert saved is SaveResult.SAVED
    assert attempts.submit_attempt(session, redis_client, PREFIX, attempt, now=utcnow())
    session.commit()
    assert (attempt.status, attempt.correct_count, attempt.scored_count) == (AttemptStatus.SUBMITTED, 1, 5)


def _attempt_running(session, redis_client, setup) -> None:  # type: ignore[no-untyped-def]
    attempts.start_attempt(session, round_=setup.round, user_id=setup.user_id, now=utcnow(), tz=TZ)
    session.commit()


def _not_registered(session, redis_client, setup) -> None:  # type: ignore[no-untyped-def]
    session.execute(Registration.__table__.delete())
    session.commit()


def _all_used(session, redis_client, setup) -> None:  # type: ignore[no-untyped-def]
    rules = rounds.rules_of(session, setup.round)
    rounds.update_round(session, setup.round, replace(rules, max_attempts=1), now=utcnow())
    attempt = attempts.start_attempt(session, round_=setup.round, user_id=setup.user_id, now=utcnow(), tz=TZ)
    session.commit()
    attempts.submit_attempt(session, redis_client, PREFIX, attempt, now=utcnow(), sent_answers={})
    session.commit()


def _signed_out(session, redis_client, setup) -> None:  # type: ignore[no-untyped-def]
    from quiz_engine.services.people import accounts

    accounts.end_sessions(session, session.get(User, setup.user_id))
    session.commit()


def _unpublished(session, redis_client, setup) -> None:  # type: ignore[no-untyped-def]
    setup.contest.is_published = False
    session.commit()


@pytest.mark.parametrize(
    "arrange",
    [_attempt_running, _not_registered, _all_used, _signed_out, _unpublished],
    ids=["attempt-running", "not-registered", "attempts-used-up", "signed-out", "unpublished"],
)
def test_outside_the_common_case_it_declines_with_nothing_written_or_taken(session, redis_client, arrange) -> None:
    setup = contest_fixture.build(session, per_paper=5)
    stamp = _stamp(session, setup.user_id)  # taken before a sign-out changes it: the session's copy
    arrange(session, redis_client, setup)
    pool = _prepare(session, redis_client, setup.round, count=3)
    before = _rows(session)
    assert _quick(session, redis_client, setup, stamp=stamp) is None
    session.rollback()
    assert _rows(session) == before
    assert redis_client.llen(pool.list_key) == 3


def test_a_paper_taken_by_the_admission_is_used_first_or_put_back(session, redis_client) -> None:
    """The gate's admission script may pop the paper (``pool_hint``): the start uses it if it is the contestant's
    pool, and puts it back at the head of its list when it declines or the pool is another one."""
    setup = contest_fixture.build(session, per_paper=5)
    pool = _prepare(session, redis_client, setup.round, count=3)
    assert starts.pool_hint(PREFIX, setup.round.id) is None  # nothing known of the round yet in this process
    head = redis_client.lindex(pool.list_key, 0)
    popped = starts.Popped(pool.list_key, redis_client.lpop(pool.list_key))
    assert _quick(session, redis_client, setup, now=setup.round.closes_at, popped=popped) is None
    session.rollback()
    assert redis_client.lrange(pool.list_key, 0, 0) == [head]  # declined: put back at the head

    other = starts.Popped(pool.list_key + ":old", "1:0:0123")  # from a pool this contestant does not use
    started = _quick(session, redis_client, setup, popped=other)
    assert started is not None and paper_pool.encode(started.paper) == head  # took its own pool's paper
    session.rollback()  # (not kept: the contestant starts again below)
    assert redis_client.lrange(other.list_key, 0, -1) == ["1:0:0123"]  # given back to its own list
    assert starts.pool_hint(PREFIX, setup.round.id) == pool.list_key  # the plan is cached now

    taken = redis_client.lindex(pool.list_key, 1)
    redis_client.lrem(pool.list_key, 1, taken)
    started = _quick(session, redis_client, setup, popped=starts.Popped(pool.list_key, taken))
    assert started is not None
    session.commit()
    assert paper_pool.encode(started.paper) == taken  # the admission's paper, not the list's head
    assert redis_client.llen(pool.list_key) == 1


def test_a_closed_round_or_an_empty_pool_declines(session, redis_client) -> None:
    setup = contest_fixture.build(session, per_paper=5)
    assert _quick(session, redis_client, setup) is None  # nothing pre-drawn: the full path draws live
    pool = _prepare(session, redis_client, setup.round, count=1)
    assert _quick(session, redis_client, setup, now=setup.round.closes_at) is None
    session.rollback()
    assert _rows(session) == (0, 0, 0) and redis_client.llen(pool.list_key) == 1


def test_stale_papers_are_discarded_never_handed_out(session, redis_client) -> None:
    setup = contest_fixture.build(session, per_paper=12)  # every question is on every paper
    pool = _prepare(session, redis_client, setup.round, count=3)
    question = session.scalar(select(Question).where(Question.code == "Q004"))
    banks.set_active(session, question, False, now=utcnow())
    session.commit()
    assert _quick(session, redis_client, setup) is None
    session.rollback()
    assert _rows(session) == (0, 0, 0)
    assert redis_client.llen(pool.list_key) == 0  # all three were stale: popped and not put back


@pytest.mark.parametrize("change", ["retired", "edited", "moved to another topic"])
def test_a_stale_paper_writes_nothing_and_the_next_good_one_is_used(session, redis_client, change) -> None:
    """The quick start checks a paper in the statement that writes it: a stale one leaves no row behind."""
    setup = contest_fixture.build(session, questions=13, per_paper=12)
    rules = rounds.rules_of(session, setup.round)
    rounds.update_round(
        session, setup.round, replace(rules, mix=(rounds.MixItem("bank", 12, topic="Chung"),)), now=utcnow()
    )
    session.commit()
    pool = _prepare(session, redis_client, setup.round, count=1)
    (stale,) = redis_client.lrange(pool.list_key, 0, -1)
    first_version = paper_pool.decode(stale, pool.items)[0].version_id
    question = session.scalar(select(Question).where(Question.current_version_id == first_version))
    if change == "retired":
        banks.set_active(session, question, False, now=utcnow())
    elif change == "edited":
        text = question.current_version.text
        edited = contest_fixture.bank_csv(13).decode().replace(text, text[:-1] + " (đã sửa)?").encode()
        bank = banks.get_or_create_bank(session, "bank")
        assert banks.import_file(session, bank, "bank.csv", edited, now=utcnow()).updated == 1
    else:
        session.execute(Question.__table__.update().where(Question.id == question.id).values(topic="Khác"))
    session.commit()
    assert _prepare(session, redis_client, setup.round, count=1).list_key == pool.list_key  # redrawn: one good paper
    redis_client.lpush(pool.list_key, stale)  # and the stale one ahead of it
    started = _quick(session, redis_client, setup)
    assert started is not None
    session.commit()
    assert _rows(session) == (1, 12, 1)  # one attempt: the stale paper wrote nothing
    assert first_version not in started.version_ids
    assert redis_client.llen(pool.list_key) == 0  # the stale paper was dropped, not put back
    written = session.scalars(select(AttemptItem.question_version_id).order_by(AttemptItem.position)).all()
    assert tuple(written) == started.version_ids


def test_an_edited_mix_is_followed_at_once(session, redis_client) -> None:
    """The round's plan is cached by its updated_at, which every edit sets: no stale mix is ever used."""
    setup = contest_fixture.build(session, per_paper=5)
    old = _prepare(session, redis_client, setup.round, count=2)
    first = _quick(session, redis_client, setup)
    assert first is not None and len(first.version_ids) == 5
    session.rollback()  # undo that start: the plan of the 5-question mix is now cached
    rules = rounds.rules_of(session, setup.round)
    rounds.update_round(session, setup.round, replace(rules, mix=(rounds.MixItem("bank", 4),)), now=utcnow())
    session.commit()
    assert _quick(session, redis_client, setup) is None  # the new mix has no papers yet: the old ones are not used
    session.rollback()
    assert redis_client.llen(old.list_key) == 1
    _prepare(session, redis_client, setup.round, count=1)
    again = _quick(session, redis_client, setup)
    assert again is not None and len(again.version_ids) == 4
