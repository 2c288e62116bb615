"""Board rebuilds with several instances about: one at a time per round, the answer key swapped whole,
and attempts that close while a rebuild reads the database still reach the live board."""

from __future__ import annotations

from sqlalchemy import select

from quiz_engine.extensions import db
from quiz_engine.models import Round
from quiz_engine.services.results import leaderboards, scoring
from tests import contest_fixture


def _played(app) -> tuple[int, list[int]]:  # type: ignore[no-untyped-def]
    with app.app_context():
        setup = contest_fixture.build(db.session, per_paper=4)
        contest_fixture.register(db.session, setup.contest, "binh@example.vn")
        round_id = setup.round.id
    attempts = [
        contest_fixture.play(app, "an@example.vn", round_id, right=3),
        contest_fixture.play(app, "binh@example.vn", round_id, right=1),
    ]
    return round_id, attempts


def test_an_attempt_closed_during_the_read_still_reaches_the_board(app, monkeypatch) -> None:
    round_id, (first, second) = _played(app)
    client = app.extensions["quiz_redis"]
    keys = leaderboards.RoundKeys("quiz", round_id)
    real = scoring.closed_attempts
    # As if the second attempt committed after the rebuild read the database, before its swap.
    monkeypatch.setattr(scoring, "closed_attempts", lambda s, r: [a for a in real(s, r) if a.attempt_id != second])
    with app.app_context():
        scoring.rebuild_round(db.session, client, "quiz", db.session.get(Round, round_id))
        db.session.commit()
    assert client.zcard(keys.board) == 2
    assert client.smismember(keys.scored, [str(first), str(second)]) == [1, 1]
    assert leaderboards.unscored(client, "quiz", round_id, [first, second, 999]) == [999]


def test_rebuilds_of_a_round_take_turns_and_swap_the_answer_key_whole(app, monkeypatch) -> None:
    round_id, _ = _played(app)
    client = app.extensions["quiz_redis"]
    lock = f"quiz:{{r:{round_id}}}:rebuild-lock"
    seen = {}
    real_rebuild = leaderboards.rebuild

    def watched(*args, **kwargs):  # type: ignore[no-untyped-def]
        seen["locked"] = client.exists(lock)
        seen["key"] = client.hgetall(leaderboards.RoundKeys("quiz", round_id).answer_key)
        return real_rebuild(*args, **kwargs)

    monkeypatch.setattr(leaderboards, "rebuild", watched)
    with app.app_context():
        before = client.hgetall(leaderboards.RoundKeys("quiz", round_id).answer_key)
        scoring.rebuild_round(db.session, client, "quiz", db.session.scalar(select(Round)))
        db.session.commit()
    assert seen["locked"] == 1 and not client.exists(lock)  # held during the rebuild, released after
    assert seen["key"] == before and len(before) >= 4  # both papers' questions, never emptied on the way
    assert not client.exists(leaderboards.RoundKeys("quiz:rebuild", round_id).answer_key)
