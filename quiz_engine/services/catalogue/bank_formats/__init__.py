"""Readers that turn a question-bank file into canonical rows (see ``question_schema``).

:func:`read_bank_file` picks the reader from the file's name and first bytes, after the size
check, so every format is refused the same way when it is not what it claims to be.
"""

from __future__ import annotations

from pathlib import PurePath

from quiz_engine.services.catalogue.bank_formats.aiken_format import read_aiken_rows
from quiz_engine.services.catalogue.bank_formats.csv_format import read_csv_rows
from quiz_engine.services.catalogue.bank_formats.errors import BankFileError
from quiz_engine.services.catalogue.bank_formats.gift_format import read_gift_rows
from quiz_engine.services.catalogue.bank_formats.xlsx_format import OLE_MAGIC, read_xlsx_rows
from quiz_engine.services.catalogue.question_schema import RawQuestion

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
FORMATS = {".xlsx": "Excel", ".csv": "CSV", ".gift": "Moodle GIFT", ".txt": "GIFT / Aiken", ".aiken": "Aiken"}

__all__ = ["DEFAULT_MAX_BYTES", "FORMATS", "BankFileError", "read_bank_file"]


def read_bank_file(filename: str, data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> list[RawQuestion]:
    """Parse an uploaded bank in any supported format.

    :raises BankFileError: if the file is too large, of an unknown kind, or unreadable as a whole.
    """
    if len(data) > max_bytes:
        limit = max_bytes / (1024 * 1024)
        raise BankFileError(
            f"Tệp quá lớn ({len(data) / (1024 * 1024):.1f} MB); giới hạn là {limit:g} MB.",
            f"The file is too large ({len(data) / (1024 * 1024):.1f} MB); the limit is {limit:g} MB.",
        )
    if not data.strip():
        raise BankFileError("Tệp rỗng.", "The file is empty.")
    suffix = PurePath(filename).suffix.lower()
    if suffix in (".xlsx", ".xls", ".xlsm") or data.startswith((b"PK\x03\x04", OLE_MAGIC)):
        return read_xlsx_rows(data)
    if b"\x00" in data[:4096]:
        raise BankFileError(
            "Tệp không phải bảng tính hay văn bản câu hỏi.", "The file is neither a spreadsheet nor question text."
        )
    if suffix == ".csv":
        return read_csv_rows(data)
    if suffix == ".gift" or (suffix == ".txt" and b"{" in data):
        return read_gift_rows(data)
    if suffix in (".txt", ".aiken"):
        return read_aiken_rows(data)
    accepted = ", ".join(FORMATS)
    raise BankFileError(
        f"Định dạng tệp '{suffix or filename}' không được hỗ trợ. Dùng: {accepted}.",
        f"File type '{suffix or filename}' is not supported. Use: {accepted}.",
    )
