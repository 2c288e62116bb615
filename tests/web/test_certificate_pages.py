"""Certificate pages: organizer issuing and revoking, the printable certificate, public verification."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from quiz_engine.extensions import db
from quiz_engine.models import Attempt, AttemptStatus, AuditEvent, Certificate, Role, Round, User, utcnow
from quiz_engine.services.results import certificates, rankings
from quiz_engine.web.localtime import format_local
from tests import contest_fixture

ORGANIZER = "btc@example.vn"
PASSWORD = "mat-khau-thu-nghiem"


def _round(app, *, finalise: bool = True) -> int:  # type: ignore[no-untyped-def]
    """A round with two contestants (An 10/10 first, Bình 7/10 second), finalised unless told not to."""
    with app.app_context():
        built = contest_fixture.build(db.session, questions=10, per_paper=10)
        binh = contest_fixture.register(db.session, built.contest, "binh@example.vn")
        db.session.get(User, built.user_id).phone = "+84912345678"
        for user_id, correct, unit_id in ((built.user_id, 10, built.contest.units[0].id), (binh, 7, None)):
            at = built.round.opens_at + timedelta(minutes=5)
            db.session.add(
                Attempt(
                    round_id=built.round.id,
                    user_id=user_id,
                    number=1,
                    status=AttemptStatus.SUBMITTED,
                    started_at=at - timedelta(minutes=4),
                    deadline_at=at,
                    submitted_at=at,
                    duration_ms=240_000,
                    question_count=10,
                    scored_count=10,
                    correct_count=correct,
                    unit_id=unit_id,
                )
            )
        if finalise:
            built.round.closes_at = utcnow() - timedelta(minutes=1)
            rankings.finalize_round(db.session, built.round, utcnow())
        db.session.commit()
        return built.round.id


def _as_organizer(client, make_user) -> None:  # type: ignore[no-untyped-def]
    contest_fixture.list_as_organizer(client.application, make_user(ORGANIZER, Role.ORGANIZER, "Ban Tổ chức"))
    client.post("/auth/login", data={"login": ORGANIZER, "password": PASSWORD})


def _issued(app, round_id: int, top_n: int = 2):  # type: ignore[no-untyped-def]
    """Issue directly through the service; returns the codes in rank order."""
    with app.app_context():
        round_ = db.session.get(Round, round_id)
        codes = [
            c.code
            for c in certificates.issue_for_round(
                db.session, round_, top_n=top_n, perfect=False, actor_id=None, now=utcnow()
            )
        ]
        db.session.commit()
        return codes


def test_issuing_is_for_organizers_only(app, client, make_user) -> None:
    round_id = _round(app)
    url = f"/organizer/rounds/{round_id}/certificates"
    assert client.get(url).status_code == 302  # to the sign-in page
    make_user("khach@example.vn")
    client.post("/auth/login", data={"login": "khach@example.vn", "password": PASSWORD})
    assert client.get(url).status_code == 403
    assert client.post(url, data={"top_n": "3"}).status_code == 403
    assert client.post("/organizer/certificates/1/revoke").status_code == 403
    with app.app_context():
        assert db.session.scalar(select(Certificate)) is None


def test_organizer_issues_lists_and_revokes(app, client, make_user) -> None:
    round_id = _round(app)
    _as_organizer(client, make_user)
    with app.app_context():
        contest_id = db.session.get(Round, round_id).contest_id
    detail = client.get(f"/organizer/contests/{contest_id}").get_data(as_text=True)
    assert f'href="/organizer/rounds/{round_id}/certificates"' in detail
    url = f"/organizer/rounds/{round_id}/certificates"
    page = client.get(url).get_data(as_text=True)
    assert 'name="top_n"' in page and 'for="top_n"' in page and 'for="perfect"' in page
    response = client.post(url, data={"top_n": "1", "perfect": "y"}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Đã cấp 1 giấy chứng nhận mới; 0 người đã có từ trước." in page
    assert "Nguyễn Văn An" in page and "Giải Nhất" in page and "Trần Thị Bình" not in page
    page = client.post(url, data={"top_n": "2"}, follow_redirects=True).get_data(as_text=True)
    assert "Đã cấp 1 giấy chứng nhận mới; 1 người đã có từ trước." in page and "Giải Nhì" in page
    with app.app_context():
        rows = db.session.scalars(select(Certificate).order_by(Certificate.id)).all()
        organizer = db.session.scalar(select(User).where(User.email == ORGANIZER))
        assert [c.award for c in rows] == ["Giải Nhất", "Giải Nhì"] and {c.issued_by for c in rows} == {organizer.id}
        first_id, first_code = rows[0].id, rows[0].code
    assert f'href="/certificates/{first_code}"' in page
    assert client.post(f"/organizer/certificates/{first_id}/revoke").status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert "đã thu hồi ngày" in page
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("certificate.%"))).all()
        assert actions == ["certificate.issue", "certificate.issue", "certificate.revoke"]


def test_empty_request_is_refused_under_the_field(app, client, make_user) -> None:
    round_id = _round(app)
    _as_organizer(client, make_user)
    response = client.post(f"/organizer/rounds/{round_id}/certificates", data={"top_n": "0"})
    assert response.status_code == 400
    assert "Hãy chọn số người đứng đầu" in response.get_data(as_text=True)


def test_a_round_without_final_results_is_refused(app, client, make_user) -> None:
    round_id = _round(app, finalise=False)
    _as_organizer(client, make_user)
    url = f"/organizer/rounds/{round_id}/certificates"
    page = client.get(url).get_data(as_text=True)
    assert "Đợt thi chưa có kết quả chung cuộc" in page and 'name="top_n"' not in page
    response = client.post(url, data={"top_n": "3"})
    assert response.status_code == 409
    assert "chỉ cấp giấy chứng nhận sau khi kết quả được chốt" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Certificate)) is None


def test_printable_certificate_shows_everything_needed(app, client, static_url) -> None:
    round_id = _round(app)
    code = _issued(app, round_id)[0]
    response = client.get(f"/certificates/{code}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["X-Robots-Tag"] == "noindex, nofollow"
    with app.app_context():
        issued_on = format_local(db.session.scalar(select(Certificate.issued_at)), "%d/%m/%Y")
    assert re.fullmatch(r"\d\d/\d\d/\d{4}", issued_on)
    for expected in (
        "Nguyễn Văn An",
        "Xã Một",
        "Cuộc thi",
        "Đợt 1: Tuần 1",
        "Giải Nhất",
        f"Ngày cấp: {issued_on}",
        code,
        f"http://localhost/verify/{code}",
        static_url("css/certificate.css"),
    ):
        assert expected in page, expected
    assert "an@example.vn" not in page and "0912345678" not in page
    # A code typed loosely lands on the one canonical address.
    loose = client.get(f"/certificates/{code.lower().replace('-', '')}")
    assert loose.status_code == 302 and loose.headers["Location"].endswith(f"/certificates/{code}")
    assert client.get("/certificates/CN-2222-2222").status_code == 404


def test_certificate_css_prints_a4_landscape(client) -> None:
    response = client.get("/static/css/certificate.css")
    css = response.get_data(as_text=True)
    response.close()  # static files are streamed from disk
    assert "@page" in css and "A4 landscape" in css and "@media print" in css


def test_public_verification_masks_the_name_and_shows_no_contact_data(app, client) -> None:
    round_id = _round(app)
    code = _issued(app, round_id)[0]
    response = client.get(f"/verify/{code}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Giấy chứng nhận hợp lệ" in page
    for expected in ("Nguyễn V. A.", "Giải Nhất", "Cuộc thi", "Đợt 1: Tuần 1", code):
        assert expected in page, expected
    for secret in ("Nguyễn Văn An", "an@example.vn", "+84912345678", "0912345678", "Xã Một"):
        assert secret not in page, secret


def test_verification_form_accepts_a_loosely_typed_code(app, client) -> None:
    code = _issued(app, _round(app))[0]
    page = client.get("/verify").get_data(as_text=True)
    assert 'for="code"' in page and 'name="code"' in page
    response = client.get("/verify", query_string={"code": f" {code.lower().replace('-', ' ')} "})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/verify/{code}")
    assert client.get(f"/verify/{code.lower()}").headers["Location"].endswith(f"/verify/{code}")


def test_unknown_code_says_so(client) -> None:
    for url in ("/verify/CN-2222-2222", "/verify?code=nonsense"):
        response = client.get(url)
        assert response.status_code == 404
        assert "Không tìm thấy giấy chứng nhận có mã này" in response.get_data(as_text=True)


def test_revoked_certificate_verifies_as_revoked_and_no_longer_prints(app, client) -> None:
    code = _issued(app, _round(app))[0]
    with app.app_context():
        certificate = certificates.verify(db.session, code)
        certificates.revoke(db.session, certificate, actor_id=None, now=utcnow())
        db.session.commit()
    page = client.get(f"/verify/{code}").get_data(as_text=True)
    assert "Giấy chứng nhận đã bị thu hồi" in page and "Giấy chứng nhận hợp lệ" not in page
    printed = client.get(f"/certificates/{code}")
    assert printed.status_code == 410 and "Nguyễn Văn An" not in printed.get_data(as_text=True)


def _token(page: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


@pytest.mark.parametrize("config_overrides", [{"WTF_CSRF_ENABLED": True}])
def test_verification_needs_no_csrf_token_and_issuing_does(app, client, make_user) -> None:
    round_id = _round(app)
    code = _issued(app, round_id, top_n=1)[0]
    assert client.get("/verify", query_string={"code": code}).status_code == 302
    contest_fixture.list_as_organizer(app, make_user(ORGANIZER, Role.ORGANIZER, "Ban Tổ chức"))
    login = {
        "login": ORGANIZER,
        "password": PASSWORD,
        "csrf_token": _token(client.get("/auth/login").get_data(as_text=True)),
    }
    assert client.post("/auth/login", data=login).status_code == 302
    url = f"/organizer/rounds/{round_id}/certificates"
    assert client.post(url, data={"top_n": "2"}).status_code == 400
    token = _token(client.get(url).get_data(as_text=True))
    assert client.post(url, data={"top_n": "2", "csrf_token": token}).status_code == 302
    with app.app_context():
        assert len(db.session.scalars(select(Certificate)).all()) == 2
