"""Excel (.xlsx) question banks, read with openpyxl's read-only mode after safety checks.

Checked before openpyxl parses anything: the container is a real xlsx zip (not .xls, not a
password-protected file, not some other zip), and its uncompressed size is bounded (zip bombs).
Then: no hidden sheets, no merged cells in the data sheet, formulas only where Excel saved a
computed value (that value is used), and long runs of empty rows end the sheet.

Every cell is read as the text the spreadsheet shows (see ``cell_display``): a date typed as
03/06/2020 is "03/06/2020", not the date-time behind it. A cell whose shown text cannot be
reproduced exactly is never guessed at: it is refused, naming its row and column.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from quiz_engine.services.catalogue.bank_formats.cell_display import CellDisplayError, describe_value, display_text
from quiz_engine.services.catalogue.bank_formats.errors import BankFileError
from quiz_engine.services.catalogue.question_schema import RawQuestion, map_headers

#: Uncompressed bytes an upload may expand to, and the largest compression ratio accepted.
MAX_UNCOMPRESSED = 200 * 1024 * 1024
MAX_RATIO = 200
#: This many empty rows in a row end the data (files often carry formatting to row 1,048,576).
EMPTY_RUN_LIMIT = 200
DATA_SHEET_NAMES = ("câu hỏi", "cau hoi", "questions")
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_MERGE_RE = re.compile(rb'<mergeCell\s+ref="([A-Z]+[0-9]+:[A-Z]+[0-9]+)"')
_SHEET_RE = re.compile(rb"<sheet\b[^>]*>")


def check_container(data: bytes) -> zipfile.ZipFile:
    """Open ``data`` as an xlsx package, refusing what is not one.

    :raises BankFileError: naming what the file is instead and what to do.
    """
    if data.startswith(OLE_MAGIC):
        if "EncryptionInfo".encode("utf-16-le") in data:
            raise BankFileError(
                "Tệp Excel được đặt mật khẩu. Hãy gỡ mật khẩu (Tệp › Thông tin › Bảo vệ sổ làm việc) rồi tải lên lại.",
                "The Excel file is password-protected. Remove the password and upload it again.",
            )
        raise BankFileError(
            "Đây là tệp Excel cũ (.xls). Hãy mở bằng Excel hoặc LibreOffice và lưu lại dạng .xlsx.",
            "This is an old Excel file (.xls). Open it in Excel or LibreOffice and save it as .xlsx.",
        )
    try:
        package = zipfile.ZipFile(io.BytesIO(data))
        names = set(package.namelist())
    except (zipfile.BadZipFile, ValueError) as exc:
        raise _not_a_spreadsheet() from exc
    if "xl/workbook.xml" not in names:
        raise _not_a_spreadsheet()
    total = sum(info.file_size for info in package.infolist())
    if total > MAX_UNCOMPRESSED or total > MAX_RATIO * max(len(data), 1):
        raise BankFileError(
            f"Tệp giải nén ra {total // (1024 * 1024)} MB, vượt giới hạn an toàn; có thể là tệp độc hại.",
            f"The file expands to {total // (1024 * 1024)} MB, beyond the safe limit; it may be malicious.",
        )
    return package


def _not_a_spreadsheet() -> BankFileError:
    return BankFileError(
        "Tệp không phải bảng tính Excel (.xlsx) hợp lệ.", "The file is not a valid Excel (.xlsx) spreadsheet."
    )


def _refuse_hidden_sheets(package: zipfile.ZipFile) -> None:
    hidden = []
    for tag in _SHEET_RE.findall(package.read("xl/workbook.xml")):
        if b'state="hidden"' in tag or b'state="veryHidden"' in tag:
            name = re.search(rb'name="([^"]*)"', tag)
            hidden.append(name.group(1).decode() if name else "?")
    if hidden:
        names = ", ".join(hidden)
        raise BankFileError(
            f"Tệp có trang tính ẩn ({names}). Hãy hiện hoặc xóa trang tính ẩn rồi tải lên lại, "
            "để không nhập nhầm dữ liệu bị che.",
            f"The file has hidden sheets ({names}). Unhide or delete them and upload again, "
            "so no hidden data is imported.",
        )


def _refuse_merged_cells(package: zipfile.ZipFile, sheet_path: str, title: str) -> None:
    ranges = [r.decode() for r in _MERGE_RE.findall(package.read(sheet_path))]
    if ranges:
        shown = ", ".join(ranges[:5]) + (" …" if len(ranges) > 5 else "")
        raise BankFileError(
            f"Trang '{title}' có ô gộp ({shown}). Hãy bỏ gộp ô (Unmerge) để mỗi câu hỏi nằm trên một dòng.",
            f"Sheet '{title}' has merged cells ({shown}). Unmerge them so each question sits on one row.",
        )


def _pick_sheet(workbook: Any, names: tuple[str, ...]) -> Any:
    for sheet in workbook.worksheets:
        if sheet.title.strip().casefold() in names:
            return sheet
    return workbook.worksheets[0]


def _sheet_path(sheet: Any) -> str:
    # openpyxl has already resolved the sheet's part through the workbook's relationships.
    return str(sheet._worksheet_path).lstrip("/")


@dataclass(frozen=True)
class UnreadableCell:
    """A number or date cell whose shown text cannot be reproduced (its text in the table is ``seen``)."""

    row: int
    index: int
    seen: str
    number_format: str

    @property
    def letter(self) -> str:
        return get_column_letter(self.index + 1)

    def message(self, header: str) -> tuple[str, str]:
        """What is wrong and what to do (Vietnamese, English), naming the column by header and letter."""
        return (
            f"cột '{header}' ({self.letter}): không đọc được ô kiểu ngày/số '{self.seen}' đúng như hiển thị "
            f"(định dạng '{self.number_format}'); hãy định dạng ô là Văn bản (Text) rồi gõ lại.",
            f"column '{header}' ({self.letter}): the date/number cell '{self.seen}' cannot be read exactly as "
            f"shown (format '{self.number_format}'); format the cell as Text and type it again.",
        )


@dataclass
class Table:
    """A sheet as text: its header cells, its non-empty rows ``(Excel row number, cells)``, and the
    cells whose shown text could not be reproduced (only with ``refuse_unreadable=False``)."""

    title: str
    headers: list[str]
    rows: list[tuple[int, list[str]]] = field(default_factory=list)
    unreadable: list[UnreadableCell] = field(default_factory=list)


def read_xlsx_table(
    data: bytes, sheet_names: tuple[str, ...] = DATA_SHEET_NAMES, *, refuse_unreadable: bool = True
) -> Table:
    """Read the sheet named one of ``sheet_names`` (else the first) of a checked .xlsx as shown.

    :param refuse_unreadable: refuse the file when a cell under a header cannot be read as shown;
        with False, such cells are listed in :attr:`Table.unreadable` for the caller to report.
    :raises BankFileError: if the file is unsafe or unusable as a whole (see the module docstring).
    """
    package = check_container(data)
    _refuse_hidden_sheets(package)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many kinds on a malformed package
        raise _not_a_spreadsheet() from exc
    try:
        sheet = _pick_sheet(workbook, sheet_names)
        _refuse_merged_cells(package, _sheet_path(sheet), sheet.title)
        table, formulas = _read_table(sheet)
    finally:
        workbook.close()
    if formulas:
        _use_cached_values(data, table, formulas)
    if refuse_unreadable:
        _refuse_unreadable(table)
    return table


def _refuse_unreadable(table: Table) -> None:
    cells = [c for c in table.unreadable if c.index < len(table.headers) and table.headers[c.index].strip()]
    if not cells:
        return
    shown = ", ".join(f"{c.letter}{c.row} ('{c.seen}', '{c.number_format}')" for c in cells[:5])
    shown += " …" if len(cells) > 5 else ""
    raise BankFileError(
        f"Không đọc được các ô ngày/số {shown} đúng như hiển thị. Hãy định dạng các ô đó là Văn bản (Text) rồi gõ lại.",
        f"Date/number cells {shown} cannot be read exactly as shown. Format them as Text and type them again.",
        row=cells[0].row,
    )


def read_xlsx_rows(data: bytes) -> list[RawQuestion]:
    """Parse an .xlsx bank into canonical rows (row numbers as Excel shows them).

    :raises BankFileError: if the file is unsafe or unusable as a whole.
    """
    table = read_xlsx_table(data, refuse_unreadable=False)
    mapping, _unknown = map_headers(table.headers)
    if "question" not in mapping.values():
        raise BankFileError(
            f"Không tìm thấy cột 'Câu hỏi' ở dòng 1 của trang '{table.title}'. Hãy dùng tệp mẫu.",
            f"No 'Câu hỏi' (question) column in row 1 of sheet '{table.title}'. Please use the template.",
            row=1,
        )
    unreadable: dict[int, list[UnreadableCell]] = {}
    for cell in table.unreadable:
        if cell.index in mapping:
            unreadable.setdefault(cell.row, []).append(cell)
    rows = []
    for number, cells in table.rows:
        values = {key: cells[i] for i, key in mapping.items() if i < len(cells) and cells[i].strip()}
        problems = [c.message(table.headers[c.index]) for c in unreadable.get(number, ())]
        if problems:
            error = ("; ".join(vi for vi, _ in problems), "; ".join(en for _, en in problems))
            rows.append(RawQuestion(row=number, cells=values, error=error))
        elif values:
            rows.append(RawQuestion(row=number, cells=values))
    return rows


@dataclass(frozen=True)
class _Formula:
    """A formula cell waiting for the value saved with it."""

    texts: list[str]
    index: int
    row: int


def _read_table(sheet: Any) -> tuple[Table, list[_Formula]]:
    iterator = sheet.iter_rows()
    header_row = next(iterator, None)
    table = Table(sheet.title, [_header_text(c) for c in (header_row or ())])
    formulas: list[_Formula] = []
    empty_run = 0
    for number, cells in enumerate(iterator, start=2):
        if all(c is None or c.value is None or (isinstance(c.value, str) and not c.value.strip()) for c in cells):
            empty_run += 1
            if empty_run >= EMPTY_RUN_LIMIT:
                break
            continue
        empty_run = 0
        texts = [""] * len(cells)
        for index, cell in enumerate(cells):
            if cell is None or cell.value is None:
                continue
            if cell.data_type == "f":
                formulas.append(_Formula(texts, index, number))
                texts[index] = str(cell.value)
            else:
                texts[index] = _shown(table, number, index, cell)
        table.rows.append((number, texts))
    return table, formulas


def _header_text(cell: Any) -> str:
    if cell is None or cell.value is None:
        return ""
    try:
        return display_text(cell.value, cell.number_format)
    except CellDisplayError:
        return describe_value(cell.value)


def _shown(table: Table, row: int, index: int, cell: Any) -> str:
    """The cell's text as the spreadsheet shows it; a cell that cannot be shown exactly is noted.

    An error value (#N/A, or a date format on a number no date has: openpyxl's #VALUE!) is noted too.
    """
    try:
        if cell.data_type == "e":
            raise CellDisplayError(f"error value {cell.value!r}")
        return display_text(cell.value, cell.number_format)
    except CellDisplayError:
        seen = describe_value(cell.value)
        table.unreadable.append(UnreadableCell(row, index, seen, cell.number_format or "General"))
        return seen


def _use_cached_values(data: bytes, table: Table, formulas: list[_Formula]) -> None:
    """Replace formulas by the values Excel saved with them; refuse formulas saved without one."""
    by_row: dict[int, list[_Formula]] = {}
    for formula in formulas:
        by_row.setdefault(formula.row, []).append(formula)
    missing = []
    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        rows = workbook[table.title].iter_rows(max_row=max(by_row))
        for number, cells in enumerate(rows, start=1):
            for formula in by_row.get(number, ()):
                cell = cells[formula.index] if formula.index < len(cells) else None
                if cell is None or cell.value is None:
                    missing.append(f"{get_column_letter(formula.index + 1)}{number}")
                else:
                    formula.texts[formula.index] = _shown(table, number, formula.index, cell)
    finally:
        workbook.close()
    if missing:
        shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
        raise BankFileError(
            f"Ô {shown} chứa công thức chưa có giá trị tính sẵn. Hãy mở tệp trong Excel, lưu lại, "
            "hoặc thay công thức bằng giá trị (Dán đặc biệt › Giá trị).",
            f"Cells {shown} hold formulas with no saved value. Open and save the file in Excel, "
            "or replace the formulas by their values (Paste special › Values).",
        )
