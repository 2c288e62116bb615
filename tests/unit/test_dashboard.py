"""The round dashboard: counters from Redis, units and attempts over time from the database."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import select

from quiz_engine.models import Attempt, Registration, Unit, UnitKind, utcnow
from quiz_engine.services.organising.units import UnitSpec, import_units
from quiz_engine.services.people import accounts
from quiz_engine.services.results import dashboard, leaderboards, scoring
from quiz_engine.services.taking import attempt_state, attempts
from tests import contest_fixture

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
PREFIX = "quiz"
# On the hour, and near the real clock: Redis expires attempt state by the wall clock.
NOW = utcnow().replace(minute=0, second=0, microsecond=0)
QUESTIONS = 5


def _contestant(session, contest, email: str, unit_code: str | None) -> int:  # type: ignore[no-untyped-def]
    user = accounts.create_user(session, full_name="Lê Văn Cường", email=email, password="mat-khau-123", now=NOW)
    unit_id = session.scalar(select(Unit.id).where(Unit.code == unit_code)) if unit_code else None
    session.add(
        Registration(
            contest_id=contest.id, user_id=user.id, group_id=contest.groups[0].id, unit_id=unit_id, registered_at=NOW
        )
    )
    session.commit()
    return user.id


def _play(session, client, round_, user_id: int, right: int, at: datetime, submit: bool = True) -> Attempt:  # type: ignore[no-untyped-def]
    """Start an attempt at ``at``, answer the first ``right`` questions right, and submit it 3 minutes later."""
    attempt = attempts.start_attempt(session, round_=round_, user_id=user_id, now=at, tz=TZ)
    session.commit()
    attempts.open_state(session, client, PREFIX, attempt)
    scoring.load_paper_key(session, client, PREFIX, attempt)
    for item in attempt.items:
        good = item.question_version.correct_positions[0]
        attempt_state.save_answer(
            client,
            PREFIX,
            round_id=round_.id,
            attempt_id=attempt.id,
            user_id=user_id,
            field=str(item.position),
            value=str(good if item.position < right else (good + 1) % 4),
            now=at + timedelta(seconds=30),
        )
    if submit:
        done = at + timedelta(minutes=3)
        attempts.submit_attempt(session, client, PREFIX, attempt, now=done)
        entry = scoring.board_entry(session, attempt, round_, attempts.voids(session, round_.id))
        session.commit()
        assert scoring.apply_entry(session, client, PREFIX, entry, done)
    return attempt


@pytest.fixture
def played(session, redis_client):  # type: ignore[no-untyped-def]
    """Xã Một (100 people): An 5/5 twice; Phường Hai (4): Bình 3/5, Chi 5/5; Trường Ba (10): Dũng in progress;
    Cơ quan Bốn (no headcount): Em 0/5; Phường Năm (8): nobody; Giang, in no unit: 1/5."""
    built = contest_fixture.build(session, now=NOW, questions=12, per_paper=QUESTIONS)
    import_units(
        session,
        [
            UnitSpec("P2", "Phường Hai", UnitKind.WARD, None, 4, 2),
            UnitSpec("T3", "Trường Ba", UnitKind.SCHOOL, None, 10, 3),
            UnitSpec("C4", "Cơ quan Bốn", UnitKind.AGENCY, None, None, 4),
            UnitSpec("P5", "Phường Năm", UnitKind.WARD, None, 8, 5),
        ],
    )
    contest, round_ = built.contest, built.round
    contest.units = list(session.scalars(select(Unit)))
    session.commit()
    opened = round_.opens_at  # 09:00 local
    _play(session, redis_client, round_, built.user_id, 5, opened + timedelta(minutes=5))
    _play(session, redis_client, round_, built.user_id, 5, opened + timedelta(minutes=20))
    for email, unit, right, minutes in (
        ("binh@example.vn", "P2", 3, 15),
        ("chi@example.vn", "P2", 5, 70),
        ("em@example.vn", "C4", 0, 75),
        ("giang@example.vn", None, 1, 50),
    ):
        user = _contestant(session, contest, email, unit)
        _play(session, redis_client, round_, user, right, opened + timedelta(minutes=minutes))
    dung = _contestant(session, contest, "dung@example.vn", "T3")
    _play(session, redis_client, round_, dung, 2, opened + timedelta(minutes=58), submit=False)
    return round_


def _board(session, redis_client, round_, now: datetime = NOW) -> dashboard.Dashboard:  # type: ignore[no-untyped-def]
    return dashboard.round_dashboard(session, redis_client, PREFIX, round_, now, TZ)


def test_counters_match_redis_and_the_database(session, redis_client, played) -> None:
    board = _board(session, redis_client, played)
    stats = leaderboards.live_stats(redis_client, PREFIX, played.id)
    rows = session.scalars(select(Attempt).where(Attempt.round_id == played.id)).all()
    closed = [a for a in rows if a.submitted_at is not None]
    assert (board.started, board.in_progress, board.submitted) == (stats.started, stats.in_progress, stats.submitted)
    assert (board.participants, board.perfect) == (stats.participants, stats.perfect)
    assert (board.started, board.in_progress, board.submitted) == (len(rows), len(rows) - len(closed), len(closed))
    assert board.started == 7 and board.in_progress == 1 and board.submitted == 6
    assert board.participants == len({a.user_id for a in closed}) == 5
    assert board.perfect == sum(a.correct_count == QUESTIONS for a in closed) == 3
    assert board.live and not board.stale and board.as_of == NOW.astimezone(TZ)


def test_distribution_covers_every_score_from_zero_to_the_question_count(session, redis_client, played) -> None:
    board = _board(session, redis_client, played)
    assert board.question_count == QUESTIONS
    assert board.distribution == (1, 1, 0, 1, 0, 3)
    closed = session.scalars(select(Attempt.correct_count).where(Attempt.round_id == played.id)).all()
    assert board.distribution == tuple(sum(c == k for c in closed if c is not None) for k in range(QUESTIONS + 1))


def test_units_have_participants_over_headcount_and_the_weakest_come_lowest_first(
    session, redis_client, played
) -> None:
    board = _board(session, redis_client, played)
    by_name = {u.name: u for u in board.units}
    assert set(by_name) == {"Xã Một", "Phường Hai", "Trường Ba", "Cơ quan Bốn", "Phường Năm"}
    assert (by_name["Xã Một"].participants, by_name["Xã Một"].headcount, by_name["Xã Một"].rate) == (1, 100, 1.0)
    assert (by_name["Phường Hai"].participants, by_name["Phường Hai"].rate) == (2, 50.0)
    assert (by_name["Trường Ba"].started, by_name["Trường Ba"].participants, by_name["Trường Ba"].rate) == (1, 0, 0.0)
    assert (by_name["Xã Một"].submitted, by_name["Xã Một"].perfect) == (2, 2)
    assert by_name["Cơ quan Bốn"].participants == 1 and by_name["Cơ quan Bốn"].rate is None
    assert by_name["Phường Năm"].participants == 0 and by_name["Phường Năm"].rate == 0.0
    assert [u.name for u in board.units] == ["Phường Hai", "Xã Một", "Phường Năm", "Trường Ba", "Cơ quan Bốn"]
    assert [u.name for u in board.weakest] == ["Phường Năm", "Trường Ba", "Xã Một", "Phường Hai"]


def test_only_ten_weakest_units(session, redis_client, played) -> None:
    import_units(session, [UnitSpec(f"N{i:02d}", f"Đơn vị {i:02d}", UnitKind.OTHER, None, 5, i) for i in range(12)])
    played.contest.units = list(session.scalars(select(Unit)))
    session.commit()
    weakest = _board(session, redis_client, played).weakest
    assert len(weakest) == dashboard.WEAKEST == 10 and all(u.rate == 0 for u in weakest)


def test_attempts_started_per_hour_in_viet_nam_time(session, redis_client, played) -> None:
    board = _board(session, redis_client, played, now=NOW + timedelta(hours=2))
    opened = played.opens_at.astimezone(TZ)  # on the hour
    assert board.bucket == timedelta(hours=1)
    assert [(b.start, b.started) for b in board.timeline] == [
        (opened, 5),
        (opened + timedelta(hours=1), 2),
        (opened + timedelta(hours=2), 0),
        (opened + timedelta(hours=3), 0),
    ]
    assert all(b.start.utcoffset() == timedelta(hours=7) for b in board.timeline)
    assert sum(b.started for b in board.timeline) == board.started


def test_attempts_per_ten_minutes_for_a_short_round(session, redis_client, played) -> None:
    played.closes_at = played.opens_at + timedelta(hours=30)
    session.commit()
    board = _board(session, redis_client, played)
    assert board.bucket == timedelta(minutes=10)
    opened = played.opens_at.astimezone(TZ)
    assert [b.start - opened for b in board.timeline] == [timedelta(minutes=m) for m in range(0, 61, 10)]
    # Started 5, 15, 20, 50 and 58 minutes after the opening; those at 70 and 75 are later than now.
    assert [b.started for b in board.timeline] == [1, 1, 1, 0, 0, 2, 0]


def test_buckets_start_on_the_local_hour_and_stop_at_the_close(session, redis_client, played) -> None:
    hour = played.opens_at.astimezone(TZ)
    played.opens_at = hour + timedelta(minutes=3)
    played.closes_at = hour + timedelta(days=3, minutes=30)
    session.commit()
    after_close = _board(session, redis_client, played, now=NOW + timedelta(days=10))
    assert after_close.timeline[0].start == hour and after_close.timeline[0].start.minute == 0
    assert after_close.timeline[-1].start == hour + timedelta(days=3)
    assert len(after_close.timeline) == 3 * 24 + 1
    assert sum(b.started for b in after_close.timeline) == 7


def test_before_the_round_opens_there_is_no_timeline(session, redis_client, played) -> None:
    board = _board(session, redis_client, played, now=played.opens_at - timedelta(minutes=1))
    assert board.timeline == ()


def test_an_empty_round(session, redis_client) -> None:
    built = contest_fixture.build(session, now=NOW, per_paper=QUESTIONS)
    board = _board(session, redis_client, built.round)
    assert (board.started, board.in_progress, board.submitted, board.participants, board.perfect) == (0, 0, 0, 0, 0)
    assert board.distribution == (0,) * (QUESTIONS + 1)
    assert [u.name for u in board.units] == ["Xã Một"] and board.units[0].rate == 0
    assert [b.started for b in board.timeline] == [0, 0]


def test_redis_down_leaves_the_database_half(session, played, tmp_path) -> None:
    gone = redis.Redis(unix_socket_path=str(tmp_path / "gone.sock"), retry=Retry(NoBackoff(), 0), decode_responses=True)
    board = _board(session, gone, played, now=NOW + timedelta(hours=1))
    assert not board.live and board.participants == 0 and board.distribution == (0,) * (QUESTIONS + 1)
    assert sum(b.started for b in board.timeline) == 7 and len(board.units) == 5


def test_a_stale_round_is_flagged(session, redis_client, played) -> None:
    played.leaderboard_stale_at = NOW
    session.commit()
    assert _board(session, redis_client, played).stale
