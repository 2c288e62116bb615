"""Question statistics: figures checked against a hand computation, a wrong key found in a simulated round,
the kept figures reused while their basis holds, and lifetime figures summed over rounds."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from quiz_engine.extensions import db
from quiz_engine.models import Question, QuestionStatistic, Round, RoundStatistics, VoidMode, utcnow
from quiz_engine.services.results import question_statistics as stats
from quiz_engine.services.results import voids
from tests import answer_simulation, contest_fixture


def _questions(session) -> list[int]:  # type: ignore[no-untyped-def]
    return list(session.scalars(select(Question.id).order_by(Question.code)))


def test_figures_match_a_hand_computation(session) -> None:
    built = contest_fixture.build(session, questions=2, per_paper=2)  # Q000's key is A, Q001's is B
    q0, q1 = _questions(session)
    now = utcnow()
    #            Q0: (choice, seconds after the start)   Q1
    answer_simulation.write_sheets(
        session,
        built.round,
        [
            {q0: ([0], 10), q1: ([1], 30)},  # 2 right
            {q0: ([0], 20), q1: ([2], 50)},  # 1
            {q0: ([1], 30), q1: ([1], 35)},  # 1
            {q0: ([2], 40), q1: (None, 0)},  # 0, Q1 left blank
            {q0: ([0], 50), q1: ([1], 60)},  # 2
        ],
        now=now,
    )
    figures = stats.compute(session, built.round, stats.Thresholds(min_answers=1, min_top_answers=1), now=now)
    by_id = {q.question_id: q for q in figures.questions}
    first, second = by_id[q0], by_id[q1]
    assert figures.attempts == 5
    # 5 attempts: the top and bottom 27 % are one attempt each (round(1.35)): the first 2-point one and the 0.
    assert (first.seen, first.correct, first.blank, first.facility) == (5, 3, 0, 0.6)
    assert (first.upper_seen, first.lower_seen) == (1, 1)
    assert first.discrimination == pytest.approx(1.0)
    # x = 1,1,0,0,1; rest of the score = 1,0,1,0,1: (5·2 − 3·3) / √((15 − 9)(15 − 9)) = 1/6
    assert first.point_biserial == pytest.approx(1 / 6)
    assert [(o.letter, o.count, o.share, o.is_key) for o in first.options] == [
        ("A", 3, 0.6, True),
        ("B", 1, 0.2, False),
        ("C", 1, 0.2, False),
        ("D", 0, 0.0, False),
    ]
    assert first.median_seconds == 30  # first answers: 10, 20, 30, 40, 50 s after the start
    assert (second.seen, second.correct, second.blank, second.blank_rate) == (5, 3, 1, 0.2)
    assert second.median_seconds == 15  # since the previous answer: 20, 30, 5, 10
    assert second.point_biserial == pytest.approx(1 / 6)
    assert [o.count for o in second.options] == [0, 3, 1, 0]
    assert [f.code for f in first.flags] == ["unpicked_option"] and "D" in first.flags[0].vi
    assert [f.code for f in second.flags] == ["unpicked_option"] and "A, D" in second.flags[0].en


def test_a_wrong_key_is_flagged_and_no_right_question_is(session) -> None:
    built = contest_fixture.build(session, questions=12, per_paper=10)
    ids = _questions(session)
    wrong = ids[5]
    answer_simulation.simulate(session, built.round, 600, now=utcnow(), per_paper=10, wrong_key=wrong)
    figures = stats.compute(session, built.round, stats.Thresholds(), now=utcnow())
    flagged = {q.question_id: [f.code for f in q.flags] for q in figures.questions if q.flags}
    assert list(flagged) == [wrong] and "wrong_key" in flagged[wrong]
    assert figures.questions[0].question_id == wrong  # flagged questions come first
    bad = figures.questions[0]
    assert bad.point_biserial is not None and bad.point_biserial < 0
    assert all(q.point_biserial > 0.1 and q.discrimination > 0.3 for q in figures.questions[1:])
    assert sum(q.seen for q in figures.questions) == 6000


def test_negative_discrimination_alone_calls_a_key_wrong() -> None:
    q = stats.QuestionFigures(
        question_id=1, code="Q", text="", bank_id=1, seen=100, correct=50, blank=0, facility=0.5,
        point_biserial=-0.15, discrimination=-0.1, upper_seen=5, lower_seen=5, options=[], median_seconds=None,
        void=None,
    )  # fmt: skip
    assert [f.code for f in stats.flags(q, None, stats.Thresholds())] == ["wrong_key"]
    assert stats.flags(q, None, stats.Thresholds(min_answers=101)) == []


def test_kept_figures_are_reused_until_an_answer_or_a_void_changes(session) -> None:
    built = contest_fixture.build(session, questions=6, per_paper=6)
    answer_simulation.simulate(session, built.round, 40, now=utcnow())
    thresholds = stats.Thresholds()
    first = stats.round_figures(session, built.round, thresholds, now=utcnow())
    session.commit()
    assert session.scalar(select(RoundStatistics.attempts)) == 40
    again = stats.round_figures(session, built.round, thresholds, now=utcnow() + timedelta(minutes=1))
    assert again.computed_at == first.computed_at  # read back, not computed
    assert [(q.question_id, q.seen, q.options) for q in again.questions] == [
        (q.question_id, q.seen, q.options) for q in first.questions
    ]
    question = first.questions[0].question_id
    voids.void_question(session, built.round, question, VoidMode.COUNT_CORRECT, actor_id=None, now=utcnow())
    session.commit()
    after_void = stats.round_figures(session, built.round, thresholds, now=utcnow() + timedelta(minutes=2))
    assert after_void.computed_at > first.computed_at
    assert {q.question_id: q.void for q in after_void.questions}[question] is VoidMode.COUNT_CORRECT
    answer_simulation.simulate(session, built.round, 5, now=utcnow(), seed=2)
    more = stats.round_figures(session, built.round, thresholds, now=utcnow() + timedelta(minutes=3))
    assert more.attempts == 45 and sum(q.seen for q in more.questions) == 45 * 6


def test_lifetime_figures_add_up_over_rounds(session) -> None:
    built = contest_fixture.build(session, questions=4, per_paper=4)
    second = contest_fixture.other_contest(session, per_paper=4)
    answer_simulation.simulate(session, built.round, 30, now=utcnow())
    answer_simulation.simulate(session, second, 50, now=utcnow(), seed=3)
    assert stats.refresh_closed_rounds(session, stats.Thresholds(), utcnow()) == 0  # neither round is closed
    assert stats.refresh_closed_rounds(session, stats.Thresholds(), utcnow(), [built.round, second]) == 2
    session.commit()
    ids = _questions(session)
    lifetime = stats.lifetime(session, ids)
    rows = session.scalars(select(QuestionStatistic).where(QuestionStatistic.question_id == ids[0])).all()
    assert lifetime[ids[0]].rounds == 2 and lifetime[ids[0]].seen == 80
    assert lifetime[ids[0]].correct == sum(r.correct for r in rows)
    weighted = sum(r.point_biserial * r.seen for r in rows) / 80
    assert lifetime[ids[0]].point_biserial == pytest.approx(weighted)
    assert stats.refresh_closed_rounds(session, stats.Thresholds(), utcnow(), [built.round, second]) == 0


def test_big_rounds_time_a_sample_of_attempts(session, monkeypatch) -> None:
    built = contest_fixture.build(session, questions=1, per_paper=1)
    (q0,) = _questions(session)
    ids = answer_simulation.write_sheets(
        session, built.round, [{q0: ([0], seconds)} for seconds in (10, 20, 30, 40, 50, 60)], now=utcnow()
    )
    monkeypatch.setattr(stats, "TIMED_ATTEMPTS", 2)  # 6 attempts: every 3rd by id is timed
    (figures,) = stats.compute(session, built.round, stats.Thresholds(), now=utcnow()).questions
    timed = [seconds for attempt_id, seconds in zip(ids, (10, 20, 30, 40, 50, 60), strict=True) if attempt_id % 3 == 0]
    assert figures.seen == 6 and figures.median_seconds == sum(timed) / 2


def test_two_visits_computing_at_once_both_succeed(app, session) -> None:
    built = contest_fixture.build(session, questions=6, per_paper=6)
    answer_simulation.simulate(session, built.round, 200, now=utcnow())
    round_id = built.round.id
    session.remove()
    barrier, errors = threading.Barrier(2), []

    def visit() -> None:
        with app.app_context():
            try:
                round_ = db.session.get(Round, round_id)
                barrier.wait()
                stats.round_figures(db.session, round_, stats.Thresholds(), now=utcnow())
                db.session.commit()
            except Exception as exc:
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=visit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert session.scalar(select(func.count()).select_from(QuestionStatistic)) == 6
