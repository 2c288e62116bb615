"""Signs that one person may hold several accounts ("one person, one account"), for a human to review.

Four signals, each found as groups of accounts with the evidence that links them (the strongest
``Thresholds.max_groups`` groups of each are kept, and all are counted):

* **Registrations from one IP address**: at least ``Thresholds.ip_accounts`` accounts created for the
  contest from one address within ``Thresholds.window``. Schools, offices and mobile networks share
  addresses, so this alone proves nothing.
* **Registrations from one device**: at least two accounts created from the same address *and* the
  same browser (user agent) within ``Thresholds.window``.
* **Sign-ins from one device**: at least ``Thresholds.login_accounts`` different accounts of the
  contest signing in from the same address and browser within ``Thresholds.login_window``.
* **Identical answers**: attempts of one round submitted by their contestants (not closed at the
  deadline, whose times say nothing of the person), by different accounts, with the same questions
  and the same choices for each, whose durations (within ``Thresholds.duration_tolerance``) or
  submission times (within ``Thresholds.submit_tolerance``) are close. Papers are drawn at random, so
  answers are compared by question version, never by position. Identical papers that are entirely
  right are common among strong contestants, so for them both timings must be close.

The registration and sign-in signals read the audit log (``user.register`` with the contest as target,
``auth.login``); they work over sorted streams with a sliding window, in one pass. The answer signal
first groups attempts in SQL by a fingerprint of their questions and right answers (counts and sums
of question version ids), keeps the attempts with a close timing partner in the same group, and only
then reads those attempts' answers to compare them exactly. No step compares every pair of attempts.
"""

from __future__ import annotations

import enum
import itertools
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import BigInteger, and_, case, cast, func, select
from sqlalchemy.orm import Session, aliased

from quiz_engine.models import (
    Attempt,
    AttemptItem,
    AttemptStatus,
    AuditEvent,
    Contest,
    Registration,
    Round,
    Unit,
    User,
)

BATCH = 2000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
G = TypeVar("G")
#: Attempts whose answers are read at once when comparing them exactly.
CHUNK = 500


@dataclass(frozen=True)
class Thresholds:
    """What counts as suspicious; the defaults suit a province-wide contest."""

    #: Accounts registered from one IP address within ``window``.
    ip_accounts: int = 3
    #: Accounts registered from one device (IP address and user agent) within ``window``.
    device_accounts: int = 2
    window: timedelta = timedelta(hours=1)
    #: Different accounts signing in from one device within ``login_window``.
    login_accounts: int = 3
    login_window: timedelta = timedelta(hours=1)
    #: Attempts with fewer answered questions are never compared (blank papers all look alike).
    min_answered: int = 3
    duration_tolerance: timedelta = timedelta(seconds=5)
    submit_tolerance: timedelta = timedelta(seconds=60)
    #: Groups kept per signal, the strongest first (the others are only counted).
    max_groups: int = 100


class Signal(enum.StrEnum):
    REGISTER_IP = "register_ip"
    REGISTER_DEVICE = "register_device"
    LOGIN_DEVICE = "login_device"


@dataclass(frozen=True)
class Account:
    """Who an account belongs to, as the organizer needs to follow it up."""

    id: int
    full_name: str
    email: str | None
    phone: str | None
    #: The unit of the person's entry in the contest.
    unit: str | None


@dataclass(frozen=True)
class OriginEvent:
    """One registration or sign-in in an origin group."""

    account: Account
    at: datetime
    user_agent: str | None


@dataclass(frozen=True)
class OriginGroup:
    """Accounts registered or signed in from one address (and, for a device, one browser) close together."""

    signal: Signal
    ip_address: str
    #: The shared browser; None for the address-only signal (each event keeps its own).
    user_agent: str | None
    events: list[OriginEvent]

    @property
    def accounts(self) -> list[Account]:
        """The distinct accounts, in the order they first appear."""
        return list({e.account.id: e.account for e in self.events}.values())

    @property
    def first_at(self) -> datetime:
        return self.events[0].at

    @property
    def last_at(self) -> datetime:
        return self.events[-1].at

    @property
    def span(self) -> timedelta:
        return self.last_at - self.first_at


@dataclass(frozen=True)
class AnswerMember:
    """One attempt in a group of identical answers."""

    account: Account
    attempt_id: int
    attempt_number: int
    started_at: datetime
    submitted_at: datetime
    duration: timedelta
    correct_count: int | None
    prediction: int | None
    ip_address: str | None
    user_agent: str | None


@dataclass(frozen=True)
class AnswerGroup:
    """Attempts of one round by different accounts with identical answers and close timings."""

    round_id: int
    round_title: str
    members: list[AnswerMember]
    #: Questions on each paper, all identical, and how many were answered.
    question_count: int
    answered_count: int
    #: Questions every member got wrong the same way: shared mistakes weigh more than shared right answers.
    shared_wrong: int
    #: Median over the questions of the spread (latest minus earliest) of when members answered them,
    #: counted from each attempt's start; None if no question was answered by all with a time.
    answer_time_spread: timedelta | None

    @property
    def accounts(self) -> list[Account]:
        return list({m.account.id: m.account for m in self.members}.values())

    @property
    def duration_spread(self) -> timedelta:
        """Longest minus shortest duration."""
        durations = [m.duration for m in self.members]
        return max(durations) - min(durations)

    @property
    def submit_spread(self) -> timedelta:
        """Last minus first submission."""
        times = [m.submitted_at for m in self.members]
        return max(times) - min(times)


@dataclass(frozen=True)
class Findings(Generic[G]):
    """One signal's groups, the strongest first, at most ``Thresholds.max_groups`` of ``total``."""

    groups: list[G] = field(default_factory=list)
    total: int = 0

    @property
    def omitted(self) -> int:
        return self.total - len(self.groups)


@dataclass(frozen=True)
class Report:
    contest_id: int
    round_id: int | None
    thresholds: Thresholds
    register_ip: Findings[OriginGroup] = field(default_factory=Findings)
    register_device: Findings[OriginGroup] = field(default_factory=Findings)
    login_device: Findings[OriginGroup] = field(default_factory=Findings)
    answers: Findings[AnswerGroup] = field(default_factory=Findings)

    @property
    def empty(self) -> bool:
        return not (
            self.register_ip.total or self.register_device.total or self.login_device.total or self.answers.total
        )


def report(
    session: Session, contest: Contest, round_: Round | None = None, thresholds: Thresholds | None = None
) -> Report:
    """Every signal for ``contest``; with ``round_``, answers of that round only and sign-ins while it was open.

    Registrations are always read for the whole contest: accounts are created once, before any round.
    """
    limits = thresholds or Thresholds()
    if round_ is not None and round_.contest_id != contest.id:
        raise ValueError("the round belongs to another contest")
    rounds = [round_] if round_ is not None else list(contest.rounds)
    by_ip, by_device = _registration_groups(session, contest, limits)
    logins = _login_groups(session, contest, rounds, limits)
    answers = _answer_groups(session, contest, rounds, limits)
    return Report(contest.id, round_.id if round_ else None, limits, by_ip, by_device, logins, answers)


# --- Registrations and sign-ins: sliding windows over sorted streams -------------------------------

#: (at, user id, user agent) of one audit event.
_Event = tuple[datetime, int, str | None]


def bursts(events: Sequence[_Event], min_accounts: int, window: timedelta) -> list[list[_Event]]:
    """The runs of ``events`` (sorted by time) covered by windows of length ``window`` that each hold at
    least ``min_accounts`` different accounts; overlapping windows merge into one run. Linear time."""
    runs: list[list[_Event]] = []
    counts: Counter[int] = Counter()
    start = end = 0  # the run being built is events[start:end]; empty while start == end
    right = 0
    for left, (at, _user, _agent) in enumerate(events):
        while right < len(events) and events[right][0] - at <= window:
            counts[events[right][1]] += 1
            right += 1
        if len(counts) >= min_accounts:
            if left >= end:  # this window starts after the run ended: close that run, begin another
                if end > start:
                    runs.append(list(events[start:end]))
                start = left
            end = right
        counts[events[left][1]] -= 1
        if not counts[events[left][1]]:
            del counts[events[left][1]]
    if end > start:
        runs.append(list(events[start:end]))
    return runs


def _stream(session: Session, stmt: Any) -> Iterator[Any]:
    result = session.connection().execute(stmt.execution_options(yield_per=BATCH))
    try:
        yield from result
    finally:
        result.close()


def _registration_groups(
    session: Session, contest: Contest, limits: Thresholds
) -> tuple[Findings[OriginGroup], Findings[OriginGroup]]:
    stmt = (
        select(AuditEvent.ip_address, AuditEvent.user_agent, AuditEvent.at, AuditEvent.actor_id)
        .where(
            AuditEvent.action == "user.register",
            AuditEvent.target_type == "contest",
            AuditEvent.target_id == contest.id,
            AuditEvent.ip_address.is_not(None),
            AuditEvent.actor_id.is_not(None),
        )
        .order_by(AuditEvent.ip_address, AuditEvent.user_agent, AuditEvent.at, AuditEvent.id)
    )
    by_ip: list[tuple[str, None, list[_Event]]] = []
    by_device: list[tuple[str, str | None, list[_Event]]] = []
    for ip, rows in itertools.groupby(_stream(session, stmt), key=lambda r: r[0]):
        events: list[_Event] = []
        for agent, same_device in itertools.groupby(rows, key=lambda r: r[1]):
            device = [(at, user, agent) for _ip, _agent, at, user in same_device]
            by_device += [(ip, agent, run) for run in bursts(device, limits.device_accounts, limits.window)]
            events += device
        events.sort(key=lambda e: e[0])
        by_ip += [(ip, None, run) for run in bursts(events, limits.ip_accounts, limits.window)]
    return (
        _origin_findings(session, contest, Signal.REGISTER_IP, by_ip, limits.max_groups),
        _origin_findings(session, contest, Signal.REGISTER_DEVICE, by_device, limits.max_groups),
    )


def _login_groups(session: Session, contest: Contest, rounds: list[Round], limits: Thresholds) -> Findings[OriginGroup]:
    """Sign-ins of the contest's entrants, while its rounds (or the one round) were open."""
    stmt = (
        select(AuditEvent.ip_address, AuditEvent.user_agent, AuditEvent.at, AuditEvent.actor_id)
        .join(
            Registration,
            and_(Registration.user_id == AuditEvent.actor_id, Registration.contest_id == contest.id),
        )
        .where(AuditEvent.action == "auth.login", AuditEvent.ip_address.is_not(None))
        .order_by(AuditEvent.ip_address, AuditEvent.user_agent, AuditEvent.at, AuditEvent.id)
    )
    if rounds:
        stmt = stmt.where(
            AuditEvent.at >= min(r.opens_at for r in rounds), AuditEvent.at <= max(r.closes_at for r in rounds)
        )
    found: list[tuple[str, str | None, list[_Event]]] = []
    for (ip, agent), rows in itertools.groupby(_stream(session, stmt), key=lambda r: (r[0], r[1])):
        device = [(at, user, agent) for _ip, _agent, at, user in rows]
        found += [(ip, agent, run) for run in bursts(device, limits.login_accounts, limits.login_window)]
    return _origin_findings(session, contest, Signal.LOGIN_DEVICE, found, limits.max_groups)


def _origin_findings(
    session: Session, contest: Contest, signal: Signal, found: list[tuple[str, str | None, list[_Event]]], limit: int
) -> Findings[OriginGroup]:
    """The groups with the most accounts first (then the earliest), with their accounts loaded."""
    found.sort(key=lambda f: (-len({user for _at, user, _ua in f[2]}), f[2][0][0]))
    kept = found[:limit]
    accounts = _accounts(session, contest, {user for _ip, _agent, run in kept for _at, user, _ua in run})
    groups = [
        OriginGroup(
            signal=signal,
            ip_address=ip,
            user_agent=agent if signal is not Signal.REGISTER_IP else None,
            events=[OriginEvent(accounts[user], at, ua) for at, user, ua in run if user in accounts],
        )
        for ip, agent, run in kept
    ]
    return Findings([g for g in groups if g.events], len(found))


def _accounts(session: Session, contest: Contest, user_ids: set[int]) -> dict[int, Account]:
    """The accounts with their unit in ``contest`` (their entry's, else their own)."""
    found: dict[int, Account] = {}
    ids = sorted(user_ids)
    entry_unit = aliased(Unit)
    for first in range(0, len(ids), CHUNK):
        stmt = (
            select(User.id, User.full_name, User.email, User.phone, func.coalesce(entry_unit.name, Unit.name))
            .outerjoin(Registration, and_(Registration.user_id == User.id, Registration.contest_id == contest.id))
            .outerjoin(entry_unit, entry_unit.id == Registration.unit_id)
            .outerjoin(Unit, Unit.id == User.unit_id)
            .where(User.id.in_(ids[first : first + CHUNK]))
        )
        found.update({row[0]: Account(*row) for row in session.execute(stmt)})
    return found


# --- Identical answers -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Candidate:
    attempt_id: int
    round_id: int
    user_id: int
    number: int
    started_at: datetime
    submitted_at: datetime
    duration_ms: int
    correct_count: int | None
    prediction: int | None
    ip_address: str | None
    user_agent: str | None
    wrong: int


def _fingerprints(session: Session, rounds: list[Round], limits: Thresholds) -> dict[tuple[Any, ...], list[_Candidate]]:
    """Submitted attempts grouped in SQL by their questions and which of them were right.

    Attempts with identical answers always share a fingerprint (rightness follows from the question
    and the choices); a shared fingerprint is only a candidate, checked exactly later.
    """
    version = cast(AttemptItem.question_version_id, BigInteger)
    right = AttemptItem.is_correct.is_(True)
    stmt = (
        select(
            Attempt.id,
            Attempt.round_id,
            Attempt.user_id,
            Attempt.number,
            Attempt.started_at,
            Attempt.submitted_at,
            Attempt.duration_ms,
            Attempt.correct_count,
            Attempt.prediction,
            Attempt.ip_address,
            Attempt.user_agent,
            func.sum(case((AttemptItem.is_correct.is_(False), 1), else_=0)),
            func.count(AttemptItem.id),
            func.sum(version),
            func.sum(version * version),
            func.sum(case((right, version), else_=0)),
            func.sum(case((right, version * version), else_=0)),
        )
        .join(AttemptItem, AttemptItem.attempt_id == Attempt.id)
        .where(
            Attempt.round_id.in_([r.id for r in rounds]),
            Attempt.status == AttemptStatus.SUBMITTED,
            Attempt.duration_ms.is_not(None),
            Attempt.submitted_at.is_not(None),
        )
        .group_by(Attempt.id)
        .having(func.count(AttemptItem.answered_at) >= limits.min_answered)
    )
    buckets: dict[tuple[Any, ...], list[_Candidate]] = defaultdict(list)
    for row in _stream(session, stmt):
        key = (row[1], *(int(v or 0) for v in row[11:]))
        buckets[key].append(_Candidate(*row[:11], wrong=int(row[11] or 0)))
    return buckets


#: (duration ms, submission ms since the epoch, user id, attempt id) of one candidate.
_Timing = tuple[int, int, int, int]
#: Grid cells to pair with a cell so that each pair of neighbouring cells is visited once.
_NEIGHBOURS = ((0, 1), (1, -1), (1, 0), (1, 1))


def _timing_pairs(bucket: list[_Candidate], limits: Thresholds) -> set[tuple[int, int]]:
    """Pairs of attempt ids, by different accounts, in ``bucket`` whose timings are close.

    With a mistake in common, close durations or close submissions suffice: a sorted scan along each
    meets only the pairs within the tolerance. For all-right papers both must be close: attempts go
    into a grid of tolerance-sized cells and only neighbouring cells are compared. Either way the work
    grows with the bucket and the pairs found, not with the square of the bucket.
    """
    tolerances = (_ms(limits.duration_tolerance), _ms(limits.submit_tolerance))
    rows = [(c.duration_ms, _ms(c.submitted_at - EPOCH), c.user_id, c.attempt_id) for c in bucket]
    if bucket[0].wrong:
        return _scan(rows, 0, tolerances[0]) | _scan(rows, 1, tolerances[1])
    return _grid(rows, tolerances)


def _ms(value: timedelta) -> int:
    return value // timedelta(milliseconds=1)


def _pair(a: _Timing, b: _Timing) -> tuple[int, int]:
    return (a[3], b[3]) if a[3] < b[3] else (b[3], a[3])


def _scan(rows: list[_Timing], axis: int, tolerance: int) -> set[tuple[int, int]]:
    ordered = sorted(rows, key=lambda r: r[axis])
    pairs = set()
    for i, a in enumerate(ordered):
        for b in itertools.islice(ordered, i + 1, None):
            if b[axis] - a[axis] > tolerance:
                break
            if a[2] != b[2]:
                pairs.add(_pair(a, b))
    return pairs


def _grid(rows: list[_Timing], tolerances: tuple[int, int]) -> set[tuple[int, int]]:
    width, height = max(tolerances[0], 1), max(tolerances[1], 1)
    cells: dict[tuple[int, int], list[_Timing]] = defaultdict(list)
    for row in rows:
        cells[(row[0] // width, row[1] // height)].append(row)
    pairs = set()
    for (x, y), members in cells.items():
        nearby = [b for dx, dy in _NEIGHBOURS for b in cells.get((x + dx, y + dy), ())]
        for i, a in enumerate(members):
            pairs.update(_pair(a, b) for b in itertools.chain(members[i + 1 :], nearby) if _near(a, b, tolerances))
    return pairs


def _near(a: _Timing, b: _Timing, tolerances: tuple[int, int]) -> bool:
    return a[2] != b[2] and abs(a[0] - b[0]) <= tolerances[0] and abs(a[1] - b[1]) <= tolerances[1]


@dataclass
class _Answers:
    """An attempt's answers, for the exact comparison: (question version, choices) pairs and answer times."""

    signature: tuple[tuple[int, tuple[int, ...]], ...]
    answered: int
    offsets: dict[int, float]


def _answers(session: Session, candidates: dict[int, _Candidate]) -> dict[int, _Answers]:
    items: dict[int, list[tuple[int, tuple[int, ...]]]] = defaultdict(list)
    offsets: dict[int, dict[int, float]] = defaultdict(dict)
    ids = sorted(candidates)
    for first in range(0, len(ids), CHUNK):
        stmt = select(
            AttemptItem.attempt_id, AttemptItem.question_version_id, AttemptItem.selected, AttemptItem.answered_at
        ).where(AttemptItem.attempt_id.in_(ids[first : first + CHUNK]))
        for attempt_id, version, selected, answered_at in session.execute(stmt):
            items[attempt_id].append((version, tuple(sorted(selected or []))))
            if answered_at is not None:
                started = candidates[attempt_id].started_at
                offsets[attempt_id][version] = (answered_at - started).total_seconds()
    return {
        attempt_id: _Answers(tuple(sorted(pairs)), sum(1 for _v, chosen in pairs if chosen), offsets[attempt_id])
        for attempt_id, pairs in items.items()
    }


def _components(pairs: Iterable[tuple[int, int]]) -> list[list[int]]:
    """Connected groups of attempt ids (union-find)."""
    parent: dict[int, int] = {}

    def root(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        parent[root(a)] = root(b)
    groups: dict[int, list[int]] = defaultdict(list)
    for x in list(parent):
        groups[root(x)].append(x)
    return list(groups.values())


def _answer_groups(
    session: Session, contest: Contest, rounds: list[Round], limits: Thresholds
) -> Findings[AnswerGroup]:
    """Groups with the most shared mistakes first, then the most accounts, then the earliest."""
    if not rounds:
        return Findings()
    candidates: dict[int, _Candidate] = {}
    pairs: set[tuple[int, int]] = set()
    for bucket in _fingerprints(session, rounds, limits).values():
        found = _timing_pairs(bucket, limits) if len(bucket) > 1 else set()
        if found:
            pairs |= found
            candidates.update((c.attempt_id, c) for c in bucket)
    answers = _answers(session, {i: candidates[i] for pair in pairs for i in pair})
    components = _components((a, b) for a, b in pairs if answers[a].signature == answers[b].signature)
    components.sort(
        key=lambda ids: (
            -candidates[ids[0]].wrong,
            -len({candidates[i].user_id for i in ids}),
            min(candidates[i].submitted_at for i in ids),
        )
    )
    kept = components[: limits.max_groups]
    accounts = _accounts(session, contest, {candidates[i].user_id for group in kept for i in group})
    titles = {r.id: r.title for r in rounds}
    return Findings([_answer_group(ids, candidates, answers, accounts, titles) for ids in kept], len(components))


def _answer_group(
    ids: list[int],
    candidates: dict[int, _Candidate],
    answers: dict[int, _Answers],
    accounts: dict[int, Account],
    titles: dict[int, str],
) -> AnswerGroup:
    members = sorted((candidates[i] for i in ids), key=lambda c: (c.submitted_at, c.attempt_id))
    first = answers[ids[0]]
    return AnswerGroup(
        round_id=members[0].round_id,
        round_title=titles[members[0].round_id],
        members=[
            AnswerMember(
                account=accounts[c.user_id],
                attempt_id=c.attempt_id,
                attempt_number=c.number,
                started_at=c.started_at,
                submitted_at=c.submitted_at,
                duration=timedelta(milliseconds=c.duration_ms),
                correct_count=c.correct_count,
                prediction=c.prediction,
                ip_address=c.ip_address,
                user_agent=c.user_agent,
            )
            for c in members
        ],
        question_count=len(first.signature),
        answered_count=first.answered,
        shared_wrong=members[0].wrong,
        answer_time_spread=_answer_time_spread([answers[i].offsets for i in ids]),
    )


def _answer_time_spread(offsets: list[dict[int, float]]) -> timedelta | None:
    shared = set.intersection(*(set(o) for o in offsets)) if offsets else set()
    spreads = [max(o[v] for o in offsets) - min(o[v] for o in offsets) for v in shared]
    return timedelta(seconds=statistics.median(spreads)) if spreads else None
