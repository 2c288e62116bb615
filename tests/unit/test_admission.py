"""Admission to start a round: a burst passes at once, then tickets are admitted in order at the rate, as
the caller's clock moves; a ticket is kept on asking again; resuming never queues; rate 0 turns it off."""

import random
from datetime import timedelta
from zoneinfo import ZoneInfo

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from quiz_engine.models import Attempt, AttemptStatus, utcnow
from quiz_engine.services.taking import admission, attempt_state, attempts
from quiz_engine.services.taking.admission import Admission
from tests import contest_fixture

PREFIX = "quiz"
ROUND = 7


def _ask(client, user_id, now, rate=2.0, burst=3, round_id=ROUND):  # type: ignore[no-untyped-def]
    return admission.admit(client, PREFIX, round_id=round_id, user_id=user_id, now=now, rate=rate, burst=burst)


def test_a_burst_passes_at_once_then_tickets_queue_in_order(redis_client) -> None:
    now = utcnow()
    assert [_ask(redis_client, u, now).admitted for u in (1, 2, 3)] == [True, True, True]
    # Beyond the burst, one ticket every 1/rate = 0.5 s, in the order asked.
    assert _ask(redis_client, 4, now) == Admission(False, 1, 500)
    assert _ask(redis_client, 5, now) == Admission(False, 2, 1000)
    assert _ask(redis_client, 6, now) == Admission(False, 3, 1500)
    assert _ask(redis_client, 6, now).wait_seconds == 2  # rounded up: what Retry-After says


def test_asking_again_keeps_the_place_and_time_admits_in_order(redis_client) -> None:
    now = utcnow()
    for user in (1, 2, 3, 4, 5):
        _ask(redis_client, user, now)
    later = now + timedelta(milliseconds=200)
    assert _ask(redis_client, 5, later) == Admission(False, 2, 800)  # the same ticket, nearer
    assert _ask(redis_client, 6, later) == Admission(False, 3, 1300)  # a newcomer goes behind
    at_half = now + timedelta(milliseconds=500)
    assert _ask(redis_client, 4, at_half).admitted
    assert _ask(redis_client, 5, at_half) == Admission(False, 1, 500)
    assert not _ask(redis_client, 6, now + timedelta(milliseconds=1499)).admitted
    assert _ask(redis_client, 5, now + timedelta(seconds=1)).admitted
    assert _ask(redis_client, 6, now + timedelta(milliseconds=1500)).admitted


def test_an_admitted_ticket_stays_admitted_then_lapses(redis_client) -> None:
    now = utcnow()
    for user in (1, 2, 3, 4):
        _ask(redis_client, user, now)
    assert _ask(redis_client, 4, now + timedelta(seconds=1)).admitted
    assert _ask(redis_client, 4, now + timedelta(minutes=9)).admitted  # retries and reloads pass
    # Ten minutes after it was due, the ticket has lapsed: the next ask takes a new one (no crowd: at once).
    back = now + admission.KEEP + timedelta(seconds=2)
    assert _ask(redis_client, 4, back).admitted
    due = float(redis_client.hget(admission.tickets_key(PREFIX, ROUND), "4"))
    assert due <= back.timestamp() * 1000 and due > (now + admission.KEEP).timestamp() * 1000


def test_the_burst_comes_back_after_a_quiet_spell(redis_client) -> None:
    now = utcnow()
    for user in range(1, 6):
        _ask(redis_client, user, now)
    quiet = now + timedelta(seconds=10)  # 3 / 2 per second = 1.5 s refills the whole burst
    assert [_ask(redis_client, u, quiet).admitted for u in (11, 12, 13, 14)] == [True, True, True, False]


def test_rounds_queue_separately_under_their_own_hash_tag_and_keys_expire(redis_client) -> None:
    now = utcnow()
    for user in (1, 2, 3, 4):
        _ask(redis_client, user, now)
    assert _ask(redis_client, 4, now, round_id=8).admitted  # another round: its own queue
    for key in (admission.tickets_key(PREFIX, ROUND), admission.last_key(PREFIX, ROUND)):
        assert f"{{r:{ROUND}}}" in key
        assert 0 < redis_client.pttl(key) <= (admission.KEEP + timedelta(seconds=1)).total_seconds() * 1000


def test_rate_zero_turns_admission_off(redis_client) -> None:
    now = utcnow()
    assert all(_ask(redis_client, u, now, rate=0, burst=1).admitted for u in range(1, 50))
    assert redis_client.keys("*adm*") == []


def test_admission_fails_open_when_redis_is_unreachable(tmp_path) -> None:
    dead = redis.Redis(unix_socket_path=str(tmp_path / "gone.sock"), retry=Retry(NoBackoff(), 0))
    assert _ask(dead, 1, utcnow(), rate=1, burst=1).admitted


def test_a_contestant_resuming_their_attempt_never_queues(session, redis_client) -> None:
    now = utcnow()
    setup = contest_fixture.build(session, now=now, per_paper=3)
    other = contest_fixture.register(session, setup.contest, "binh@example.vn")
    attempts.start_attempt(
        session, round_=setup.round, user_id=setup.user_id, now=now, tz=ZoneInfo("UTC"), rng=random.Random(1)
    )
    session.commit()

    def ask(user_id: int, round_id: int) -> Admission:
        return admission.admit_start(
            session, redis_client, PREFIX, round_id=round_id, user_id=user_id, now=now, rate=1, burst=1
        )

    assert ask(other, setup.round.id).admitted  # the burst
    assert not ask(other + 100, setup.round.id).admitted  # the queue is not empty now
    assert ask(setup.user_id, setup.round.id).admitted  # in progress here: straight back in
    assert redis_client.hget(admission.tickets_key(PREFIX, setup.round.id), str(setup.user_id)) is None
    # Asking to start another round only sends them back to the running attempt (nothing is written): no queue.
    assert ask(other, setup.round.id + 1).admitted  # that round's burst
    assert ask(setup.user_id, setup.round.id + 1).admitted
    session.execute(Attempt.__table__.update().values(status=AttemptStatus.SUBMITTED))
    session.commit()
    assert not ask(setup.user_id, setup.round.id).admitted  # nothing running any more: they queue like anyone


def test_an_attempt_open_in_redis_passes_the_queue_without_the_database(session, redis_client) -> None:
    """The gate asks Redis alone: opening an attempt marks it running in its round, closing it unmarks it."""
    now = utcnow()
    setup = contest_fixture.build(session, now=now, per_paper=3)
    attempt = attempts.start_attempt(
        session, round_=setup.round, user_id=setup.user_id, now=now, tz=ZoneInfo("UTC"), rng=random.Random(1)
    )
    session.commit()
    round_id, running = setup.round.id, attempt_state.running_key(PREFIX, setup.round.id)
    assert _ask(redis_client, 900, now, rate=1, burst=1, round_id=round_id).admitted  # the burst
    assert not _ask(redis_client, setup.user_id, now, rate=1, burst=1, round_id=round_id).admitted  # not marked yet

    attempts.open_state(session, redis_client, PREFIX, attempt)
    assert redis_client.hget(running, str(setup.user_id)) == str(attempt.id)
    assert redis_client.ttl(running) > 0
    assert _ask(redis_client, setup.user_id, now, rate=1, burst=1, round_id=round_id).admitted
    assert not _ask(redis_client, 901, now, rate=1, burst=1, round_id=round_id).admitted  # others still queue
    assert _ask(redis_client, 902, now, rate=1, burst=1, round_id=round_id + 1).admitted  # another round's burst
    assert not _ask(
        redis_client, setup.user_id, now, rate=1, burst=1, round_id=round_id + 1
    ).admitted  # marked here only

    attempt_state.close_and_read(redis_client, PREFIX, round_id, attempt.id)
    assert redis_client.hget(running, str(setup.user_id)) is None
    assert not _ask(redis_client, setup.user_id, now, rate=1, burst=1, round_id=round_id).admitted


def test_closing_an_older_attempt_keeps_the_newer_one_marked(redis_client) -> None:
    for attempt_id in (1, 2):  # the first one's time ran out, and it is closed after the second opened
        attempt_state.open_state(
            redis_client, PREFIX, round_id=ROUND, attempt_id=attempt_id, user_id=5, accept_until=utcnow(), layout="4"
        )
    attempt_state.close_and_read(redis_client, PREFIX, ROUND, 1)
    assert redis_client.hget(attempt_state.running_key(PREFIX, ROUND), "5") == "2"


def test_start_limits_count_once_admitted_and_refuse_past_them(redis_client) -> None:
    now, limits = utcnow(), ((2, 60),)
    ask = lambda user: admission.admit(  # noqa: E731
        redis_client, PREFIX, round_id=ROUND, user_id=user, now=now, rate=1.0, burst=1, limits=limits
    )
    assert ask(1).admitted
    assert [ask(2).admitted for _ in range(4)] == [False] * 4  # queued: asking again counts nothing
    now += timedelta(seconds=1)
    assert ask(2).admitted and ask(2).admitted  # admitted: two counted starts (the second a resume)
    refused = ask(2)
    assert refused.limited and not refused.admitted and 59_000 < refused.wait_ms <= 60_000
    assert refused.wait_seconds == 60
    off = admission.admit(redis_client, PREFIX, round_id=ROUND, user_id=3, now=now, rate=0, burst=1, limits=limits)
    assert off.admitted  # with the queue off the limit is still counted
    assert redis_client.get(admission.limit_key(PREFIX, ROUND, 3, 0)) == "1"


def test_capacity_adds_up_the_live_hosts_and_forgets_one_that_stopped(redis_client) -> None:
    now = utcnow()
    assert admission.live_cores(redis_client, PREFIX, host="app-1", cores=2, now=now) == 2
    assert admission.live_cores(redis_client, PREFIX, host="app-2", cores=4, now=now) == 6
    assert admission.live_cores(redis_client, PREFIX, host="app-1", cores=2, now=now) == 6  # a host counts once
    later = now + admission.HEARTBEAT_TTL + timedelta(seconds=1)
    assert admission.live_cores(redis_client, PREFIX, host="app-1", cores=2, now=later) == 2  # app-2 stopped
    assert redis_client.hkeys(admission.capacity_key(PREFIX)) == ["app-1"]
    assert admission.admission_rate(80.0, 6) == 480.0 and admission.admission_rate(80.0, 0) == 1.0


def test_an_admitted_start_takes_its_paper_in_the_same_script_and_no_one_else_does(redis_client) -> None:
    """``take_from``: the paper comes with the admission, so the start needs no LPOP of its own; a queued,
    limited or resuming contestant takes none, and an empty list gives none."""
    now, papers = utcnow(), "quiz:{r:7}:papers:all:abc"
    redis_client.rpush(papers, "1:0:0123", "2:0:3210")

    def ask(user: int, **kwargs) -> Admission:  # type: ignore[no-untyped-def]
        return admission.admit(
            redis_client, PREFIX, round_id=ROUND, user_id=user, now=now, rate=1.0, burst=1, take_from=papers, **kwargs
        )

    assert ask(1).paper == "1:0:0123"
    queued = ask(2)
    assert not queued.admitted and queued.paper is None
    redis_client.hset(attempt_state.running_key(PREFIX, ROUND), "3", "99")
    resumer = ask(3)
    assert resumer.admitted and resumer.paper is None  # resuming: no paper needed
    assert redis_client.lrange(papers, 0, -1) == ["2:0:3210"]
    now += timedelta(seconds=1)
    assert ask(2).paper == "2:0:3210"
    now += timedelta(seconds=5)
    last = ask(5)
    assert last.admitted and last.paper is None  # the list is empty
    redis_client.rpush(papers, "3:0:0123")
    now += timedelta(seconds=5)
    assert ask(4, limits=((0, 60),)).limited  # over their own limit: refused, nothing taken
    assert redis_client.lrange(papers, 0, -1) == ["3:0:0123"]
    off = admission.admit(redis_client, PREFIX, round_id=ROUND, user_id=6, now=now, rate=0, burst=1, take_from=papers)
    assert off.admitted and off.paper == "3:0:0123"  # with the queue off the script still runs for the paper
