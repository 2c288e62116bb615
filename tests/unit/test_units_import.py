"""Unit lists: Excel and CSV, all or nothing, re-import by code, hierarchy checks."""

import io

from openpyxl import Workbook
from sqlalchemy import func, select

from quiz_engine.models import Role, Unit, UnitKind
from quiz_engine.services.organising import units

CSV = (
    "Mã đơn vị,Tên đơn vị,Loại,Mã đơn vị cấp trên,Số người\n"
    "TQ,Tỉnh Tuyên Quang,tỉnh,,\n"
    "P-MX,Phường Minh Xuân,phường,TQ,1.500\n"
    "X-TT,Xã Tân Trịnh,xã,TQ,600\n"
)


def _xlsx(rows: list[list]) -> bytes:  # type: ignore[type-arg]
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Đơn vị"
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_csv_and_xlsx_read_the_same_units(session) -> None:
    from_csv, problems = units.read_units_file("units.csv", CSV.encode())
    assert problems == []
    rows = [line.split(",") for line in CSV.strip().splitlines()]
    from_xlsx, problems = units.read_units_file("units.xlsx", _xlsx(rows))
    assert problems == [] and from_xlsx == from_csv
    assert from_csv[1].headcount == 1500 and from_csv[1].kind is UnitKind.WARD and from_csv[1].parent_code == "TQ"


def test_import_then_reimport_updates_by_code(session) -> None:
    specs, _ = units.read_units_file("units.csv", CSV.encode())
    first = units.import_units(session, specs)
    assert (first.added, first.updated, first.unchanged) == (3, 0, 0)
    edited, _ = units.read_units_file("units.csv", CSV.replace("600", "650").encode())
    again = units.import_units(session, edited)
    assert (again.added, again.updated, again.unchanged) == (0, 1, 2)
    ward = session.scalar(select(Unit).where(Unit.code == "X-TT"))
    assert ward.headcount == 650 and ward.parent.code == "TQ"


def test_every_problem_is_listed_and_nothing_is_written(session) -> None:
    bad = (
        CSV
        + "X-TT,Trùng mã,xã,TQ,10\nX-A,Xã A,làng,TQ,-3\nX-B,Xã B,xã,KHONG-CO,5\nL1,Vòng 1,xã,L2,1\nL2,Vòng 2,xã,L1,1\n"
    )
    specs, problems = units.read_units_file("units.csv", bad.encode())
    described = [p.describe() for p in problems]
    assert any("Dòng 5, cột Mã đơn vị" in d for d in described)
    assert any("Dòng 6, cột Loại" in d for d in described) and any("Dòng 6, cột Số người" in d for d in described)
    assert any("vòng lặp" in d for d in described)
    report = units.import_units(session, [s for s in specs if s.code == "X-B"])
    assert not report.ok and "KHONG-CO" in report.problems[0].vi
    assert session.scalar(select(func.count(Unit.id))) == 0


def test_hostile_or_wrong_files_are_refused(session) -> None:
    _specs, problems = units.read_units_file("units.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    assert "tệp Excel cũ (.xls)" in problems[0].vi
    _specs, problems = units.read_units_file("units.csv", "Tên,Số\nA,1\n".encode())
    assert "thiếu cột" in problems[0].vi


def test_units_page_and_cli(app, client, runner, make_user, tmp_path) -> None:
    make_user("btc@example.vn", Role.ORGANIZER, "Ban Tổ chức")
    client.post("/auth/login", data={"login": "btc@example.vn", "password": "mat-khau-thu-nghiem"})
    bad = client.post(
        "/organizer/units",
        data={"file": (io.BytesIO((CSV + "X,Y,làng,,\n").encode()), "u.csv")},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 400 and "Tệp có 1 lỗi" in bad.get_data(as_text=True)
    ok = client.post(
        "/organizer/units", data={"file": (io.BytesIO(CSV.encode()), "u.csv")}, content_type="multipart/form-data"
    )
    assert ok.status_code == 302
    assert "Phường Minh Xuân" in client.get("/organizer/units").get_data(as_text=True)
    path = tmp_path / "u.csv"
    path.write_text(CSV.replace("600", "700"), encoding="utf-8")
    result = runner.invoke(args=["quiz", "import-units", str(path)])
    assert result.exit_code == 0 and "Thêm 0, cập nhật 1, giữ nguyên 2" in result.output
