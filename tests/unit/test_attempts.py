"""Attempts: start (paper, limits, races), autosave in Redis, submit once, deadline close, results."""

import random
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from quiz_engine.models import Attempt, AttemptItem, AttemptStatus, Question, utcnow
from quiz_engine.services.catalogue import banks
from quiz_engine.services.catalogue.question_schema import RawQuestion
from quiz_engine.services.errors import ConflictError, NotFoundError
from quiz_engine.services.organising import rounds
from quiz_engine.services.taking import attempt_state, attempts
from quiz_engine.services.taking.attempt_state import SaveResult
from tests import contest_fixture

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
PREFIX = "quiz"


def _start(session, setup, redis_client, now, user_id=None):  # type: ignore[no-untyped-def]
    attempt = attempts.start_attempt(
        session, round_=setup.round, user_id=user_id or setup.user_id, now=now, tz=TZ, rng=random.Random(7)
    )
    session.commit()
    attempts.open_state(session, redis_client, PREFIX, attempt)
    return attempt


def _save(redis_client, attempt, field, value, now, user_id=None):  # type: ignore[no-untyped-def]
    return attempt_state.save_answer(
        redis_client,
        PREFIX,
        round_id=attempt.round_id,
        attempt_id=attempt.id,
        user_id=user_id or attempt.user_id,
        field=field,
        value=value,
        now=now,
    )


def _correct_letter(attempt, position):  # type: ignore[no-untyped-def]
    item = attempt.items[position]
    return item.question_version.correct_positions


def test_start_draws_a_paper_without_repeats_and_sets_the_deadline(session, redis_client) -> None:
    now = utcnow()
    setup = contest_fixture.build(session, now=now, per_paper=5)
    attempt = _start(session, setup, redis_client, now)
    assert attempt.status is AttemptStatus.IN_PROGRESS and attempt.number == 1
    assert attempt.deadline_at == now + timedelta(seconds=600)
    versions = [i.question_version_id for i in attempt.items]
    assert len(versions) == 5 and len(set(versions)) == 5
    assert all(sorted(i.choice_order) == [0, 1, 2, 3] for i in attempt.items)
    assert attempt.group_id == setup.contest.groups[1].id
    state = redis_client.hgetall(attempt_state.attempt_key(PREFIX, setup.round.id, attempt.id))
    assert state["user"] == str(setup.user_id) and state["status"] == "open" and state["layout"] == "4,4,4,4,4"
    assert f"{{r:{setup.round.id}}}" in attempt_state.attempt_key(PREFIX, setup.round.id, attempt.id)


def test_deadline_is_the_round_close_when_that_comes_first(session, redis_client) -> None:
    now = utcnow()
    setup = contest_fixture.build(session, now=now)
    setup.round.closes_at = now + timedelta(minutes=3)
    session.commit()
    assert _start(session, setup, redis_client, now).deadline_at == now + timedelta(minutes=3)


def test_saving_answers_checks_owner_range_deadline_and_is_idempotent(session, redis_client) -> None:
    now = utcnow()
    setup = contest_fixture.build(session, now=now)
    attempt = _start(session, setup, redis_client, now)
    assert _save(redis_client, attempt, "0", "2", now) is SaveResult.SAVED
    assert _save(redis_client, attempt, "0", "2", now + timedelta(hours=1)) is SaveResult.UNCHANGED  # resend
    assert _save(redis_client, attempt, "0", "1", now, user_id=999) is SaveResult.NOT_OWNER
    assert _save(redis_client, attempt, "9", "1", now) is SaveResult.INVALID
    assert _save(redis_client, attempt, "1", "4", now) is SaveResult.INVALID
    assert _save(redis_client, attempt, "1", "0,1", now) is SaveResult.INVALID  # one answer only
    within_grace = attempt.deadline_at + timedelta(seconds=4)
    assert _save(redis_client, attempt, "1", "3", within_grace) is SaveResult.SAVED
    assert _save(redis_client, attempt, "2", "3", attempt.deadline_at + timedelta(seconds=6)) is SaveResult.LATE
    assert _save(redis_client, attempt, "p", "1500", now) is SaveResult.SAVED
    saved = attempt_state.saved_answers(redis_client, PREFIX, attempt.round_id, attempt.id)
    assert {f: a.value for f, a in saved.items()} == {"0": "2", "1": "3", "p": "1500"}


def test_multiple_answer_questions_accept_several_choices(session, redis_client) -> None:
    now = utcnow()
    setup = contest_fixture.build(session, now=now, questions=4, per_paper=4, multiple_every=2)
    attempt = _start(session, setup, redis_client, now)
    multi = next(i.position for i in attempt.items if len(i.question_version.correct_positions) > 1)
    assert _save(redis_client, attempt, str(multi), "0,2", now) is SaveResult.SAVED


def test_a_second_start_resumes_and_a_start_elsewhere_is_refused(session, redis_client) -> None:
    now = utcnow()
    setup = contest_fixture.build(session, now=now)
    first = _start(session, setup, redis_client, now)
    again = attempts.start_attempt(session, round_=setup.round, user_id=setup.user_id, now=now, tz=TZ)
    assert again.id == first.id
    assert session.scalar(select(func.count(Attempt.id))) == 1


def test_the_database_allows_one_attempt_in_progress_per_person(session) -> None:
    now = utcnow()
    setup = contest_fixture.build(session, now=now)
    attempts.start_attempt(session, round_=setup.round, user_id=setup.user_id, now=now, tz=TZ)
    session.commit()
    twin = Attempt(
        round_id=setup.round.id,
        user_id=setup.user_id,
        number=2,
        status=AttemptStatus.IN_PROGRESS,
        started_at=now,
        deadline_at=now,
        question_count=0,
    )
    session.add(twin)
    with pytest.raises(IntegrityError):
        session.commit()  # what a simultaneous second start runs into
    session.rollback()
    assert session.scalar(select(func.count(Attempt.id))) == 1


def test_attempt_limits_per_round_and_per_day(session, redis_client) -> None:
    now = utcnow()
    setup = contest_fixture.build(session, now=now, max_attempts=3, max_attempts_per_day=2)
    for minute in (0, 20):
        attempt = _start(session, setup, redis_client, now + timedelta(minutes=minute))
        attempts.submit_attempt(session, redis_client, PREFIX, attempt, now=now + timedelta(minutes=minute + 1))
        session.commit()
    with pytest.raises(attempts.AttemptLimitError, match="Hôm nay"):
        attempts.start_attempt(
            session, round_=setup.round, user_id=setup.user_id, now=now + timedelta(minutes=30), tz=TZ
        )
    tomorrow = now + timedelta(days=1)
    attempt = _start(session, setup, redis_client, tomorrow)
    assert attempt.number == 3
    attempts.submit_attempt(session, redis_client, PREFIX, attempt, now=tomorrow + timedelta(minutes=1))
    session.commit()
    with pytest.raises(attempts.AttemptLimitError, match="hết 3 lượt"):
        attempts.start_attempt(
            session, round_=setup.round, user_id=setup.user_id, now=tomorrow + timedelta(days=1), tz=TZ
        )
    assert session.scalar(select(func.count(Attempt.id))) == 3


def test_closed_round_and_unregistered_contestant_are_refused(session, make_user) -> None:
    now = utcnow()
    setup = contest_fixture.build(session, now=now)
    with pytest.raises(attempts.RoundNotOpenError, match="kết thúc"):
        attempts.start_attempt(session, round_=setup.round, user_id=setup.user_id, now=now + timedelta(days=8), tz=TZ)
    with pytest.raises(attempts.RoundNotOpenError, match="chưa mở"):
        attempts.start_attempt(session, round_=setup.round, user_id=setup.user_id, now=now - timedelta(days=1), tz=TZ)
    stranger = make_user("stranger@example.vn")
    with pytest.raises(attempts.NotRegisteredError):
        attempts.start_attempt(session, round_=setup.round, user_id=stranger, now=now, tz=TZ)
    assert session.scalar(select(func.count(Attempt.id))) == 0


def test_submit_scores_answers_saved_in_time_once(session, redis_client) -> None:
    now = utcnow()
    setup = contest_fixture.build(session, now=now)
    attempt = _start(session, setup, redis_client, now)
    right = [_correct_letter(attempt, p)[0] for p in range(5)]
    _save(redis_client, attempt, "0", str(right[0]), now + timedelta(seconds=10))
    _save(redis_client, attempt, "1", str(right[1]), now + timedelta(seconds=20))
    _save(redis_client, attempt, "2", str((right[2] + 1) % 4), now + timedelta(seconds=30))
    _save(redis_client, attempt, "p", "321", now + timedelta(seconds=40))
    submitted_at = now + timedelta(seconds=95)
    assert attempts.submit_attempt(session, redis_client, PREFIX, attempt, now=submitted_at) is True
    session.commit()
    attempt_state.close_state(redis_client, PREFIX, attempt.round_id, attempt.id)
    assert (attempt.status, attempt.correct_count, attempt.duration_ms, attempt.prediction) == (
        AttemptStatus.SUBMITTED,
        2,
        95_000,
        321,
    )
    items = session.scalars(
        select(AttemptItem).where(AttemptItem.attempt_id == attempt.id).order_by(AttemptItem.position)
    ).all()
    assert [i.is_correct for i in items] == [True, True, False, False, False]
    assert items[0].selected == [right[0]] and items[3].selected is None
    assert (
        attempts.submit_attempt(session, redis_client, PREFIX, attempt, now=submitted_at + timedelta(seconds=5))
        is False
    )  # a resent submit changes nothing
    session.commit()
    assert attempt.duration_ms == 95_000 and attempt.correct_count == 2
    assert _save(redis_client, attempt, "3", "0", now) is SaveResult.CLOSED


def test_overdue_attempt_closed_by_the_server_counts_only_answers_saved_in_time(session, redis_client) -> None:
    now = utcnow()
    setup = contest_fixture.build(session, now=now, time_limit=60)
    attempt = _start(session, setup, redis_client, now)
    right = _correct_letter(attempt, 0)[0]
    _save(redis_client, attempt, "0", str(right), now + timedelta(seconds=30))
    assert _save(redis_client, attempt, "1", "0", now + timedelta(seconds=70)) is SaveResult.LATE
    assert attempts.overdue_attempts(session, now + timedelta(seconds=63)) == []  # still within grace
    overdue = attempts.overdue_attempts(session, now + timedelta(minutes=5))
    assert [a.id for a in overdue] == [attempt.id]
    attempts.submit_attempt(session, redis_client, PREFIX, attempt, now=now + timedelta(minutes=5), by_server=True)
    session.commit()
    assert (attempt.status, attempt.correct_count, attempt.duration_ms) == (AttemptStatus.EXPIRED, 1, 60_000)


def test_paper_view_resumes_answers_and_time_without_correctness(session, redis_client) -> None:
    now = utcnow()
    setup = contest_fixture.build(session, now=now)
    attempt = _start(session, setup, redis_client, now)
    _save(redis_client, attempt, "1", "3", now)
    view = attempts.paper_view(session, redis_client, PREFIX, attempt, now + timedelta(seconds=100))
    assert view.remaining_ms == 500_000
    assert view.questions[1].selected == [3] and view.unanswered == [0, 2, 3, 4]
    assert [p for p, _text in view.questions[0].choices] == attempt.items[0].choice_order
    assert not hasattr(view.questions[0], "is_correct")


def test_results_reveal_corrections_only_after_close(session, redis_client) -> None:
    now = utcnow()
    setup = contest_fixture.build(session, now=now)
    attempt = _start(session, setup, redis_client, now)
    attempts.submit_attempt(session, redis_client, PREFIX, attempt, now=now + timedelta(minutes=1))
    session.commit()
    assert attempts.attempt_result(session, attempt, now + timedelta(minutes=2)).review is None
    review = attempts.attempt_result(session, attempt, setup.round.closes_at).review
    assert len(review) == 5 and all(any(correct for _p, _t, correct in r.choices) for r in review)
    with pytest.raises(NotFoundError):
        attempts.practice_feedback(session, attempt, 0)


def test_editing_a_question_never_changes_a_drawn_paper_or_its_score(session, redis_client) -> None:
    now = utcnow()
    setup = contest_fixture.build(session, now=now, questions=5, per_paper=5)
    attempt = _start(session, setup, redis_client, now)
    first = attempt.items[0]
    shown_text, right = first.question_version.text, first.question_version.correct_positions[0]
    _save(redis_client, attempt, "0", str(right), now)
    question = session.get(Question, first.question_version.question_id)
    cells = {
        "question": "Nội dung đã sửa?",
        "choice_a": "a",
        "choice_b": "b",
        "choice_c": "c",
        "choice_d": "d",
        "correct": "ABCD"[(right + 1) % 4],
        "topic": "Chung",
        "difficulty": "dễ",
    }
    banks.edit_question(session, question, RawQuestion(row=0, cells=cells), now=now)
    session.commit()
    view = attempts.paper_view(session, redis_client, PREFIX, attempt, now)
    assert view.questions[0].text == shown_text
    attempts.submit_attempt(session, redis_client, PREFIX, attempt, now=now + timedelta(minutes=1))
    session.commit()
    assert attempt.correct_count == 1


def test_another_round_in_progress_blocks_a_start(session, redis_client) -> None:
    now = utcnow()
    setup = contest_fixture.build(session, now=now)
    _start(session, setup, redis_client, now)
    other = rounds.add_round(
        session,
        setup.contest,
        rounds.RoundRules(
            title="Luyện tập",
            opens_at=now - timedelta(hours=1),
            closes_at=now + timedelta(days=1),
            time_limit_seconds=300,
            mix=[rounds.MixItem("bank", 3)],
            is_practice=True,
        ),
        now=now,
    )
    session.commit()
    with pytest.raises(ConflictError):
        attempts.start_attempt(session, round_=other, user_id=setup.user_id, now=now, tz=TZ)
