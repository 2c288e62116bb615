"""Final rankings: every tie-break order, both prediction kinds, shared ranks, idempotent finalising."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from quiz_engine.models import Attempt, AttemptStatus, PredictionKind, RoundResult, TieBreak, utcnow
from quiz_engine.services.errors import ConflictError
from quiz_engine.services.people import accounts
from quiz_engine.services.results import boards, rankings, scoring
from tests import contest_fixture

C, P, D, S = TieBreak.CORRECT, TieBreak.PREDICTION, TieBreak.DURATION, TieBreak.SUBMITTED_AT


@pytest.fixture
def setup(session):  # type: ignore[no-untyped-def]
    built = contest_fixture.build(session, questions=10, per_paper=10)
    users = [built.user_id] + [
        accounts.create_user(
            session, full_name=f"Người {i}", email=f"r{i}@example.vn", password="mat-khau-123", now=utcnow()
        ).id
        for i in range(4)
    ]
    session.commit()
    return built.round, users


def _attempt(
    session,
    round_,
    user,
    *,
    correct,
    duration_s,
    submitted_s,
    prediction=None,
    number=1,
    status=AttemptStatus.SUBMITTED,
):  # type: ignore[no-untyped-def]
    submitted = round_.opens_at + timedelta(seconds=submitted_s)
    session.add(
        Attempt(
            round_id=round_.id,
            user_id=user,
            number=number,
            status=status,
            started_at=submitted - timedelta(seconds=duration_s),
            deadline_at=submitted,
            submitted_at=submitted,
            duration_ms=duration_s * 1000,
            question_count=10,
            scored_count=10,
            correct_count=correct,
            prediction=prediction,
        )
    )
    session.commit()


def _order(session, round_) -> list[tuple[int, int]]:  # type: ignore[no-untyped-def]
    return [(rank, entry.attempt.user_id) for rank, entry in rankings.rank_round(session, round_)]


# Four contestants built so that each tie-break order gives a different result:
#   u0: 9 correct, prediction off by 5, 300 s, submitted at 100 s
#   u1: 9 correct, prediction off by 1, 400 s, submitted at 200 s
#   u2: 9 correct, prediction off by 5, 200 s, submitted at 300 s
#   u3: 8 correct, exact prediction,    100 s, submitted at  50 s
@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        ([C, P, D, S], [1, 2, 0, 3]),
        ([C, D, P, S], [2, 0, 1, 3]),
        ([C, S, P, D], [0, 1, 2, 3]),
        ([C, P, S, D], [1, 0, 2, 3]),
        ([C, D, S, P], [2, 0, 1, 3]),
        ([C], [0, 1, 2, 3]),  # equal on every rule used: one shared rank
    ],
)
def test_every_tie_break_order(session, setup, rules, expected) -> None:
    round_, users = setup
    round_.prediction_kind, round_.prediction_prompt = PredictionKind.PARTICIPANTS, "Bao nhiêu người?"
    round_.tie_breaks = [r.value for r in rules]
    for user, (correct, prediction, duration, at) in zip(
        users, [(9, 9, 300, 100), (9, 5, 400, 200), (9, 9, 200, 300), (8, 4, 100, 50)], strict=False
    ):
        _attempt(session, round_, user, correct=correct, duration_s=duration, submitted_s=at, prediction=prediction)
    order = _order(session, round_)
    if rules == [C]:
        assert order[:3] == sorted(order[:3]) and {r for r, _u in order[:3]} == {1} and order[3] == (4, users[3])
    else:
        assert [u for _r, u in order] == [users[i] for i in expected]
        assert [r for r, _u in order] == [1, 2, 3, 4]


def test_all_correct_prediction_and_no_prediction_ranks_last(session, setup) -> None:
    round_, users = setup
    round_.prediction_kind, round_.prediction_prompt = PredictionKind.ALL_CORRECT, "Bao nhiêu người đúng hết?"
    round_.tie_breaks = [C.value, P.value, D.value, S.value]
    _attempt(session, round_, users[0], correct=10, duration_s=100, submitted_s=10, prediction=None)
    _attempt(session, round_, users[1], correct=10, duration_s=300, submitted_s=20, prediction=2)
    _attempt(session, round_, users[2], correct=10, duration_s=200, submitted_s=30, prediction=7)
    _attempt(session, round_, users[3], correct=4, duration_s=50, submitted_s=40, prediction=3)
    ranked = rankings.rank_round(session, round_)
    assert rankings.true_prediction_value(round_, [e.attempt for _r, e in ranked]) == 3
    assert [(r, e.attempt.user_id, e.distance) for r, e in ranked] == [
        (1, users[1], 1),
        (2, users[2], 4),
        (3, users[0], None),
        (4, users[3], 0),
    ]


def test_finalize_stores_results_once_and_again_the_same(session, setup) -> None:
    round_, users = setup
    round_.prediction_kind, round_.prediction_prompt = PredictionKind.PARTICIPANTS, "Bao nhiêu người?"
    _attempt(session, round_, users[0], correct=5, duration_s=100, submitted_s=10, prediction=2)
    _attempt(session, round_, users[0], correct=7, duration_s=100, submitted_s=20, prediction=9, number=2)
    _attempt(session, round_, users[1], correct=7, duration_s=90, submitted_s=30, prediction=3)
    with pytest.raises(ConflictError):
        rankings.finalize_round(session, round_, now=round_.closes_at - timedelta(seconds=1))
    assert rankings.finalize_round(session, round_, now=round_.closes_at) == 2
    session.commit()
    first = [
        (r.rank, r.user_id, r.correct_count, r.prediction_distance)
        for r in session.scalars(select(RoundResult).order_by(RoundResult.rank))
    ]
    assert first == [(1, users[1], 7, 1), (2, users[0], 7, 7)]
    assert round_.prediction_actual == 2 and round_.finalized_at == round_.closes_at
    rankings.finalize_round(session, round_, now=round_.closes_at + timedelta(hours=1))
    session.commit()
    again = [
        (r.rank, r.user_id, r.correct_count, r.prediction_distance)
        for r in session.scalars(select(RoundResult).order_by(RoundResult.rank))
    ]
    assert again == first


def test_finalize_waits_for_open_attempts(session, setup) -> None:
    round_, users = setup
    _attempt(session, round_, users[0], correct=5, duration_s=100, submitted_s=10, status=AttemptStatus.IN_PROGRESS)
    assert rankings.rounds_to_finalize(session, round_.closes_at) == []
    with pytest.raises(ConflictError):
        rankings.finalize_round(session, round_, now=round_.closes_at)


def test_each_question_is_answered_by_the_source_the_rule_names(session, setup, redis_client) -> None:
    """Before the round is final the board is live (Redis) and an export computes; once final both read the
    stored ranking, and the export's order is the order finalising stored."""
    round_, users = setup
    round_.tie_breaks = [C.value, D.value, S.value]
    for i, user in enumerate(users):
        _attempt(session, round_, user, correct=5 + i % 3, duration_s=100 + 10 * i, submitted_s=10 + i)
    scoring.rebuild_round(session, redis_client, "quiz", round_)
    session.commit()
    now = round_.closes_at + timedelta(seconds=1)
    assert rankings.source(round_, on_screen=True) is rankings.Source.LIVE
    assert rankings.source(round_, on_screen=False) is rankings.Source.COMPUTED
    live = boards.board_for(session, redis_client, "quiz", round_, now=now, viewer_id=None, organizer=True)
    computed = [(r.rank, r.user_id, r.attempt is not None) for r in rankings.ranked_rows(session, round_)]
    assert live.kind is boards.BoardKind.LIVE
    # the live board and the computed ranking agree when the round's order is the live order
    assert [(row.rank, row.user_id) for row in live.rows] == [(rank, user) for rank, user, _ in computed]
    assert all(from_attempt for _r, _u, from_attempt in computed)
    rankings.finalize_round(session, round_, now)
    session.commit()
    assert rankings.source(round_, on_screen=True) is rankings.source(round_, on_screen=False) is rankings.Source.STORED
    final = boards.board_for(session, redis_client, "quiz", round_, now=now, viewer_id=None, organizer=True)
    exported = [(r.rank, r.user_id, r.attempt) for r in rankings.ranked_rows(session, round_)]
    assert final.kind is boards.BoardKind.FINAL
    assert [(row.rank, row.user_id) for row in final.rows] == [(rank, user) for rank, user, _ in exported]
    assert [(rank, user) for rank, user, _ in exported] == [(rank, user) for rank, user, _ in computed]
    assert all(attempt is None for _r, _u, attempt in exported)  # read from round_results, not the attempts
