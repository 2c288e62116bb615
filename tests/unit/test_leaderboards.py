"""Live boards in Redis: scoring, ranks and ties, counting policies, idempotence, rebuild, and the
property that the Redis ranking always equals a plain ranking computed from the database."""

from datetime import timedelta

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.crc import key_slot
from sqlalchemy import delete, select

from quiz_engine.models import (
    Attempt,
    AttemptItem,
    AttemptStatus,
    CountingPolicy,
    QuestionVersion,
    Round,
    Unit,
    UnitKind,
    utcnow,
)
from quiz_engine.services.organising.units import UnitSpec, import_units
from quiz_engine.services.people import accounts
from quiz_engine.services.results import leaderboards, scoring
from quiz_engine.services.results.leaderboards import RoundKeys
from quiz_engine.services.taking import attempt_state
from tests import contest_fixture

PREFIX = "quiz"
QUESTIONS = 5


def _board_order(client: redis.Redis, round_id: int) -> list[tuple[int, int]]:
    """(rank, user id) from the first place down (contestants sharing a rank in user-id order)."""
    return sorted((e.rank, e.user_id) for e in leaderboards.top(client, RoundKeys(PREFIX, round_id).board, 1000))


def _plain_order(closed: list[leaderboards.ClosedAttempt], policy: str) -> list[tuple[int, int]]:
    """The same ranking in plain Python: sort by (correct, -time, -submission), ties share a rank."""
    chosen = sorted(
        leaderboards.counting_attempts(closed, policy).values(),
        key=lambda a: (-a.correct, a.duration_ms // 10, a.submitted_s, -a.user_id),
    )
    order, last, rank = [], None, 0
    for index, a in enumerate(chosen, start=1):
        value = (a.correct, a.duration_ms // 10, a.submitted_s)
        rank = rank if value == last else index
        order.append((rank, a.user_id))
        last = value
    return sorted(order)


class World:
    """A round with a few contestants, where attempts with chosen outcomes can be written and scored."""

    def __init__(self, session, client: redis.Redis, users: int = 5) -> None:  # type: ignore[no-untyped-def]
        now = utcnow()
        self.session, self.client = session, client
        setup = contest_fixture.build(session, now=now, questions=QUESTIONS, per_paper=QUESTIONS)
        self.round = setup.round
        self.users = [setup.user_id] + [
            accounts.create_user(
                session, full_name=f"Người {i}", email=f"u{i}@example.vn", password="mat-khau-123", now=now
            ).id
            for i in range(users - 1)
        ]
        self.versions = [int(v) for v in session.scalars(select(QuestionVersion.id).order_by(QuestionVersion.id))][
            :QUESTIONS
        ]
        self.right = {v: session.get(QuestionVersion, v).correct_positions[0] for v in self.versions}
        leaderboards.load_answer_key(
            client, PREFIX, self.round.id, scoring.key_entries(session, self.round.id, self.versions)
        )
        import_units(session, [UnitSpec(f"U{i}", f"Đơn vị {i}", UnitKind.COMMUNE, None, 10, i) for i in range(3)])
        session.commit()
        self.units = list(session.scalars(select(Unit.id).order_by(Unit.id)))
        self.next_number: dict[int, int] = {}

    def attempt(
        self, user_index: int, correct: int, duration_s: int, submitted_after_s: int, unit: int | None = None
    ) -> Attempt:
        """A closed attempt in the database with ``correct`` right answers saved in Redis, then scored."""
        user = self.users[user_index]
        self.next_number[user] = self.next_number.get(user, 0) + 1
        submitted = self.round.opens_at + timedelta(seconds=submitted_after_s)
        started = submitted - timedelta(seconds=duration_s)
        row = Attempt(
            round_id=self.round.id,
            user_id=user,
            number=self.next_number[user],
            status=AttemptStatus.SUBMITTED,
            started_at=started,
            deadline_at=submitted + timedelta(minutes=5),
            submitted_at=submitted,
            duration_ms=duration_s * 1000,
            question_count=QUESTIONS,
            correct_count=correct,
            scored_count=QUESTIONS,
            unit_id=unit,
            items=[
                AttemptItem(
                    position=p,
                    question_version_id=v,
                    choice_order=[0, 1, 2, 3],
                    selected=[0 if p < correct else 1],
                    is_correct=p < correct,
                )
                for p, v in enumerate(self.versions)
            ],
        )
        self.session.add(row)
        self.session.commit()
        answers = attempt_state.answers_key(PREFIX, self.round.id, row.id)
        ms = int(started.timestamp() * 1000)
        self.client.hset(
            answers, mapping={str(p): f"{self._answer(p, v, correct)}|{ms}" for p, v in enumerate(self.versions)}
        )
        leaderboards.score_attempt(
            self.client,
            PREFIX,
            self.round.id,
            self.round.counting_policy.value,
            leaderboards.ScoredAttempt(
                row.id, user, unit, submitted + timedelta(minutes=5), row.duration_ms, submitted_after_s, self.versions
            ),
        )
        return row

    def _answer(self, position: int, version: int, correct: int) -> int:
        """The right choice for the first ``correct`` questions, a wrong one after."""
        right = self.right[version]
        return right if position < correct else (right + 1) % 4

    def reset(self, policy: CountingPolicy) -> None:
        self.session.execute(delete(Attempt).where(Attempt.round_id == self.round.id))
        self.round.counting_policy = policy
        self.session.commit()
        keys = RoundKeys(PREFIX, self.round.id)
        for name in self.client.scan_iter(match=f"{PREFIX}:{{r:{self.round.id}}}:*"):
            if name != keys.answer_key:
                self.client.delete(name)
        self.next_number = {}


@pytest.fixture
def world(session, redis_client):  # type: ignore[no-untyped-def]
    return World(session, redis_client)


def test_scores_order_the_board_and_ties_share_a_rank(world) -> None:
    world.attempt(0, correct=3, duration_s=100, submitted_after_s=1000)
    world.attempt(1, correct=5, duration_s=300, submitted_after_s=1000)
    world.attempt(2, correct=3, duration_s=90, submitted_after_s=2000)
    world.attempt(3, correct=3, duration_s=100, submitted_after_s=1000)  # the same as user 0 in every respect
    users = world.users
    assert _board_order(world.client, world.round.id) == [(1, users[1]), (2, users[2]), (3, users[0]), (3, users[3])]
    entry, total = leaderboards.rank_of(world.client, RoundKeys(PREFIX, world.round.id).board, users[3])
    assert (entry.rank, entry.correct, entry.duration_ms, entry.submitted_s, total) == (3, 3, 100_000, 1000, 4)
    assert leaderboards.rank_of(world.client, RoundKeys(PREFIX, world.round.id).board, 999_999) == (None, 4)


def test_scoring_twice_changes_nothing(world) -> None:
    row = world.attempt(0, correct=4, duration_s=60, submitted_after_s=100)
    before = world.client.hgetall(RoundKeys(PREFIX, world.round.id).stats)
    again = leaderboards.score_attempt(
        world.client,
        PREFIX,
        world.round.id,
        "best",
        leaderboards.ScoredAttempt(
            row.id, row.user_id, None, utcnow() + timedelta(days=1), 60_000, 100, world.versions
        ),
    )
    assert again == (4, QUESTIONS)
    assert world.client.hgetall(RoundKeys(PREFIX, world.round.id).stats) == before
    assert before["participants"] == "1" and before["submitted"] == "1" and before["dist:4"] == "1"


@pytest.mark.parametrize(("policy", "expected_correct"), [("best", 4), ("first", 2), ("last", 3)])
def test_only_the_counting_attempt_is_on_the_board(world, policy: str, expected_correct: int) -> None:
    world.reset(CountingPolicy(policy))
    world.attempt(0, correct=2, duration_s=60, submitted_after_s=100)
    world.attempt(0, correct=4, duration_s=60, submitted_after_s=200)
    world.attempt(0, correct=3, duration_s=60, submitted_after_s=300)
    entries = leaderboards.top(world.client, RoundKeys(PREFIX, world.round.id).board, 10)
    assert [(e.user_id, e.correct) for e in entries] == [(world.users[0], expected_correct)]
    assert world.client.hget(RoundKeys(PREFIX, world.round.id).stats, "participants") == "1"


def test_unit_boards_follow_the_counting_attempt(world) -> None:
    keys = RoundKeys(PREFIX, world.round.id)
    first, second = world.units[1], world.units[2]
    world.attempt(0, correct=2, duration_s=60, submitted_after_s=100, unit=first)
    world.attempt(0, correct=5, duration_s=60, submitted_after_s=200, unit=second)  # moved unit, and did better
    assert world.client.zcard(keys.unit_board(first)) == 0 and world.client.zcard(keys.unit_board(second)) == 1
    stats = leaderboards.live_stats(world.client, PREFIX, world.round.id)
    assert stats.units[first]["participants"] == 0 and stats.units[second]["participants"] == 1
    assert stats.units[first]["submitted"] == 1 and stats.units[second]["perfect"] == 1 and stats.perfect == 1


def test_rebuild_after_flushall_restores_boards_and_counters(world, session) -> None:
    for user, (correct, duration, at) in enumerate([(3, 50, 100), (5, 80, 200), (1, 20, 300), (5, 70, 400)]):
        world.attempt(user, correct=correct, duration_s=duration, submitted_after_s=at, unit=world.units[user % 2])
    keys = RoundKeys(PREFIX, world.round.id)
    before = (
        _board_order(world.client, world.round.id),
        world.client.hgetall(keys.stats),
        world.client.zrange(keys.unit_board(1), 0, -1, withscores=True),
    )
    world.client.flushall()
    scoring.rebuild_round(session, world.client, PREFIX, session.get(Round, world.round.id))
    after = (
        _board_order(world.client, world.round.id),
        world.client.hgetall(keys.stats),
        world.client.zrange(keys.unit_board(1), 0, -1, withscores=True),
    )
    assert after[0] == before[0] and after[2] == before[2]
    assert {k: v for k, v in after[1].items() if not k.endswith("started") and k != "in_progress"} == {
        k: v for k, v in before[1].items() if not k.endswith("started") and k != "in_progress"
    }
    assert world.client.hget(keys.answer_key, str(world.versions[0])) == "0"


attempt_strategy = st.tuples(
    st.integers(0, 4),  # contestant
    st.integers(0, QUESTIONS),  # correct answers
    st.integers(1, 600),  # time taken (s)
    st.integers(0, 5000),  # seconds from round open to submission
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(attempts=st.lists(attempt_strategy, min_size=1, max_size=12), policy=st.sampled_from(list(CountingPolicy)))
def test_redis_ranking_equals_plain_ranking_from_the_database(world, session, attempts, policy) -> None:
    world.reset(policy)
    for user, correct, duration, submitted in attempts:
        world.attempt(user, correct=correct, duration_s=duration, submitted_after_s=submitted)
    from_database = scoring.closed_attempts(session, session.get(Round, world.round.id))
    assert _board_order(world.client, world.round.id) == _plain_order(from_database, policy.value)
    scoring.rebuild_round(session, world.client, PREFIX, session.get(Round, world.round.id))
    assert _board_order(world.client, world.round.id) == _plain_order(from_database, policy.value)


def test_every_key_of_a_round_shares_one_cluster_slot() -> None:
    """The scripts and transactions touch several keys of a round at once: on a Redis Cluster they must
    all hash to one slot (the ``{r:<id>}`` tag), while different rounds spread over the cluster."""
    keys, temp = RoundKeys(PREFIX, 42), RoundKeys(PREFIX + ":rebuild", 42)
    names = [
        attempt_state.attempt_key(PREFIX, 42, 7),
        attempt_state.answers_key(PREFIX, 42, 7),
        *(getattr(k, name) for k in (keys, temp) for name in ("answer_key", "scored", "started", "board", "who")),
        *(getattr(k, name) for k in (keys, temp) for name in ("stats", "frozen", "frozen_built")),
        keys.unit_board(3),
        temp.unit_board(3),
    ]
    assert {key_slot(name.encode()) for name in names} == {key_slot(b"r:42")}
    assert len({key_slot(RoundKeys(PREFIX, r).board.encode()) for r in range(1, 21)}) > 10


def test_rebuild_drops_unit_boards_nobody_counts_for_any_more(world, session) -> None:
    keys = RoundKeys(PREFIX, world.round.id)
    first, second = world.units[1], world.units[2]
    row = world.attempt(0, correct=2, duration_s=60, submitted_after_s=100, unit=first)
    world.client.set(f"{PREFIX}:{{r:{world.round.id + 1}}}:lb:u:{first}", "another round's")
    row.unit_id = second  # e.g. corrected in the database
    session.commit()
    scoring.rebuild_round(session, world.client, PREFIX, session.get(Round, world.round.id))
    assert not world.client.exists(keys.unit_board(first))  # found by SCAN, on whichever primary holds it
    assert world.client.zrange(keys.unit_board(second), 0, -1) == [str(world.users[0])]
    assert world.client.get(f"{PREFIX}:{{r:{world.round.id + 1}}}:lb:u:{first}") == "another round's"
