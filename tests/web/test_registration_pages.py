"""Registering, joining a contest, the profile and changing one's password, through the test client."""

import re
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from quiz_engine.extensions import db
from quiz_engine.models import AuditEvent, Registration, Unit, UnitKind, User, utcnow
from quiz_engine.services.organising import contests
from quiz_engine.services.organising.units import UnitSpec, import_units

PASSWORD = "mat-khau-123"


@dataclass(frozen=True)
class ContestIds:
    id: int
    slug: str
    groups: list[int]
    units: list[int]  # ordered by name: Phường Hai, Xã Một


def _contests(app: Flask, *slugs: str, unpublished: tuple[str, ...] = ()) -> dict[str, ContestIds]:
    with app.app_context():
        import_units(
            db.session,
            [
                UnitSpec("X1", "Xã Một", UnitKind.COMMUNE, None, 100, 2),
                UnitSpec("P2", "Phường Hai", UnitKind.WARD, None, 50, 3),
            ],
        )
        units = list(db.session.scalars(select(Unit)))
        made = {}
        for slug in slugs + unpublished:
            contest = contests.create_contest(
                db.session,
                slug,
                contests.ContestDetails(
                    title=f"Cuộc thi {slug}",
                    groups=[("can-bo", "Cán bộ, công chức"), ("nhan-dan", "Nhân dân")],
                    units=units,
                    published=slug not in unpublished,
                ),
                now=utcnow(),
            )
            made[slug] = ContestIds(contest.id, slug, [g.id for g in contest.groups], [u.id for u in contest.units])
        db.session.commit()
        return made


def _form(contest: ContestIds, **changes: str | None) -> dict[str, str]:
    data = {
        "full_name": "Nguyễn Văn An",
        "date_of_birth": "1990-05-17",
        "cccd": "001090012345",
        "phone": "0912 345 678",
        "email": "An@Example.vn",
        "password": PASSWORD,
        "password_confirm": PASSWORD,
        "group": str(contest.groups[1]),
        "unit": str(contest.units[1]),
        "consent": "y",
        **changes,
    }
    return {k: v for k, v in data.items() if v is not None}


def _counts(app: Flask) -> tuple[int, int, int]:
    with app.app_context():
        return tuple(db.session.scalar(select(func.count(m.id))) for m in (User, Registration, AuditEvent))  # type: ignore[return-value]


def _register(client: FlaskClient, contest: ContestIds, **changes: str | None):  # type: ignore[no-untyped-def]
    return client.post(f"/auth/register?contest={contest.slug}", data=_form(contest, **changes))


# --- which contest ----------------------------------------------------------------------------------


def test_register_without_contests_says_so(client: FlaskClient) -> None:
    response = client.get("/auth/register")
    assert response.status_code == 200
    assert "Hiện chưa có cuộc thi nào mở đăng ký" in response.get_data(as_text=True)


def test_register_lists_the_published_contests_to_choose_from(app: Flask, client: FlaskClient) -> None:
    _contests(app, "mot", "hai", unpublished=("an",))
    page = client.get("/auth/register").get_data(as_text=True)
    assert 'href="/auth/register?contest=mot"' in page and 'href="/auth/register?contest=hai"' in page
    assert "contest=an" not in page and 'name="full_name"' not in page


def test_register_uses_the_only_published_contest(app: Flask, client: FlaskClient, static_url) -> None:  # type: ignore[no-untyped-def]
    ids = _contests(app, "thi", unpublished=("an",))["thi"]
    page = client.get("/auth/register").get_data(as_text=True)
    assert 'action="/auth/register?contest=thi"' in page
    for label in ("Họ và tên", "Ngày sinh", "Số căn cước công dân", "Số điện thoại", "E-mail", "Nhập lại mật khẩu"):
        assert label in page
    assert f'type="radio" value="{ids.groups[0]}"> Cán bộ, công chức</label>' in page
    # a plain select, grouped by kind, that the progressive-enhancement script can filter
    assert re.search(r'<select [^>]*data-unit-filter[^>]*name="unit" required>', page)
    assert '<optgroup label="Xã"><option value="' in page and '<optgroup label="Phường">' in page
    assert "Nghị định 13/2023/NĐ-CP" in page
    assert 'aria-describedby="consent-purpose"' in page and 'id="consent-purpose"' in page
    assert f'<script src="{static_url("js/unit-filter.js")}" defer></script>' in page
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)  # no inline script: the CSP forbids them
    with client.get("/static/js/unit-filter.js") as script:
        assert script.status_code == 200


def test_register_for_an_unknown_or_unpublished_contest_is_not_found(app: Flask, client: FlaskClient) -> None:
    _contests(app, "thi", unpublished=("an",))
    assert client.get("/auth/register?contest=khong-co").status_code == 404
    assert client.get("/auth/register?contest=an").status_code == 404
    assert client.post("/auth/register?contest=an", data={}).status_code == 404


# --- registering ------------------------------------------------------------------------------------


def test_register_creates_the_account_and_signs_in_on_a_fresh_session(app: Flask, client: FlaskClient) -> None:
    ids = _contests(app, "thi")["thi"]
    with client.session_transaction() as sess:
        sess["planted"] = "before-registration"
    response = _register(client, ids)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    with client.session_transaction() as sess:
        assert "planted" not in sess and sess["_user_id"]
    home = client.get("/").get_data(as_text=True)
    assert "Đăng ký thành công" in home and "Nguyễn Văn An" in home and 'href="/auth/profile"' in home
    with app.app_context():
        user = db.session.scalar(select(User))
        assert (user.phone, user.email, user.cccd, str(user.date_of_birth)) == (
            "+84912345678",
            "an@example.vn",
            "001090012345",
            "1990-05-17",
        )
        assert user.consented_at is not None and user.unit_id == ids.units[1]
        entry = db.session.scalar(select(Registration))
        assert (entry.contest_id, entry.user_id, entry.group_id, entry.unit_id) == (
            ids.id,
            user.id,
            ids.groups[1],
            ids.units[1],
        )
        event = db.session.scalar(select(AuditEvent))
        assert (event.action, event.actor_id, event.target_id) == ("user.register", user.id, ids.id)
        assert event.ip_address == "127.0.0.1"


def test_registering_remembers_the_device(app: Flask, client: FlaskClient) -> None:
    ids = _contests(app, "thi")["thi"]
    response = _register(client, ids)
    assert response.status_code == 302
    assert any(h.startswith("remember_token=") for h in response.headers.getlist("Set-Cookie"))
    client.delete_cookie("session")  # the phone's browser was closed before the round starts
    assert client.get("/auth/profile").status_code == 200


def test_register_accepts_a_typed_day_month_year(app: Flask, client: FlaskClient) -> None:
    ids = _contests(app, "thi")["thi"]
    assert _register(client, ids, date_of_birth="17/05/1990").status_code == 302


@pytest.mark.parametrize(
    ("field", "clash", "message"),
    [
        ("cccd", {"cccd": "001 090 012 345", "date_of_birth": "1990-01-01"}, "Số CCCD này đã được dùng"),
        ("phone", {"phone": "+84912345678"}, "Số điện thoại này đã được dùng"),
        ("email", {"email": "AN@example.VN", "phone": ""}, "E-mail này đã được dùng"),
    ],
)
def test_register_refuses_a_taken_identifier_and_changes_nothing(
    app: Flask, client: FlaskClient, field: str, clash: dict[str, str], message: str
) -> None:
    ids = _contests(app, "thi")["thi"]
    _register(client, ids)
    client.post("/auth/logout")
    before = _counts(app)
    other = {"full_name": "Trần Thị Bình", "cccd": "079305001234", "date_of_birth": "2005-01-02"}
    other |= {"phone": "0987654321", "email": "binh@example.vn"}
    response = _register(client, ids, **(other | clash))
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert message in page and "hãy đăng nhập" in page
    assert f'aria-describedby="{field}-error"' in page or f'aria-describedby="{field}-hint {field}-error"' in page
    assert 'value="Trần Thị Bình"' in page  # what was typed is kept
    assert _counts(app) == before
    with client.session_transaction() as sess:
        assert "_user_id" not in sess


def test_register_without_consent_is_refused_and_writes_nothing(app: Flask, client: FlaskClient) -> None:
    ids = _contests(app, "thi")["thi"]
    response = _register(client, ids, consent=None)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Bạn cần đồng ý với mục đích xử lý dữ liệu cá nhân để đăng ký." in page
    assert 'aria-describedby="consent-purpose consent-error"' in page
    assert _counts(app) == (0, 0, 0)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"password_confirm": "khac-mat-khau"}, "Hai lần nhập mật khẩu không khớp."),
        ({"date_of_birth": "31/13/1990"}, "Ngày sinh không hợp lệ"),
        ({"full_name": ""}, "Vui lòng nhập họ và tên."),
        ({"cccd": "001091012345"}, "Số CCCD không khớp với ngày sinh"),
        ({"cccd": "12345"}, "Số CCCD phải gồm đúng 12 chữ số."),
        ({"phone": "", "email": ""}, "Cần số điện thoại hoặc e-mail"),
        ({"unit": ""}, "Hãy chọn đơn vị trong danh sách."),
        ({"unit": "999"}, "Hãy chọn đơn vị trong danh sách."),
        ({"group": None}, "Hãy chọn đối tượng dự thi."),
        ({"password": "ngan", "password_confirm": "ngan"}, "Mật khẩu cần ít nhất 8 ký tự."),
        ({"date_of_birth": "2020-01-01", "cccd": "001220012345"}, "Cuộc thi dành cho người từ 12 tuổi trở lên."),
    ],
)
def test_register_refuses_bad_input_with_a_message(
    app: Flask, client: FlaskClient, changes: dict[str, str | None], message: str
) -> None:
    ids = _contests(app, "thi")["thi"]
    response = _register(client, ids, **changes)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert _counts(app) == (0, 0, 0)


def test_register_refusal_in_english(app: Flask, client: FlaskClient) -> None:
    ids = _contests(app, "thi")["thi"]
    client.post("/language/en")
    page = _register(client, ids, cccd="003090012345").get_data(as_text=True)
    assert "Invalid CCCD number: 003 is not a province code" in page


class TestMinimumAgeSetting:
    @pytest.fixture
    def config_overrides(self) -> dict[str, object]:
        return {"REGISTRATION_MIN_AGE": 18}

    def test_the_configured_minimum_age_applies(self, app: Flask, client: FlaskClient) -> None:
        ids = _contests(app, "thi")["thi"]
        response = _register(client, ids, date_of_birth="2010-03-04", cccd="001210012345")
        assert response.status_code == 400
        assert "Cuộc thi dành cho người từ 18 tuổi trở lên." in response.get_data(as_text=True)
        assert _counts(app) == (0, 0, 0)


# --- joining another contest --------------------------------------------------------------------------


def test_a_signed_in_person_joins_another_contest(app: Flask, client: FlaskClient) -> None:
    made = _contests(app, "mot", "hai")
    _register(client, made["mot"])
    response = client.get("/auth/register?contest=hai")
    assert response.status_code == 302 and response.headers["Location"] == "/auth/contests/hai/join"
    page = client.get("/auth/contests/hai/join").get_data(as_text=True)
    assert "Cuộc thi hai" in page and 'name="unit"' in page
    assert 'name="consent"' not in page  # consent was given at registration
    refused = client.post("/auth/contests/hai/join", data={"unit": str(made["hai"].units[0])})
    assert refused.status_code == 400 and "Hãy chọn đối tượng dự thi." in refused.get_data(as_text=True)
    joined = client.post(
        "/auth/contests/hai/join", data={"group": str(made["hai"].groups[0]), "unit": str(made["hai"].units[0])}
    )
    assert joined.status_code == 302 and joined.headers["Location"] == "/"
    with app.app_context():
        entries = db.session.scalars(select(Registration).order_by(Registration.id)).all()
        assert [(e.contest_id, e.group_id, e.unit_id) for e in entries] == [
            (made["mot"].id, made["mot"].groups[1], made["mot"].units[1]),
            (made["hai"].id, made["hai"].groups[0], made["hai"].units[0]),
        ]
        assert db.session.scalar(select(User.unit_id)) == made["hai"].units[0]
        assert db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all() == [
            "user.register",
            "user.join_contest",
        ]
    again = client.get("/auth/contests/hai/join")
    assert again.status_code == 302 and again.headers["Location"] == "/auth/profile"


def test_joining_needs_a_signed_in_person(app: Flask, client: FlaskClient) -> None:
    _contests(app, "thi")
    response = client.get("/auth/contests/thi/join")
    assert response.status_code == 302 and response.headers["Location"].startswith("/auth/login")


def test_an_account_without_consent_gives_it_when_joining(app: Flask, client: FlaskClient, auth, make_user) -> None:  # type: ignore[no-untyped-def]
    ids = _contests(app, "thi")["thi"]
    make_user()
    auth.login()
    page = client.get("/auth/contests/thi/join").get_data(as_text=True)
    assert 'name="consent"' in page and "Nghị định 13/2023/NĐ-CP" in page
    entry = {"group": str(ids.groups[0]), "unit": str(ids.units[0])}
    refused = client.post("/auth/contests/thi/join", data=entry)
    assert refused.status_code == 400
    assert _counts(app)[1] == 0
    assert client.post("/auth/contests/thi/join", data=entry | {"consent": "y"}).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(User.consented_at)) is not None


# --- profile ----------------------------------------------------------------------------------------


def test_profile_needs_a_signed_in_person(client: FlaskClient) -> None:
    assert client.get("/auth/profile").headers["Location"].startswith("/auth/login")
    assert client.post("/auth/profile/contests/thi").headers["Location"].startswith("/auth/login")


def test_profile_shows_and_corrects_the_details(app: Flask, client: FlaskClient) -> None:
    ids = _contests(app, "thi")["thi"]
    _register(client, ids)
    page = client.get("/auth/profile").get_data(as_text=True)
    assert 'value="0912345678"' in page and 'value="001090012345"' in page and 'value="1990-05-17"' in page
    assert "Cuộc thi thi" in page and f'name="c{ids.id}-unit"' in page
    details = {
        "full_name": "Nguyễn Văn Ân",
        "date_of_birth": "1990-05-17",
        "cccd": "001090012345",
        "phone": "0388 123 456",
        "email": "an@example.vn",
    }
    response = client.post("/auth/profile", data=details)
    assert response.status_code == 302 and response.headers["Location"] == "/auth/profile"
    assert "Đã lưu thông tin của bạn." in client.get("/auth/profile").get_data(as_text=True)
    with app.app_context():
        user = db.session.scalar(select(User))
        assert (user.full_name, user.phone) == ("Nguyễn Văn Ân", "+84388123456")
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.profile_update"))
        assert event.details == {"fields": ["full_name", "phone"]}


def test_profile_refuses_another_accounts_phone_and_changes_nothing(app: Flask, client: FlaskClient) -> None:
    ids = _contests(app, "thi")["thi"]
    _register(
        client,
        ids,
        full_name="Trần Thị Bình",
        cccd="079305001234",
        date_of_birth="2005-01-02",
        phone="0987654321",
        email="binh@example.vn",
    )
    client.post("/auth/logout")
    _register(client, ids)
    before = _counts(app)
    details = {"full_name": "Nguyễn Văn An", "date_of_birth": "1990-05-17", "cccd": "001090012345"}
    response = client.post("/auth/profile", data=details | {"phone": "0987 654 321"})
    assert response.status_code == 409
    assert "Số điện thoại này đã được dùng cho một tài khoản khác." in response.get_data(as_text=True)
    assert _counts(app) == before
    with app.app_context():
        assert db.session.scalar(select(User.phone).where(User.email == "an@example.vn")) == "+84912345678"


def test_profile_changes_the_group_and_unit_of_an_entry(app: Flask, client: FlaskClient) -> None:
    ids = _contests(app, "thi")["thi"]
    _register(client, ids)
    refused = client.post(f"/auth/profile/contests/{ids.slug}", data={f"c{ids.id}-group": str(ids.groups[0])})
    assert refused.status_code == 400 and "Hãy chọn đơn vị trong danh sách." in refused.get_data(as_text=True)
    response = client.post(
        f"/auth/profile/contests/{ids.slug}",
        data={f"c{ids.id}-group": str(ids.groups[0]), f"c{ids.id}-unit": str(ids.units[0])},
    )
    assert response.status_code == 302 and response.headers["Location"] == "/auth/profile"
    with app.app_context():
        entry = db.session.scalar(select(Registration))
        assert (entry.group_id, entry.unit_id) == (ids.groups[0], ids.units[0])
        assert db.session.scalar(select(User.unit_id)) == ids.units[0]
    assert client.post("/auth/profile/contests/khong-co", data={}).status_code == 404


# --- changing one's password ------------------------------------------------------------------------


def test_change_password_needs_the_current_one(app: Flask, client: FlaskClient, auth) -> None:  # type: ignore[no-untyped-def]
    ids = _contests(app, "thi")["thi"]
    _register(client, ids)
    page = client.get("/auth/password?next=/auth/profile").get_data(as_text=True)
    assert "Mật khẩu hiện tại" in page and 'name="next" type="hidden" value="/auth/profile"' in page
    new = {"new_password": "mat-khau-moi-1", "new_password_confirm": "mat-khau-moi-1"}
    wrong = client.post("/auth/password", data={"current_password": "sai-mat-khau"} | new)
    assert wrong.status_code == 400 and "Mật khẩu hiện tại không đúng." in wrong.get_data(as_text=True)
    response = client.post("/auth/password", data={"current_password": PASSWORD, "next": "/auth/profile"} | new)
    assert response.status_code == 302 and response.headers["Location"] == "/auth/profile"
    auth.logout()
    assert auth.login("0912345678", PASSWORD).status_code == 401
    assert auth.login("0912345678", "mat-khau-moi-1").status_code == 302
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.password_change"))
        assert event.details == {"forced": False}


class TestWithCsrf:
    @pytest.fixture
    def config_overrides(self) -> dict[str, object]:
        return {"WTF_CSRF_ENABLED": True}

    def test_register_needs_the_forms_token(self, app: Flask, client: FlaskClient) -> None:
        ids = _contests(app, "thi")["thi"]
        refused = _register(client, ids)
        assert refused.status_code == 400 and "Phiên làm việc đã hết hạn" in refused.get_data(as_text=True)
        assert _counts(app) == (0, 0, 0)
        page = client.get("/auth/register?contest=thi").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        accepted = client.post("/auth/register?contest=thi", data=_form(ids) | {"csrf_token": token})
        assert accepted.status_code == 302
        assert _counts(app)[:2] == (1, 1)


def test_a_form_posted_without_choosing_a_contest_says_so_and_makes_nothing(app: Flask, client: FlaskClient) -> None:
    ids = _contests(app, "mot", "hai")
    before = _counts(app)
    response = client.post("/auth/register", data=_form(ids["mot"]))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'role="alert"' in page and "Hãy chọn cuộc thi bạn muốn đăng ký trước khi gửi thông tin." in page
    assert 'aria-describedby="contest-error"' in page and 'href="/auth/register?contest=hai"' in page
    assert _counts(app) == before
    assert client.get("/auth/register").status_code == 200  # only a post that chose nothing is an error
