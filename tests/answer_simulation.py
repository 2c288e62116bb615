"""A round's answers simulated from a known truth: contestants of random ability answer questions of
random difficulty (a two-parameter logistic model: who knows picks the true answer, who does not guesses),
written straight into the database as closed, scored attempts. One question can carry a wrong key: the
contestants know its true answer, the bank's key names another option.

Used by the question-statistics tests and by ``make bench`` (100,000 attempts × 20 questions).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from quiz_engine.models import Attempt, AttemptItem, AttemptStatus, QuestionVersion, Role, Round, User
from quiz_engine.services.taking import version_cache

BATCH = 5000


@dataclass(frozen=True)
class Simulated:
    attempts: int
    #: Question id -> the answer position contestants who know pick (the key, except for a wrong-key question).
    truth: dict[int, int]
    #: Question id -> difficulty (on the ability scale).
    difficulty: dict[int, float]


def simulate(
    session: Session,
    round_: Round,
    attempts: int,
    *,
    now: datetime,
    per_paper: int | None = None,
    wrong_key: int | None = None,
    blank_rate: float = 0.03,
    seed: int = 57,
) -> Simulated:
    """Write ``attempts`` submitted attempts of new contestants to ``round_`` (committed).

    Every question of the round's banks is a candidate; each paper draws ``per_paper`` of them (all when None).
    ``wrong_key`` is a question id whose true answer is the option after its key.
    """
    rng = random.Random(seed)
    versions = _latest_versions(session)
    keys = {v: key[0] for v, key in version_cache.correct_positions(session, versions.values()).items()}
    options = {v: c.choice_count for v, c in version_cache.contents(session, versions.values()).items()}
    questions = sorted(versions)
    truth = {q: keys[versions[q]] for q in questions}
    if wrong_key is not None:
        truth[wrong_key] = (truth[wrong_key] + 1) % options[versions[wrong_key]]
    difficulty = {q: rng.uniform(-1.2, 1.2) for q in questions}
    size = per_paper or len(questions)
    first_user = (session.scalar(select(func.max(User.id))) or 0) + 1
    first_attempt = (session.scalar(select(func.max(Attempt.id))) or 0) + 1
    for start in range(0, attempts, BATCH):
        count = min(BATCH, attempts - start)
        users, rows, items = [], [], []
        for i in range(start, start + count):
            user_id, attempt_id = first_user + i, first_attempt + i
            ability = rng.gauss(0, 1)
            began = now - timedelta(minutes=30, seconds=i % 600)
            at, correct = began, 0
            for position, question in enumerate(rng.sample(questions, size)):
                version = versions[question]
                at += timedelta(seconds=rng.randint(4, 40))
                if rng.random() < blank_rate:
                    selected = None
                elif rng.random() < 1 / (1 + math.exp(-1.7 * (ability - difficulty[question]))):
                    selected = [truth[question]]
                else:
                    selected = [rng.randrange(options[version])]
                right = selected == [keys[version]]
                correct += right
                items.append(
                    {
                        "attempt_id": attempt_id,
                        "position": position,
                        "question_version_id": version,
                        "choice_order": list(range(options[version])),
                        "selected": selected,
                        "answered_at": at if selected else None,
                        "is_correct": right,
                        "is_void": False,
                    }
                )
            users.append(
                {
                    "id": user_id,
                    "role": Role.CONTESTANT,
                    "email": f"sim{user_id}@example.vn",
                    "password_hash": "x",
                    "full_name": f"Thí sinh {user_id}",
                    "created_at": now,
                    "updated_at": now,
                }
            )
            rows.append(
                {
                    "id": attempt_id,
                    "round_id": round_.id,
                    "user_id": user_id,
                    "number": 1,
                    "status": AttemptStatus.SUBMITTED,
                    "started_at": began,
                    "deadline_at": began + timedelta(seconds=round_.time_limit_seconds),
                    "submitted_at": at,
                    "duration_ms": int((at - began).total_seconds() * 1000),
                    "question_count": size,
                    "correct_count": correct,
                    "scored_count": size,
                    "scored_at": at,
                }
            )
        session.execute(insert(User), users)
        session.execute(insert(Attempt), rows)
        session.execute(insert(AttemptItem), items)
    _advance_sequences(session)
    session.commit()
    return Simulated(attempts, truth, difficulty)


def _latest_versions(session: Session) -> dict[int, int]:
    """Question id -> its latest version's id."""
    return dict(
        session.execute(
            select(QuestionVersion.question_id, func.max(QuestionVersion.id)).group_by(QuestionVersion.question_id)
        ).all()
    )


def _advance_sequences(session: Session) -> None:
    """PostgreSQL's id sequences past the ids written here, so later inserts do not collide."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in ("users", "attempts", "attempt_items"):
        session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))


def write_sheets(
    session: Session, round_: Round, sheets: list[dict[int, tuple[list[int] | None, int]]], *, now: datetime
) -> list[int]:
    """Write one submitted attempt per sheet ({question id: (chosen positions, seconds after the start)}),
    marked against the bank's keys; return the attempt ids (committed)."""
    versions = _latest_versions(session)
    keys = version_cache.correct_positions(session, versions.values())
    first_user = (session.scalar(select(func.max(User.id))) or 0) + 1
    ids = []
    for i, sheet in enumerate(sheets):
        user = User(
            role=Role.CONTESTANT,
            email=f"sheet{first_user + i}@example.vn",
            password_hash="x",
            full_name=f"Thí sinh {i}",
            created_at=now,
            updated_at=now,
        )
        session.add(user)
        session.flush()
        began = now - timedelta(hours=1)
        marks = [tuple(sorted(chosen or [])) == keys[versions[q]] for q, (chosen, _) in sheet.items()]
        attempt = Attempt(
            round_id=round_.id,
            user_id=user.id,
            number=1,
            status=AttemptStatus.SUBMITTED,
            started_at=began,
            deadline_at=now,
            submitted_at=now,
            duration_ms=60_000,
            question_count=len(sheet),
            correct_count=sum(marks),
            scored_count=len(sheet),
            scored_at=now,
        )
        session.add(attempt)
        session.flush()
        for position, ((question, (chosen, seconds)), right) in enumerate(zip(sheet.items(), marks, strict=True)):
            session.add(
                AttemptItem(
                    attempt_id=attempt.id,
                    position=position,
                    question_version_id=versions[question],
                    choice_order=[0, 1, 2, 3],
                    selected=chosen,
                    answered_at=began + timedelta(seconds=seconds) if chosen else None,
                    is_correct=right,
                    is_void=False,
                )
            )
        ids.append(attempt.id)
    session.commit()
    return ids
