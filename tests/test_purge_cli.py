"""`flask --app wsgi quiz purge-personal-data`: anonymise a finished contest, keep its results and statistics."""

from datetime import date, timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from quiz_engine.extensions import db
from quiz_engine.models import (
    Attempt,
    AttemptItem,
    AuditEvent,
    Certificate,
    Contest,
    ExportJob,
    ExportStatus,
    Registration,
    Role,
    Round,
    RoundResult,
    Unit,
    User,
    utcnow,
)
from quiz_engine.services.organising import contests, rounds
from quiz_engine.services.people import accounts, personal_data
from quiz_engine.services.results import certificates, rankings, standings
from quiz_engine.services.taking import attempt_state
from tests import contest_fixture

PASSWORD = "mat-khau-123"
PURGE = ["quiz", "purge-personal-data", "--contest", "1"]


class World:
    """Contest 1 (An, Bình, Chi, an organizer) and contest 2, still open, where Chi is registered too."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        with app.app_context():
            built = contest_fixture.build(db.session, questions=10, per_paper=5)
            self.round_id, self.an = built.round.id, built.user_id
            self.binh = contest_fixture.register(db.session, built.contest, "binh@example.vn")
            self.chi = contest_fixture.register(db.session, built.contest, "chi@example.vn")
            staff = accounts.create_user(
                db.session,
                full_name="Ban Tổ chức",
                email="btc@example.vn",
                password=PASSWORD,
                role=Role.ORGANIZER,
                now=utcnow(),
            )
            self.staff = staff.id
            an = db.session.get(User, self.an)
            an.phone, an.cccd, an.date_of_birth = "+84912345678", "001090001234", date(1990, 1, 2)
            an.consented_at = utcnow()
            now = utcnow()
            other = contests.create_contest(
                db.session,
                "thi-2",
                contests.ContestDetails(title="Cuộc thi 2", groups=[], units=list(db.session.scalars(select(Unit)))),
                now=now,
            )
            self.other_round = rounds.add_round(
                db.session,
                other,
                rounds.RoundRules(
                    title="Tuần 1",
                    opens_at=now - timedelta(hours=1),
                    closes_at=now + timedelta(days=7),
                    time_limit_seconds=600,
                    mix=[rounds.MixItem("bank", 5)],
                ),
                now=now,
            ).id
            db.session.add_all(
                [
                    Registration(contest_id=built.contest.id, user_id=self.staff, registered_at=now),
                    Registration(contest_id=other.id, user_id=self.chi, registered_at=now),
                ]
            )
            db.session.commit()
        self.attempts = {
            user: contest_fixture.play(app, email, self.round_id, right=right)
            for user, email, right in ((self.an, "an@example.vn", 4), (self.binh, "binh@example.vn", 2))
        }
        contest_fixture.play(app, "chi@example.vn", self.round_id, right=1)
        app.test_client().post("/auth/login", data={"login": "AN@example.vn", "password": "sai"})  # a failed sign-in

    def finish(self) -> None:
        """Close the round, finalise it, issue certificates to the top two and keep an export file."""
        with self.app.app_context():
            round_ = db.session.get(Round, self.round_id)
            round_.closes_at = utcnow() - timedelta(minutes=1)
            rankings.finalize_round(db.session, round_, utcnow())
            certificates.issue_for_round(db.session, round_, top_n=2, perfect=False, actor_id=None, now=utcnow())
            db.session.add(
                ExportJob(
                    round_id=self.round_id,
                    kind="leaderboard",
                    status=ExportStatus.DONE,
                    filename="bxh.xlsx",
                    content=b"Nguyen Van An",
                    created_at=utcnow(),
                )
            )
            db.session.commit()


@pytest.fixture
def world(app: Flask) -> World:
    return World(app)


def _user(app: Flask, user_id: int) -> User:
    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge(user)
        return user


def _kept(app: Flask) -> dict[str, object]:
    """Everything a purge must leave as it is: results, ranks, attempts, answers, scores, statistics."""
    with app.app_context():
        contest = db.session.get(Contest, 1)
        return {
            "results": db.session.execute(
                select(
                    RoundResult.round_id,
                    RoundResult.user_id,
                    RoundResult.rank,
                    RoundResult.correct_count,
                    RoundResult.duration_ms,
                    RoundResult.unit_id,
                    RoundResult.group_id,
                ).order_by(RoundResult.id)
            ).all(),
            "attempts": db.session.execute(
                select(
                    Attempt.id,
                    Attempt.user_id,
                    Attempt.status,
                    Attempt.correct_count,
                    Attempt.scored_count,
                    Attempt.duration_ms,
                    Attempt.submitted_at,
                    Attempt.unit_id,
                    Attempt.group_id,
                ).order_by(Attempt.id)
            ).all(),
            "answers": db.session.execute(
                select(AttemptItem.id, AttemptItem.selected, AttemptItem.is_correct).order_by(AttemptItem.id)
            ).all(),
            "registrations": db.session.execute(
                select(Registration.contest_id, Registration.user_id, Registration.group_id, Registration.unit_id)
            ).all(),
            "units": [
                (s.unit.id, s.participants, s.attempts, s.perfect, s.score_points, s.rank)
                for s in standings.unit_standings(db.session, contest)
            ],
            "standings": [
                (s.rank, s.user_id, s.total_correct, s.total_duration_ms)
                for s in standings.contest_standings(db.session, contest)
            ],
            "certificates": db.session.execute(
                select(Certificate.code, Certificate.user_id, Certificate.award, Certificate.unit_name)
            ).all(),
        }


def _people(app: Flask) -> list[tuple[object, ...]]:
    with app.app_context():
        return db.session.execute(
            select(User.id, User.full_name, User.email, User.phone, User.cccd, User.password_hash).order_by(User.id)
        ).all()


def _count(app: Flask, model, *where) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session.scalar(select(func.count(model.id)).where(*where))


def test_refuses_an_unfinished_contest_and_changes_nothing(app: Flask, runner, world: World) -> None:
    before = _people(app)
    result = runner.invoke(args=[*PURGE, "--yes"])
    assert result.exit_code == 1
    assert "chưa kết thúc" in result.output and "has not finished" in result.output
    assert f"đợt #{world.round_id} Tuần 1 chưa đóng" in result.output
    assert _people(app) == before
    assert _count(app, AuditEvent, AuditEvent.action == "contest.purge_personal_data") == 0


def test_refuses_while_an_attempt_is_in_progress(app: Flask, runner, world: World) -> None:
    contest_fixture.play(app, "an@example.vn", world.round_id, right=0, submit=False)
    with app.app_context():
        db.session.get(Round, world.round_id).closes_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    before = _people(app)
    result = runner.invoke(args=[*PURGE, "--yes"])
    assert result.exit_code == 1 and "1 bài đang làm dở" in result.output and "in progress" in result.output
    assert _people(app) == before


def test_refuses_an_unknown_contest(runner) -> None:
    result = runner.invoke(args=["quiz", "purge-personal-data", "--contest", "99", "--yes"])
    assert result.exit_code == 1 and "Không có cuộc thi #99" in result.output


def test_dry_run_shows_the_counts_and_writes_nothing(app: Flask, runner, world: World) -> None:
    world.finish()
    before, people = _kept(app), _people(app)
    events = _count(app, AuditEvent)
    result = runner.invoke(args=[*PURGE, "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Ẩn danh (anonymised): 2 thí sinh" in result.output and "dry run: nothing written" in result.output
    assert _kept(app) == before and _people(app) == people and _count(app, AuditEvent) == events


def test_purge_anonymises_people_and_keeps_results(app: Flask, runner, world: World, redis_client) -> None:
    world.finish()
    before = _kept(app)
    staff_before, chi_before = _user(app, world.staff), _user(app, world.chi)
    with app.app_context():
        codes = dict(db.session.execute(select(Certificate.user_id, Certificate.code)).all())
    assert set(codes) == {world.an, world.binh}
    prefix = app.config["REDIS_KEY_PREFIX"]
    key = attempt_state.answers_key(prefix, world.round_id, world.attempts[world.an])
    assert redis_client.exists(key)

    signed_in = app.test_client()  # a session open before the purge
    signed_in.post("/auth/login", data={"login": "binh@example.vn", "password": PASSWORD})
    assert signed_in.get("/auth/profile").status_code == 200

    result = runner.invoke(args=[*PURGE, "--yes"])
    assert result.exit_code == 0, result.output
    for line in (
        "Ẩn danh (anonymised): 2 thí sinh",
        "Bỏ qua ban tổ chức/quản trị (staff skipped): 1",
        "(skipped, in an unfinished contest): 1",
        "Giấy chứng nhận ẩn danh (certificates): 2",
        "Đăng nhập sai xoá tên đăng nhập (failed sign-ins redacted): 1",
        "Bài thi xoá IP/trình duyệt (attempts cleared): 2",
        "Tệp xuất đã xoá (export files deleted): 1",
    ):
        assert line in result.output

    for user_id in (world.an, world.binh):
        user = _user(app, user_id)
        assert user.full_name == f"Thí sinh #{user_id}"
        assert (user.email, user.phone, user.cccd, user.date_of_birth) == (None, None, None, None)
        assert user.password_hash == personal_data.UNUSABLE_PASSWORD_HASH
        assert not user.is_active_account and user.anonymised_at is not None
    assert _user(app, world.an).consented_at is not None  # when they consented stays on record
    assert _kept(app) == before  # results, ranks, attempts, answers, registrations, unit statistics, codes
    with app.app_context():
        holders = dict(db.session.execute(select(Certificate.user_id, Certificate.holder_name)).all())
        assert holders == {world.an: f"Thí sinh #{world.an}", world.binh: f"Thí sinh #{world.binh}"}
        assert certificates.verify(db.session, codes[world.an]).award  # the code still verifies
        purged = [world.an, world.binh]
        leftover = db.session.scalars(
            select(AuditEvent).where(
                AuditEvent.actor_id.in_(purged),
                (AuditEvent.ip_address.is_not(None)) | AuditEvent.user_agent.is_not(None),
            )
        ).all()
        assert leftover == []
        failed = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "auth.login_failed"))
        assert failed.ip_address is None and "an@example.vn" not in str(failed.details).lower()
        assert db.session.scalars(select(Attempt.ip_address).where(Attempt.user_id.in_(purged))).all() == [None, None]
        assert db.session.scalars(select(Attempt.ip_address).where(Attempt.user_id == world.chi)).all() == ["127.0.0.1"]
        chi_events = db.session.scalars(select(AuditEvent.ip_address).where(AuditEvent.actor_id == world.chi)).all()
        assert chi_events and all(ip == "127.0.0.1" for ip in chi_events)
        export = db.session.scalar(select(ExportJob))
        assert export.content is None and export.expired_at is not None
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "contest.purge_personal_data"))
        assert (event.target_type, event.target_id) == ("contest", 1)
        assert event.details["anonymised"] == 2 and event.details["skipped_other_contests"] == 1
        assert "example.vn" not in str(event.details) and "Nguyễn" not in str(event.details)
    assert not redis_client.exists(key)

    # Skipped: the organizer and Chi (registered in the unfinished contest 2) keep everything.
    for before_user, user_id in ((staff_before, world.staff), (chi_before, world.chi)):
        after = _user(app, user_id)
        assert (after.full_name, after.email, after.password_hash) == (
            before_user.full_name,
            before_user.email,
            before_user.password_hash,
        )
        assert after.anonymised_at is None

    # Purged people can no longer sign in, with their old e-mail or phone, and open sessions end.
    response = signed_in.get("/auth/profile")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    client = app.test_client()
    for login in ("an@example.vn", "0912345678", "binh@example.vn"):
        assert client.post("/auth/login", data={"login": login, "password": PASSWORD}).status_code == 401
    assert client.post("/auth/login", data={"login": "chi@example.vn", "password": PASSWORD}).status_code == 302


def test_a_second_run_changes_nothing_and_says_so(app: Flask, runner, world: World) -> None:
    world.finish()
    assert runner.invoke(args=[*PURGE, "--yes"]).exit_code == 0
    kept, people, events = _kept(app), _people(app), _count(app, AuditEvent)
    again = runner.invoke(args=[*PURGE, "--yes"])
    assert again.exit_code == 0, again.output
    assert "Đã ẩn danh trước đó (already anonymised): 2" in again.output
    assert "nothing to anonymise; nothing changed" in again.output
    assert _kept(app) == kept and _people(app) == people and _count(app, AuditEvent) == events


def test_asks_for_confirmation_without_yes(app: Flask, runner, world: World) -> None:
    world.finish()
    people = _people(app)
    refused = runner.invoke(args=PURGE, input="n\n")
    assert refused.exit_code == 1 and "cancelled, nothing changed" in refused.output
    assert _people(app) == people
    accepted = runner.invoke(args=PURGE, input="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert _user(app, world.an).anonymised_at is not None


def test_a_person_skipped_for_another_contest_is_taken_by_its_purge(app: Flask, runner, world: World) -> None:
    world.finish()
    assert runner.invoke(args=[*PURGE, "--yes"]).exit_code == 0
    with app.app_context():
        db.session.get(Round, world.other_round).closes_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    result = runner.invoke(args=["quiz", "purge-personal-data", "--contest", "2", "--yes"])
    assert result.exit_code == 0, result.output
    assert "Ẩn danh (anonymised): 1 thí sinh" in result.output
    assert _user(app, world.chi).full_name == f"Thí sinh #{world.chi}"
