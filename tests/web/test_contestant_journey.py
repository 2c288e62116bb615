"""Issue 4's journey end to end: register → start → autosave → reload → resume → submit → result."""

from datetime import timedelta

from sqlalchemy import select

from quiz_engine.extensions import db
from quiz_engine.models import Attempt, AttemptStatus, Registration, Unit, UnitKind, User, utcnow
from quiz_engine.services.catalogue import banks
from quiz_engine.services.organising import contests, rounds
from quiz_engine.services.organising.units import UnitSpec, import_units
from tests.contest_fixture import bank_csv


def _contest(app) -> tuple[str, int, int]:  # type: ignore[no-untyped-def]
    with app.app_context():
        now = utcnow()
        bank = banks.get_or_create_bank(db.session, "bank", "Ngân hàng")
        banks.import_file(db.session, bank, "bank.csv", bank_csv(20), now=now)
        import_units(db.session, [UnitSpec("X1", "Xã Tân Trịnh", UnitKind.COMMUNE, None, 600, 2)])
        contest = contests.create_contest(
            db.session,
            "cds",
            contests.ContestDetails(
                title="Tìm hiểu chuyển đổi số",
                groups=[("nhan-dan", "Nhân dân")],
                units=list(db.session.scalars(select(Unit))),
            ),
            now=now,
        )
        round_ = rounds.add_round(
            db.session,
            contest,
            rounds.RoundRules(
                title="Tuần 1",
                opens_at=now - timedelta(hours=1),
                closes_at=now + timedelta(days=7),
                time_limit_seconds=600,
                mix=[rounds.MixItem("bank", 10)],
            ),
            now=now,
        )
        db.session.commit()
        return contest.slug, contest.groups[0].id, round_.id


def test_register_start_autosave_reload_resume_submit(app, client) -> None:
    slug, group_id, round_id = _contest(app)
    with app.app_context():
        unit_id = db.session.scalar(select(Unit.id))
    registered = client.post(
        f"/auth/register?contest={slug}",
        data={
            "full_name": "Nguyễn Văn An",
            "date_of_birth": "1990-05-17",
            "cccd": "001090012345",
            "phone": "0912 345 678",
            "password": "mat-khau-123",
            "password_confirm": "mat-khau-123",
            "group": str(group_id),
            "unit": str(unit_id),
            "consent": "y",
        },
    )
    assert registered.status_code == 302
    with app.app_context():
        user = db.session.scalar(select(User))
        assert user.phone == "+84912345678" and user.consented_at is not None
        assert db.session.scalar(select(Registration.unit_id)) == unit_id
    contest_page = client.get(f"/contests/{slug}").get_data(as_text=True)
    assert "Bắt đầu làm bài" in contest_page
    started = client.post(f"/rounds/{round_id}/start")
    attempt_id = int(started.headers["Location"].rsplit("/", 1)[1])
    paper = client.get(f"/api/v1/attempts/{attempt_id}").get_json()
    answers = {q["position"]: q["choices"][1]["id"] for q in paper["questions"][:6]}
    for question in paper["questions"][:6]:
        assert client.put(question["save_url"], json={"choices": [answers[question["position"]]]}).status_code == 200
    # the phone sleeps, the tab reloads, or the contestant moves to another device: same paper, same answers
    other_device = app.test_client()
    other_device.post("/auth/login", data={"login": "0912345678", "password": "mat-khau-123"})
    resumed = other_device.get(f"/api/v1/attempts/{attempt_id}").get_json()
    assert [q["text"] for q in resumed["questions"]] == [q["text"] for q in paper["questions"]]
    assert {q["position"]: q["selected"] for q in resumed["questions"] if q["selected"]} == {
        p: [c] for p, c in answers.items()
    }
    assert 0 < resumed["remaining_ms"] <= paper["remaining_ms"]
    page = other_device.get(f"/attempts/{attempt_id}").get_data(as_text=True)
    assert page.count(" checked>") == 6
    done = other_device.post(f"/attempts/{attempt_id}/submit")
    assert done.headers["Location"] == f"/attempts/{attempt_id}/result"
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        chosen = {i.position: i.selected for i in attempt.items if i.selected}
        assert attempt.status is AttemptStatus.SUBMITTED and chosen == {p: [c] for p, c in answers.items()}
        expected = sum(i.question_version.correct_positions == [answers.get(i.position)] for i in attempt.items)
        assert attempt.correct_count == expected
    assert f"<strong>{expected}/10</strong>" in client.get(f"/attempts/{attempt_id}/result").get_data(as_text=True)
