"""Suspicious accounts: sliding windows over registrations and sign-ins, identical answers across accounts."""

from datetime import UTC, date, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select, update

from quiz_engine.extensions import db
from quiz_engine.models import Attempt, AttemptItem, AttemptStatus, Contest, Round
from quiz_engine.services.people import audit, registration, suspicious
from quiz_engine.services.people.registration import EntryChoice, PersonalDetails
from quiz_engine.services.people.suspicious import Signal, Thresholds, bursts
from tests import contest_fixture

T0 = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)


def _events(*spec: tuple[int, int]) -> list[tuple[datetime, int, str | None]]:
    """(minutes after T0, account) pairs as sorted events."""
    return [(T0 + timedelta(minutes=m), user, None) for m, user in spec]


def _minutes(run: list[tuple[datetime, int, str | None]]) -> list[int]:
    return [int((at - T0).total_seconds() // 60) for at, _u, _a in run]


class TestBursts:
    HOUR = timedelta(hours=1)

    def test_three_accounts_within_the_window(self) -> None:
        runs = bursts(_events((0, 1), (10, 2), (40, 3), (300, 4)), 3, self.HOUR)
        assert [_minutes(r) for r in runs] == [[0, 10, 40]]

    def test_spread_wider_than_the_window_is_not_a_burst(self) -> None:
        assert bursts(_events((0, 1), (50, 2), (70, 3)), 3, self.HOUR) == []

    def test_the_window_edge_counts(self) -> None:
        assert [_minutes(r) for r in bursts(_events((0, 1), (30, 2), (60, 3)), 3, self.HOUR)] == [[0, 30, 60]]

    def test_overlapping_windows_merge_and_distant_ones_do_not(self) -> None:
        events = _events((0, 1), (30, 2), (60, 3), (90, 4), (120, 5), (600, 6), (601, 7), (602, 8))
        runs = bursts(events, 3, self.HOUR)
        assert [_minutes(r) for r in runs] == [[0, 30, 60, 90, 120], [600, 601, 602]]

    def test_one_account_seen_many_times_counts_once(self) -> None:
        assert bursts(_events((0, 1), (1, 1), (2, 1), (3, 2)), 3, self.HOUR) == []
        assert [_minutes(r) for r in bursts(_events((0, 1), (1, 1), (2, 2), (3, 3)), 3, self.HOUR)] == [[0, 1, 2, 3]]

    def test_nothing_in_nothing_out(self) -> None:
        assert bursts([], 2, self.HOUR) == []


def _person(n: int) -> PersonalDetails:
    return PersonalDetails(
        full_name=f"Người Thứ {n}",
        date_of_birth=date(1990, 1, 1),
        cccd=f"001090{n:06d}",
        phone=f"09{n:08d}",
        email=f"nguoi{n}@example.vn",
    )


def _register(contest: Contest, n: int, minutes: int, ip: str, agent: str) -> int:
    user = registration.register(
        db.session,
        contest,
        _person(n),
        password="mat-khau-123",
        entry=EntryChoice(contest.groups[0].id, contest.units[0].id),
        consented=True,
        now=T0 + timedelta(minutes=minutes),
        origin=audit.Origin(ip, agent),
    )
    db.session.commit()
    return user.id


@pytest.fixture
def contest_id(app: Flask) -> int:
    """Five questions, all on every paper (in a random order)."""
    with app.app_context():
        return contest_fixture.build(db.session, questions=5, per_paper=5).contest.id


@pytest.fixture
def contest(app: Flask, contest_id: int):  # type: ignore[no-untyped-def]
    """The contest, inside an app context (tests that play attempts must not hold one: it would share
    the signed-in user between the test clients)."""
    with app.app_context():
        yield db.session.get(Contest, contest_id)


def test_registrations_from_one_address_and_one_device(contest: Contest) -> None:
    shared = [_register(contest, n, m, "198.51.100.1", f"Trình duyệt {n}") for n, m in ((1, 0), (2, 10), (3, 40))]
    device = [_register(contest, n, m, "198.51.100.2", "Zalo/1.0") for n, m in ((4, 0), (5, 5))]
    for n, m in ((6, 0), (7, 120), (8, 240)):  # one address, but hours apart
        _register(contest, n, m, "198.51.100.3", "Chrome")
    audit.record(  # a registration for another contest from the busy address
        db.session,
        "user.register",
        now=T0 + timedelta(minutes=20),
        actor_id=contest_fixture.register(db.session, contest, "khac@example.vn"),
        target=("contest", contest.id + 1),
        origin=audit.Origin("198.51.100.1", "Khác"),
    )
    db.session.commit()

    found = suspicious.report(db.session, contest)

    assert [[a.id for a in g.accounts] for g in found.register_ip.groups] == [shared]
    group = found.register_ip.groups[0]
    assert (group.signal, group.ip_address, group.user_agent) == (Signal.REGISTER_IP, "198.51.100.1", None)
    assert (group.first_at, group.last_at, group.span) == (T0, T0 + timedelta(minutes=40), timedelta(minutes=40))
    assert [e.user_agent for e in group.events] == ["Trình duyệt 1", "Trình duyệt 2", "Trình duyệt 3"]
    first = group.accounts[0]
    assert (first.full_name, first.email, first.phone, first.unit) == (
        "Người Thứ 1",
        "nguoi1@example.vn",
        "+84900000001",
        "Xã Một",
    )
    assert [[a.id for a in g.accounts] for g in found.register_device.groups] == [device]
    assert found.register_device.groups[0].user_agent == "Zalo/1.0"
    assert found.login_device.groups == [] and found.answers.groups == []


def test_thresholds_are_settings(contest: Contest) -> None:
    for n, m in ((6, 0), (7, 120)):
        _register(contest, n, m, "198.51.100.3", "Chrome")
    assert suspicious.report(db.session, contest).register_device.groups == []
    wide = suspicious.report(db.session, contest, thresholds=Thresholds(window=timedelta(hours=3)))
    assert len(wide.register_device.groups) == 1 and wide.register_ip.groups == []
    pairs = suspicious.report(db.session, contest, thresholds=Thresholds(ip_accounts=2, window=timedelta(hours=3)))
    assert [len(g.accounts) for g in pairs.register_ip.groups] == [2]


def test_only_the_strongest_groups_are_kept_and_all_are_counted(contest: Contest) -> None:
    n = 0
    for device, size in enumerate((2, 3, 2, 4)):
        for _ in range(size):
            n += 1
            _register(contest, n, n, f"198.51.100.{device}", "Chrome")
    found = suspicious.report(db.session, contest, thresholds=Thresholds(max_groups=2)).register_device
    assert (found.total, found.omitted) == (4, 2)
    assert [(g.ip_address, len(g.accounts)) for g in found.groups] == [("198.51.100.3", 4), ("198.51.100.1", 3)]


def test_sign_ins_from_one_device_while_the_round_is_open(contest: Contest) -> None:
    round_ = contest.rounds[0]
    entrants = [contest_fixture.register(db.session, contest, f"tk{n}@example.vn") for n in range(4)]
    stranger = contest_fixture.register(db.session, contest, "la@example.vn")
    db.session.execute(
        contest_fixture.Registration.__table__.delete().where(contest_fixture.Registration.user_id == stranger)
    )
    start = round_.opens_at + timedelta(minutes=5)
    signins = [
        (entrants[0], 0, "Android 14"),
        (entrants[0], 2, "Android 14"),
        (entrants[1], 10, "Android 14"),
        (stranger, 12, "Android 14"),  # not in this contest
        (entrants[2], 20, "Android 14"),
        (entrants[3], 21, "iPhone"),  # another browser
    ]
    for user, minutes, agent in signins:
        audit.record(
            db.session,
            "auth.login",
            now=start + timedelta(minutes=minutes),
            actor_id=user,
            origin=audit.Origin("203.0.113.5", agent),
        )
    audit.record(  # before the round opened
        db.session,
        "auth.login",
        now=round_.opens_at - timedelta(minutes=1),
        actor_id=entrants[3],
        origin=audit.Origin("203.0.113.5", "Android 14"),
    )
    db.session.commit()

    found = suspicious.report(db.session, contest, round_)

    assert len(found.login_device.groups) == 1
    group = found.login_device.groups[0]
    assert (group.ip_address, group.user_agent, group.signal) == ("203.0.113.5", "Android 14", Signal.LOGIN_DEVICE)
    assert [a.id for a in group.accounts] == entrants[:3]
    assert len(group.events) == 4  # the first account signed in twice
    assert found.register_ip.groups == [] and found.register_device.groups == []


def play_by_question(app: Flask, login: str, round_id: int, *, right: int) -> int:
    """Like ``contest_fixture.play``, but by question rather than by position (papers come in a random
    order): the ``right`` questions with the lowest version ids are answered right, the others with the
    choice after the key. Two players given the same ``right`` thus give identical answers."""
    browser = app.test_client()
    browser.post("/auth/login", data={"login": login, "password": "mat-khau-123"})
    paper = browser.get(browser.post(f"/api/v1/rounds/{round_id}/attempts").get_json()["links"]["paper"]).get_json()
    with app.app_context():
        items = db.session.scalars(select(AttemptItem).where(AttemptItem.attempt_id == paper["id"])).all()
        keys = {i.position: (i.question_version_id, i.question_version.correct_positions[0]) for i in items}
    answered_right = sorted(version for version, _key in keys.values())[:right]
    for question in paper["questions"]:
        version, key = keys[question["position"]]
        browser.put(question["save_url"], json={"choices": [key if version in answered_right else (key + 1) % 4]})
    assert browser.post(paper["links"]["submit"]).status_code < 400
    return int(paper["id"])


def _attempt(attempt_id: int) -> Attempt:
    return db.session.get(Attempt, attempt_id, populate_existing=True)


def test_identical_answers_with_close_timings(app: Flask, contest_id: int) -> None:
    with app.app_context():
        contest = db.session.get(Contest, contest_id)
        round_id = contest.rounds[0].id
        for login in ("binh", "cuong", "dung", "em", "giang"):
            contest_fixture.register(db.session, contest, f"{login}@example.vn")
    played = {
        "an": play_by_question(app, "an@example.vn", round_id, right=1),
        "binh": play_by_question(app, "binh@example.vn", round_id, right=1),
        "cuong": play_by_question(app, "cuong@example.vn", round_id, right=2),  # other answers
        "dung": play_by_question(app, "dung@example.vn", round_id, right=5),
        "em": play_by_question(app, "em@example.vn", round_id, right=5),
        "giang": play_by_question(app, "giang@example.vn", round_id, right=1),
    }
    with app.app_context():
        contest = db.session.get(Contest, contest_id)
        db.session.execute(  # closed at the deadline: its times say nothing of the person
            update(Attempt).where(Attempt.id == played["giang"]).values(status=AttemptStatus.EXPIRED)
        )
        db.session.commit()

        found = suspicious.report(db.session, contest)

        assert [[m.attempt_id for m in g.members] for g in found.answers.groups] == [
            [played["an"], played["binh"]],
            [played["dung"], played["em"]],
        ]
        wrong, right = found.answers.groups
        assert (wrong.question_count, wrong.answered_count, wrong.shared_wrong) == (5, 5, 4)
        assert (right.question_count, right.shared_wrong) == (5, 0)
        assert wrong.round_title == "Tuần 1" and wrong.round_id == round_id
        assert wrong.duration_spread < timedelta(seconds=5) and wrong.submit_spread < timedelta(seconds=60)
        assert wrong.answer_time_spread is not None and wrong.answer_time_spread < timedelta(seconds=30)
        member = wrong.members[0]
        assert (member.account.email, member.correct_count, member.attempt_number) == ("an@example.vn", 1, 1)
        assert member.duration == timedelta(milliseconds=_attempt(played["an"]).duration_ms)
        assert member.ip_address is not None

        # Ten minutes later: identical mistakes with the same duration still stand out; identical right
        # answers need both the duration and the submission time to agree.
        later = timedelta(minutes=10)
        for key in ("binh", "em"):
            attempt = _attempt(played[key])
            attempt.submitted_at += later
            attempt.started_at += later
        db.session.commit()
        assert [[m.attempt_id for m in g.members] for g in suspicious.report(db.session, contest).answers.groups] == [
            [played["an"], played["binh"]]
        ]
        _attempt(played["binh"]).duration_ms += 30_000
        db.session.commit()
        assert suspicious.report(db.session, contest).answers.groups == []


def test_one_accounts_own_attempts_are_not_a_group(app: Flask, contest_id: int) -> None:
    with app.app_context():
        round_ = db.session.scalar(select(Round).where(Round.contest_id == contest_id))
        round_.max_attempts = 3
        db.session.commit()
        round_id = round_.id
    play_by_question(app, "an@example.vn", round_id, right=1)
    play_by_question(app, "an@example.vn", round_id, right=1)
    with app.app_context():
        assert len(db.session.scalars(select(Attempt.id)).all()) == 2
        contest = db.session.get(Contest, contest_id)
        assert suspicious.report(db.session, contest, db.session.get(Round, round_id)).answers.groups == []


def test_a_round_of_another_contest_is_refused(contest: Contest) -> None:
    other = Round(contest_id=contest.id + 1, id=999)
    with pytest.raises(ValueError):
        suspicious.report(db.session, contest, other)


def test_nothing_to_report(contest: Contest) -> None:
    found = suspicious.report(db.session, contest)
    assert found.empty and found.thresholds == Thresholds()
    for findings in (found.register_ip, found.register_device, found.login_device, found.answers):
        assert (findings.groups, findings.total, findings.omitted) == ([], 0, 0)
