"""Personal data under Decree 13/2023/NĐ-CP: a person's own copy of it, and its anonymisation after a contest.

:func:`collect` gathers everything the system holds about one account, for the person to download
(the right of access): account fields, consents, contest entries, attempts with the questions as
shown and the answers given, final results and ranks, certificates, and the audit events about them.
It never includes a password hash, another person's data, nor any correct answer the round does not
show yet (an attempt in progress, or a closed attempt in a round that still hides its corrections).

:func:`purge_contest` anonymises the contestants of a finished contest while keeping results and
statistics: every round closed and no attempt in progress. Who is anonymised: the contest's
registered contestants, except staff (organizers, administrators) and anyone also registered in a
contest that is not finished (a later purge of that contest takes them). What changes:

* ``full_name`` becomes ``Thí sinh #<id>`` (NOT NULL); e-mail, phone, CCCD, date of birth and last
  sign-in become NULL (each is nullable; the unique ones allow any number of NULLs);
* the password hash becomes an unusable value, the account inactive and ``anonymised_at`` is set,
  so it can no longer sign in nor have its password reset;
* certificates keep their code, award, round and unit, but their holder name becomes the same
  placeholder: a certificate is a public document (its verification page shows the name to anyone
  with the code), and Decree 13 asks that data be deleted or anonymised once the purpose is met;
  the code still verifies, and the organizers' own records say whom it was issued to;
* IP addresses and user agents of their own audit events and attempts are cleared, and failed
  sign-ins typed with their e-mail or phone lose that login (and IP and user agent);
* finished export files of the contest's rounds (they list names and contact details) are deleted
  as the retention rule would, and the Redis state of their attempts is listed for deletion.

Attempts, answers, scores, registrations (group, unit), round results, ranks and unit statistics are
untouched: they refer to the account by id only. Functions flush; the caller commits.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import redis
from sqlalchemy import ColumnElement, String, cast, func, literal, or_, select, update
from sqlalchemy.orm import Session, selectinload

from quiz_engine.models import (
    CLOSED_STATUSES,
    Attempt,
    AttemptItem,
    AttemptStatus,
    AuditEvent,
    Certificate,
    Contest,
    ContestGroup,
    ExportJob,
    ExportStatus,
    QuestionVersion,
    Registration,
    Role,
    Round,
    RoundResult,
    Unit,
    User,
)
from quiz_engine.services.errors import ConflictError, NotFoundError, ValidationError
from quiz_engine.services.people import accounts, audit, names
from quiz_engine.services.taking import attempt_state
from quiz_engine.services.taking.attempts import answers_revealed

#: Identifies the layout of :func:`collect`'s document; change it when the layout changes.
FORMAT = "quiz-engine/personal-data/v1"
#: What an anonymised account is called: ``Thí sinh #<id>``.
PLACEHOLDER_PREFIX = names.ANONYMISED_PREFIX
#: Stored instead of a password hash: no password ever matches it (werkzeug finds no method in it).
UNUSABLE_PASSWORD_HASH = "!anonymised"
#: Audit actions that record a consent to the purpose of processing.
CONSENT_ACTIONS = ("user.register", "user.join_contest")
FAILED_LOGIN = "auth.login_failed"
#: Ids per ``IN (...)`` list: well under SQLite's limit on bound parameters.
CHUNK = 500
LETTERS = "ABCDEFGHIJ"

#: Reads an attempt in progress's saved answers (position -> chosen bank positions) from where they are kept.
SavedAnswersReader = Callable[[Attempt], dict[int, list[int]]]


def placeholder_name(user_id: int) -> str:
    return f"{PLACEHOLDER_PREFIX}{user_id}"


def _placeholder_sql(user_id_column: Any) -> ColumnElement[str]:
    """``'Thí sinh #' || id`` in SQL, for bulk updates (``||`` on SQLite and PostgreSQL alike)."""
    return literal(PLACEHOLDER_PREFIX, String) + cast(user_id_column, String)


def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield list(ids[start : start + CHUNK])


def _iso(value: datetime | date | None) -> str | None:
    return None if value is None else value.isoformat()


# --- The person's own copy ---------------------------------------------------------------------


def collect(
    session: Session, user_id: int, now: datetime, *, saved_answers: SavedAnswersReader | None = None
) -> dict[str, Any]:
    """Everything held about account ``user_id``, as a JSON-serialisable document.

    ``saved_answers`` reads the answers of an attempt in progress (they are kept in Redis until the
    attempt closes); without it those answers are left out. Times are ISO 8601 in UTC.

    :raises NotFoundError: if there is no such account.
    """
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError("Không tìm thấy tài khoản.", "No such account.")
    names = _Names(session)
    return {
        "format": FORMAT,
        "generated_at": _iso(now),
        "legal_basis": "Nghị định 13/2023/NĐ-CP về bảo vệ dữ liệu cá nhân (Decree 13/2023/ND-CP)",
        "account": _account(user, names),
        "consents": _consents(session, user),
        "registrations": _registrations(session, user_id, names),
        "attempts": [_attempt(a, now, names, saved_answers) for a in _attempts_of(session, user_id)],
        "round_results": _results(session, user_id, names),
        "certificates": _certificates(session, user_id, names),
        "audit_events": _events(session, user),
    }


def to_json(document: dict[str, Any]) -> bytes:
    """The document as UTF-8 JSON, Vietnamese letters as they are (``ensure_ascii=False``)."""
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")


class _Names:
    """Names of rounds, contests, groups and units, each loaded once."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._rounds: dict[int, Round | None] = {}

    def unit(self, unit_id: int | None) -> dict[str, Any] | None:
        unit = None if unit_id is None else self.session.get(Unit, unit_id)
        return None if unit is None else {"id": unit.id, "code": unit.code, "name": unit.name}

    def group(self, group_id: int | None) -> dict[str, Any] | None:
        group = None if group_id is None else self.session.get(ContestGroup, group_id)
        return None if group is None else {"id": group.id, "code": group.code, "name": group.name}

    def contest(self, contest: Contest) -> dict[str, Any]:
        return {"id": contest.id, "slug": contest.slug, "title": contest.title}

    def round(self, round_id: int) -> dict[str, Any] | None:
        round_ = self.session.get(Round, round_id)
        if round_ is None:
            return None
        return {
            "id": round_.id,
            "number": round_.number,
            "title": round_.title,
            "is_practice": round_.is_practice,
            "opens_at": _iso(round_.opens_at),
            "closes_at": _iso(round_.closes_at),
            "contest": self.contest(round_.contest),
        }


def _account(user: User, names: _Names) -> dict[str, Any]:
    """The account's own fields; never the password hash."""
    return {
        "id": user.id,
        "role": user.role.value,
        "full_name": user.full_name,
        "email": user.email,
        "phone": user.phone,
        "cccd": user.cccd,
        "date_of_birth": _iso(user.date_of_birth),
        "unit": names.unit(user.unit_id),
        "is_active_account": user.is_active_account,
        "must_change_password": user.must_change_password,
        "consented_at": _iso(user.consented_at),
        "last_login_at": _iso(user.last_login_at),
        "anonymised_at": _iso(user.anonymised_at),
        "created_at": _iso(user.created_at),
        "updated_at": _iso(user.updated_at),
    }


def _consents(session: Session, user: User) -> dict[str, Any]:
    events = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.actor_id == user.id, AuditEvent.action.in_(CONSENT_ACTIONS))
        .order_by(AuditEvent.at, AuditEvent.id)
    )
    return {
        "consented_at": _iso(user.consented_at),
        "records": [
            {
                "at": _iso(e.at),
                "action": e.action,
                "contest_id": e.target_id if e.target_type == "contest" else None,
                "consent_version": (e.details or {}).get("consent"),
            }
            for e in events
        ],
    }


def _registrations(session: Session, user_id: int, names: _Names) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Registration, Contest)
        .join(Contest, Contest.id == Registration.contest_id)
        .where(Registration.user_id == user_id)
        .order_by(Registration.registered_at, Registration.id)
    )
    return [
        {
            "contest": names.contest(contest),
            "group": names.group(entry.group_id),
            "unit": names.unit(entry.unit_id),
            "registered_at": _iso(entry.registered_at),
        }
        for entry, contest in rows
    ]


def _attempts_of(session: Session, user_id: int) -> list[Attempt]:
    return list(
        session.scalars(
            select(Attempt)
            .where(Attempt.user_id == user_id)
            .order_by(Attempt.started_at, Attempt.id)
            .options(
                selectinload(Attempt.items)
                .selectinload(AttemptItem.question_version)
                .selectinload(QuestionVersion.choices)
            )
        )
    )


def _attempt(
    attempt: Attempt, now: datetime, names: _Names, saved_answers: SavedAnswersReader | None
) -> dict[str, Any]:
    """One attempt; corrections only once it is closed and its round shows them."""
    in_progress = attempt.status is AttemptStatus.IN_PROGRESS
    revealed = attempt.status in CLOSED_STATUSES and answers_revealed(attempt.round, now)
    saved = saved_answers(attempt) if in_progress and saved_answers is not None else {}
    return {
        "id": attempt.id,
        "round": names.round(attempt.round_id),
        "number": attempt.number,
        "status": attempt.status.value,
        "group": names.group(attempt.group_id),
        "unit": names.unit(attempt.unit_id),
        "started_at": _iso(attempt.started_at),
        "deadline_at": _iso(attempt.deadline_at),
        "submitted_at": _iso(attempt.submitted_at),
        "duration_ms": attempt.duration_ms,
        "question_count": attempt.question_count,
        "correct_count": None if in_progress else attempt.correct_count,
        "scored_count": None if in_progress else attempt.scored_count,
        "prediction": attempt.prediction,
        "ip_address": attempt.ip_address,
        "user_agent": attempt.user_agent,
        "answers_revealed": revealed,
        "questions": [
            _question(item, saved.get(item.position) if in_progress else item.selected, revealed)
            for item in attempt.items
        ],
    }


def _question(item: AttemptItem, selected: list[int] | None, revealed: bool) -> dict[str, Any]:
    """A question as shown (choices in display order, lettered as shown) and the answer given."""
    version = item.question_version
    by_position = {c.position: c for c in version.choices}
    letter_of = {position: LETTERS[shown] for shown, position in enumerate(item.choice_order)}
    question: dict[str, Any] = {
        "number": item.position + 1,
        "text": version.text,
        "choices": [{"letter": letter_of[p], "text": by_position[p].text} for p in item.choice_order],
        "selected": sorted(letter_of[p] for p in selected or [] if p in letter_of),
        "answered_at": _iso(item.answered_at),
    }
    if revealed:  # never an answer key the contestant may not see yet
        question["correct"] = sorted(letter_of[p] for p in version.correct_positions if p in letter_of)
        question["is_correct"] = item.is_correct
        question["voided"] = item.is_void
    return question


def _results(session: Session, user_id: int, names: _Names) -> list[dict[str, Any]]:
    results = session.scalars(select(RoundResult).where(RoundResult.user_id == user_id).order_by(RoundResult.round_id))
    return [
        {
            "round": names.round(r.round_id),
            "rank": r.rank,
            "correct_count": r.correct_count,
            "scored_count": r.scored_count,
            "prediction": r.prediction,
            "prediction_distance": r.prediction_distance,
            "duration_ms": r.duration_ms,
            "submitted_at": _iso(r.submitted_at),
            "attempt_id": r.attempt_id,
            "group": names.group(r.group_id),
            "unit": names.unit(r.unit_id),
        }
        for r in results
    ]


def _certificates(session: Session, user_id: int, names: _Names) -> list[dict[str, Any]]:
    found = session.scalars(select(Certificate).where(Certificate.user_id == user_id).order_by(Certificate.id))
    return [
        {
            "code": c.code,
            "round": names.round(c.round_id),
            "award": c.award,
            "holder_name": c.holder_name,
            "unit_name": c.unit_name,
            "issued_at": _iso(c.issued_at),
            "revoked_at": _iso(c.revoked_at),
        }
        for c in found
    ]


def _events(session: Session, user: User) -> dict[str, list[dict[str, Any]]]:
    """Their own actions (with IP and user agent), others' actions on their account, and failed sign-ins."""
    own = session.scalars(select(AuditEvent).where(AuditEvent.actor_id == user.id).order_by(AuditEvent.id))
    by_others = session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.target_type == "user",
            AuditEvent.target_id == user.id,
            or_(AuditEvent.actor_id.is_(None), AuditEvent.actor_id != user.id),
        )
        .order_by(AuditEvent.id)
    )
    return {
        "own": [_event(e, user.id, with_origin=True) for e in own],
        # Who did it and from where is the other person's data: only what was done, and when.
        "about_account": [_event(e, user.id, with_origin=False) for e in by_others],
        "failed_logins": [_event(e, user.id, with_origin=True) for e in failed_logins(session, user)],
    }


def _event(event: AuditEvent, user_id: int, *, with_origin: bool) -> dict[str, Any]:
    other_person = event.target_type == "user" and event.target_id != user_id
    out: dict[str, Any] = {
        "at": _iso(event.at),
        "action": event.action,
        "target_type": event.target_type,
        "target_id": None if other_person else event.target_id,
    }
    if with_origin:
        out |= {"ip_address": event.ip_address, "user_agent": event.user_agent, "details": event.details or {}}
    return out


def _login_value(raw: object) -> str | None:
    """A typed login in the form accounts store it (lower-case e-mail, +84 phone), or None."""
    if not isinstance(raw, str):
        return None
    try:
        return accounts.normalise_login(raw)[1]
    except ValidationError:
        return None


def failed_logins(session: Session, user: User) -> list[AuditEvent]:
    """Failed sign-ins typed with the account's e-mail or phone, in any spelling the sign-in form accepts."""
    identifiers = {v for v in (user.email, user.phone) if v}
    if not identifiers:
        return []
    login = AuditEvent.details["login"].as_string()
    hints = []
    if user.email:
        hints.append(func.lower(login).contains(user.email, autoescape=True))
    if user.phone:  # the last three digits are together in every spelling (0912 345 678, 091.234.5678)
        hints.append(login.contains(user.phone[-3:], autoescape=True))
    candidates = session.scalars(
        select(AuditEvent).where(AuditEvent.action == FAILED_LOGIN, or_(*hints)).order_by(AuditEvent.id)
    )
    return [e for e in candidates if _login_value((e.details or {}).get("login")) in identifiers]


# --- Anonymising a finished contest ------------------------------------------------------------


@dataclass
class PurgeReport:
    """What a purge did (or, rolled back, would do); no personal data in it."""

    contest_id: int
    anonymised: list[int] = field(default_factory=list)
    already_anonymised: int = 0
    skipped_staff: int = 0
    #: Also registered in a contest that is not finished: left for that contest's purge.
    skipped_other_contests: int = 0
    certificates: int = 0
    audit_events: int = 0
    failed_logins: int = 0
    attempts: int = 0
    exports: int = 0
    #: ``(round id, attempt id)`` of the anonymised people's attempts, whose Redis state to delete after commit.
    attempt_refs: list[tuple[int, int]] = field(default_factory=list)
    #: Ranked rounds without a stored final ranking: certificates can no longer be issued to anonymised people.
    unfinalised_rounds: list[int] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.anonymised)

    def counts(self) -> dict[str, int]:
        return {
            "anonymised": len(self.anonymised),
            "already_anonymised": self.already_anonymised,
            "skipped_staff": self.skipped_staff,
            "skipped_other_contests": self.skipped_other_contests,
            "certificates": self.certificates,
            "audit_events": self.audit_events,
            "failed_logins": self.failed_logins,
            "attempts": self.attempts,
            "exports": self.exports,
        }


def unfinished_reasons(session: Session, contest: Contest, now: datetime) -> list[tuple[str, str]]:
    """Why ``contest`` is not finished, as ``(vi, en)`` pairs; empty when it is.

    Finished: it has rounds, every one has closed, and no attempt in it is in progress. A contest
    without rounds is not finished: rounds may still be added to it.
    """
    rounds = list(session.scalars(select(Round).where(Round.contest_id == contest.id).order_by(Round.closes_at)))
    reasons: list[tuple[str, str]] = []
    if not rounds:
        reasons.append(("cuộc thi chưa có đợt thi nào", "the contest has no rounds yet"))
    for round_ in rounds:
        if round_.closes_at > now:
            reasons.append(
                (
                    f"đợt #{round_.id} {round_.title} chưa đóng (đóng lúc {round_.closes_at:%Y-%m-%d %H:%M} UTC)",
                    f"round #{round_.id} {round_.title} has not closed (closes {round_.closes_at:%Y-%m-%d %H:%M} UTC)",
                )
            )
    running = session.scalar(
        select(func.count(Attempt.id))
        .join(Round, Round.id == Attempt.round_id)
        .where(Round.contest_id == contest.id, Attempt.status == AttemptStatus.IN_PROGRESS)
    )
    if running:
        reasons.append(
            (
                f"còn {running} bài đang làm dở (chạy `quiz close-overdue` để đóng bài quá hạn)",
                f"{running} attempt(s) still in progress (run `quiz close-overdue` to close overdue ones)",
            )
        )
    return reasons


def is_finished(session: Session, contest: Contest, now: datetime) -> bool:
    return not unfinished_reasons(session, contest, now)


def _check_finished(session: Session, contest: Contest, now: datetime) -> None:
    reasons = unfinished_reasons(session, contest, now)
    if reasons:
        vi = "; ".join(vi for vi, _en in reasons)
        en = "; ".join(en for _vi, en in reasons)
        raise ConflictError(
            f"Cuộc thi #{contest.id} chưa kết thúc, không ẩn danh gì cả: {vi}.",
            f"Contest #{contest.id} has not finished; nothing was anonymised: {en}.",
        )


def _unfinished_contest_ids(session: Session, now: datetime, but: int) -> list[int]:
    contests = session.scalars(select(Contest).where(Contest.id != but))
    return [c.id for c in contests if not is_finished(session, c, now)]


def _still_needed(session: Session, user_ids: list[int], now: datetime, contest_id: int) -> set[int]:
    """Those of ``user_ids`` registered in another contest that is not finished."""
    unfinished = _unfinished_contest_ids(session, now, contest_id)
    if not unfinished or not user_ids:
        return set()
    needed: set[int] = set()
    for chunk in _chunks(user_ids):
        needed.update(
            session.scalars(
                select(Registration.user_id).where(
                    Registration.contest_id.in_(unfinished), Registration.user_id.in_(chunk)
                )
            )
        )
    return needed


def _select_people(session: Session, contest: Contest, now: datetime, report: PurgeReport) -> list[int]:
    """The contest's registrants to anonymise now; the rest are counted in ``report``."""
    rows = session.execute(
        select(User.id, User.role, User.anonymised_at)
        .join(Registration, Registration.user_id == User.id)
        .where(Registration.contest_id == contest.id)
        .order_by(User.id)
    ).all()
    candidates = []
    for user_id, role, anonymised_at in rows:
        if role is not Role.CONTESTANT:
            report.skipped_staff += 1
        elif anonymised_at is not None:
            report.already_anonymised += 1
        else:
            candidates.append(user_id)
    needed = _still_needed(session, candidates, now, contest.id)
    report.skipped_other_contests = len(needed)
    return [user_id for user_id in candidates if user_id not in needed]


def purge_contest(session: Session, contest: Contest, now: datetime) -> PurgeReport:
    """Anonymise the personal data of ``contest``'s contestants, keeping results and statistics.

    All in the caller's transaction: roll back to undo (``--dry-run`` does), commit to keep. Running it
    again changes nothing (the people are already anonymised) and records nothing. Certificates are
    anonymised too (see the module docstring). An audit event ``contest.purge_personal_data`` holds
    the counts, no personal data.

    :raises ConflictError: if the contest has not finished (nothing is changed).
    """
    _check_finished(session, contest, now)
    report = PurgeReport(contest_id=contest.id)
    report.unfinalised_rounds = [r.id for r in contest.rounds if not r.is_practice and r.finalized_at is None]
    people = _select_people(session, contest, now, report)
    if not people:
        return report
    session.flush()
    report.failed_logins = _redact_failed_logins(session, people)
    for chunk in _chunks(people):
        _anonymise_accounts(session, chunk, now)
        report.certificates += _rowcount(
            session,
            update(Certificate)
            .where(Certificate.user_id.in_(chunk), Certificate.holder_name != _placeholder_sql(Certificate.user_id))
            .values(holder_name=_placeholder_sql(Certificate.user_id)),
        )
        report.audit_events += _rowcount(
            session,
            update(AuditEvent)
            .where(
                AuditEvent.actor_id.in_(chunk),
                or_(AuditEvent.ip_address.is_not(None), AuditEvent.user_agent.is_not(None)),
            )
            .values(ip_address=None, user_agent=None),
        )
        report.attempts += _rowcount(
            session,
            update(Attempt)
            .where(Attempt.user_id.in_(chunk), or_(Attempt.ip_address.is_not(None), Attempt.user_agent.is_not(None)))
            .values(ip_address=None, user_agent=None),
        )
        report.attempt_refs += [
            (round_id, attempt_id)
            for round_id, attempt_id in session.execute(
                select(Attempt.round_id, Attempt.id).where(Attempt.user_id.in_(chunk)).order_by(Attempt.id)
            )
        ]
    report.exports = _expire_exports(session, contest, now)
    report.anonymised = people
    session.expire_all()  # the bulk updates bypassed the identity map: reload what is read next
    audit.record(session, "contest.purge_personal_data", now=now, target=("contest", contest.id), **report.counts())
    return report


def _rowcount(session: Session, statement: Any) -> int:
    result = session.execute(statement, execution_options={"synchronize_session": False})
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _anonymise_accounts(session: Session, user_ids: list[int], now: datetime) -> None:
    session.execute(
        update(User)
        .where(User.id.in_(user_ids))
        .values(
            full_name=_placeholder_sql(User.id),
            email=None,
            phone=None,
            cccd=None,
            date_of_birth=None,
            last_login_at=None,
            password_hash=UNUSABLE_PASSWORD_HASH,
            must_change_password=False,
            is_active_account=False,
            anonymised_at=now,
            updated_at=now,
        ),
        execution_options={"synchronize_session": False},
    )


def _redact_failed_logins(session: Session, user_ids: list[int]) -> int:
    """Strip the login, IP and user agent from failed sign-ins typed with these people's e-mail or phone."""
    owner: dict[str, int] = {}
    for chunk in _chunks(user_ids):
        for user_id, email, phone in session.execute(select(User.id, User.email, User.phone).where(User.id.in_(chunk))):
            owner.update({value: user_id for value in (email, phone) if value})
    if not owner:
        return 0
    matched = [
        event_id
        for event_id, details in session.execute(
            select(AuditEvent.id, AuditEvent.details).where(AuditEvent.action == FAILED_LOGIN)
        )
        if _login_value((details or {}).get("login")) in owner
    ]
    for chunk in _chunks(matched):
        session.execute(
            update(AuditEvent)
            .where(AuditEvent.id.in_(chunk))
            .values(ip_address=None, user_agent=None, details={"login": None, "redacted": True}),
            execution_options={"synchronize_session": False},
        )
    return len(matched)


def _expire_exports(session: Session, contest: Contest, now: datetime) -> int:
    """Delete finished export files of the contest's rounds: they list names and contact details."""
    round_ids = select(Round.id).where(Round.contest_id == contest.id)
    return _rowcount(
        session,
        update(ExportJob)
        .where(
            ExportJob.round_id.in_(round_ids),
            ExportJob.status == ExportStatus.DONE,
            ExportJob.expired_at.is_(None),
        )
        .values(content=None, expired_at=now),
    )


def forget_attempt_state(client: redis.Redis, prefix: str, refs: Iterable[tuple[int, int]]) -> int:
    """Delete the Redis state (owner, saved answers) of these closed attempts, after the commit; return keys deleted."""
    keys = [
        key
        for round_id, attempt_id in refs
        for key in (
            attempt_state.attempt_key(prefix, round_id, attempt_id),
            attempt_state.answers_key(prefix, round_id, attempt_id),
        )
    ]
    deleted = 0
    for start in range(0, len(keys), CHUNK):
        # One key per call: keys of different rounds live in different Redis Cluster slots.
        pipe = client.pipeline(transaction=False)
        for key in keys[start : start + CHUNK]:
            pipe.delete(key)
        deleted += sum(int(n) for n in pipe.execute())
    return deleted
