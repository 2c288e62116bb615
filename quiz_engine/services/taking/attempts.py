"""Attempts: starting one (limits, paper), submitting it, closing overdue ones, and reading them back.

Rules implemented here:
- An attempt can start only while its round is open; the deadline is the earlier of start + time
  limit and the round's close. Answers count if they reached the server by the deadline plus the
  round's grace seconds (network delay); later ones are refused and recorded as late.
- Attempts allowed per round and per local day are counted from the database; at most one attempt
  per contestant is in progress at a time (a unique index), so two simultaneous starts make one.
- Time taken is server submit time minus server start time, never more than the time limit.
- A submission is accepted once: the attempt leaves ``in_progress`` in one conditional UPDATE.
Functions flush; the caller commits, then applies the Redis side effects they name.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import redis
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from quiz_engine.models import (
    Attempt,
    AttemptItem,
    AttemptStatus,
    Choice,
    QuestionVersion,
    Registration,
    Round,
    VoidedQuestion,
    VoidMode,
)
from quiz_engine.services.errors import ConflictError, NotFoundError, QuizError
from quiz_engine.services.taking import attempt_state, grading, paper_pool, papers, version_cache


class RoundNotOpenError(QuizError):
    status_code = 409


class AttemptLimitError(QuizError):
    status_code = 409


class NotRegisteredError(QuizError):
    status_code = 409


class StateUnavailableError(QuizError):
    """Redis (which holds the saved answers) cannot be reached: retry later, nothing is lost."""

    status_code = 503


def accept_until(attempt: Attempt, round_: Round) -> datetime:
    """The last moment an answer to ``attempt`` still counts."""
    return attempt.deadline_at + timedelta(seconds=round_.grace_seconds)


def current_attempt(session: Session, user_id: int) -> Attempt | None:
    """The contestant's attempt in progress, if any (there is at most one)."""
    return session.scalar(
        select(Attempt).where(Attempt.user_id == user_id, Attempt.status == AttemptStatus.IN_PROGRESS)
    )


def get_own_attempt(session: Session, attempt_id: int, user_id: int) -> Attempt:
    """:raises NotFoundError: if the attempt does not exist or belongs to someone else."""
    attempt = session.get(Attempt, attempt_id)
    if attempt is None or attempt.user_id != user_id:
        raise NotFoundError("Không tìm thấy bài thi.", "Attempt not found.")
    return attempt


def limit_reached(
    max_attempts: int | None, max_per_day: int | None, used: int, used_today: int
) -> AttemptLimitError | None:
    """The refusal when a round's or a day's attempts (voided ones not counted) are used up, else None."""
    if max_attempts is not None and used >= max_attempts:
        return AttemptLimitError(
            f"Bạn đã dùng hết {max_attempts} lượt thi của đợt này.",
            f"You have used all {max_attempts} attempts of this round.",
        )
    if max_per_day is not None and used_today >= max_per_day:
        return AttemptLimitError(
            f"Hôm nay bạn đã thi đủ {max_per_day} lượt; hãy quay lại vào ngày mai.",
            f"You have taken {max_per_day} attempts today; come back tomorrow.",
        )
    return None


def local_day_start(now: datetime, tz: ZoneInfo) -> datetime:
    """Midnight of ``now``'s day in ``tz``: where "attempts per day" are counted from."""
    return now.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)


def deadline_for(now: datetime, time_limit_seconds: int, closes_at: datetime) -> datetime:
    """The earlier of the time limit from ``now`` and the round's close."""
    return min(now + timedelta(seconds=time_limit_seconds), closes_at)


def attempts_used(session: Session, round_: Round, user_id: int, now: datetime, tz: ZoneInfo) -> tuple[int, int]:
    """``(attempts, attempts today)`` that count against the round's limits (void ones do not; today is local
    to ``tz``, and counted only when the round has a daily limit)."""
    counted = select(func.count(Attempt.id)).where(
        Attempt.round_id == round_.id, Attempt.user_id == user_id, Attempt.status != AttemptStatus.VOID
    )
    used = session.scalar(counted) or 0
    today = 0
    if round_.max_attempts_per_day is not None:
        today = session.scalar(counted.where(Attempt.started_at >= local_day_start(now, tz))) or 0
    return used, today


def _check_limits(session: Session, round_: Round, user_id: int, now: datetime, tz: ZoneInfo) -> int:
    """Return the next attempt number, or refuse when a limit is reached."""
    used, today = attempts_used(session, round_, user_id, now, tz)
    refusal = limit_reached(round_.max_attempts, round_.max_attempts_per_day, used, today)
    if refusal is not None:
        raise refusal
    last = session.scalar(
        select(func.max(Attempt.number)).where(Attempt.round_id == round_.id, Attempt.user_id == user_id)
    )
    return (last or 0) + 1


def start_attempt(
    session: Session,
    *,
    round_: Round,
    user_id: int,
    now: datetime,
    tz: ZoneInfo,
    rng: random.Random | None = None,
    ip_address: str | None = None,
    user_agent: str | None = None,
    client: redis.Redis | None = None,
    prefix: str = "",
) -> Attempt:
    """Draw a paper and open an attempt, or return the one already in progress in this round.

    With ``client`` (and the key ``prefix``) the paper is taken from the papers drawn ahead of time
    (:mod:`paper_pool`) when one is ready and still current; otherwise it is drawn live.

    :raises RoundNotOpenError: before the round opens or after it closes.
    :raises NotRegisteredError: if the contestant has not joined the round's contest.
    :raises ConflictError: if an attempt in another round is in progress.
    :raises AttemptLimitError: when the round's or the day's attempts are used up.
    The caller commits (an IntegrityError there means a simultaneous start won: use
    :func:`current_attempt`), then calls :func:`open_state`.
    """
    if not round_.is_open(now):
        raise _not_open(round_, now)
    running = current_attempt(session, user_id)
    if running is not None:
        if running.round_id == round_.id:
            return running
        raise ConflictError(
            "Bạn đang làm dở một bài thi ở đợt khác; hãy nộp bài đó trước.",
            "You have an attempt in progress in another round; submit it first.",
        )
    registration = session.scalar(
        select(Registration).where(Registration.contest_id == round_.contest_id, Registration.user_id == user_id)
    )
    if registration is None:
        raise NotRegisteredError(
            "Bạn cần đăng ký tham gia cuộc thi trước khi làm bài.", "Please join the contest before taking a round."
        )
    number = _check_limits(session, round_, user_id, now, tz)
    paper = None
    if client is not None:
        paper = paper_pool.take_paper(session, client, prefix, round_, registration.group_id)
    if paper is None:
        paper = papers.draw_paper(session, round_, registration.group_id, rng or random.SystemRandom())
    attempt = Attempt(
        round_id=round_.id,
        user_id=user_id,
        number=number,
        unit_id=registration.unit_id,
        group_id=registration.group_id,
        status=AttemptStatus.IN_PROGRESS,
        started_at=now,
        deadline_at=deadline_for(now, round_.time_limit_seconds, round_.closes_at),
        question_count=len(paper),
        ip_address=ip_address,
        user_agent=(user_agent or "")[:255] or None,
        items=[
            AttemptItem(position=p.position, question_version_id=p.version_id, choice_order=p.choice_order)
            for p in paper
        ],
    )
    session.add(attempt)
    session.flush()
    return attempt


def _not_open(round_: Round, now: datetime) -> RoundNotOpenError:
    if now < round_.opens_at:
        return RoundNotOpenError("Đợt thi chưa mở.", "The round has not opened yet.")
    return RoundNotOpenError("Đợt thi đã kết thúc.", "The round has closed.")


def _paper(session: Session, attempt: Attempt) -> list[AttemptItem]:
    stmt = (
        select(AttemptItem)
        .where(AttemptItem.attempt_id == attempt.id)
        .options(selectinload(AttemptItem.question_version).selectinload(QuestionVersion.choices))
        .order_by(AttemptItem.position)
    )
    return list(session.scalars(stmt))


def open_state(session: Session, client: redis.Redis, prefix: str, attempt: Attempt) -> None:
    """Put an open attempt's state into Redis (after commit; again whenever it is missing)."""
    # One query for the layout (choices shown, and whether several are right) rather than the whole paper.
    right = (
        select(func.count(Choice.id))
        .where(Choice.version_id == AttemptItem.question_version_id, Choice.is_correct.is_(True))
        .scalar_subquery()
    )
    rows = session.execute(
        select(AttemptItem.choice_order, right)
        .where(AttemptItem.attempt_id == attempt.id)
        .order_by(AttemptItem.position)
    ).all()
    layout = attempt_state.layout_of([len(order) for order, _ in rows], [correct > 1 for _, correct in rows])
    round_ = session.get(Round, attempt.round_id)
    attempt_state.open_state(
        client,
        prefix,
        round_id=attempt.round_id,
        attempt_id=attempt.id,
        user_id=attempt.user_id,
        accept_until=accept_until(attempt, round_),
        layout=layout,
    )


def submit_attempt(
    session: Session,
    client: redis.Redis,
    prefix: str,
    attempt: Attempt,
    *,
    now: datetime,
    by_server: bool = False,
    sent_answers: dict[str, str] | None = None,
    voided: dict[int, VoidMode] | None = None,
) -> bool:
    """Close ``attempt``: take the answers saved in time, score them, record the times.

    The answers come from Redis, closed there first so none slips in afterwards. If Redis is
    unreachable, the answers the browser sent with the submission are used, stamped with the
    submission time, so a contestant's work survives a Redis outage.

    :param by_server: closed by the deadline sweep (status ``expired``) rather than by the contestant.
    :param sent_answers: field -> value as the save endpoint stores them (``"0,2"``; ``p`` for the prediction).
    :param voided: the round's voids (:func:`voids`) when the caller has read them already; else read here.
    :return: True if this call closed it, False if it was already closed (a resent submit).
    :raises StateUnavailableError: if Redis cannot be read and no answers were sent; nothing changes.
    The caller takes the board entry (``scoring.board_entry``), commits, then scores the attempt into the
    boards (``scoring.apply_entry``).
    """
    round_ = session.get(Round, attempt.round_id)
    # Read the paper and the voided questions before claiming the attempt: the claim takes the write
    # lock (all of SQLite's), and what happens under it should be writes only.
    items = list(attempt.items)
    if voided is None:
        voided = voids(session, attempt.round_id)
    try:
        saved = attempt_state.close_and_read(client, prefix, attempt.round_id, attempt.id)
    except (redis.RedisError, OSError) as exc:
        if sent_answers is None:
            raise StateUnavailableError(
                "Hệ thống tạm thời không đọc được bài làm; vui lòng thử nộp lại sau ít giây.",
                "The answers store is unavailable; please submit again in a few seconds.",
            ) from exc
        saved = {field: attempt_state.SavedAnswer(value, now) for field, value in sent_answers.items()}
    ended = min(now, attempt.deadline_at)
    limit = accept_until(attempt, round_)
    answered = {
        item.position: answer
        for item in items
        if (answer := saved.get(str(item.position))) is not None
        and grading.in_time(answer.saved_at, limit)
        and answer.value
    }
    rows = _item_rows(session, items, answered, voided)
    values: dict[str, object] = {
        "status": AttemptStatus.EXPIRED if by_server or now > limit else AttemptStatus.SUBMITTED,
        "submitted_at": ended,
        "duration_ms": int((ended - attempt.started_at).total_seconds() * 1000),
        "scored_at": now,
        "correct_count": sum(bool(row["is_correct"]) for row in rows),
        "scored_count": sum(row["is_correct"] is not None for row in rows),
    }
    prediction = saved.get(attempt_state.PREDICTION_FIELD)
    if prediction is not None and grading.in_time(prediction.saved_at, limit) and prediction.value.isdigit():
        values["prediction"] = int(prediction.value)
    # Two statements, whatever the paper's length: each round trip costs a request far more than its SQL
    # when the server is busy (the thread waits for the interpreter again after every one).
    closed = session.execute(
        update(Attempt)
        .where(Attempt.id == attempt.id, Attempt.status == AttemptStatus.IN_PROGRESS)
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not closed:
        session.refresh(attempt)
        return False
    session.connection().execute(_MARK_ITEMS, rows)
    # What was written, set on the objects as loaded: no re-read, and the boards (scored after the commit)
    # take it from here.
    for item, row in zip(items, rows, strict=True):
        for name in ("selected", "answered_at", "is_correct", "is_void"):
            set_committed_value(item, name, row[name])
    for name, value in values.items():
        set_committed_value(attempt, name, value)
    return True


_ITEMS = AttemptItem.__table__
_MARK_ITEMS = (
    update(_ITEMS)
    .where(_ITEMS.c.id == bindparam("item_id"))
    .values(
        selected=bindparam("selected", type_=_ITEMS.c.selected.type),
        answered_at=bindparam("answered_at", type_=_ITEMS.c.answered_at.type),
        is_correct=bindparam("is_correct", type_=_ITEMS.c.is_correct.type),
        is_void=bindparam("is_void", type_=_ITEMS.c.is_void.type),
    )
)


def _item_rows(
    session: Session,
    items: list[AttemptItem],
    answered: Mapping[int, attempt_state.SavedAnswer],
    voided: dict[int, VoidMode],
) -> list[dict[str, object]]:
    """Each item's answer (the one saved in time, else as it was) and its mark, ready for :data:`_MARK_ITEMS`."""
    key, rows = grading.answer_key(session, [item.question_version_id for item in items], voided), []
    for item in items:
        answer = answered.get(item.position)
        selected = answer.choices if answer is not None else item.selected
        is_void, is_correct = grading.mark(key[item.question_version_id], selected)
        rows.append(
            {
                "item_id": item.id,
                "selected": selected,
                "answered_at": answer.saved_at if answer is not None else item.answered_at,
                "is_correct": is_correct,
                "is_void": is_void,
            }
        )
    return rows


def voids(session: Session, round_id: int) -> dict[int, VoidMode]:
    """Question id -> how it was voided in this round."""
    return dict(
        session.execute(
            select(VoidedQuestion.question_id, VoidedQuestion.mode).where(VoidedQuestion.round_id == round_id)
        ).all()
    )


def score_items(session: Session, attempt: Attempt) -> tuple[int, int]:
    """Mark each answer right or wrong (voided questions applied); return ``(correct, counted)``.

    A question voided "count correct" is right for everyone; one voided "remove" is left out.
    """
    correct, counted = _mark(session, list(attempt.items), voids(session, attempt.round_id))
    session.flush()
    return correct, counted


def _mark(session: Session, items: list[AttemptItem], voided: dict[int, VoidMode]) -> tuple[int, int]:
    """Mark each item as it is (after a void), through the ORM; return ``(correct, counted)``."""
    key = grading.answer_key(session, [item.question_version_id for item in items], voided)
    correct = counted = 0
    for item in items:
        item.is_void, item.is_correct = grading.mark(key[item.question_version_id], item.selected)
        counted += item.is_correct is not None
        correct += bool(item.is_correct)
    return correct, counted


def overdue_attempts(session: Session, now: datetime, limit: int = 500) -> list[Attempt]:
    """In-progress attempts whose deadline and grace have passed."""
    stmt = (
        select(Attempt)
        .join(Round, Round.id == Attempt.round_id)
        .where(Attempt.status == AttemptStatus.IN_PROGRESS, Attempt.deadline_at < now)
        .order_by(Attempt.deadline_at)
        .limit(limit)
    )
    return [a for a in session.scalars(stmt) if accept_until(a, session.get(Round, a.round_id)) < now]


@dataclass(frozen=True)
class PaperQuestion:
    position: int
    version_id: int
    text: str
    #: (bank position, text) in display order; correctness is never part of it.
    choices: list[tuple[int, str]]
    multiple: bool
    selected: list[int]


@dataclass(frozen=True)
class PaperView:
    attempt: Attempt
    round: Round
    questions: list[PaperQuestion]
    prediction: int | None
    remaining_ms: int
    #: Redis (the autosaves) could not be read: the paper shows the answers the database holds, and saving waits.
    saving_paused: bool = False

    @property
    def unanswered(self) -> list[int]:
        return [q.position for q in self.questions if not q.selected]


_PAPER_ITEMS = (
    select(AttemptItem.position, AttemptItem.question_version_id, AttemptItem.choice_order, AttemptItem.selected)
    .where(AttemptItem.attempt_id == bindparam("attempt_id"))
    .order_by(AttemptItem.position)
)


def paper_view(session: Session, client: redis.Redis, prefix: str, attempt: Attempt, now: datetime) -> PaperView:
    """The paper as the contestant sees it, with the answers saved so far and the true time left.

    If Redis cannot be read, the answers the database holds (those recorded so far) and ``saving_paused``.

    Served to every contestant at a round's start, so it reads the paper with one Core query and takes
    the questions' text from :mod:`version_cache` (versions never change).
    """
    round_ = session.get(Round, attempt.round_id)
    items = session.connection().execute(_PAPER_ITEMS, {"attempt_id": attempt.id}).all()
    saved, paused = None, False
    if attempt.status is AttemptStatus.IN_PROGRESS:
        try:
            saved = attempt_state.saved_answers(client, prefix, attempt.round_id, attempt.id)
        except (redis.RedisError, OSError):  # Redis is away: show the paper anyway, with what the database holds
            paused = True
    if saved is not None:
        chosen = {int(f): a.choices for f, a in saved.items() if f.isdigit()}
        raw_prediction = saved.get(attempt_state.PREDICTION_FIELD)
        prediction = int(raw_prediction.value) if raw_prediction and raw_prediction.value.isdigit() else None
    else:
        chosen = {i.position: i.selected or [] for i in items}
        prediction = attempt.prediction
    questions = paper_questions(session, [(i.position, i.question_version_id, i.choice_order) for i in items], chosen)
    return PaperView(attempt, round_, questions, prediction, remaining_ms(attempt.deadline_at, now), paused)


def paper_questions(
    session: Session, items: Sequence[tuple[int, int, Sequence[int]]], chosen: Mapping[int, list[int]]
) -> list[PaperQuestion]:
    """The questions of a paper given as (position, version id, choice order), texts from :mod:`version_cache`."""
    content = version_cache.contents(session, [version_id for _, version_id, _ in items])
    questions = []
    for position, version_id, choice_order in items:
        version = content[version_id]
        questions.append(
            PaperQuestion(
                position=position,
                version_id=version_id,
                text=version.text,
                choices=[(p, version.choices[p]) for p in choice_order],
                multiple=version.multiple,
                selected=chosen.get(position, []),
            )
        )
    return questions


def remaining_ms(deadline_at: datetime, now: datetime) -> int:
    """The time left to answer, as the paper page's countdown starts from it."""
    return max(0, int((deadline_at - now).total_seconds() * 1000))


def answers_revealed(round_: Round, now: datetime) -> bool:
    """Correct answers are shown in practice rounds, and elsewhere only after close if the round allows."""
    return round_.is_practice or (round_.reveal_answers_after_close and now >= round_.closes_at)


@dataclass(frozen=True)
class ReviewItem:
    position: int
    text: str
    choices: list[tuple[int, str, bool]]  # (bank position, text, is correct) in display order
    selected: list[int]
    is_correct: bool
    explanation: str


@dataclass(frozen=True)
class AttemptResult:
    attempt: Attempt
    round: Round
    review: list[ReviewItem] | None  # None until answers may be revealed

    @property
    def duration_seconds(self) -> float | None:
        return None if self.attempt.duration_ms is None else self.attempt.duration_ms / 1000


def attempt_result(session: Session, attempt: Attempt, now: datetime) -> AttemptResult:
    """Score, time and status of a closed attempt, with the corrections once they may be shown."""
    round_ = session.get(Round, attempt.round_id)
    review = None
    if attempt.status is not AttemptStatus.IN_PROGRESS and answers_revealed(round_, now):
        review = []
        for item in _paper(session, attempt):
            by_position = {c.position: c for c in item.question_version.choices}
            review.append(
                ReviewItem(
                    position=item.position,
                    text=item.question_version.text,
                    choices=[(p, by_position[p].text, by_position[p].is_correct) for p in item.choice_order],
                    selected=item.selected or [],
                    is_correct=bool(item.is_correct),
                    explanation=item.question_version.explanation,
                )
            )
    return AttemptResult(attempt, round_, review)


def practice_feedback(session: Session, attempt: Attempt, position: int) -> tuple[list[int], str]:
    """In a practice round, the correct choices and explanation of one question, right after answering.

    :raises NotFoundError: outside practice rounds (nothing is revealed there before close).
    """
    round_ = session.get(Round, attempt.round_id)
    item = session.scalar(
        select(AttemptItem).where(AttemptItem.attempt_id == attempt.id, AttemptItem.position == position)
    )
    if not round_.is_practice or item is None:
        raise NotFoundError("Không có đáp án để hiển thị.", "No answer to show.")
    return item.question_version.correct_positions, item.question_version.explanation


def history(session: Session, user_id: int) -> list[Attempt]:
    """The contestant's attempts, newest first."""
    return list(session.scalars(select(Attempt).where(Attempt.user_id == user_id).order_by(Attempt.started_at.desc())))


def in_contest(session: Session, user_id: int, contest_id: int) -> dict[int, list[Attempt]]:
    """The contestant's attempts in a contest, by round id."""
    mine: dict[int, list[Attempt]] = {}
    stmt = select(Attempt).join(Round).where(Round.contest_id == contest_id, Attempt.user_id == user_id)
    for attempt in session.scalars(stmt.order_by(Attempt.number)):
        mine.setdefault(attempt.round_id, []).append(attempt)
    return mine
