"""Redis down at submission: the submission still succeeds, the board is marked stale and repaired."""

from datetime import timedelta

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import select

from quiz_engine.extensions import db
from quiz_engine.models import Attempt, AttemptItem, AttemptStatus, Round
from quiz_engine.services.results import leaderboards
from quiz_engine.services.results.leaderboards import RoundKeys
from tests import contest_fixture


def test_submission_survives_redis_down_and_the_board_is_repaired(app, client, runner, tmp_path) -> None:
    with app.app_context():
        built = contest_fixture.build(db.session, per_paper=5)
        round_id = built.round.id
    client.post("/auth/login", data={"login": "an@example.vn", "password": "mat-khau-123"})
    attempt_id = int(client.post(f"/rounds/{round_id}/start").headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        items = db.session.scalars(
            select(AttemptItem).where(AttemptItem.attempt_id == attempt_id).order_by(AttemptItem.position)
        ).all()
        right = [i.question_version.correct_positions[0] for i in items]
    working = app.extensions["quiz_redis"]
    app.extensions["quiz_redis"] = redis.Redis(
        unix_socket_path=str(tmp_path / "gone.sock"), retry=Retry(NoBackoff(), 0), decode_responses=True
    )
    answers = {"q0": str(right[0]), "q1": str(right[1]), "q2": str((right[2] + 1) % 4)}
    response = client.post(f"/attempts/{attempt_id}/submit", data=answers)
    assert response.status_code == 302 and response.headers["Location"].endswith("/result")
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt.status is AttemptStatus.SUBMITTED and attempt.correct_count == 2
        assert db.session.get(Round, round_id).leaderboard_stale_at is not None
    app.extensions["quiz_redis"] = working  # Redis is back
    assert "dựng lại bảng đợt [1]" in runner.invoke(args=["quiz", "maintain"]).output
    board = leaderboards.top(working, RoundKeys("quiz", round_id).board, 10)
    assert [(e.correct, e.rank) for e in board] == [(2, 1)]
    with app.app_context():
        assert db.session.get(Round, round_id).leaderboard_stale_at is None


def test_rebuild_and_finalize_commands(app, client, runner) -> None:
    with app.app_context():
        built = contest_fixture.build(
            db.session, per_paper=5, prediction_kind="participants", prediction_prompt="Bao nhiêu người?"
        )
        round_id = built.round.id
    client.post("/auth/login", data={"login": "an@example.vn", "password": "mat-khau-123"})
    attempt_id = int(client.post(f"/rounds/{round_id}/start").headers["Location"].rsplit("/", 1)[1])
    client.post(f"/attempts/{attempt_id}", data={"prediction": "1", "action": "save"})
    client.post(f"/attempts/{attempt_id}/submit")
    redis_client = app.extensions["quiz_redis"]
    board = RoundKeys("quiz", round_id).board
    before = redis_client.zrange(board, 0, -1, withscores=True)
    assert len(before) == 1
    redis_client.flushall()
    output = runner.invoke(args=["quiz", "rebuild-leaderboards", "--round", str(round_id)]).output
    assert "Đã dựng lại bảng xếp hạng đợt" in output
    assert redis_client.zrange(board, 0, -1, withscores=True) == before
    refused = runner.invoke(args=["quiz", "finalize-round", str(round_id)])
    assert refused.exit_code == 1 and "chưa kết thúc" in refused.output
    with app.app_context():
        round_ = db.session.get(Round, round_id)
        round_.closes_at = round_.opens_at + timedelta(seconds=1)
        db.session.commit()
    done = runner.invoke(args=["quiz", "finalize-round", str(round_id)])
    assert (
        done.exit_code == 0 and "Đã xếp hạng chung cuộc 1 thí sinh" in done.output and "dự đoán đúng: 1" in done.output
    )
    assert runner.invoke(args=["quiz", "finalize-round", "999"]).exit_code == 1
