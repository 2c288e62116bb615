"""Who sees which board: masked names, my rank, unit boards, hidden / frozen / live, final ranking."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from quiz_engine.extensions import db
from quiz_engine.models import LeaderboardVisibility, Role, Round, Unit
from quiz_engine.services.people import names
from quiz_engine.services.results import rankings
from tests import contest_fixture


def test_mask_name() -> None:
    assert names.mask_name("Nguyễn Văn An") == "Nguyễn V. A."
    assert names.mask_name("  Lê   thị   bình ") == "Lê T. B."
    assert names.mask_name("Thí sinh #12") == "Thí sinh #12"  # an anonymised account: nobody's name
    assert names.mask_name("Mai") == "Mai"


@pytest.fixture
def played(app, client):  # type: ignore[no-untyped-def]
    """Two contestants who submitted: An (all five answers saved right) and Bình (none)."""
    with app.app_context():
        built = contest_fixture.build(db.session, per_paper=5)
        other = contest_fixture.register(db.session, built.contest, "binh@example.vn")
        unit_id = db.session.scalar(select(Unit.id))
        round_id = built.round.id
    contest_fixture.play(app, "an@example.vn", round_id, right=5)
    contest_fixture.play(app, "binh@example.vn", round_id, right=0)
    return round_id, other, unit_id


def test_public_board_masks_names_and_shows_my_rank(app, client, played) -> None:
    round_id, _other, _unit = played
    anonymous = client.get(f"/api/v1/rounds/{round_id}/leaderboard").get_json()
    assert anonymous["kind"] == "live" and anonymous["total"] == 2 and anonymous["me"] is None
    assert [(r["rank"], r["name"], r["correct"]) for r in anonymous["rows"]] == [
        (1, "Nguyễn V. A.", 5),
        (2, "Trần T. B.", 0),
    ]
    client.post("/auth/login", data={"login": "binh@example.vn", "password": "mat-khau-123"})
    board = client.get(f"/api/v1/rounds/{round_id}/leaderboard").get_json()
    mine = board["me"]
    assert (mine["rank"], mine["correct"], mine["is_me"]) == (2, 0, True)
    assert [r["is_me"] for r in board["rows"]] == [False, True]
    assert all("user_id" not in r for r in [*anonymous["rows"], *board["rows"], mine])  # no account ids
    page = client.get(f"/rounds/{round_id}/leaderboard").get_data(as_text=True)
    assert "Hạng của bạn: 2/2" in page and "Nguyễn V. A." in page and "Nguyễn Văn An" not in page


def test_unit_board(client, played) -> None:
    round_id, _other, unit_id = played
    board = client.get(f"/api/v1/rounds/{round_id}/leaderboard?unit={unit_id}").get_json()
    assert [r["name"] for r in board["rows"]] == ["Nguyễn V. A."]  # only An is registered in that unit


def test_hidden_and_frozen_boards_for_the_public_live_for_organizers(app, client, played, make_user) -> None:
    round_id, _other, _unit = played
    with app.app_context():
        round_ = db.session.get(Round, round_id)
        round_.leaderboard_visibility = LeaderboardVisibility.HIDDEN
        db.session.commit()
    assert client.get(f"/api/v1/rounds/{round_id}/leaderboard").get_json()["kind"] == "hidden"
    assert "sẽ được công bố sau khi đợt thi kết thúc" in client.get(f"/rounds/{round_id}/leaderboard").get_data(
        as_text=True
    )
    with app.app_context():
        round_ = db.session.get(Round, round_id)
        round_.leaderboard_visibility = LeaderboardVisibility.FROZEN
        round_.leaderboard_frozen_at = round_.opens_at + timedelta(seconds=1)  # before anyone submitted
        db.session.commit()
    frozen = client.get(f"/api/v1/rounds/{round_id}/leaderboard").get_json()
    assert frozen["kind"] == "frozen" and frozen["rows"] == [] and frozen["frozen_at"]
    make_user("btc@example.vn", Role.ORGANIZER, "Ban Tổ chức")
    organizer = app.test_client()
    organizer.post("/auth/login", data={"login": "btc@example.vn", "password": "mat-khau-thu-nghiem"})
    live = organizer.get(f"/api/v1/rounds/{round_id}/leaderboard").get_json()
    assert live["kind"] == "live" and live["rows"][0]["name"] == "Nguyễn Văn An"
    stats = organizer.get(f"/api/v1/rounds/{round_id}/stats").get_json()
    assert (stats["submitted"], stats["participants"], stats["perfect"]) == (2, 2, 1)
    assert stats["distribution"] == {"0": 1, "5": 1}
    assert client.get(f"/api/v1/rounds/{round_id}/stats").status_code == 401


def test_final_board_after_finalising(app, client, played) -> None:
    round_id, _other, _unit = played
    with app.app_context():
        round_ = db.session.get(Round, round_id)
        round_.leaderboard_visibility = LeaderboardVisibility.HIDDEN
        rankings.finalize_round(db.session, round_, round_.closes_at)
        db.session.commit()
    final = client.get(f"/api/v1/rounds/{round_id}/leaderboard").get_json()
    assert final["kind"] == "final" and [r["rank"] for r in final["rows"]] == [1, 2]


def test_contest_standings_page(client, played) -> None:
    page = client.get("/contests/thi/standings").get_data(as_text=True)
    assert "Nguyễn V. A." in page and "Xã Một" in page and "Nguyễn Văn An" not in page
    contest_page = client.get("/contests/thi").get_data(as_text=True)
    assert "/contests/thi/standings" in contest_page and "/leaderboard" in contest_page
