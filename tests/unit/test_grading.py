"""One grading rule, two implementations: the database's marks (Python) and the Redis scoring script (Lua)
must agree on any paper, voids and late, blank, repeated or unsorted answers included."""

import itertools
import random
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from quiz_engine.models import Attempt, AttemptStatus, VoidedQuestion, VoidMode, utcnow
from quiz_engine.services.results import leaderboards, scoring
from quiz_engine.services.results.leaderboards import RoundKeys
from quiz_engine.services.taking import attempt_state, attempts, grading
from tests import contest_fixture

PREFIX = "quiz"
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
VOIDS = st.sampled_from([None, None, VoidMode.COUNT_CORRECT, VoidMode.REMOVE])


@st.composite
def answers(draw: st.DrawFn, choices: int) -> tuple[list[int], int] | None:
    """A saved answer (choice positions as sent, milliseconds from the acceptance time) or None."""
    if draw(st.booleans()) and draw(st.booleans()):
        return None
    picked = draw(st.lists(st.integers(0, choices - 1), max_size=choices + 1))  # repeats and any order
    offset = draw(st.sampled_from([-60_000, -1, 0, 1, 60_000]))  # before, at and after the acceptance time
    return picked, offset


@st.composite
def papers(draw: st.DrawFn) -> list[tuple[list[int], VoidMode | None, tuple[list[int], int] | None]]:
    """Questions as (key, void, answer); keys of one to all of 2–5 choices."""
    paper = []
    for _ in range(draw(st.integers(1, 8))):
        choices = draw(st.integers(2, 5))
        key = draw(st.lists(st.integers(0, choices - 1), min_size=1, max_size=choices, unique=True))
        paper.append((key, draw(VOIDS), draw(answers(choices))))
    return paper


@pytest.mark.parametrize(
    ("entry", "selected", "expected"),
    [
        ("0,2", [2, 0], (False, True)),
        ("0,2", [0, 2, 2], (False, False)),
        ("0,2", [0], (False, False)),
        ("1", [], (False, False)),
        ("1", None, (False, False)),
        ("*", None, (True, True)),
        ("-", [1], (True, None)),
    ],
)
def test_the_rule(entry: str, selected: list[int] | None, expected: tuple[bool, bool | None]) -> None:
    assert grading.mark(entry, selected) == expected


_counter = itertools.count(1)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(paper=papers())
def test_the_scoring_script_agrees_with_the_rule_on_random_papers(redis_client, paper) -> None:  # type: ignore[no-untyped-def]
    """The Lua twin against :func:`grading.mark`, on a real Redis, with answers read back by the real decoder."""
    round_id, attempt_id = 900_000 + next(_counter), 1
    accept_until = utcnow().replace(microsecond=0)
    accept_ms = int(accept_until.timestamp() * 1000)
    versions = list(range(1, len(paper) + 1))
    keys = RoundKeys(PREFIX, round_id)
    leaderboards.load_answer_key(
        redis_client,
        PREFIX,
        round_id,
        {v: grading.key_entry(key, void) for v, (key, void, _) in zip(versions, paper, strict=True)},
    )
    saved = {str(p): f"{','.join(map(str, a[0]))}|{accept_ms + a[1]}" for p, (_, _, a) in enumerate(paper) if a}
    if saved:
        redis_client.hset(attempt_state.answers_key(PREFIX, round_id, attempt_id), mapping=saved)
    read_back = attempt_state.saved_answers(redis_client, PREFIX, round_id, attempt_id)
    expected = [0, 0]
    for position, (key, void, _) in enumerate(paper):
        answer = read_back.get(str(position))
        counts = answer is not None and answer.value and grading.in_time(answer.saved_at, accept_until)
        _void, right = grading.mark(grading.key_entry(key, void), answer.choices if counts else None)
        expected[0] += bool(right)
        expected[1] += right is not None
    scored = leaderboards.ScoredAttempt(attempt_id, 1, None, accept_until, 60_000, 10, versions)
    assert leaderboards.score_attempt(redis_client, PREFIX, round_id, "best", scored) == tuple(expected)
    assert redis_client.hget(keys.stats, f"dist:{expected[0]}") == "1"


@pytest.fixture
def world(session, redis_client):  # type: ignore[no-untyped-def]
    now = utcnow()
    setup = contest_fixture.build(session, now=now, questions=12, per_paper=8, multiple_every=3)
    return setup, now


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_database_marks_and_redis_scores_agree_through_the_services(session, redis_client, world, data) -> None:  # type: ignore[no-untyped-def]
    """Start a real attempt, save random answers (some late), void random questions, submit; the attempt's
    marks in the database and its score in Redis must be the same."""
    setup, now = world
    session.execute(delete(Attempt).where(Attempt.round_id == setup.round.id))
    session.execute(delete(VoidedQuestion).where(VoidedQuestion.round_id == setup.round.id))
    session.commit()
    for name in redis_client.scan_iter(match=f"{PREFIX}:{{r:{setup.round.id}}}:*"):
        redis_client.delete(name)
    attempt = attempts.start_attempt(
        session, round_=setup.round, user_id=setup.user_id, now=now, tz=TZ, rng=random.Random(data.draw(st.integers()))
    )
    session.commit()
    attempts.open_state(session, redis_client, PREFIX, attempt)
    limit = attempts.accept_until(attempt, setup.round)
    saved = {}
    for item in attempt.items:
        answer = data.draw(answers(len(item.choice_order)))
        if answer is not None:
            at = int((limit + timedelta(milliseconds=answer[1])).timestamp() * 1000)
            saved[str(item.position)] = f"{','.join(map(str, answer[0]))}|{at}"
        void = data.draw(VOIDS)
        if void is not None:
            question_id = item.question_version.question_id
            session.add(VoidedQuestion(round_id=setup.round.id, question_id=question_id, mode=void, voided_at=now))
    session.commit()
    if saved:
        redis_client.hset(attempt_state.answers_key(PREFIX, setup.round.id, attempt.id), mapping=saved)
    voided = attempts.voids(session, setup.round.id)
    assert attempts.submit_attempt(session, redis_client, PREFIX, attempt, now=now, voided=voided)
    entry = scoring.board_entry(session, attempt, setup.round, voided)
    session.commit()
    assert scoring.apply_entry(session, redis_client, PREFIX, entry, now)
    session.refresh(attempt)
    assert attempt.status is AttemptStatus.SUBMITTED
    in_redis = redis_client.hmget(
        attempt_state.attempt_key(PREFIX, setup.round.id, attempt.id), "correct", "scored_count"
    )
    assert (attempt.correct_count, attempt.scored_count) == tuple(int(v) for v in in_redis)
    assert attempt.correct_count == sum(bool(i.is_correct) for i in attempt.items)
    # and rescoring from the database (what a void does later) gives the same marks again
    assert attempts.score_items(session, attempt) == (attempt.correct_count, attempt.scored_count)
