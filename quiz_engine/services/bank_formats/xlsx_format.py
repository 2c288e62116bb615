"""Excel (.xlsx) question banks, read with openpyxl's read-only mode after safety checks.

Checked before openpyxl parses anything: the container is a real xlsx zip (not .xls, not a
password-protected file, not some other zip), and its uncompressed size is bounded (zip bombs).
Then: no hidden sheets, no merged cells in the data sheet, formulas only where Excel saved a
computed value (that value is used), and long runs of empty rows end the sheet.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from quiz_engine.services.bank_formats.errors import BankFileError
from quiz_engine.services.question_schema import RawQuestion, map_headers

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


@dataclass
class Table:
    """A sheet as text: its header cells and its non-empty rows ``(Excel row number, cells)``."""

    title: str
    headers: list[str]
    rows: list[tuple[int, list[str]]] = field(default_factory=list)


def read_xlsx_table(data: bytes, sheet_names: tuple[str, ...] = DATA_SHEET_NAMES) -> Table:
    """Read the sheet named one of ``sheet_names`` (else the first) of a checked .xlsx as text.

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
        _use_cached_values(data, table.title, formulas)
    return table


def read_xlsx_rows(data: bytes) -> list[RawQuestion]:
    """Parse an .xlsx bank into canonical rows (row numbers as Excel shows them).

    :raises BankFileError: if the file is unsafe or unusable as a whole.
    """
    table = read_xlsx_table(data)
    mapping, _unknown = map_headers(table.headers)
    if "question" not in mapping.values():
        raise BankFileError(
            f"Không tìm thấy cột 'Câu hỏi' ở dòng 1 của trang '{table.title}'. Hãy dùng tệp mẫu.",
            f"No 'Câu hỏi' (question) column in row 1 of sheet '{table.title}'. Please use the template.",
            row=1,
        )
    rows = []
    for number, cells in table.rows:
        values = {key: cells[i] for i, key in mapping.items() if i < len(cells) and cells[i].strip()}
        if values:
            rows.append(RawQuestion(row=number, cells=values))
    return rows


def _read_table(sheet: Any) -> tuple[Table, list[tuple[list[str], int, int]]]:
    iterator = sheet.iter_rows()
    header_row = next(iterator, None)
    table = Table(sheet.title, [str(c.value) if c.value is not None else "" for c in (header_row or ())])
    formulas: list[tuple[list[str], int, int]] = []
    empty_run = 0
    for number, cells in enumerate(iterator, start=2):
        texts = ["" if c is None or c.value is None else _as_text(c.value) for c in cells]
        if not any(t.strip() for t in texts):
            empty_run += 1
            if empty_run >= EMPTY_RUN_LIMIT:
                break
            continue
        empty_run = 0
        formulas.extend((texts, i, number) for i, c in enumerate(cells) if c is not None and c.data_type == "f")
        table.rows.append((number, texts))
    return table, formulas


def _as_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a code typed as 12 comes back as 12.0
    return str(value)


def _use_cached_values(data: bytes, title: str, formulas: list[tuple[list[str], int, int]]) -> None:
    """Replace formulas by the values Excel saved with them; refuse formulas saved without one."""
    by_row: dict[int, list[tuple[list[str], int]]] = {}
    for texts, index, number in formulas:
        by_row.setdefault(number, []).append((texts, index))
    missing = []
    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        rows = workbook[title].iter_rows(max_row=max(by_row), values_only=True)
        for number, values in enumerate(rows, start=1):
            for texts, index in by_row.get(number, ()):
                value = values[index] if index < len(values) else None
                if value is None:
                    missing.append(f"{get_column_letter(index + 1)}{number}")
                else:
                    texts[index] = _as_text(value)
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
