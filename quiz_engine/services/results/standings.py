"""Contest standings across rounds, and unit standings for collective prizes.

Contest standings use each contestant's counting attempt in every ranked round: their correct
answers summed over rounds (``sum``) or their best round (``best_round``), as the contest says;
ties go to the smaller total time taken, then the earlier last submission; exact ties share a rank.

Unit standings: participants are the distinct contestants of the unit with a closed attempt in a
ranked round; participation rate = participants ÷ headcount; average score = mean of the counting
attempts' scores in percent; perfect papers = counting attempts with every question right. Units
below the contest's minimum participation rate are listed but not ranked. Ranking formula
(``Contest.unit_ranking``): by rate then average score, by average score then rate, or by
weight × rate + (1 − weight) × average score.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from quiz_engine.models import Contest, Round, StandingsMode, Unit, UnitRanking
from quiz_engine.services.results import rankings


@dataclass
class ContestStanding:
    rank: int
    user_id: int
    total_correct: int
    total_duration_ms: int
    rounds: int
    last_submitted: float = 0.0


@dataclass
class UnitStanding:
    unit: Unit
    participants: int = 0
    attempts: int = 0
    perfect: int = 0
    score_points: list[float] = field(default_factory=list)
    rank: int | None = None

    @property
    def rate(self) -> float | None:
        """Participation rate in percent, or None without a headcount."""
        return None if not self.unit.headcount else 100 * self.participants / self.unit.headcount

    @property
    def average_score(self) -> float:
        return sum(self.score_points) / len(self.score_points) if self.score_points else 0.0


def _ranked_rounds(session: Session, contest: Contest) -> list[Round]:
    return list(
        session.scalars(
            select(Round).where(Round.contest_id == contest.id, Round.is_practice.is_(False)).order_by(Round.number)
        )
    )


def contest_standings(session: Session, contest: Contest) -> list[ContestStanding]:
    """Every contestant of the contest, ranked across its rounds (see the module docstring)."""
    by_user: dict[int, ContestStanding] = {}
    for round_ in _ranked_rounds(session, contest):
        for attempt in rankings.counting_attempts(session, round_):
            entry = by_user.setdefault(attempt.user_id, ContestStanding(0, attempt.user_id, 0, 0, 0))
            correct, duration = attempt.correct_count or 0, attempt.duration_ms or 0
            if contest.standings_mode is StandingsMode.BEST_ROUND:
                if (correct, -duration) > (entry.total_correct, -entry.total_duration_ms) or entry.rounds == 0:
                    entry.total_correct, entry.total_duration_ms = correct, duration
            else:
                entry.total_correct += correct
                entry.total_duration_ms += duration
            entry.rounds += 1
            entry.last_submitted = max(entry.last_submitted, (attempt.submitted_at or attempt.started_at).timestamp())
    ordered = sorted(
        by_user.values(), key=lambda e: (-e.total_correct, e.total_duration_ms, e.last_submitted, e.user_id)
    )
    for index, entry in enumerate(ordered, start=1):
        previous = ordered[index - 2] if index > 1 else None
        same = previous and (previous.total_correct, previous.total_duration_ms, previous.last_submitted) == (
            entry.total_correct,
            entry.total_duration_ms,
            entry.last_submitted,
        )
        entry.rank = previous.rank if same else index
    return ordered


def unit_standings(session: Session, contest: Contest) -> list[UnitStanding]:
    """The contest's units with participation and scores, ranked by the contest's formula."""
    units = {u.id: UnitStanding(u) for u in contest.units}
    seen: dict[int, set[int]] = {}
    for round_ in _ranked_rounds(session, contest):
        for attempt in rankings.counting_attempts(session, round_):
            standing = units.get(attempt.unit_id) if attempt.unit_id else None
            if standing is None:
                continue
            counted = attempt.scored_count if attempt.scored_count is not None else attempt.question_count
            standing.attempts += 1
            standing.score_points.append(100 * (attempt.correct_count or 0) / counted if counted else 0.0)
            standing.perfect += int((attempt.correct_count or 0) == counted)
            seen.setdefault(attempt.unit_id, set()).add(attempt.user_id)
    for unit_id, users in seen.items():
        units[unit_id].participants = len(users)
    eligible = [s for s in units.values() if (s.rate or 0) >= contest.unit_min_participation_pct and s.participants]
    key = _formula(contest)
    eligible.sort(key=lambda s: (key(s), s.unit.name))
    for index, standing in enumerate(eligible, start=1):
        previous = eligible[index - 2] if index > 1 else None
        standing.rank = previous.rank if previous and key(previous) == key(standing) else index
    rest = sorted((s for s in units.values() if s.rank is None), key=lambda s: s.unit.name)
    return eligible + rest


def _formula(contest: Contest):  # type: ignore[no-untyped-def]
    weight = contest.unit_participation_weight_pct / 100
    if contest.unit_ranking is UnitRanking.AVERAGE_SCORE:
        return lambda s: (-round(s.average_score, 6), -round(s.rate or 0, 6))
    if contest.unit_ranking is UnitRanking.WEIGHTED:
        return lambda s: (-round(weight * (s.rate or 0) + (1 - weight) * s.average_score, 6),)
    return lambda s: (-round(s.rate or 0, 6), -round(s.average_score, 6))
