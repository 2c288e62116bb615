"""`quiz papers prepare` and the paper top-up in `quiz maintain`: what they print and leave in Redis."""

from datetime import timedelta

from flask import Flask
from sqlalchemy import select

from quiz_engine.extensions import db
from quiz_engine.models import AuditEvent, Round, utcnow
from quiz_engine.services.taking import paper_pool
from tests import contest_fixture


def _round(app: Flask, **changes: object) -> int:
    with app.app_context():
        built = contest_fixture.build(db.session, per_paper=5)
        for name, value in changes.items():
            setattr(built.round, name, value)
        db.session.commit()
        return built.round.id


def _ready(app: Flask, redis_client, round_id: int) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        pool = paper_pool.pool_for("quiz", db.session.get(Round, round_id), None)
        return redis_client.llen(pool.list_key)


def test_prepare_fills_the_pool_prints_progress_and_is_audited(app: Flask, runner, redis_client) -> None:
    round_id = _round(app)
    result = runner.invoke(args=["quiz", "papers", "prepare", "--round", str(round_id), "--count", "7"])
    assert result.exit_code == 0, result.output
    assert "đề chung (common mix): 7/7" in result.output
    assert f"Đã rút sẵn thêm 7 đề cho đợt #{round_id}; sẵn sàng 7/7" in result.output
    assert _ready(app, redis_client, round_id) == 7
    again = runner.invoke(args=["quiz", "papers", "prepare", "--round", str(round_id), "--count", "7"])
    assert "thêm 0 đề" in again.output and _ready(app, redis_client, round_id) == 7  # topped up, not doubled
    default = runner.invoke(args=["quiz", "papers", "prepare", "--round", str(round_id)])
    assert "sẵn sàng 50/50" in default.output  # the target: 1 registration, so the minimum (PAPER_POOL_MIN)
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "round.prepare_papers")).all()
        assert [(e.target_id, e.details["added"]) for e in events] == [(round_id, 7), (round_id, 0), (round_id, 43)]


def test_prepare_refuses_an_unknown_or_closed_round(app: Flask, runner, redis_client) -> None:
    missing = runner.invoke(args=["quiz", "papers", "prepare", "--round", "999"])
    assert missing.exit_code == 1 and "Không có đợt thi #999" in missing.output
    round_id = _round(app, closes_at=utcnow() - timedelta(minutes=1), opens_at=utcnow() - timedelta(days=1))
    closed = runner.invoke(args=["quiz", "papers", "prepare", "--round", str(round_id)])
    assert closed.exit_code == 1 and "Đợt thi đã kết thúc" in closed.output
    assert _ready(app, redis_client, round_id) == 0


def test_maintain_tops_up_the_papers_of_open_rounds(app: Flask, runner, redis_client) -> None:
    round_id = _round(app)
    output = runner.invoke(args=["quiz", "maintain"]).output
    assert f"rút sẵn 50 đề cho đợt {round_id}" in output
    assert _ready(app, redis_client, round_id) == 50
    assert "rút sẵn 0 đề" in runner.invoke(args=["quiz", "maintain"]).output  # full: nothing more


def test_maintain_takes_turns_across_hosts(app: Flask, runner, redis_client) -> None:
    round_id = _round(app)
    held = redis_client.lock("quiz:maintain-lock", timeout=60)
    assert held.acquire(blocking=False)  # another host's upkeep is running
    skipped = runner.invoke(args=["quiz", "maintain"])
    assert skipped.exit_code == 0 and "another host is doing the upkeep" in skipped.output
    assert _ready(app, redis_client, round_id) == 0  # it did nothing
    held.release()
    assert f"rút sẵn 50 đề cho đợt {round_id}" in runner.invoke(args=["quiz", "maintain"]).output
    assert not redis_client.exists("quiz:maintain-lock")  # released after its turn
