"""Build a contest with a bank, a round and a registered contestant, for attempt tests."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from quiz_engine.models import Contest, Registration, Round, Unit, UnitKind, utcnow
from quiz_engine.services.catalogue import banks
from quiz_engine.services.catalogue.question_schema import HEADERS_VI
from quiz_engine.services.organising import contests, rounds
from quiz_engine.services.organising.units import UnitSpec, import_units
from quiz_engine.services.people import accounts

HEADER = [
    HEADERS_VI[key]
    for key in (
        "code",
        "topic",
        "difficulty",
        "question",
        "choice_a",
        "choice_b",
        "choice_c",
        "choice_d",
        "correct",
        "explanation",
    )
]


def bank_csv(count: int, *, multiple_every: int = 0) -> bytes:
    """``count`` questions; question i's correct answer is letter i % 4 (and C too when multiple)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for i in range(count):
        correct = "ABCD"[i % 4]
        if multiple_every and i % multiple_every == 0:
            correct = "A,C"
        writer.writerow(
            [
                f"Q{i:03d}",
                "Chung",
                "dễ",
                f"Câu hỏi số {i}?",
                f"A{i}",
                f"B{i}",
                f"C{i}",
                f"D{i}",
                correct,
                f"Giải thích {i}.",
            ]
        )
    return out.getvalue().encode()


@dataclass
class Setup:
    contest: Contest
    round: Round
    user_id: int


def build(
    session: Session,
    *,
    now: datetime | None = None,
    questions: int = 12,
    per_paper: int = 5,
    time_limit: int = 600,
    **rules: object,
) -> Setup:
    """A published contest with one open round and one registered contestant (committed)."""
    now = now or utcnow()
    bank = banks.get_or_create_bank(session, "bank", "Ngân hàng")
    banks.import_file(
        session, bank, "bank.csv", bank_csv(questions, multiple_every=int(rules.pop("multiple_every", 0))), now=now
    )
    import_units(session, [UnitSpec("X1", "Xã Một", UnitKind.COMMUNE, None, 100, 2)])
    round_ = _contest_round(session, "thi", "Cuộc thi", now=now, per_paper=per_paper, time_limit=time_limit, **rules)
    contest = round_.contest
    user = accounts.create_user(
        session, full_name="Nguyễn Văn An", email="an@example.vn", password="mat-khau-123", now=now
    )
    session.add(
        Registration(
            contest_id=contest.id,
            user_id=user.id,
            group_id=contest.groups[1].id,
            unit_id=contest.units[0].id if contest.units else None,
            registered_at=now,
        )
    )
    session.commit()
    return Setup(contest, round_, user.id)


def register(
    session: Session,
    contest: Contest,
    email: str,
    now: datetime | None = None,
    *,
    full_name: str = "Trần Thị Bình",
    password: str = "mat-khau-123",
    unit_id: int | None = None,
) -> int:
    """Another registered contestant, in the contest's first group (and ``unit_id``); returns the user id
    (committed)."""
    now = now or utcnow()
    user = accounts.create_user(session, full_name=full_name, email=email, password=password, now=now)
    user.unit_id = unit_id
    session.add(
        Registration(
            contest_id=contest.id, user_id=user.id, group_id=contest.groups[0].id, unit_id=unit_id, registered_at=now
        )
    )
    session.commit()
    return user.id


def play(  # type: ignore[no-untyped-def]
    app,
    login: str,
    round_id: int,
    *,
    right: int,
    password: str = "mat-khau-123",
    prediction: int | None = None,
    submit: bool = True,
) -> int:
    """Sign in as ``login`` through the API, as a phone would, answer the first ``right`` questions right and
    the rest wrong, predict if asked, and submit unless told not to. Returns the attempt id."""
    from quiz_engine.extensions import db
    from quiz_engine.models import AttemptItem

    browser = app.test_client()
    browser.post("/auth/login", data={"login": login, "password": password})
    paper = browser.get(browser.post(f"/api/v1/rounds/{round_id}/attempts").get_json()["links"]["paper"]).get_json()
    with app.app_context():
        items = db.session.scalars(
            select(AttemptItem).where(AttemptItem.attempt_id == paper["id"]).order_by(AttemptItem.position)
        ).all()
        keys = [i.question_version.correct_positions[0] for i in items]
    for question, key in zip(paper["questions"], keys, strict=True):
        browser.put(question["save_url"], json={"choices": [key if question["position"] < right else (key + 1) % 4]})
    if prediction is not None:
        browser.put(paper["prediction"]["save_url"], json={"value": prediction})
    if submit:
        browser.post(paper["links"]["submit"])
    return int(paper["id"])


def list_as_organizer(app, user_id: int) -> None:  # type: ignore[no-untyped-def]
    """List an organizer on every contest there is: organizers manage only the contests they are on."""
    from quiz_engine.extensions import db
    from quiz_engine.models import User

    with app.app_context():
        user = db.session.get(User, user_id)
        for contest in db.session.scalars(select(Contest)):
            if user not in contest.organizers:
                contest.organizers.append(user)
        db.session.commit()


def _contest_round(
    session: Session, slug: str, title: str, *, now: datetime, per_paper: int, time_limit: int, **rules: object
) -> Round:
    """A published contest on the bank, with one round open for a week."""
    contest = contests.create_contest(
        session,
        slug,
        contests.ContestDetails(
            title=title,
            groups=[("can-bo", "Cán bộ"), ("nhan-dan", "Nhân dân")],
            units=list(session.scalars(select(Unit))),
        ),
        now=now,
    )
    return rounds.add_round(
        session,
        contest,
        rounds.RoundRules(
            title="Tuần 1",
            opens_at=now - timedelta(hours=1),
            closes_at=now + timedelta(days=7),
            time_limit_seconds=time_limit,
            mix=[rounds.MixItem("bank", per_paper)],
            **rules,  # type: ignore[arg-type]
        ),
        now=now,
    )


def other_contest(session: Session, *, slug: str = "thi-khac", per_paper: int = 5) -> Round:
    """A second published contest with one open round on the same bank (after :func:`build`), no one registered."""
    round_ = _contest_round(session, slug, "Cuộc thi khác", now=utcnow(), per_paper=per_paper, time_limit=600)
    session.commit()
    return round_
