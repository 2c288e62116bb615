"""Spreadsheet cells read as the organizer sees them: the number format applied, or the cell refused.

The formatter is held to fixed examples for each format code it supports, to independent
arithmetic for many values, and to the refusal of every display it cannot reproduce exactly. The
reader is then held to workbooks as Excel writes them (real date, percent and time cells) and as
LibreOffice writes them (the fixture from issue 17: a shipped CSV opened and saved as .xlsx).
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from quiz_engine.services.catalogue.bank_formats import BankFileError, read_bank_file
from quiz_engine.services.catalogue.bank_formats.cell_display import CellDisplayError, describe_value, display_text
from quiz_engine.services.catalogue.bank_formats.csv_format import looks_mis_decoded
from quiz_engine.services.catalogue.bank_formats.xlsx_format import read_xlsx_table
from quiz_engine.services.catalogue.question_schema import COLUMNS, HEADERS_VI, validate_rows

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
HEADER = [HEADERS_VI[key] for key in COLUMNS]
COLUMN = {key: index for index, key in enumerate(COLUMNS)}  # 0-based: choice_a is E, choice_b F…


@pytest.mark.parametrize(
    ("value", "number_format", "shown"),
    [
        # dates, as written in the format (day and month never guessed)
        (datetime(2020, 6, 3), "dd/mm/yyyy", "03/06/2020"),
        (datetime(2020, 6, 3), "d/m/yyyy", "3/6/2020"),
        (datetime(2020, 6, 3), "mm/dd/yyyy", "06/03/2020"),
        (datetime(2020, 6, 3), "m/d/yyyy", "6/3/2020"),
        (datetime(2020, 6, 3), "dd/mm/yy", "03/06/20"),
        (datetime(2020, 3, 6), "yyyy\\-mm\\-dd", "2020-03-06"),
        (datetime(2020, 3, 6), "DD.MM.YYYY", "06.03.2020"),
        (date(2025, 10, 1), "dd/mm/yyyy", "01/10/2025"),
        (45931, "dd/mm/yyyy", "01/10/2025"),  # a serial number under a date format
        # times and date-times: m after h or before s is minutes
        (time(8, 30), "hh:mm", "08:30"),
        (time(8, 30), "h:mm", "8:30"),
        (time(8, 30), "hh:mm:ss\\ AM/PM", "08:30:00 AM"),
        (time(20, 5), "h:mm AM/PM", "8:05 PM"),
        (time(0, 15), "h:mm am/pm", "12:15 am"),
        (time(13, 0), "h A/P", "1 P"),
        (time(0, 3, 7), "mm:ss", "03:07"),
        (time(8, 30, 15, 250000), "hh:mm:ss.00", "08:30:15.25"),
        (datetime(2020, 6, 3, 8, 30), "dd/mm/yyyy hh:mm", "03/06/2020 08:30"),
        (datetime(2020, 6, 3, 8, 30, 15, 600000), "hh:mm", "08:30"),  # hidden seconds: cut off in both programs
        (timedelta(hours=25, minutes=30), "[h]:mm", "25:30"),
        (timedelta(minutes=90), "[mm]:ss", "90:00"),
        # percentages
        (0.66, "0%", "66%"),
        (0.665, "0.0%", "66.5%"),
        (0.665, "0.00%", "66.50%"),
        (-0.05, "0%", "-5%"),
        # General: whole numbers never "1990.0", others to 15 significant digits
        (1990, "General", "1990"),
        (1990.0, "General", "1990"),
        (3.5, "General", "3.5"),
        (0.1 + 0.2, "General", "0.3"),
        (1 / 3, "General", "0.333333333333333"),
        (912345678, "General", "912345678"),
        (-3, "General", "-3"),
        (1234.5, "general", "1234.5"),
        (None, "General", ""),
        # digit placeholders, decimals, thousands (the format's own "," and "."), scaling
        (3.5, "0.00", "3.50"),
        (2.675, "0.00", "2.68"),  # half away from zero on the decimal Excel shows, not on the binary float
        (3.5, "0", "4"),
        (1234, "#,##0", "1,234"),
        (1234567.891, "#,##0.00", "1,234,567.89"),
        (0, "#,##0", "0"),
        (12, "00,000", "00,012"),
        (7, "000", "007"),
        (1234567, "000-0000", "123-4567"),
        (0.5, "#.##", ".5"),
        (3.5, "0.0#", "3.5"),
        (3.25, "0.0#", "3.25"),
        (1234567, "#,##0,", "1,235"),
        (1234567, '0.0,,"M"', "1.2M"),
        (5, "?0", " 5"),
        # scientific notation with one integer digit
        (100000, "0.00E+00", "1.00E+05"),
        (0.00012, "0.00E+00", "1.20E-04"),
        (0.00012, "0.0E-0", "1.2E-4"),
        (0, "0.00E+00", "0.00E+00"),
        (9.999, "0.00E+00", "1.00E+01"),
        # sections, literals, escapes, padding, colours, currency
        (-3, "0;(0)", "(3)"),
        (0, '0;-0;"không"', "không"),
        (-5, "[Red]0;[Blue]-0", "-5"),
        (1234.5, '#,##0.00 "đ"', "1,234.50 đ"),
        (1234.5, "#,##0.00 ₫", "1,234.50 ₫"),
        (1234.5, "[$€-407]#,##0.00", "€1,234.50"),
        (12, '"Câu "0', "Câu 12"),
        (12, "\\#0", "#12"),
        (12.0, "0.0_);(0.0)", "12.0 "),
        (1234, r'_(* #,##0_);_(* \(#,##0\);_(* "-"_);_(@_)', " 1,234 "),
        # text cells: as typed, unless the format has a text section
        ("03/6/2020", "General", "03/6/2020"),
        ("=1+1", "@", "=1+1"),
        ("0912345678", "0.00", "0912345678"),
        ("Hà Nội", "mm-dd-yy", "Hà Nội"),  # text typed into a date-formatted column
        ("Hà Nội", "[>100]0", "Hà Nội"),
        ("Hà Nội", '0;-0;0;"Tỉnh: "@', "Tỉnh: Hà Nội"),
        (1.5, "@", "1.5"),  # a number in a Text-formatted cell shows as General
        # booleans show as Excel shows them
        (True, "General", "TRUE"),
        (False, '"TRUE";"TRUE";"FALSE"', "FALSE"),
    ],
)
def test_supported_format_codes_show_what_the_spreadsheet_shows(value: object, number_format: str, shown: str) -> None:
    assert display_text(value, number_format) == shown


@pytest.mark.parametrize(
    ("value", "number_format", "reason"),
    [
        (datetime(2020, 6, 3), "mm-dd-yy", "system date"),  # builtin 14: each viewer's own short date
        (datetime(2020, 6, 3, 8, 30), "m/d/yy h:mm", "system date"),  # builtin 22
        (datetime(2020, 6, 3), "d-mmm-yy", "month or weekday name"),
        (datetime(2020, 6, 3), "dd mmmm yyyy", "month or weekday name"),
        (datetime(2020, 6, 3), "dddd dd/mm", "month or weekday name"),
        (datetime(2020, 6, 3), "[$-F800]dddd, mmmm dd, yyyy", "viewer's settings"),
        (time(8, 30), "[$-F400]h:mm:ss AM/PM", "viewer's settings"),
        (datetime(2020, 6, 3), "[$-1010000]d/m/yyyy", "another calendar"),
        (time(8, 30), "[$-42A]h:mm AM/PM", "AM/PM in another language"),
        (150, "[>100]0;0", "condition"),
        (0.5, "# ?/?", "fractions"),
        (12345, "##0.0E+0", "one integer digit"),
        (1e12, "General", "scientific notation"),
        (0.00001, "General", "scientific notation"),
        (5, "0 kg", "unsupported format character"),
        (5, "0*-", "fill character"),
        (-0.1, "0", "rounds to zero"),
        (-5, "0;;", "empty section"),
        (3, "0.##", "trailing point"),
        (3, "0.", "trailing point"),
        (time(8, 0), "dd/mm/yyyy", "no date"),
        (datetime(1900, 1, 5), "dd/mm/yyyy", "1 March 1900"),
        (datetime(2020, 6, 3, 23, 59, 59, 600000), "dd/mm/yyyy hh:mm:ss", "fraction of a second"),
        (float("nan"), "General", "not a number"),
        (5, "0;0;0;0;0", "more than four sections"),
        (5, '"unterminated', "unsupported format character"),
    ],
)
def test_displays_that_cannot_be_reproduced_are_refused(value: object, number_format: str, reason: str) -> None:
    with pytest.raises(CellDisplayError, match=re.escape(reason)):
        display_text(value, number_format)


def test_a_refused_value_is_described_plainly() -> None:
    assert describe_value(datetime(2020, 3, 6)) == "2020-03-06"
    assert describe_value(datetime(2020, 3, 6, 8, 30)) == "2020-03-06 08:30:00"
    assert describe_value(time(8, 30)) == "08:30:00"
    assert [describe_value(v) for v in (0.66, 1e12, 1990.0, True, "x")] == [
        "0.66",
        "1000000000000",
        "1990",
        "TRUE",
        "x",
    ]


_DECIMALS = st.decimals(min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=4, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(number=_DECIMALS, places=st.integers(min_value=0, max_value=3), grouped=st.booleans())
def test_fixed_formats_agree_with_decimal_arithmetic(number: Decimal, places: int, grouped: bool) -> None:
    code = ("#,##0" if grouped else "0") + ("." + "0" * places if places else "")
    rounded = abs(number).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    expected = format(rounded, f"{',' if grouped else ''}.{places}f")
    if number < 0 and rounded == 0:
        with pytest.raises(CellDisplayError):
            display_text(float(number), code)
        return
    assert display_text(float(number), code) == ("-" if number < 0 else "") + expected


@settings(max_examples=300, deadline=None)
@given(moment=st.datetimes(min_value=datetime(1900, 3, 1), max_value=datetime(9999, 12, 31)))
def test_date_and_time_formats_agree_with_strftime(moment: datetime) -> None:
    whole = moment.replace(microsecond=0)
    assert display_text(whole, "dd/mm/yyyy") == whole.strftime("%d/%m/") + f"{whole.year:04d}"
    assert display_text(whole, "d/m/yyyy") == f"{whole.day}/{whole.month}/{whole.year:04d}"
    assert display_text(whole, "mm/dd/yy hh:mm:ss") == whole.strftime("%m/%d/") + f"{whole.year % 100:02d} " + (
        whole.strftime("%H:%M:%S")
    )
    assert display_text(whole.time(), "h:mm AM/PM") == f"{whole.hour % 12 or 12}:{whole.minute:02d} " + (
        "AM" if whole.hour < 12 else "PM"
    )


@settings(max_examples=300, deadline=None)
@given(number=st.floats(min_value=-1e10, max_value=1e10, allow_nan=False))
def test_general_never_shows_a_float_artefact(number: float) -> None:
    try:
        shown = display_text(number, "General")
    except CellDisplayError:
        assert 0 < abs(number) < 1e-4
        return
    assert not shown.endswith(".0") and "e" not in shown.lower()
    assert Decimal(shown) == Decimal(format(number, ".15g"))


# -- the reader --------------------------------------------------------------------------------------


def _workbook(rows: list[list[object]], formats: dict[str, str]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Câu hỏi"
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    for coordinate, number_format in formats.items():
        sheet[coordinate].number_format = number_format
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _row(**cells: object) -> list[object]:
    defaults: dict[str, object] = {"question": "Câu hỏi?", "correct": "A"}
    return [{**defaults, **cells}.get(key) for key in COLUMNS]


def test_excel_date_percent_and_time_cells_are_read_as_shown() -> None:
    """An Excel-style workbook: real date, percent and time cells, each with its own display format."""
    data = _workbook(
        [
            _row(
                code="D1", choice_a=datetime(2020, 6, 3), choice_b=datetime(2025, 10, 1), choice_c=datetime(2020, 3, 6)
            ),
            _row(code="P1", choice_a=0.66, choice_b=0.5, choice_c=time(8, 30), choice_d=True, question="Tỉ lệ?"),
            _row(code=1990, choice_a=1990, choice_b=3.5, choice_c=1234, choice_d="0912345678", question="Số?"),
        ],
        {
            "E2": "dd/mm/yyyy",
            "F2": "m/d/yyyy",
            "G2": "d/m/yyyy",
            "E3": "0%",
            "F3": "0.0%",
            "G3": "hh:mm",
            "F4": "0.00",
            "G4": "#,##0",
        },
    )
    rows = {raw.cells["code"]: raw.cells for raw in read_bank_file("bank.xlsx", data)}
    assert [rows["D1"][f"choice_{x}"] for x in "abc"] == ["03/06/2020", "10/1/2025", "6/3/2020"]
    assert [rows["P1"][f"choice_{x}"] for x in "abcd"] == ["66%", "50.0%", "08:30", "TRUE"]
    assert [rows["1990"][f"choice_{x}"] for x in "abcd"] == ["1990", "3.50", "1,234", "0912345678"]
    specs, problems = validate_rows(read_bank_file("bank.xlsx", data))
    assert problems == [] and len(specs) == 3


def test_a_cell_that_cannot_be_shown_exactly_is_refused_by_row_and_column() -> None:
    data = _workbook(
        [
            _row(code="A1", choice_a="10/10", choice_b="01/01"),
            _row(code="A2", choice_a=datetime(2020, 3, 6), choice_b=datetime(2020, 6, 3), choice_c="13/10/2025"),
        ],
        {"E3": "mm-dd-yy", "F3": "d-mmm-yy"},  # Excel's system short date (builtin 14) and a month name
    )
    specs, problems = validate_rows(read_bank_file("bank.xlsx", data))
    assert [s.code for s in specs] == ["A1"]
    assert [p.describe() for p in problems] == [
        "Dòng 3: cột 'Phương án A' (E): không đọc được ô kiểu ngày/số '2020-03-06' đúng như hiển thị "
        "(định dạng 'mm-dd-yy'); hãy định dạng ô là Văn bản (Text) rồi gõ lại.; "
        "cột 'Phương án B' (F): không đọc được ô kiểu ngày/số '2020-06-03' đúng như hiển thị "
        "(định dạng 'd-mmm-yy'); hãy định dạng ô là Văn bản (Text) rồi gõ lại."
    ]
    assert problems[0].en.startswith("column 'Phương án A' (E): the date/number cell '2020-03-06' cannot be read")


def test_unreadable_cells_outside_the_known_columns_do_not_matter() -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append([*HEADER, "Ngày soạn"])
    sheet.append([*_row(code="A1", choice_a="Có", choice_b="Không"), datetime(2024, 1, 2)])
    sheet["O2"].number_format = "mm-dd-yy"
    buffer = io.BytesIO()
    workbook.save(buffer)
    specs, problems = validate_rows(read_bank_file("bank.xlsx", buffer.getvalue()))
    assert problems == [] and specs[0].choices == ("Có", "Không")


def test_other_tables_refuse_the_whole_file_naming_the_cells() -> None:
    """Unit lists (and any other caller of read_xlsx_table) get one refusal listing the cells."""
    data = _workbook([_row(code="A1", choice_a=datetime(2020, 3, 6))], {"E2": "mm-dd-yy"})
    with pytest.raises(BankFileError) as err:
        read_xlsx_table(data)
    assert err.value.problem.row == 2
    assert "E2 ('2020-03-06', 'mm-dd-yy')" in err.value.problem.vi and "Văn bản (Text)" in err.value.problem.vi
    table = read_xlsx_table(data, refuse_unreadable=False)
    assert [(c.row, c.letter, c.seen) for c in table.unreadable] == [(2, "E", "2020-03-06")]


def test_a_formula_shows_its_saved_value_in_the_cells_format() -> None:
    data = _workbook([_row(code="F1", choice_a="=33/50", choice_b="Không")], {"E2": "0%"})
    source = zipfile.ZipFile(io.BytesIO(data))
    patched = io.BytesIO()
    with zipfile.ZipFile(patched, "w") as package:
        for name in source.namelist():
            content = source.read(name)
            if name == "xl/worksheets/sheet1.xml":
                content = re.sub(rb"(<c r=\"E2\"[^>]*><f>[^<]*</f>)<v ?/?>(?:</v>)?", rb"\1<v>0.66</v>", content)
            package.writestr(name, content)
    rows = read_bank_file("bank.xlsx", patched.getvalue())
    assert rows[0].cells["choice_a"] == "66%"


def test_libreoffice_dates_and_percentages_read_as_libreoffice_shows_them() -> None:
    """Issue 17: a shipped CSV opened in LibreOffice (English, special numbers detected), saved as .xlsx.

    Before, "03/6/2020" came in as "2020-03-06 00:00:00" and "66%" as "0.66"; now each cell is
    what the spreadsheet showed the organizer, LibreOffice's own changes included (2-digit years).
    """
    rows = read_bank_file("lo.xlsx", (FIXTURES / "libreoffice_dates_bank.xlsx").read_bytes())
    cells = {raw.cells["code"]: raw.cells for raw in rows}
    assert [cells["D-1"][f"choice_{x}"] for x in "abcd"] == ["03/06/20", "01/10/25", "13/10/2025", "10/10/26"]
    assert [cells["P-1"][f"choice_{x}"] for x in "abcd"] == ["66.00%", "66.50%", "3.5", "0,5"]
    assert [cells["T-1"][f"choice_{x}"] for x in "abc"] == ["08:30:00 AM", "912345678", "2"]
    assert all(raw.error is None for raw in rows)


@pytest.mark.parametrize("header", [["Mã câu hỏi", "Câu hỏi", "Đáp án đúng"], ["Tên", "Điểm"], ["Đề án 06"]])
def test_a_header_of_utf8_read_as_windows_1252_is_recognised(header: list[str]) -> None:
    assert looks_mis_decoded([_misread(cell) for cell in header])
    assert not looks_mis_decoded(header)
    assert not looks_mis_decoded(["Name", "Score", "Ghi chú"])


def _misread(text: str) -> str:
    """UTF-8 ``text`` as LibreOffice reads it with Windows-1252 (an undefined byte b becomes U+F100 + b)."""
    return "".join(
        chr(0xF100 + b) if b in (0x81, 0x8D, 0x8F, 0x90, 0x9D) else bytes([b]).decode("cp1252") for b in text.encode()
    )


def test_a_garbled_csv_header_is_refused_with_an_encoding_hint() -> None:
    good = "Mã câu hỏi,Câu hỏi,Phương án A,Phương án B,Đáp án đúng\nQ1,Thủ đô?,Hà Nội,Huế,A\n"
    garbled = _misread(good).encode()
    with pytest.raises(BankFileError) as err:
        read_bank_file("bank.csv", garbled)
    assert "Không tìm thấy cột 'Câu hỏi'" in err.value.problem.vi and "Unicode (UTF-8)" in err.value.problem.vi
    assert "wrong encoding" in err.value.problem.en
    with pytest.raises(BankFileError) as err:
        read_bank_file("bank.csv", "Tên,Điểm\nAn,9\n".encode())
    assert "mã hóa" not in err.value.problem.vi  # a plain wrong header gets no encoding hint


def test_a_csv_that_is_not_utf8_is_refused_with_the_libreoffice_setting() -> None:
    with pytest.raises(BankFileError) as err:
        read_bank_file("bank.csv", "Cau hoi,A\nCo dau?,\xe9".encode("latin-1"))
    assert "mã hóa UTF-8" in err.value.problem.vi and "«Unicode (UTF-8)»" in err.value.problem.vi
