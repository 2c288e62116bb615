"""Question banks as Excel workbooks: the blank template organizers fill in, and a bank's export.

Both use the canonical schema, so an export re-imports into an empty bank unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable

from openpyxl import Workbook
from openpyxl.worksheet.datavalidation import DataValidation

from quiz_engine.services.catalogue.question_schema import COLUMNS, HEADERS_VI, QuestionSpec
from quiz_engine.services.spreadsheets import HEADER_FONT, WRAP, header_row, save, set_widths, text_cell

DATA_SHEET = "Câu hỏi"
GUIDE_SHEET = "Hướng dẫn"
WIDTHS = [14, 22, 12, 60, 30, 30, 30, 30, 20, 20, 12, 50, 40, 10]
GUIDE = [
    (
        "Mã câu hỏi",
        "Nên có",
        "Mã cố định (chữ không dấu, số, . - _). Nhập lại cùng mã sẽ cập nhật câu hỏi.",
        "Stable code; re-importing the same code updates the question.",
    ),
    ("Chủ đề", "Không", "Chủ đề để chia câu hỏi khi rút đề (mặc định: Chung).", "Topic used to draw papers."),
    ("Mức độ", "Không", "dễ, trung bình hoặc khó (mặc định: trung bình).", "easy, medium or hard."),
    ("Câu hỏi", "Có", "Nội dung câu hỏi, tối đa 1.000 ký tự.", "The question, up to 1,000 characters."),
    ("Phương án A–F", "2–6", "Các phương án, điền liên tục từ A, không trùng nhau.", "2 to 6 distinct choices from A."),
    ("Đáp án đúng", "Có", "Chữ cái của đáp án đúng, ví dụ B; nhiều đáp án: A,C.", "Correct letter(s), e.g. B or A,C."),
    ("Giải thích", "Không", "Một câu giải thích, hiện sau khi đợt thi kết thúc.", "Explanation shown after the round."),
    ("Nguồn", "Không", "Văn bản, điều khoản hoặc đường dẫn nguồn.", "Source document or URL."),
    ("Đang dùng", "Không", "có hoặc không (mặc định: có).", "yes or no (default yes)."),
]
EXAMPLE = {
    "code": "CDS-001",
    "topic": "Ngày Chuyển đổi số quốc gia",
    "difficulty": "dễ",
    "question": "Ngày Chuyển đổi số quốc gia là ngày nào hằng năm?",
    "choice_a": "10/10",
    "choice_b": "01/01",
    "choice_c": "02/9",
    "choice_d": "19/5",
    "correct": "A",
    "explanation": "Quyết định 505/QĐ-TTg lấy ngày 10/10 hằng năm là Ngày Chuyển đổi số quốc gia.",
    "source": "Quyết định 505/QĐ-TTg ngày 22/4/2022",
    "active": "có",
}


def build_template() -> bytes:
    """The blank import template: one example row, drop-downs on difficulty and answer, a guide."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = DATA_SHEET
    sheet.append([HEADERS_VI[key] for key in COLUMNS])
    sheet.append([EXAMPLE.get(key, "") for key in COLUMNS])
    for cell in sheet[1]:
        cell.font = HEADER_FONT
    sheet.freeze_panes = "A2"
    set_widths(sheet, WIDTHS)
    difficulty = DataValidation(
        type="list",
        formula1='"dễ,trung bình,khó"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Mức độ",
        error="Chọn dễ, trung bình hoặc khó.",
    )
    # A warning rather than a stop: several correct answers ("A,C") are allowed too.
    answer = DataValidation(
        type="list",
        formula1='"A,B,C,D,E,F"',
        allow_blank=True,
        showErrorMessage=True,
        errorStyle="warning",
        errorTitle="Đáp án đúng",
        error="Nhập một chữ cái A–F, hoặc nhiều chữ cái cách nhau bằng dấu phẩy (A,C).",
    )
    column = {key: index for index, key in enumerate(COLUMNS, start=1)}
    for validation, key in ((difficulty, "difficulty"), (answer, "correct")):
        letter = sheet.cell(row=1, column=column[key]).column_letter
        validation.add(f"{letter}2:{letter}10001")
        sheet.add_data_validation(validation)
    guide = workbook.create_sheet(GUIDE_SHEET)
    guide.append(["Cột", "Bắt buộc", "Cách điền", "English"])
    for row in GUIDE:
        guide.append(list(row))
    for cell in guide[1]:
        cell.font = HEADER_FONT
    for row in guide.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = WRAP
    set_widths(guide, [18, 10, 70, 50])
    return save(workbook)


def build_bank_export(specs: Iterable[QuestionSpec]) -> bytes:
    """A bank's questions in the canonical schema (write-only, so memory stays flat)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(DATA_SHEET)
    set_widths(sheet, WIDTHS)
    sheet.freeze_panes = "A2"
    sheet.append(header_row(sheet, (HEADERS_VI[key] for key in COLUMNS)))
    for spec in specs:
        row = spec.as_row()
        sheet.append([text_cell(sheet, row[key]) for key in COLUMNS])
    return save(workbook)
