"""CSV question banks: UTF-8 with or without a BOM, comma or semicolon separated.

A CSV that was opened with the wrong character set and saved again as UTF-8 is still valid UTF-8,
but its Vietnamese is garbled ("CÃ¢u há»i" for "Câu hỏi"); its header then names no known column.
Such a file is refused with a hint about the encoding rather than only "no question column".
"""

from __future__ import annotations

import csv
import io
import re

from quiz_engine.services.catalogue.bank_formats.errors import BankFileError, decode_text
from quiz_engine.services.catalogue.question_schema import RawQuestion, map_headers

ENCODING_HINT_VI = (
    "Tệp có vẻ không được lưu bằng mã hóa UTF-8: hãy lưu lại CSV với mã hóa UTF-8 "
    "(trong LibreOffice: Bộ ký tự «Unicode (UTF-8)»; trong Excel: «CSV UTF-8»)."
)
ENCODING_HINT_EN = (
    "The file seems not to have been saved as UTF-8: save the CSV again as UTF-8 "
    "(in LibreOffice: character set «Unicode (UTF-8)»; in Excel: «CSV UTF-8»)."
)
MISREAD_HINT_VI = (
    "Dòng tiêu đề có vẻ là chữ UTF-8 bị đọc sai mã hóa (như 'CÃ¢u há»i' thay cho 'Câu hỏi'): hãy mở lại "
    "tệp gốc, chọn Bộ ký tự «Unicode (UTF-8)» khi LibreOffice hỏi, rồi lưu CSV với mã hóa UTF-8."
)
MISREAD_HINT_EN = (
    "The header looks like UTF-8 text read with the wrong encoding ('CÃ¢u há»i' for 'Câu hỏi'): open the "
    "original file again, choose character set «Unicode (UTF-8)» when LibreOffice asks, and save the CSV as UTF-8."
)
#: UTF-8 Vietnamese read as Windows-1252 or Latin-1: "Ã¢" (â), "á»" / "áº" (ả, ộ…), "Æ°" (ư), "Ä‘" (đ).
_MOJIBAKE_RE = re.compile("Ã[\u0080-\u00bf\u0152-\u2122]|á[º»¸¹]|Æ[°¡]|Ä[‘\u0091\u0090]|Â[\u00a0-\u00bf]")
#: LibreOffice keeps a byte Windows-1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) as U+F100 + byte.
_PRIVATE_USE_BASE = 0xF100


def read_csv_rows(data: bytes) -> list[RawQuestion]:
    """Parse CSV bytes into rows keyed by canonical column; row numbers count the header as 1.

    :raises BankFileError: if the bytes are not UTF-8 text or have no question column.
    """
    try:
        text = decode_text(data, "CSV")
    except BankFileError as exc:
        raise BankFileError(f"{exc.problem.vi} {ENCODING_HINT_VI}", f"{exc.problem.en} {ENCODING_HINT_EN}") from exc
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader, [])
    mapping, _unknown = map_headers(header)
    if "question" not in mapping.values():
        vi = "Không tìm thấy cột 'Câu hỏi' ở dòng tiêu đề. Hãy dùng tệp mẫu."
        en = "No 'Câu hỏi' (question) column in the header row. Please use the template."
        if looks_mis_decoded(header):
            vi, en = f"{vi} {MISREAD_HINT_VI}", f"{en} {MISREAD_HINT_EN}"
        raise BankFileError(vi, en, row=1)
    rows = []
    for number, record in enumerate(reader, start=2):
        if not any(cell.strip() for cell in record):
            continue  # blank lines, including the trailing ones spreadsheets leave
        cells = {key: record[index] for index, key in mapping.items() if index < len(record)}
        rows.append(RawQuestion(row=number, cells=cells))
    return rows


def looks_mis_decoded(header: list[str]) -> bool:
    """Whether the header cells look like UTF-8 read with a one-byte character set.

    True when they hold typical garbled sequences, or when reading their characters back as the
    UTF-8 bytes they came from yields a header with the question column.
    """
    if any(_MOJIBAKE_RE.search(cell) for cell in header):
        return True
    repaired = [_redecoded(cell) for cell in header]
    if all(r is None for r in repaired):
        return False
    mapping, _unknown = map_headers([r if r is not None else cell for r, cell in zip(repaired, header, strict=True)])
    return "question" in mapping.values()


def _redecoded(cell: str) -> str | None:
    """``cell`` read back as the UTF-8 it was before a Windows-1252/Latin-1 misreading, if it was one."""
    if cell.isascii():
        return None
    raw = bytearray()
    for char in cell:
        code = ord(char)
        if code < 0x100:
            raw.append(code)
        elif _PRIVATE_USE_BASE <= code <= _PRIVATE_USE_BASE + 0xFF:
            raw.append(code - _PRIVATE_USE_BASE)
        else:
            try:
                raw.extend(char.encode("cp1252"))
            except UnicodeEncodeError:
                return None
    try:
        repaired = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return repaired if repaired != cell else None
