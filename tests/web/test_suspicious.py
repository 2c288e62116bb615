"""The suspicious accounts page: who may open it, its round choice, what it shows and its empty state."""

from datetime import date, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from quiz_engine.extensions import db
from quiz_engine.models import Contest, Role, User, utcnow
from quiz_engine.services.organising import contests, rounds
from quiz_engine.services.people import audit, registration
from quiz_engine.services.people.registration import EntryChoice, PersonalDetails
from tests import contest_fixture
from tests.unit.test_suspicious_accounts import play_by_question

STAFF_PASSWORD = "mat-khau-thu-nghiem"


@pytest.fixture
def setup(app: Flask, make_user) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """A contest with an open round of five fixed questions, its organizer, an organizer of nothing, an admin."""
    ids = {
        "btc": make_user("btc@example.vn", Role.ORGANIZER, "Ban Tổ Chức"),
        "other": make_user("khac@example.vn", Role.ORGANIZER, "Ban Khác"),
        "admin": make_user("admin@example.vn", Role.ADMIN, "Quản Trị"),
        "guest": make_user("khach@example.vn", Role.CONTESTANT, "Khách"),
    }
    with app.app_context():
        built = contest_fixture.build(db.session, questions=5, per_paper=5)
        built.contest.organizers.append(db.session.get(User, ids["btc"]))
        db.session.commit()
        ids["contest"], ids["round"] = built.contest.id, built.round.id
    return ids


def _sign_in(client: FlaskClient, login: str) -> None:
    assert client.post("/auth/login", data={"login": login, "password": STAFF_PASSWORD}).status_code == 302


def test_access(client: FlaskClient, setup: dict[str, int]) -> None:
    url = f"/organizer/contests/{setup['contest']}/suspicious"
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and "/auth/login" in anonymous.location
    _sign_in(client, "khach@example.vn")
    assert client.get(url).status_code == 403
    client.post("/auth/logout")
    _sign_in(client, "khac@example.vn")  # an organizer, but not of this contest
    assert client.get(url).status_code == 404
    client.post("/auth/logout")
    _sign_in(client, "admin@example.vn")
    assert client.get(url).status_code == 200
    client.post("/auth/logout")
    _sign_in(client, "btc@example.vn")
    assert client.get(url).status_code == 200
    assert client.get("/organizer/contests/999/suspicious").status_code == 404


def test_a_round_must_belong_to_the_contest(app: Flask, client: FlaskClient, setup: dict[str, int]) -> None:
    with app.app_context():
        other = contests.create_contest(
            db.session, "khac", contests.ContestDetails(title="Cuộc thi khác"), now=utcnow()
        )
        other_round = rounds.add_round(
            db.session,
            other,
            rounds.RoundRules(
                title="Đợt khác",
                opens_at=utcnow(),
                closes_at=utcnow() + timedelta(days=1),
                time_limit_seconds=600,
                mix=[rounds.MixItem("bank", 5)],
            ),
            now=utcnow(),
        )
        db.session.commit()
        other_round_id = other_round.id
    _sign_in(client, "btc@example.vn")
    url = f"/organizer/contests/{setup['contest']}/suspicious"
    assert client.get(url, query_string={"round": other_round_id}).status_code == 404
    assert client.get(url, query_string={"round": 12345}).status_code == 404
    chosen = client.get(url, query_string={"round": setup["round"]})
    assert chosen.status_code == 200
    assert f'<option value="{setup["round"]}" selected>Tuần 1</option>' in chosen.get_data(as_text=True)


def test_empty_state_explains_the_signals(client: FlaskClient, setup: dict[str, int]) -> None:
    _sign_in(client, "btc@example.vn")
    response = client.get(f"/organizer/contests/{setup['contest']}/suspicious")
    html = response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    assert "Không phát hiện dấu hiệu bất thường nào với các ngưỡng hiện tại." in html
    assert "không phải kết luận tự động" in html
    for heading in (
        "Nhiều tài khoản đăng ký từ cùng một thiết bị",
        "Nhiều tài khoản đăng ký từ cùng một địa chỉ IP",
        "Nhiều tài khoản đăng nhập từ cùng một thiết bị",
        "Bài làm giống hệt nhau",
    ):
        assert heading in html
    assert html.count("Không phát hiện trường hợp nào.") == 4
    assert "<script" not in html.split("</header>")[1]


def _register(app: Flask, contest_id: int, n: int, ip: str, agent: str) -> None:
    with app.app_context():
        contest = db.session.get(Contest, contest_id)
        registration.register(
            db.session,
            contest,
            PersonalDetails(
                full_name=f"Người Thứ {n}",
                date_of_birth=date(1990, 1, 1),
                cccd=f"001090{n:06d}",
                phone=f"09{n:08d}",
                email=f"nguoi{n}@example.vn",
            ),
            password="mat-khau-123",
            entry=EntryChoice(contest.groups[0].id, contest.units[0].id),
            consented=True,
            now=utcnow(),
            origin=audit.Origin(ip, agent),
        )
        db.session.commit()


def test_the_report_shows_each_signal_with_its_evidence(app: Flask, client: FlaskClient, setup: dict[str, int]) -> None:
    for n in (1, 2, 3):  # one school's address, three browsers
        _register(app, setup["contest"], n, "198.51.100.1", f"Trình duyệt {n}")
    for n in (4, 5):  # one phone
        _register(app, setup["contest"], n, "198.51.100.2", "Zalo/1.0 <b>")
    for n in (1, 2, 3):  # three accounts signing in, one after the other, on one device
        device = app.test_client()
        response = device.post(
            "/auth/login",
            data={"login": f"nguoi{n}@example.vn", "password": "mat-khau-123"},
            environ_base={"REMOTE_ADDR": "203.0.113.5"},
            headers={"User-Agent": "Android 14"},
        )
        assert response.status_code == 302
    with app.app_context():
        contest_fixture.register(db.session, db.session.get(Contest, setup["contest"]), "binh@example.vn")
    first = play_by_question(app, "an@example.vn", setup["round"], right=1)
    second = play_by_question(app, "binh@example.vn", setup["round"], right=1)

    _sign_in(client, "btc@example.vn")
    html = client.get(
        f"/organizer/contests/{setup['contest']}/suspicious", query_string={"round": setup["round"]}
    ).get_data(as_text=True)

    assert "Không phát hiện dấu hiệu bất thường nào" not in html
    assert "3 tài khoản · địa chỉ IP 198.51.100.1" in html
    assert "2 tài khoản · địa chỉ IP 198.51.100.2" in html
    assert "Zalo/1.0 &lt;b&gt;" in html and "Zalo/1.0 <b>" not in html
    assert "3 tài khoản · địa chỉ IP 203.0.113.5" in html and "Android 14" in html
    assert "Người Thứ 1" in html and "nguoi1@example.vn" in html and "+84900000001" in html and "Xã Một" in html
    assert "2 tài khoản · Tuần 1" in html
    assert "Cùng 5 câu hỏi, cùng đáp án; 5 câu đã trả lời, 4 câu sai giống nhau." in html
    assert "an@example.vn" in html and "binh@example.vn" in html
    assert first != second
    assert html.count("Không phát hiện trường hợp nào.") == 0
    assert 'href="/organizer/audit?ip_address=198.51.100.1"' in html
