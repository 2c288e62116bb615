"""The result page's data (services/results/outcome.py): the contestant's place in the round, the time taken, the
word of encouragement by how well they did, and the way on (the next round, or a round still open to them).

The attempts are played through the app as a phone would (``contest_fixture.play``), so the database is read
in app contexts of its own around them: a request inside an open app context would share its signed-in user.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import redis
from flask import Flask

from quiz_engine.extensions import db
from quiz_engine.models import Attempt, AttemptStatus, Contest, LeaderboardVisibility, Round, utcnow
from quiz_engine.services.organising import rounds
from quiz_engine.services.results import outcome
from quiz_engine.services.results.outcome import Encouragement, RankState
from tests import contest_fixture

AN, BINH, CHI = "an@example.vn", "binh@example.vn", "chi@example.vn"


def _setup(app: Flask, *others: str, **rules: object) -> tuple[int, int]:
    """The fixture's contest with its open round (``rules``) and ``others`` registered: (contest, round) ids."""
    with app.app_context():
        built = contest_fixture.build(db.session, **rules)
        for email in others:
            contest_fixture.register(db.session, built.contest, email)
        return built.contest.id, built.round.id


def _later_round(app: Flask, contest_id: int, *, days: float, **rules: object) -> int:
    """Another round of the contest, opening in ``days`` (negative: open already) for a week."""
    with app.app_context():
        now = utcnow()
        round_ = rounds.add_round(
            db.session,
            db.session.get(Contest, contest_id),
            rounds.RoundRules(
                title=f"Đợt sau {days} ngày",
                opens_at=now + timedelta(days=days),
                closes_at=now + timedelta(days=days + 7),
                time_limit_seconds=600,
                mix=[rounds.MixItem("bank", 5)],
                **rules,  # type: ignore[arg-type]
            ),
            now=now,
        )
        db.session.commit()
        return round_.id


def _gather(
    app: Flask, attempt_id: int, *, client: redis.Redis | None = None, duration_ms: int | None = None
) -> outcome.Outcome:
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        if duration_ms is not None:
            attempt.duration_ms = duration_ms
        page = outcome.gather(
            db.session,
            client or app.extensions["quiz_redis"],
            app.config["REDIS_KEY_PREFIX"],
            attempt,
            now=utcnow(),
            tz=ZoneInfo(app.config["TIMEZONE"]),
        )
        return page  # the app context's end closes the session without committing (a changed duration is dropped)


def test_the_place_in_the_round_among_everyone_who_submitted(app: Flask) -> None:
    _contest, round_id = _setup(app, BINH, CHI)
    mine = contest_fixture.play(app, AN, round_id, right=3)
    contest_fixture.play(app, BINH, round_id, right=5)
    contest_fixture.play(app, CHI, round_id, right=1)
    page = _gather(app, mine)
    assert (page.rank_state, page.rank, page.ranked) == (RankState.RANKED, 2, 3)
    assert page.result.attempt.id == mine and page.result.attempt.correct_count == 3


def test_the_place_is_pending_while_the_board_is_hidden_or_redis_is_away(app: Flask, tmp_path: Path) -> None:
    _contest, round_id = _setup(app, leaderboard_visibility=LeaderboardVisibility.HIDDEN)
    mine = contest_fixture.play(app, AN, round_id, right=4)
    hidden = _gather(app, mine)
    assert (hidden.rank_state, hidden.rank) == (RankState.PENDING, None)
    with app.app_context():
        db.session.get(Round, round_id).leaderboard_visibility = LeaderboardVisibility.LIVE
        db.session.commit()
    away = redis.Redis(unix_socket_path=str(tmp_path / "no-redis.sock"), socket_connect_timeout=0.2)
    down = _gather(app, mine, client=away)
    assert (down.rank_state, down.rank) == (RankState.PENDING, None)
    assert down.time_taken is not None and down.encouragement is Encouragement.EXCELLENT  # the rest still shows
    assert _gather(app, mine).rank_state is RankState.RANKED


def test_practice_rounds_are_not_ranked(app: Flask) -> None:
    _contest, round_id = _setup(app, is_practice=True)
    page = _gather(app, contest_fixture.play(app, AN, round_id, right=2))
    assert (page.rank_state, page.rank) == (RankState.UNRANKED, None)
    assert page.open_round is None  # practice rounds are not where the contest goes on


def test_the_time_taken_is_minutes_and_seconds(app: Flask) -> None:
    _contest, round_id = _setup(app)
    mine = contest_fixture.play(app, AN, round_id, right=2)
    assert _gather(app, mine, duration_ms=7 * 60_000 + 32_900).time_taken == "07:32"  # 7 min 32.9 s
    assert outcome.format_duration(0) == "00:00" and outcome.format_duration(61 * 60_000) == "61:00"


@pytest.mark.parametrize(
    ("correct", "scored", "tier"),
    [
        (10, 10, Encouragement.PERFECT),
        (9, 9, Encouragement.PERFECT),  # a voided question does not count against anyone
        (9, 10, Encouragement.EXCELLENT),
        (8, 10, Encouragement.EXCELLENT),
        (7, 10, Encouragement.GOOD),
        (5, 10, Encouragement.GOOD),
        (4, 10, Encouragement.KEEP_GOING),
        (0, 10, Encouragement.KEEP_GOING),
    ],
)
def test_encouragement_by_the_share_of_right_answers(correct: int, scored: int, tier: Encouragement) -> None:
    attempt = Attempt(status=AttemptStatus.SUBMITTED, question_count=10, scored_count=scored, correct_count=correct)
    assert outcome.encouragement_for(attempt) is tier


def test_no_encouragement_for_a_voided_attempt() -> None:
    attempt = Attempt(status=AttemptStatus.VOID, question_count=10, scored_count=10, correct_count=10)
    assert outcome.encouragement_for(attempt) is None


def test_the_next_round_and_the_attempts_left_in_this_one(app: Flask) -> None:
    contest_id, round_id = _setup(app, max_attempts=2)
    soon = _later_round(app, contest_id, days=3)
    _later_round(app, contest_id, days=10)
    _later_round(app, contest_id, days=1, is_practice=True)  # practice rounds are not "the next round"
    page = _gather(app, contest_fixture.play(app, AN, round_id, right=5))
    assert page.encouragement is Encouragement.PERFECT
    assert page.next_round is not None and page.next_round.id == soon
    assert page.open_round is not None and page.open_round.id == round_id and page.attempts_left == 1


def test_another_open_round_comes_before_taking_this_one_again(app: Flask) -> None:
    contest_id, round_id = _setup(app)
    other = _later_round(app, contest_id, days=-0.01)  # opened a quarter of an hour ago, in the same contest
    page = _gather(app, contest_fixture.play(app, AN, round_id, right=1))
    assert page.open_round is not None and page.open_round.id == other and page.attempts_left is None
    assert page.next_round is None


def test_nothing_ahead_once_the_attempts_are_used_and_no_round_is_to_come(app: Flask) -> None:
    _contest, round_id = _setup(app, max_attempts=1)
    page = _gather(app, contest_fixture.play(app, AN, round_id, right=2))
    assert (page.next_round, page.open_round, page.attempts_left) == (None, None, None)


def test_a_daily_limit_reached_closes_the_round_for_today(app: Flask) -> None:
    _contest, round_id = _setup(app, max_attempts_per_day=1)
    assert _gather(app, contest_fixture.play(app, AN, round_id, right=2)).open_round is None
