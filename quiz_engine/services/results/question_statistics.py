"""How each question of a round behaved: facility, discrimination, options chosen, time to answer, and flags.

The figures are Moodle's quiz statistics, computed from the closed attempts in the database:

- **facility**: the share of the papers that showed the question on which it was answered with the key;
- **point-biserial**: the correlation between answering it with the key (1/0) and the rest of the paper's score
  (the attempt's score less this question's part in it);
- **discrimination index**: the facility in the top 27 % of attempts by score less the facility in the bottom
  27 % (ties at a boundary are split by attempt number, so the bands have exactly 27 % each);
- **options**: how many chose each option, overall and in each band; a blank is no option;
- **time to answer**: per answer, the time since the contestant's previous saved answer (or the start), its median
  (from a systematic sample of 20,000 attempts in bigger rounds).

Flags (thresholds in :class:`Thresholds`, set from the config's ``STATISTICS_*`` keys) need ``min_answers``
papers: a probably wrong key (in the top band another answer is chosen more often than the key, or the
point-biserial is at most ``wrong_key_discrimination``), too easy, too hard, and an option nobody chose.

The answers are read with two grouped queries, never row by row, so 100,000 attempts × 20 questions take
seconds (``make bench``). The figures are kept in ``question_statistics`` with the basis they were computed
from; while the round's closed attempts, their scoring and its voids are unchanged they are read back, not
recomputed. Kept per round, they add up to each question's lifetime figures (:func:`lifetime`).
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, and_, case, cast, delete, func, literal, or_, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql import ColumnElement

from quiz_engine.models import (
    CLOSED_STATUSES,
    Attempt,
    AttemptItem,
    Question,
    QuestionStatistic,
    Round,
    RoundStatistics,
    VoidMode,
)
from quiz_engine.services.taking import attempts, grading, version_cache

LETTERS = "ABCDEFGH"
UPPER, MIDDLE, LOWER = "upper", "middle", "lower"
#: Answers further apart than this are left out of the time to answer (the contestant was away).
LONGEST_ANSWER_SECONDS = 3600
#: Attempts whose answer times are read, at most (:func:`_answer_times`).
TIMED_ATTEMPTS = 20_000


@dataclass(frozen=True)
class Thresholds:
    """When a flag is raised; the defaults are the config's ``STATISTICS_*`` defaults (docs/STATISTICS.md)."""

    too_easy: float = 0.95
    too_hard: float = 0.2
    #: Papers a question needs before any flag is raised on it.
    min_answers: int = 30
    #: Answers from the top band needed before its choices can call a key wrong.
    min_top_answers: int = 10
    #: A point-biserial at or below this (with min_answers papers) calls the key probably wrong.
    wrong_key_discrimination: float = -0.1
    band_share: float = 0.27

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Thresholds:
        defaults = cls()
        return cls(
            too_easy=float(config.get("STATISTICS_TOO_EASY", defaults.too_easy)),
            too_hard=float(config.get("STATISTICS_TOO_HARD", defaults.too_hard)),
            min_answers=int(config.get("STATISTICS_MIN_ANSWERS", defaults.min_answers)),
            min_top_answers=int(config.get("STATISTICS_MIN_TOP_ANSWERS", defaults.min_top_answers)),
            wrong_key_discrimination=float(
                config.get("STATISTICS_WRONG_KEY_DISCRIMINATION", defaults.wrong_key_discrimination)
            ),
        )


@dataclass(frozen=True)
class Flag:
    """A reason to look at a question again, in Vietnamese and English."""

    code: str
    vi: str
    en: str

    def message(self, locale: str) -> str:
        return self.en if locale == "en" else self.vi


@dataclass(frozen=True)
class Option:
    """One option of the question (bank order) and who chose it."""

    letter: str
    text: str
    is_key: bool
    count: int
    share: float
    upper: int
    lower: int


@dataclass(frozen=True)
class QuestionFigures:
    """One question's figures in one round."""

    question_id: int
    code: str
    text: str
    bank_id: int
    seen: int
    correct: int
    blank: int
    facility: float | None
    point_biserial: float | None
    discrimination: float | None
    upper_seen: int
    lower_seen: int
    options: list[Option]
    median_seconds: float | None
    void: VoidMode | None
    flags: list[Flag] = field(default_factory=list)

    @property
    def blank_rate(self) -> float | None:
        return self.blank / self.seen if self.seen else None

    @property
    def key(self) -> str:
        return "".join(o.letter for o in self.options if o.is_key)


@dataclass(frozen=True)
class RoundFigures:
    """Every question of a round with its figures, flagged ones first, and when they were computed."""

    round_id: int
    attempts: int
    computed_at: datetime
    seconds: float
    questions: list[QuestionFigures]

    @property
    def flagged(self) -> list[QuestionFigures]:
        return [q for q in self.questions if q.flags]


@dataclass(frozen=True)
class Lifetime:
    """A question's figures over every round whose statistics were computed."""

    rounds: int
    seen: int
    correct: int
    #: The rounds' point-biserials weighted by their papers (scores of different rounds do not mix).
    point_biserial: float | None
    flagged_rounds: int

    @property
    def facility(self) -> float | None:
        return self.correct / self.seen if self.seen else None


# --- reading -----------------------------------------------------------------------------------------------


def round_figures(session: Session, round_: Round, thresholds: Thresholds, *, now: datetime) -> RoundFigures:
    """The round's figures: the kept ones while their basis holds, else computed and kept (flushes)."""
    kept, basis = _current(session, round_.id)
    if kept is None:
        return compute(session, round_, thresholds, now=now, basis=basis)
    # Plain rows, not objects: none stays in the session to clash with the rows a later computation writes.
    table = QuestionStatistic.__table__
    rows = session.execute(select(table).where(table.c.round_id == round_.id)).all()
    return RoundFigures(round_.id, kept.attempts, kept.computed_at, kept.seconds, _ordered([_thaw(r) for r in rows]))


def refresh_closed_rounds(
    session: Session, thresholds: Thresholds, now: datetime, rounds: Iterable[Round] | None = None
) -> int:
    """Bring the kept figures of ``rounds`` (default: every round closed by ``now``) up to date, so that each
    question's lifetime figures include them (the upkeep's part); return how many rounds were computed."""
    if rounds is None:
        rounds = session.scalars(select(Round).where(Round.closes_at <= now).order_by(Round.id))
    computed = 0
    for round_ in rounds:
        kept, basis = _current(session, round_.id)
        if kept is None and basis[1]:
            compute(session, round_, thresholds, now=now, basis=basis)
            computed += 1
    return computed


def _current(session: Session, round_id: int) -> tuple[RoundStatistics | None, tuple[str, int]]:
    """The kept figures' record if its basis still holds (else None), and the round's basis now."""
    basis = _basis(session, round_id)
    kept = session.get(RoundStatistics, round_id)
    return (kept if kept is not None and kept.basis == basis[0] else None), basis


def lifetime(session: Session, question_ids: Iterable[int]) -> dict[int, Lifetime]:
    """Each question's figures summed over the rounds whose statistics were kept."""
    ids = list(question_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(
            QuestionStatistic.question_id,
            QuestionStatistic.seen,
            QuestionStatistic.correct,
            QuestionStatistic.point_biserial,
            QuestionStatistic.flags,
        ).where(QuestionStatistic.question_id.in_(ids), QuestionStatistic.seen > 0)
    ).all()
    sums: dict[int, list[float]] = defaultdict(lambda: [0, 0, 0, 0.0, 0, 0])
    for question_id, seen, correct, r_pb, flags in rows:
        s = sums[question_id]
        s[0] += 1
        s[1] += seen
        s[2] += correct
        if r_pb is not None:
            s[3] += r_pb * seen
            s[4] += seen
        s[5] += 1 if flags else 0
    return {
        qid: Lifetime(int(s[0]), int(s[1]), int(s[2]), s[3] / s[4] if s[4] else None, int(s[5]))
        for qid, s in sums.items()
    }


# --- computing ---------------------------------------------------------------------------------------------


def _closed(round_id: int) -> ColumnElement[bool]:
    return and_(Attempt.round_id == round_id, Attempt.status.in_(CLOSED_STATUSES), Attempt.correct_count.is_not(None))


def _basis(session: Session, round_id: int) -> tuple[str, int]:
    """What the figures depend on: the closed attempts, their last scoring, their scores and the voids."""
    count, last, total = session.execute(
        select(func.count(Attempt.id), func.max(Attempt.scored_at), func.sum(Attempt.correct_count)).where(
            _closed(round_id)
        )
    ).one()
    voids = sorted(attempts.voids(session, round_id).items())
    stamp = last.isoformat() if last is not None else "-"
    return f"{count}:{total or 0}:{stamp}:" + ",".join(f"{q}{m.value[0]}" for q, m in voids), int(count)


def _bands(session: Session, round_id: int, n: int, share: float) -> ColumnElement[str]:
    """A SQL expression naming each of the ``n`` closed attempts' band by score: upper, lower (``share`` each)
    or middle."""
    size = round(share * n)
    if n < 2 or size < 1:
        return literal(MIDDLE)
    order = select(Attempt.correct_count, Attempt.id).where(_closed(round_id)).offset(size - 1).limit(1)
    top_score, top_id = session.execute(order.order_by(Attempt.correct_count.desc(), Attempt.id)).one()
    low_score, low_id = session.execute(order.order_by(Attempt.correct_count, Attempt.id.desc())).one()
    score = Attempt.correct_count
    return case(
        (or_(score > top_score, and_(score == top_score, Attempt.id <= top_id)), literal(UPPER)),
        (or_(score < low_score, and_(score == low_score, Attempt.id >= low_id)), literal(LOWER)),
        else_=literal(MIDDLE),
    )


def _epoch_seconds(session: Session, moment: Any) -> ColumnElement[Any]:
    """Seconds since an epoch of a stored time, as each database can tell it."""
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", moment)
    return func.julianday(moment) * 86400.0


def _answer_times(session: Session, round_id: int, attempt_count: int) -> dict[int, dict[int, int]]:
    """Question version -> {whole seconds since the previous answer: answers}, from the saved answers' times.

    Ordering every answer of a big round by time is most of the computation, so above
    :data:`TIMED_ATTEMPTS` attempts every k-th attempt (by id) is timed: a median from 20,000 papers
    moves by well under a second.
    """
    every = max(1, math.ceil(attempt_count / TIMED_ATTEMPTS))
    at = _epoch_seconds(session, AttemptItem.answered_at)
    timed = (
        select(
            AttemptItem.question_version_id.label("version"),
            at.label("at"),
            _epoch_seconds(session, Attempt.started_at).label("started"),
            func.lag(at).over(partition_by=AttemptItem.attempt_id, order_by=AttemptItem.answered_at).label("before"),
        )
        .join(Attempt, Attempt.id == AttemptItem.attempt_id)
        .where(_closed(round_id), AttemptItem.answered_at.is_not(None))
        .where(Attempt.id % every == 0 if every > 1 else literal(True))
        .subquery()
    )
    # julianday's floating point puts 30 s at 29.99999…: a millisecond more keeps whole seconds whole.
    seconds = cast(func.floor(timed.c.at - func.coalesce(timed.c.before, timed.c.started) + 0.001), Integer)
    rows = session.execute(
        select(timed.c.version, seconds, func.count())
        .where(seconds >= 0, seconds <= LONGEST_ANSWER_SECONDS)
        .group_by(timed.c.version, seconds)
    ).all()
    times: dict[int, dict[int, int]] = defaultdict(dict)
    for version, secs, n in rows:
        times[version][int(secs)] = n
    return times


def _median(histogram: dict[int, int]) -> float | None:
    total = sum(histogram.values())
    if not total:
        return None
    lower, upper, seen = (total - 1) // 2, total // 2, 0
    low_value = None
    for value in sorted(histogram):
        seen += histogram[value]
        if low_value is None and seen > lower:
            low_value = value
        if seen > upper:
            return (low_value + value) / 2  # type: ignore[operator]
    return None  # pragma: no cover - the loop always reaches the middle


@dataclass
class _Tally:
    """Running sums for one question: x = answered with the key, r = the rest of the paper's score."""

    n: int = 0
    sx: float = 0.0
    sr: float = 0.0
    srr: float = 0.0
    sxr: float = 0.0
    blank: int = 0
    band_n: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    band_x: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    #: Chosen answer (sorted positions) -> {band: count}.
    answers: dict[tuple[int, ...], dict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )
    versions: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    times: dict[int, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, x: int, part: int, n: int, score_sum: float, score_sq: float, band: str) -> None:
        """``n`` papers with the same answer and band, scores summing to ``score_sum`` (squares ``score_sq``);
        ``part`` is what this question added to each of those scores."""
        rest, rest_sq = score_sum - n * part, score_sq - 2 * part * score_sum + n * part * part
        self.n += n
        self.sx += x * n
        self.sr += rest
        self.srr += rest_sq
        self.sxr += x * rest
        self.band_n[band] += n
        self.band_x[band] += x * n

    def point_biserial(self) -> float | None:
        spread_x = self.n * self.sx - self.sx * self.sx
        spread_r = self.n * self.srr - self.sr * self.sr
        if self.n < 2 or spread_x <= 0 or spread_r <= 1e-9:
            return None
        return (self.n * self.sxr - self.sx * self.sr) / math.sqrt(spread_x * spread_r)

    def discrimination(self) -> float | None:
        upper, lower = self.band_n[UPPER], self.band_n[LOWER]
        if not upper or not lower:
            return None
        return self.band_x[UPPER] / upper - self.band_x[LOWER] / lower


def compute(
    session: Session, round_: Round, thresholds: Thresholds, *, now: datetime, basis: tuple[str, int] | None = None
) -> RoundFigures:
    """Compute the round's figures from the database and keep them (replacing the kept ones; flushes)."""
    began = time.perf_counter()
    basis = basis or _basis(session, round_.id)
    band = _bands(session, round_.id, basis[1], thresholds.band_share).label("band")
    groups = session.execute(
        select(
            AttemptItem.question_version_id,
            AttemptItem.selected,
            band,
            func.count(),
            func.sum(Attempt.correct_count),
            func.sum(Attempt.correct_count * Attempt.correct_count),
        )
        .join(Attempt, Attempt.id == AttemptItem.attempt_id)
        .where(_closed(round_.id))
        .group_by(AttemptItem.question_version_id, AttemptItem.selected, band)
    ).all()
    version_ids = {row[0] for row in groups}
    question_of = version_cache.question_ids(session, version_ids)
    keys = version_cache.correct_positions(session, version_ids)
    voided = attempts.voids(session, round_.id)
    tallies: dict[int, _Tally] = defaultdict(_Tally)
    for version_id, selected, band_name, n, score_sum, score_sq in groups:
        question_id, key = question_of[version_id], keys[version_id]
        answer = tuple(sorted(selected or ()))
        # x: right against the key as it stands; part: as the paper's score counted it, voids applied
        x = 1 if grading.is_right(key, answer) else 0
        part = 1 if grading.mark(grading.key_entry(key, voided.get(question_id)), answer)[1] else 0
        tally = tallies[question_id]
        tally.add(x, part, n, float(score_sum or 0), float(score_sq or 0), band_name)
        tally.answers[answer][band_name] += n
        tally.versions[version_id] += n
        if not answer:
            tally.blank += n
    for version_id, histogram in _answer_times(session, round_.id, basis[1]).items():
        for secs, n in histogram.items():
            tallies[question_of[version_id]].times[secs] += n
    questions = {
        q.id: q
        for q in session.scalars(
            select(Question).where(Question.id.in_(list(tallies))).options(selectinload(Question.current_version))
        )
    }
    content = version_cache.contents(session, version_ids)
    figures = [
        _figures(questions[qid], tally, keys, content, voided.get(qid), thresholds) for qid, tally in tallies.items()
    ]
    seconds = time.perf_counter() - began
    _keep(session, round_.id, basis, figures, now, seconds)
    return RoundFigures(round_.id, basis[1], now, seconds, _ordered(figures))


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _figures(
    question: Question,
    tally: _Tally,
    keys: dict[int, tuple[int, ...]],
    content: dict[int, version_cache.VersionContent],
    void: VoidMode | None,
    thresholds: Thresholds,
) -> QuestionFigures:
    # Options are named after the version most papers showed (an edit in mid-round keeps its positions).
    shown = max(tally.versions, key=lambda v: tally.versions[v])
    key, texts = keys[shown], content[shown].choices
    options = []
    for position in sorted(texts):
        chosen = [bands for answer, bands in tally.answers.items() if position in answer]
        count = sum(sum(b.values()) for b in chosen)
        options.append(
            Option(
                LETTERS[position],
                texts[position],
                position in key,
                count,
                _share(count, tally.n),
                sum(b[UPPER] for b in chosen),
                sum(b[LOWER] for b in chosen),
            )
        )
    version = question.current_version
    result = QuestionFigures(
        question_id=question.id,
        code=question.code,
        text=version.text if version is not None else "",
        bank_id=question.bank_id,
        seen=tally.n,
        correct=int(tally.sx),
        blank=tally.blank,
        facility=_share(int(tally.sx), tally.n) if tally.n else None,
        point_biserial=tally.point_biserial(),
        discrimination=tally.discrimination(),
        upper_seen=tally.band_n[UPPER],
        lower_seen=tally.band_n[LOWER],
        options=options,
        median_seconds=_median(tally.times),
        void=void,
    )
    result.flags.extend(flags(result, _top_rival(tally, key), thresholds))
    return result


def _top_rival(tally: _Tally, key: tuple[int, ...]) -> tuple[tuple[int, ...], int, int] | None:
    """The answer other than the key chosen most often in the top band, its count, and the key's count there."""
    upper = {answer: bands[UPPER] for answer, bands in tally.answers.items() if answer and bands[UPPER]}
    rivals = [(n, answer) for answer, n in upper.items() if answer != key]
    if not rivals:
        return None
    n, answer = max(rivals)
    return answer, n, upper.get(key, 0)


def _letters(answer: tuple[int, ...]) -> str:
    return ", ".join(LETTERS[p] for p in answer)


def _percent(value: float) -> str:
    return f"{value * 100:.0f} %"


def flags(q: QuestionFigures, rival: tuple[tuple[int, ...], int, int] | None, thresholds: Thresholds) -> list[Flag]:
    """The reasons to look at ``q`` again (none below ``thresholds.min_answers`` papers)."""
    if q.seen < thresholds.min_answers:
        return []
    found = []
    if rival is not None and q.upper_seen >= thresholds.min_top_answers and rival[1] > rival[2]:
        answer, n, keyed = rival
        found.append(
            Flag(
                "wrong_key",
                f"Có thể sai đáp án: nhóm 27 % điểm cao nhất chọn {_letters(answer)} ({n}) nhiều hơn đáp án "
                f"{q.key} ({keyed}).",
                f"Key probably wrong: the top 27 % chose {_letters(answer)} ({n}) more often than the key "
                f"{q.key} ({keyed}).",
            )
        )
    elif q.point_biserial is not None and q.point_biserial <= thresholds.wrong_key_discrimination:
        found.append(
            Flag(
                "wrong_key",
                f"Có thể sai đáp án: độ phân biệt âm ({q.point_biserial:.2f}), người điểm cao lại hay trả lời sai.",
                f"Key probably wrong: negative discrimination ({q.point_biserial:.2f}), strong contestants "
                f"tend to miss it.",
            )
        )
    if q.facility is not None and q.facility > thresholds.too_easy:
        found.append(
            Flag(
                "too_easy",
                f"Quá dễ: {_percent(q.facility)} trả lời đúng.",
                f"Too easy: {_percent(q.facility)} answered it right.",
            )
        )
    if q.facility is not None and q.facility < thresholds.too_hard:
        found.append(
            Flag(
                "too_hard",
                f"Quá khó: chỉ {_percent(q.facility)} trả lời đúng.",
                f"Too hard: only {_percent(q.facility)} answered it right.",
            )
        )
    unpicked = [o.letter for o in q.options if o.count == 0]
    if unpicked:
        found.append(
            Flag(
                "unpicked_option",
                f"Phương án không ai chọn: {', '.join(unpicked)}.",
                f"Option nobody chose: {', '.join(unpicked)}.",
            )
        )
    return found


def _ordered(figures: list[QuestionFigures]) -> list[QuestionFigures]:
    """Flagged questions first (a probably wrong key before anything else), then by code."""
    return sorted(
        figures, key=lambda q: (not q.flags, not any(f.code == "wrong_key" for f in q.flags), q.code, q.question_id)
    )


# --- keeping -----------------------------------------------------------------------------------------------


def _keep(
    session: Session,
    round_id: int,
    basis: tuple[str, int],
    figures: list[QuestionFigures],
    now: datetime,
    seconds: float,
) -> None:
    # Two organizers opening the page together: the round's row lock (PostgreSQL) or the write lock
    # (SQLite, taken by the delete) makes the second wait, then replace what the first kept.
    session.execute(select(Round.id).where(Round.id == round_id).with_for_update())
    session.execute(delete(QuestionStatistic).where(QuestionStatistic.round_id == round_id))
    kept = session.get(RoundStatistics, round_id, populate_existing=True)
    if kept is None:
        kept = RoundStatistics(round_id=round_id)
        session.add(kept)
    kept.basis, kept.attempts, kept.computed_at, kept.seconds = basis[0], basis[1], now, seconds
    session.add_all(
        QuestionStatistic(
            round_id=round_id,
            question_id=q.question_id,
            seen=q.seen,
            correct=q.correct,
            blank=q.blank,
            point_biserial=q.point_biserial,
            discrimination=q.discrimination,
            flags=[f.code for f in q.flags],
            figures=_frozen(q),
        )
        for q in figures
    )
    session.flush()


def _frozen(q: QuestionFigures) -> dict[str, Any]:
    return {
        "code": q.code,
        "text": q.text,
        "bank_id": q.bank_id,
        "facility": q.facility,
        "upper_seen": q.upper_seen,
        "lower_seen": q.lower_seen,
        "median_seconds": q.median_seconds,
        "void": q.void.value if q.void else None,
        "options": [o.__dict__ for o in q.options],
        "flags": [f.__dict__ for f in q.flags],
    }


def _thaw(row: Any) -> QuestionFigures:
    f = row.figures
    return QuestionFigures(
        question_id=row.question_id,
        code=f["code"],
        text=f["text"],
        bank_id=f["bank_id"],
        seen=row.seen,
        correct=row.correct,
        blank=row.blank,
        facility=f["facility"],
        point_biserial=row.point_biserial,
        discrimination=row.discrimination,
        upper_seen=f["upper_seen"],
        lower_seen=f["lower_seen"],
        options=[Option(**o) for o in f["options"]],
        median_seconds=f["median_seconds"],
        void=VoidMode(f["void"]) if f["void"] else None,
        flags=[Flag(**x) for x in f["flags"]],
    )
