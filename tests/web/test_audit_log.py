"""The audit log page: who may see it, its filters, keyset pages, and the audited Excel download."""

import io
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from openpyxl import load_workbook
from sqlalchemy import select

from quiz_engine.extensions import db
from quiz_engine.models import AuditEvent, Role, User
from quiz_engine.services.errors import ValidationError
from quiz_engine.services.people import audit, audit_log

VN = ZoneInfo("Asia/Ho_Chi_Minh")
HOSTILE_AGENT = '=HYPERLINK("http://evil.example","bấm")'
#: 23:30 on 1 March 2026 in Vietnam: still 1 March there, 16:30 UTC.
LATE_EVENING = datetime(2026, 3, 1, 16, 30, tzinfo=UTC)


@pytest.fixture
def people(app: Flask, make_user) -> dict[str, int]:  # type: ignore[no-untyped-def]
    ids = {
        # An admin: these tests read every entry; what an organizer sees of the log is in test_oversight.py.
        "btc": make_user("btc@example.vn", Role.ADMIN, "Ban Tổ Chức"),
        "an": make_user("an@example.vn", Role.CONTESTANT, "Nguyễn Văn An"),
        "binh": make_user("binh@example.vn", Role.CONTESTANT, "Trần Thị Bình"),
    }
    with app.app_context():
        db.session.get(User, ids["binh"]).phone = "+84912345678"
        db.session.commit()
    return ids


@pytest.fixture
def events(app: Flask, people: dict[str, int]) -> None:
    """A handful of events on known days, from known addresses."""
    with app.app_context():
        day = datetime(2026, 3, 3, tzinfo=UTC)
        rows = [
            ("auth.login", people["an"], None, "203.0.113.7", "Firefox", LATE_EVENING),
            ("auth.login_failed", None, None, "203.0.113.8", "curl", LATE_EVENING + timedelta(hours=1)),
            ("attempt.start", people["an"], ("attempt", 41), "203.0.113.7", "Firefox", day + timedelta(hours=2)),
            (
                "attempt.submit",
                people["binh"],
                ("attempt", 42),
                "198.51.100.9",
                HOSTILE_AGENT,
                day + timedelta(hours=3),
            ),
            ("bank.import", people["btc"], ("bank", 1), "10.0.0.1", "Edge", day + timedelta(days=1, hours=1)),
        ]
        for action, actor, target, ip, agent, at in rows:
            audit.record(
                db.session, action, now=at, actor_id=actor, target=target, origin=audit.Origin(ip, agent), note="x"
            )
        db.session.commit()


@pytest.fixture
def organizer(client, people, events):  # type: ignore[no-untyped-def]
    assert (
        client.post("/auth/login", data={"login": "btc@example.vn", "password": "mat-khau-thu-nghiem"}).status_code
        == 302
    )
    return client


def _actions(html: str) -> list[str]:
    """The action of each table row, top to bottom."""
    return re.findall(r"<td><code>([a-z_.]+)</code></td>", html)


def test_anonymous_visitors_sign_in_and_contestants_are_refused(client, people, auth) -> None:  # type: ignore[no-untyped-def]
    for url in ("/organizer/audit", "/organizer/audit.xlsx"):
        response = client.get(url)
        assert response.status_code == 302 and "/auth/login" in response.location
    auth.login("an@example.vn")
    assert client.get("/organizer/audit").status_code == 403
    assert client.get("/organizer/audit.xlsx").status_code == 403


def test_the_log_shows_newest_first_with_actor_and_local_time(organizer) -> None:  # type: ignore[no-untyped-def]
    response = organizer.get("/organizer/audit")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    # The organizer's own sign-in just now comes first, then the seeded events newest first.
    assert _actions(html) == [
        "auth.login",
        "bank.import",
        "attempt.submit",
        "attempt.start",
        "auth.login_failed",
        "auth.login",
    ]
    assert "Trần Thị Bình" in html and "binh@example.vn" in html
    assert "23:30:00 01/03/2026" in html  # 16:30 UTC shown in Vietnam's time
    assert 'href="/organizer/audit.xlsx"' in html
    assert "tối đa 100.000 sự kiện mới nhất" in html
    assert "<script" not in html.split("</header>")[1]  # no inline script (CSP)
    assert HOSTILE_AGENT not in html and "=HYPERLINK(&#34;http://evil.example&#34;" in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"action": "auth."}, ["auth.login", "auth.login_failed", "auth.login"]),
        ({"action": "attempt.submit"}, ["attempt.submit"]),
        ({"actor": "nguyễn văn"}, ["attempt.start", "auth.login"]),
        ({"actor": "BINH@EXAMPLE"}, ["attempt.submit"]),
        ({"actor": "0912 345 678"}, ["attempt.submit"]),
        ({"target_type": "attempt"}, ["attempt.submit", "attempt.start"]),
        ({"target_type": "attempt", "target_id": "41"}, ["attempt.start"]),
        ({"ip_address": "203.0.113.7"}, ["attempt.start", "auth.login"]),
        ({"ip_address": "203.0.113."}, ["attempt.start", "auth.login_failed", "auth.login"]),
        ({"date_from": "2026-03-01", "date_to": "2026-03-01"}, ["auth.login"]),  # 00:30 on the 2nd is the next day
        (
            {"date_from": "2026-03-02", "date_to": "2026-03-03"},
            ["attempt.submit", "attempt.start", "auth.login_failed"],
        ),
        ({"action": "auth.", "date_to": "2026-03-31"}, ["auth.login_failed", "auth.login"]),
        ({"action": "round."}, []),
    ],
)
def test_filters(organizer, query, expected) -> None:  # type: ignore[no-untyped-def]
    response = organizer.get("/organizer/audit", query_string=query)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert _actions(html) == expected
    if not expected:
        assert "Không có sự kiện nào phù hợp với bộ lọc." in html
    assert "/organizer/audit.xlsx?" in html  # the export link carries the filters


def test_the_actor_filter_does_not_treat_percent_as_a_wildcard(organizer) -> None:  # type: ignore[no-untyped-def]
    assert _actions(organizer.get("/organizer/audit?actor=%25%25").get_data(as_text=True)) == []


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"date_from": "2026-03-05", "date_to": "2026-03-01"}, "Ngày bắt đầu phải trước hoặc bằng ngày kết thúc."),
        ({"action": "drop.table"}, "Not a valid choice"),
        ({"target_type": "secret"}, "Not a valid choice"),
        ({"target_id": "abc"}, "Not a valid integer value"),
    ],
)
def test_bad_filters_are_shown_on_the_form(organizer, query, message) -> None:  # type: ignore[no-untyped-def]
    response = organizer.get("/organizer/audit", query_string=query)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html and 'class="field-error"' in html
    assert _actions(html) == []
    refused = organizer.get("/organizer/audit.xlsx", query_string=query)
    assert refused.status_code == 302 and "/organizer/audit?" in refused.location


def test_pages_of_fifty_newest_first_forwards_and_back(app: Flask, organizer, people) -> None:  # type: ignore[no-untyped-def]
    start = datetime(2026, 4, 1, tzinfo=UTC)
    with app.app_context():
        for i in range(120):
            audit.record(db.session, "round.update", now=start + timedelta(minutes=i), actor_id=people["btc"], n=i)
        db.session.commit()
    first = organizer.get("/organizer/audit?action=round.update").get_data(as_text=True)
    assert first.count("<td><code>round.update</code></td>") == 50
    assert "Trang mới hơn" not in first
    numbers = [int(n) for n in re.findall(r"&#34;n&#34;: (\d+)", first)]
    assert numbers == list(range(119, 69, -1))
    older = re.search(r'href="([^"]*before=\d+[^"]*)"', first).group(1).replace("&amp;", "&")
    assert "action=round.update" in older

    second = organizer.get(older).get_data(as_text=True)
    assert [int(n) for n in re.findall(r"&#34;n&#34;: (\d+)", second)] == list(range(69, 19, -1))
    third = organizer.get(re.search(r'href="([^"]*before=\d+[^"]*)"', second).group(1).replace("&amp;", "&"))
    third_html = third.get_data(as_text=True)
    assert [int(n) for n in re.findall(r"&#34;n&#34;: (\d+)", third_html)] == list(range(19, -1, -1))
    assert "Trang cũ hơn" not in third_html

    back = organizer.get(re.search(r'href="([^"]*after=\d+[^"]*)"', third_html).group(1).replace("&amp;", "&"))
    assert [int(n) for n in re.findall(r"&#34;n&#34;: (\d+)", back.get_data(as_text=True))] == list(range(69, 19, -1))
    back_to_first = re.search(r'href="([^"]*after=\d+[^"]*)"', back.get_data(as_text=True)).group(1)
    newest = organizer.get(back_to_first.replace("&amp;", "&")).get_data(as_text=True)
    assert [int(n) for n in re.findall(r"&#34;n&#34;: (\d+)", newest)] == list(range(119, 69, -1))
    assert "Trang mới hơn" not in newest


def test_a_cursor_naming_no_event_gives_the_newest_page(app: Flask, events) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        page = audit_log.page(db.session, audit_log.AuditFilter(), tz=VN, scope=None, before=999_999)
        assert [r.action for r in page.rows][:2] == ["bank.import", "attempt.submit"]
        assert page.newer is None and page.older is None
        small = audit_log.page(db.session, audit_log.AuditFilter(), tz=VN, scope=None, size=2)
        assert [r.action for r in small.rows] == ["bank.import", "attempt.submit"] and small.newer is None
        following = audit_log.page(db.session, audit_log.AuditFilter(), tz=VN, scope=None, size=2, before=small.older)
        assert [r.action for r in following.rows] == ["attempt.start", "auth.login_failed"]
        assert following.newer == following.rows[0].id


def test_the_service_refuses_a_malformed_action(app: Flask) -> None:
    with app.app_context(), pytest.raises(ValidationError) as refused:
        audit_log.page(db.session, audit_log.AuditFilter(action="auth.%"), tz=VN, scope=None)
    assert refused.value.field == "action"


def test_export_holds_the_filtered_events_and_is_audited(app: Flask, organizer, people) -> None:  # type: ignore[no-untyped-def]
    response = organizer.get("/organizer/audit.xlsx", query_string={"action": "attempt.", "date_from": "2026-03-03"})
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    workbook = load_workbook(io.BytesIO(response.data))
    assert workbook.sheetnames == ["Nhật ký", "Thông số"]
    sheet = workbook["Nhật ký"]
    assert sheet["A1"].value.startswith("Nhật ký hệ thống")
    header = [c.value for c in sheet[3]]
    assert header[:5] == ["Mã sự kiện", "Thời điểm", "Hành động", "Người thực hiện", "E-mail"]
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=4)]
    assert [r[2] for r in rows] == ["attempt.submit", "attempt.start"]
    submit = rows[0]
    assert submit[1] == datetime(2026, 3, 3, 10, 0)  # a real date, in Vietnam's time
    assert sheet.cell(row=4, column=2).is_date
    assert submit[3:9] == ["Trần Thị Bình", "binh@example.vn", "attempt", 42, "198.51.100.9", HOSTILE_AGENT]
    agent_cell = sheet.cell(row=4, column=9)
    assert agent_cell.data_type == "s" and agent_cell.quotePrefix  # shown as text, never run as a formula
    assert '"note": "x"' in submit[9]
    parameters = {row[0].value: row[1].value for row in workbook["Thông số"].iter_rows(min_row=4)}
    assert parameters["Số sự kiện"] == 2 and "attempt." in parameters["Bộ lọc"]
    assert parameters["Người xuất"] == "Ban Tổ Chức (btc@example.vn)"

    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "audit.export"))
        assert event.actor_id == people["btc"]
        assert event.details == {"filters": {"action": "attempt.", "date_from": "2026-03-03"}, "rows": 2}


def _export_all(limit: int) -> audit_log.AuditExport:
    """Every event (an admin's scope), at most ``limit``."""
    when = datetime(2026, 5, 1, tzinfo=UTC)
    return audit_log.export(
        db.session, audit_log.AuditFilter(), tz=VN, scope=None, now=when, exported_by="BTC", limit=limit
    )


def test_export_is_capped_and_says_so(app: Flask, events, people) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        exported = _export_all(limit=3)
        assert (exported.rows, exported.truncated) == (3, True)
        workbook = load_workbook(io.BytesIO(exported.content))
        assert [r[2].value for r in workbook["Nhật ký"].iter_rows(min_row=4)] == [
            "bank.import",
            "attempt.submit",
            "attempt.start",
        ]
        parameters = {row[0].value: row[1].value for row in workbook["Thông số"].iter_rows(min_row=4)}
        assert parameters["Đã cắt bớt"].startswith("Có") and parameters["Bộ lọc"] == "(không lọc)"
        db.session.rollback()  # the export recorded itself: drop that event so five are left
        whole = _export_all(limit=5)
        assert (whole.rows, whole.truncated) == (5, False)


def test_filter_details_name_only_what_is_set() -> None:
    filters = audit_log.AuditFilter(action="auth.", target_id=3, date_to=date(2026, 3, 1))
    assert filters.details() == {"action": "auth.", "target_id": 3, "date_to": "2026-03-01"}
