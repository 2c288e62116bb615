"""Contest standings across rounds (sum, best round) and unit standings (threshold, formulas)."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from quiz_engine.models import Attempt, AttemptStatus, StandingsMode, Unit, UnitKind, UnitRanking, utcnow
from quiz_engine.services.organising import contests, rounds
from quiz_engine.services.organising.units import UnitSpec, import_units
from quiz_engine.services.people import accounts
from quiz_engine.services.results import standings
from tests import contest_fixture


@pytest.fixture
def world(session):  # type: ignore[no-untyped-def]
    built = contest_fixture.build(session, questions=10, per_paper=10)
    import_units(
        session,
        [
            UnitSpec("BIG", "Phường Lớn", UnitKind.WARD, None, 100, 2),
            UnitSpec("SMALL", "Xã Nhỏ", UnitKind.COMMUNE, None, 4, 3),
        ],
    )
    units = {u.code: u for u in session.scalars(select(Unit))}
    built.contest.units = list(units.values())
    now = utcnow()
    second = rounds.add_round(
        session,
        built.contest,
        rounds.RoundRules(
            title="Tuần 2",
            opens_at=now - timedelta(hours=1),
            closes_at=now + timedelta(days=7),
            time_limit_seconds=600,
            mix=[rounds.MixItem("bank", 10)],
        ),
        now=now,
    )
    users = [built.user_id] + [
        accounts.create_user(
            session, full_name=f"Người {i}", email=f"s{i}@example.vn", password="mat-khau-123", now=now
        ).id
        for i in range(3)
    ]
    session.commit()
    return built.contest, [built.round, second], users, units


def _attempt(session, round_, user, unit, correct, duration_s, number=1):  # type: ignore[no-untyped-def]
    at = round_.opens_at + timedelta(minutes=10 * user + number)
    session.add(
        Attempt(
            round_id=round_.id,
            user_id=user,
            number=number,
            status=AttemptStatus.SUBMITTED,
            started_at=at - timedelta(seconds=duration_s),
            deadline_at=at,
            submitted_at=at,
            duration_ms=duration_s * 1000,
            question_count=10,
            scored_count=10,
            correct_count=correct,
            unit_id=unit.id,
        )
    )
    session.commit()


def test_contest_standings_sum_and_best_round(session, world) -> None:
    contest, (first, second), users, units = world
    big = units["BIG"]
    _attempt(session, first, users[0], big, 6, 100)
    _attempt(session, second, users[0], big, 6, 100)
    _attempt(session, first, users[1], big, 10, 300)
    _attempt(session, first, users[2], big, 10, 200)
    total = [(s.rank, s.user_id, s.total_correct) for s in standings.contest_standings(session, contest)]
    assert total == [(1, users[0], 12), (2, users[2], 10), (3, users[1], 10)]
    contest.standings_mode = StandingsMode.BEST_ROUND
    best = [(s.rank, s.user_id, s.total_correct) for s in standings.contest_standings(session, contest)]
    assert best == [(1, users[2], 10), (2, users[1], 10), (3, users[0], 6)]


def test_unit_standings_threshold_and_formulas(session, world) -> None:
    contest, (first, _second), users, units = world
    big, small = units["BIG"], units["SMALL"]
    _attempt(session, first, users[0], big, 10, 100)  # big: 1 of 100 people, 100 %
    _attempt(session, first, users[1], small, 5, 100)  # small: 2 of 4 people, average 60 %
    _attempt(session, first, users[2], small, 7, 100)
    rows = {s.unit.code: s for s in standings.unit_standings(session, contest)}
    assert (rows["SMALL"].participants, rows["SMALL"].rate, rows["SMALL"].average_score) == (2, 50.0, 60.0)
    assert (rows["BIG"].rate, rows["BIG"].average_score, rows["BIG"].perfect) == (1.0, 100.0, 1)
    assert [(s.unit.code, s.rank) for s in standings.unit_standings(session, contest)][:2] == [("SMALL", 1), ("BIG", 2)]
    contest.unit_ranking = UnitRanking.AVERAGE_SCORE
    assert [s.unit.code for s in standings.unit_standings(session, contest)][:2] == ["BIG", "SMALL"]
    contest.unit_ranking, contest.unit_participation_weight_pct = UnitRanking.WEIGHTED, 50
    assert [s.unit.code for s in standings.unit_standings(session, contest)][:2] == ["SMALL", "BIG"]  # 55 > 50.5
    contest.unit_min_participation_pct = 10
    ranked = [(s.unit.code, s.rank) for s in standings.unit_standings(session, contest)]
    assert ranked[0] == ("SMALL", 1) and ("BIG", None) in ranked  # under the threshold: listed, not ranked


def test_unit_prize_rules_are_checked_and_stored(session, world) -> None:
    contest = world[0]
    with pytest.raises(contests.ValidationError) as err:
        contests.update_contest(
            session, contest, contests.ContestDetails(title=contest.title, unit_min_participation_pct=120), now=utcnow()
        )
    assert err.value.field == "unit_min_participation_pct"
    contests.update_contest(
        session,
        contest,
        contests.ContestDetails(
            title=contest.title,
            units=contest.units,
            groups=[(g.code, g.name) for g in contest.groups],
            unit_ranking=UnitRanking.WEIGHTED,
            unit_min_participation_pct=30,
            unit_participation_weight_pct=70,
        ),
        now=utcnow(),
    )
    assert (contest.unit_ranking, contest.unit_min_participation_pct, contest.unit_participation_weight_pct) == (
        UnitRanking.WEIGHTED,
        30,
        70,
    )
