"""Voiding a question: every affected attempt re-scored, boards rebuilt, final ranking redone, audited."""

from sqlalchemy import select

from quiz_engine.extensions import db
from quiz_engine.models import Attempt, AttemptItem, AuditEvent, Role, Round, RoundResult, VoidedQuestion, utcnow
from quiz_engine.services.results import leaderboards, rankings
from quiz_engine.services.results.leaderboards import RoundKeys
from tests import contest_fixture


def test_void_counts_correct_then_removes_then_restores(app, client, make_user) -> None:
    with app.app_context():
        built = contest_fixture.build(db.session, questions=5, per_paper=5)  # both papers hold every question
        contest_fixture.register(db.session, built.contest, "binh@example.vn")
        round_id = built.round.id
    an = contest_fixture.play(app, "an@example.vn", round_id, right=5)
    binh = contest_fixture.play(app, "binh@example.vn", round_id, right=0)
    with app.app_context():
        question_id = (
            db.session.scalars(select(AttemptItem).where(AttemptItem.attempt_id == binh).order_by(AttemptItem.position))
            .first()
            .question_version.question_id
        )
        round_ = db.session.get(Round, round_id)
        round_.closes_at = utcnow()  # the round is over
        rankings.finalize_round(db.session, round_, utcnow())
        db.session.commit()
    contest_fixture.list_as_organizer(app, make_user("btc@example.vn", Role.ORGANIZER, "Ban Tổ chức"))
    client.post("/auth/login", data={"login": "btc@example.vn", "password": "mat-khau-thu-nghiem"})
    page = client.get(f"/organizer/rounds/{round_id}/questions").get_data(as_text=True)
    assert page.count('class="card question"') == 5 and "2 đề" in page

    def state():  # type: ignore[no-untyped-def]
        with app.app_context():
            scores = {a.id: (a.correct_count, a.scored_count) for a in db.session.scalars(select(Attempt))}
            final = [
                (r.user_id, r.correct_count) for r in db.session.scalars(select(RoundResult).order_by(RoundResult.rank))
            ]
        board = leaderboards.top(app.extensions["quiz_redis"], RoundKeys("quiz", round_id).board, 10)
        return scores, final, sorted(e.correct for e in board)

    url = f"/organizer/rounds/{round_id}/questions/{question_id}"
    assert client.post(f"{url}/void", data={"mode": "count_correct"}).status_code == 302
    scores, final, board = state()
    assert scores == {an: (5, 5), binh: (1, 5)} and board == [1, 5] and final[1][1] == 1
    client.post(f"{url}/void", data={"mode": "remove"})
    scores, final, board = state()
    assert scores == {an: (4, 4), binh: (0, 4)} and board == [0, 4] and final[0][1] == 4
    client.post(f"{url}/restore")
    scores, _final, board = state()
    assert scores == {an: (5, 5), binh: (0, 5)} and board == [0, 5]
    with app.app_context():
        assert db.session.scalar(select(VoidedQuestion)) is None
        actions = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.action.like("round.%")).order_by(AuditEvent.id)
        ).all()
        assert actions == ["round.void_question", "round.void_question", "round.restore_question"]


def test_voiding_needs_an_organizer(app, client, make_user) -> None:
    with app.app_context():
        round_id = contest_fixture.build(db.session).round.id
    make_user("khach@example.vn")
    client.post("/auth/login", data={"login": "khach@example.vn", "password": "mat-khau-thu-nghiem"})
    assert client.post(f"/organizer/rounds/{round_id}/questions/1/void", data={"mode": "remove"}).status_code == 403
