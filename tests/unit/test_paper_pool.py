"""Papers drawn ahead of time: they obey the mix, are taken once each, stale ones are never used, and the
maintenance tops the pools up in bounded batches."""

import csv
import io
import random
import threading
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import func, select

from quiz_engine.extensions import db
from quiz_engine.models import Attempt, Contest, Difficulty, Question, QuestionVersion, Round, utcnow
from quiz_engine.services.catalogue import banks
from quiz_engine.services.organising import rounds
from quiz_engine.services.taking import attempts, paper_pool, papers
from tests import contest_fixture

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
PREFIX = "quiz"
SETTINGS = paper_pool.PoolSettings(lead=timedelta(hours=1), factor=0.5, minimum=20, maximum=5000, batch=2000)


def _pool(round_: Round, group_id: int | None = None) -> paper_pool.Pool:
    pool = paper_pool.pool_for(PREFIX, round_, group_id)
    assert pool is not None
    return pool


def _entries(redis_client, pool: paper_pool.Pool) -> list[str]:  # type: ignore[no-untyped-def]
    return redis_client.lrange(pool.list_key, 0, -1)


def _prepare(session, redis_client, round_, count=None, seed=1, **kwargs):  # type: ignore[no-untyped-def]
    return paper_pool.prepare_round(
        session,
        redis_client,
        PREFIX,
        round_,
        settings=kwargs.pop("settings", SETTINGS),
        now=kwargs.pop("now", utcnow()),
        rng=random.Random(seed),
        count=count,
        **kwargs,
    )


def _start(session, round_, user_id, redis_client, now=None):  # type: ignore[no-untyped-def]
    attempt = attempts.start_attempt(
        session,
        round_=round_,
        user_id=user_id,
        now=now or utcnow(),
        tz=TZ,
        rng=random.Random(99),
        client=redis_client,
        prefix=PREFIX,
    )
    session.commit()
    return attempt


def _paper_of(attempt: Attempt) -> list[tuple[int, list[int]]]:
    return [(i.question_version_id, list(i.choice_order)) for i in sorted(attempt.items, key=lambda i: i.position)]


def _decoded(raw: str, pool: paper_pool.Pool) -> list[tuple[int, list[int]]]:
    paper = paper_pool.decode(raw, pool.items)
    assert paper is not None
    return [(p.version_id, p.choice_order) for p in paper]


def _mixed_bank_csv() -> bytes:
    """Questions on two topics and three difficulties: T1 has 6 easy and 4 hard, T2 has 6 medium."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(contest_fixture.HEADER)
    rows = [("T1", "dễ")] * 6 + [("T1", "khó")] * 4 + [("T2", "trung bình")] * 6
    for i, (topic, level) in enumerate(rows):
        writer.writerow([f"M{i:02d}", topic, level, f"Câu {i}?", "A", "B", "C", "D", "A", ""])
    return out.getvalue().encode()


def test_papers_drawn_ahead_obey_each_groups_mix(session, redis_client) -> None:
    setup = contest_fixture.build(session)
    bank = banks.get_or_create_bank(session, "mixed", "Trộn")
    banks.import_file(session, bank, "mixed.csv", _mixed_bank_csv(), now=utcnow())
    mix = [
        rounds.MixItem("mixed", 2, topic="T1", difficulty="hard"),
        rounds.MixItem("mixed", 3, topic="T1"),
        rounds.MixItem("mixed", 2, topic="T2"),
        rounds.MixItem("mixed", 4, difficulty="medium", group_code="can-bo"),
    ]
    rules = rounds.rules_of(session, setup.round)
    rounds.update_round(session, setup.round, replace(rules, mix=tuple(mix)), now=utcnow())
    session.commit()
    report = _prepare(session, redis_client, setup.round, count=30)
    assert (report.added, report.ready, report.target) == (60, 60, 60)
    officials, common = setup.contest.groups[0].id, setup.contest.groups[1].id
    assert _pool(setup.round, officials).group_id == officials
    assert _pool(setup.round, common).group_id is None  # no mix of its own: the common pool
    questions = {
        v: (q.topic, q.difficulty, q.is_active)
        for v, q in session.execute(select(QuestionVersion.id, Question).join(Question.versions))
    }
    for pool, wanted in ((_pool(setup.round, officials), {("T2", Difficulty.MEDIUM): 4}), (_pool(setup.round), None)):
        entries = _entries(redis_client, pool)
        assert len(entries) == 30
        for raw in entries:
            paper = paper_pool.decode(raw, pool.items)
            assert paper is not None
            versions = [p.version_id for p in paper]
            assert len(set(versions)) == len(versions)  # no repeats
            assert all(sorted(p.choice_order) == [0, 1, 2, 3] for p in paper)
            assert all(questions[v][2] for v in versions)
            if wanted is not None:
                assert Counter(questions[v][:2] for v in versions) == wanted
            else:
                topics = Counter(questions[v][0] for v in versions)
                hard = sum(questions[v][:2] == ("T1", Difficulty.HARD) for v in versions)
                assert topics == {"T1": 5, "T2": 2} and hard >= 2
        assert len(set(entries)) > 1  # shuffled, not one paper copied
    assert redis_client.ttl(_pool(setup.round).list_key) > 0
    assert f"{{r:{setup.round.id}}}" in _pool(setup.round).list_key


def test_encoding_round_trips_and_rejects_what_does_not_fit(session) -> None:
    setup = contest_fixture.build(session, per_paper=3)
    items = papers.mix_for_group(setup.round, None)
    paper = papers.draw_paper(session, setup.round, None, random.Random(3))
    raw = paper_pool.encode(paper)
    assert raw is not None and raw.count(";") == 2
    assert paper_pool.decode(raw, items) == paper
    for broken in ("", "x:0:0123", "1:0:0123;2:0:0123", "1:5:0123;2:0:0123;3:0:0123", "1:0:;2:0:01;3:0:01"):
        assert paper_pool.decode(broken, items) is None


def test_starts_take_pre_drawn_papers_in_turn_and_draw_live_when_none_is_left(session, redis_client) -> None:
    setup = contest_fixture.build(session, per_paper=5)
    second = contest_fixture.register(session, setup.contest, "binh@example.vn")
    third = contest_fixture.register(session, setup.contest, "chi@example.vn")
    _prepare(session, redis_client, setup.round, count=2)
    # The second contestant is in the other group, which has no mix of its own: one common pool.
    pool = _pool(setup.round)
    entries = _entries(redis_client, pool)
    assert len(entries) == 2
    first_attempt = _start(session, setup.round, setup.user_id, redis_client)
    second_attempt = _start(session, setup.round, second, redis_client)
    assert _paper_of(first_attempt) == _decoded(entries[0], pool)
    assert _paper_of(second_attempt) == _decoded(entries[1], pool)
    assert _paper_of(first_attempt) != _paper_of(second_attempt)
    assert redis_client.llen(pool.list_key) == 0
    live = _start(session, setup.round, third, redis_client)  # the pool is empty: drawn live
    assert len(live.items) == 5 and len({i.question_version_id for i in live.items}) == 5


def test_concurrent_takers_never_share_a_paper(app, session, redis_client) -> None:
    setup = contest_fixture.build(session, per_paper=5)
    _prepare(session, redis_client, setup.round, count=60)
    pool = _pool(setup.round)
    before = Counter(_entries(redis_client, pool))
    round_id = setup.round.id
    taken: list[str] = []
    lock = threading.Lock()

    def take() -> None:
        with app.app_context():
            round_ = db.session.get(Round, round_id)
            while (paper := paper_pool.take_paper(db.session, redis_client, PREFIX, round_, None)) is not None:
                with lock:
                    taken.append(paper_pool.encode(paper))  # type: ignore[arg-type]
            db.session.remove()

    threads = [threading.Thread(target=take) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Counter(taken) == before and len(taken) == 60  # each paper exactly once


def test_a_paper_with_a_retired_question_is_discarded_not_used(session, redis_client) -> None:
    setup = contest_fixture.build(session, per_paper=5)
    _prepare(session, redis_client, setup.round, count=1)
    pool = _pool(setup.round)
    (raw,) = _entries(redis_client, pool)
    retired_version = _decoded(raw, pool)[0][0]
    question = session.scalar(select(Question).where(Question.current_version_id == retired_version))
    banks.set_active(session, question, False, now=utcnow())
    session.commit()
    attempt = _start(session, setup.round, setup.user_id, redis_client)
    assert retired_version not in {i.question_version_id for i in attempt.items}
    assert len(attempt.items) == 5  # drawn live instead
    assert redis_client.llen(pool.list_key) == 0  # the stale paper is gone, not put back


def test_a_paper_with_an_edited_question_is_discarded(session, redis_client) -> None:
    setup = contest_fixture.build(session, per_paper=12)  # every question is on every paper
    _prepare(session, redis_client, setup.round, count=3)
    pool = _pool(setup.round)
    edited = contest_fixture.bank_csv(12).replace("Câu hỏi số 3?".encode(), "Câu hỏi số 3 (đã sửa)?".encode())
    bank = banks.get_or_create_bank(session, "bank")
    assert banks.import_file(session, bank, "bank.csv", edited, now=utcnow()).updated == 1
    session.commit()
    assert paper_pool.take_paper(session, redis_client, PREFIX, setup.round, None) is None
    assert redis_client.llen(pool.list_key) == 0  # all three tried (STALE_TRIES) and discarded
    attempt = _start(session, setup.round, setup.user_id, redis_client)
    new_version = session.scalar(select(Question.current_version_id).where(Question.code == "Q003"))
    assert new_version in {i.question_version_id for i in attempt.items}


def test_a_question_moved_to_another_topic_makes_its_papers_stale(session, redis_client) -> None:
    """Topic and difficulty are not part of a version: the check compares them with the mix item."""
    setup = contest_fixture.build(session, per_paper=12)
    rules = rounds.rules_of(session, setup.round)
    mix = (rounds.MixItem("bank", 12, topic="Chung"),)
    rounds.update_round(session, setup.round, replace(rules, mix=mix), now=utcnow())
    session.commit()
    _prepare(session, redis_client, setup.round, count=1)
    session.execute(Question.__table__.update().where(Question.code == "Q005").values(topic="Khác"))
    session.commit()
    assert paper_pool.take_paper(session, redis_client, PREFIX, setup.round, None) is None


def test_topping_up_refreshes_a_pool_whose_questions_changed(session, redis_client) -> None:
    setup = contest_fixture.build(session, per_paper=5)
    _prepare(session, redis_client, setup.round, count=10)
    assert _prepare(session, redis_client, setup.round, count=10).added == 0  # full and fresh: nothing to do
    question = session.scalar(select(Question).where(Question.code == "Q000"))
    retired = question.current_version_id
    banks.set_active(session, question, False, now=utcnow())
    session.commit()
    report = _prepare(session, redis_client, setup.round, count=10)
    assert (report.refreshed, report.added, report.ready) == (1, 10, 10)
    pool = _pool(setup.round)
    assert all(retired not in {v for v, _ in _decoded(raw, pool)} for raw in _entries(redis_client, pool))


def test_editing_the_mix_leaves_the_old_papers_behind(session, redis_client) -> None:
    setup = contest_fixture.build(session, per_paper=5)
    _prepare(session, redis_client, setup.round, count=5)
    old = _pool(setup.round)
    rules = rounds.rules_of(session, setup.round)
    rounds.update_round(session, setup.round, replace(rules, mix=(rounds.MixItem("bank", 4),)), now=utcnow())
    session.commit()
    assert _pool(setup.round).list_key != old.list_key
    assert paper_pool.take_paper(session, redis_client, PREFIX, setup.round, None) is None
    assert redis_client.llen(old.list_key) == 5  # never read again; it expires with the round
    assert len(_start(session, setup.round, setup.user_id, redis_client).items) == 4


def test_a_start_draws_live_when_redis_is_unreachable(session, tmp_path) -> None:
    setup = contest_fixture.build(session, per_paper=5)
    dead = redis.Redis(unix_socket_path=str(tmp_path / "gone.sock"), retry=Retry(NoBackoff(), 0))
    attempt = _start(session, setup.round, setup.user_id, dead)
    assert len(attempt.items) == 5
    with pytest.raises(paper_pool.PoolUnavailableError):
        _prepare(session, dead, setup.round, count=3)


def test_targets_follow_registrations_within_bounds() -> None:
    assert [SETTINGS.target(n) for n in (0, 10, 41, 1000, 20_000)] == [20, 20, 21, 500, 5000]


def test_maintenance_tops_up_due_rounds_soonest_first_in_bounded_batches(session, redis_client) -> None:
    now = utcnow()
    setup = contest_fixture.build(session, now=now, per_paper=5)
    rules = rounds.rules_of(session, setup.round)
    soon = rounds.add_round(
        session,
        setup.contest,
        replace(rules, title="Tuần 2", opens_at=now + timedelta(minutes=30), closes_at=now + timedelta(days=8)),
        now=now,
    )
    later = rounds.add_round(
        session,
        setup.contest,
        replace(rules, title="Tuần 3", opens_at=now + timedelta(hours=2), closes_at=now + timedelta(days=9)),
        now=now,
    )
    session.commit()
    settings = paper_pool.PoolSettings(lead=timedelta(hours=1), factor=0.5, minimum=20, maximum=100, batch=30)

    def run() -> dict[int, int]:
        return paper_pool.top_up_due(session, redis_client, PREFIX, settings=settings, now=now, rng=random.Random(5))

    assert run() == {setup.round.id: 20, soon.id: 10}  # open first, then the one opening soon; 30 in all
    assert run() == {soon.id: 10}
    assert run() == {}
    assert redis_client.llen(_pool(later).list_key) == 0  # opens beyond the lead: not yet
    assert redis_client.llen(_pool(soon).list_key) == 20
    session.execute(Contest.__table__.update().values(is_published=False))
    session.commit()
    assert paper_pool.rounds_due(session, now, settings.lead) == []  # unpublished contests are left alone


def test_a_closed_round_is_not_prepared(session, redis_client) -> None:
    setup = contest_fixture.build(session, per_paper=5)
    with pytest.raises(paper_pool.ValidationError):
        _prepare(session, redis_client, setup.round, count=3, now=setup.round.closes_at)
    assert session.scalar(select(func.count()).select_from(Attempt)) == 0
