"""Reading banks from Excel, GIFT and Aiken, and refusing hostile files without writing anything."""

import csv
import io
import re
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from sqlalchemy import func, select

from quiz_engine.models import Difficulty, Question, utcnow
from quiz_engine.services.catalogue import banks
from quiz_engine.services.catalogue.bank_formats import BankFileError, read_bank_file
from quiz_engine.services.catalogue.bank_workbooks import build_bank_export, build_template
from quiz_engine.services.catalogue.question_schema import COLUMNS, HEADERS_VI, validate_rows

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
HEADER = [HEADERS_VI[key] for key in COLUMNS]


def _row(code: str, question: str, correct: str = "A", **extra: str) -> list[str]:
    cells = {
        "code": code,
        "topic": "Chung",
        "difficulty": "dễ",
        "question": question,
        "choice_a": "Một",
        "choice_b": "Hai",
        "choice_c": "Ba",
        "choice_d": "Bốn",
        "correct": correct,
        **extra,
    }
    return [cells.get(key, "") for key in COLUMNS]


def _xlsx(rows: list[list], edit=None) -> bytes:  # type: ignore[no-untyped-def]
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Câu hỏi"
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    if edit:
        edit(workbook, sheet)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _refusal(filename: str, data: bytes) -> str:
    with pytest.raises(BankFileError) as err:
        read_bank_file(filename, data)
    assert err.value.problem.en
    return err.value.problem.vi


def test_xlsx_rows_are_read_with_excel_row_numbers() -> None:
    data = _xlsx([_row("X1", "Câu một?"), _row("X2", "Câu hai?", "B,D")])
    specs, problems = validate_rows(read_bank_file("bank.xlsx", data))
    assert problems == []
    assert [(s.code, s.row, s.correct) for s in specs] == [("X1", 2, (0,)), ("X2", 3, (1, 3))]


def test_xlsx_written_by_libreoffice_imports() -> None:
    specs, problems = validate_rows(
        read_bank_file("libreoffice.xlsx", (FIXTURES / "libreoffice_bank.xlsx").read_bytes())
    )
    assert problems == []
    by_code = {s.code: s for s in specs}
    assert set(by_code) == {"LO-001", "LO-002", "LO-003", "1234"}
    assert by_code["LO-002"].difficulty is Difficulty.MEDIUM and by_code["LO-002"].choices[0] == "VNeID"
    assert by_code["LO-003"].text == "Câu hỏi có công thức?"  # the value LibreOffice saved for the formula
    assert by_code["LO-003"].correct == (1, 2) and not by_code["LO-003"].active
    assert by_code["1234"].choices == ("Có", "Không")


def test_template_has_validation_a_guide_and_imports_its_example() -> None:
    data = build_template()
    workbook = load_workbook(io.BytesIO(data))
    sheet = workbook["Câu hỏi"]
    assert [c.value for c in sheet[1]] == HEADER and sheet["A1"].font.bold
    formulas = sorted(v.formula1 for v in sheet.data_validations.dataValidation)
    assert formulas == ['"A,B,C,D,E,F"', '"dễ,trung bình,khó"']
    assert workbook["Hướng dẫn"].sheet_state == "visible"
    specs, problems = validate_rows(read_bank_file("template.xlsx", data))
    assert problems == [] and [s.code for s in specs] == ["CDS-001"]


def test_export_then_import_into_an_empty_bank_reproduces_it(session) -> None:
    source = banks.get_or_create_bank(session, "nguon", "Nguồn")
    rows = [
        _row("R1", "=1+1 không phải công thức?", explanation="Giải thích", source="Nguồn 1"),
        _row("R2", "Nhiều đáp án?", "A,C", difficulty="khó", active="không"),
        _row("R3", "Sáu phương án?", "F", choice_e="Năm", choice_f="Sáu", topic="Chủ đề khác"),
    ]
    lines = io.StringIO()
    csv.writer(lines).writerows([HEADER, *rows])  # CSV keeps "=1+1…" as text, as a typed cell would be
    assert banks.import_file(session, source, "a.csv", lines.getvalue().encode(), now=utcnow()).added == 3
    exported = build_bank_export(banks.bank_specs(session, source))
    cell = load_workbook(io.BytesIO(exported))["Câu hỏi"]["D2"]
    assert cell.data_type == "s" and cell.value == "=1+1 không phải công thức?"
    copy = banks.get_or_create_bank(session, "ban-sao", "Bản sao")
    report = banks.import_file(session, copy, "export.xlsx", exported, now=utcnow())
    assert report.ok and report.added == 3
    assert banks.bank_specs(session, copy) == banks.bank_specs(session, source)


def test_gift_multiple_choice_true_false_categories_feedback_and_comments() -> None:
    gift = """// Ngân hàng thử
$CATEGORY: $course$/top/Chuyển đổi số

::CDS-G1::Ngày Chuyển đổi số quốc gia là ngày nào? {
=10/10#Đúng: Quyết định 505/QĐ-TTg.
~1/1#Chưa đúng
~2/9
}

::TF1::Đề án 06 do Bộ Công an chủ trì, đúng hay sai?{TRUE}

Dấu \\{ ngoặc \\} và \\= được giữ {~%50%A ~%50%B ~%-100%C####Hai đáp án đúng.}

::Ngắn::Thủ đô? {=Hà Nội =Ha Noi}
"""
    specs, problems = validate_rows(read_bank_file("bank.gift", gift.encode()))
    assert [(s.code, s.topic) for s in specs[:2]] == [("CDS-G1", "Chuyển đổi số"), ("TF1", "Chuyển đổi số")]
    first, true_false, escaped = specs
    assert first.choices == ("10/10", "1/1", "2/9") and first.correct == (0,)
    assert first.explanation == "Đúng: Quyết định 505/QĐ-TTg."
    assert true_false.choices == ("Đúng", "Sai") and true_false.correct == (0,)
    assert escaped.text == "Dấu { ngoặc } và = được giữ" and escaped.correct == (0, 1)
    assert escaped.explanation == "Hai đáp án đúng."
    assert [(p.row, "trả lời ngắn" in p.vi) for p in problems] == [(14, True)]


def test_aiken_questions_and_a_missing_answer_line() -> None:
    aiken = (
        "Thủ đô của Việt Nam?\nA. Hà Nội\nB) Huế\nANSWER: A\n\n"
        "Câu hai?\nA. Có\nB. Không\nANSWER: C\n\n"
        "Câu ba?\nA. x\nB. y\n"
    )
    specs, problems = validate_rows(read_bank_file("bank.txt", aiken.encode()))
    assert [(s.text, s.choices, s.correct) for s in specs] == [("Thủ đô của Việt Nam?", ("Hà Nội", "Huế"), (0,))]
    described = [p.describe() for p in problems]
    assert described[0].startswith("Dòng 6, cột Đáp án đúng: đáp án C vượt quá số phương án (2)")
    assert described[1].startswith("Dòng 11: câu hỏi thiếu dòng 'ANSWER: X'")


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        for name, content in entries.items():
            package.writestr(name, content)
    return buffer.getvalue()


def _patch(data: bytes, part: str, change) -> bytes:  # type: ignore[no-untyped-def]
    source = zipfile.ZipFile(io.BytesIO(data))
    return _zip({n: change(source.read(n)) if n == part else source.read(n) for n in source.namelist()})


@pytest.mark.parametrize(
    ("filename", "data", "words"),
    [
        ("bank.xlsx", b"this is plain text, not a spreadsheet" * 3, "không phải bảng tính Excel"),
        ("bank.docx", _zip({"word/document.xml": b"<w/>"}), "không phải bảng tính Excel"),
        ("bank.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "tệp Excel cũ (.xls)"),
        (
            "bank.xlsx",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "EncryptionInfo".encode("utf-16-le") + b"\0" * 600,
            "đặt mật khẩu",
        ),
        ("bank.pdf", b"%PDF-1.4 question bank", "không được hỗ trợ"),
        ("bank.csv", b"", "Tệp rỗng"),
        ("bank.csv", "Tên,Điểm\nAn,9\n".encode(), "Không tìm thấy cột 'Câu hỏi'"),
        ("bank.csv", "Cau hoi,A\nCo dau?,\xe9".encode("latin-1"), "mã hóa UTF-8"),
        ("bank.gift", "::A:: Câu? {=a ~b}".encode("cp1258"), "mã hóa UTF-8"),
        ("bank.csv", "Mã câu hỏi,Câu hỏi\n".encode("utf-16"), "không phải bảng tính hay văn bản"),
    ],
)
def test_files_that_are_not_banks_are_refused_clearly(filename: str, data: bytes, words: str) -> None:
    assert words in _refusal(filename, data)


def test_oversized_file_is_refused_before_parsing() -> None:
    message = _refusal("bank.csv", b"x" * (10 * 1024 * 1024 + 1))
    assert "quá lớn" in message and "10 MB" in message


def test_zip_bomb_is_refused_from_its_declared_size() -> None:
    bomb = _zip({"xl/workbook.xml": b"<workbook/>", "xl/worksheets/sheet1.xml": b"\0" * (250 * 1024 * 1024)})
    assert len(bomb) < 1024 * 1024
    assert "giải nén" in _refusal("bomb.xlsx", bomb)


def test_hidden_sheet_is_refused() -> None:
    def hide(workbook, _sheet):  # type: ignore[no-untyped-def]
        workbook.create_sheet("Bí mật").sheet_state = "hidden"

    assert "trang tính ẩn (Bí mật)" in _refusal("bank.xlsx", _xlsx([_row("A", "Câu?")], hide))


def test_merged_cells_are_refused_with_their_range() -> None:
    assert "ô gộp (D2:E2)" in _refusal("b.xlsx", _xlsx([_row("A", "Câu?")], lambda _w, s: s.merge_cells("D2:E2")))


def test_formula_without_a_saved_value_is_refused() -> None:
    data = _xlsx([_row("A", '=CONCATENATE("Câu ","hỏi?")')])
    assert "Ô D2 chứa công thức chưa có giá trị tính sẵn" in _refusal("bank.xlsx", data)


def _cached(value: str):  # type: ignore[no-untyped-def]
    return lambda m: (
        b'<c r="D2"' + m.group(1) + b' t="str"><f>' + m.group(2) + b"</f><v>" + value.encode() + b"</v></c>"
    )


def test_formula_with_a_saved_value_uses_that_value() -> None:
    data = _xlsx([_row("A", '=CONCATENATE("Câu ","hỏi?")')])
    data = _patch(
        data,
        "xl/worksheets/sheet1.xml",
        lambda xml: re.sub(rb"<c r=\"D2\"([^>]*)><f>(.*?)</f>(?:<v ?/>|<v></v>)</c>", _cached("Câu hỏi?"), xml),
    )
    specs, problems = validate_rows(read_bank_file("bank.xlsx", data))
    assert problems == [] and specs[0].text == "Câu hỏi?"


def test_thousands_of_formatted_empty_rows_end_the_data() -> None:
    def pad(_workbook, sheet):  # type: ignore[no-untyped-def]
        for row in range(10, 20000):
            sheet.cell(row=row, column=1).font = Font(bold=True)

    rows = read_bank_file("bank.xlsx", _xlsx([_row("A", "Câu?")], pad))
    assert len(rows) == 1


def test_a_bad_last_row_in_excel_writes_nothing(session) -> None:
    bank = banks.get_or_create_bank(session, "b", "B")
    rows = [_row(f"Q{i}", f"Câu số {i}?") for i in range(1, 50)] + [_row("Q50", "Câu cuối?", "G")]
    report = banks.import_file(session, bank, "bank.xlsx", _xlsx(rows), now=utcnow())
    assert not report.committed
    assert [p.describe() for p in report.problems] == ["Dòng 51, cột Đáp án đúng: đáp án 'G' không phải chữ cái A–F."]
    assert session.scalar(select(func.count(Question.id))) == 0
