"""CSV question banks: UTF-8 with or without a BOM, comma or semicolon separated."""

from __future__ import annotations

import csv
import io

from quiz_engine.services.bank_formats.errors import BankFileError, decode_text
from quiz_engine.services.question_schema import RawQuestion, map_headers


def read_csv_rows(data: bytes) -> list[RawQuestion]:
    """Parse CSV bytes into rows keyed by canonical column; row numbers count the header as 1.

    :raises BankFileError: if the bytes are not UTF-8 text or have no question column.
    """
    text = decode_text(data, "CSV")
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader, [])
    mapping, _unknown = map_headers(header)
    if "question" not in mapping.values():
        raise BankFileError(
            "Không tìm thấy cột 'Câu hỏi' ở dòng tiêu đề. Hãy dùng tệp mẫu.",
            "No 'Câu hỏi' (question) column in the header row. Please use the template.",
            row=1,
        )
    rows = []
    for number, record in enumerate(reader, start=2):
        if not any(cell.strip() for cell in record):
            continue  # blank lines, including the trailing ones spreadsheets leave
        cells = {key: record[index] for index, key in mapping.items() if index < len(record)}
        rows.append(RawQuestion(row=number, cells=cells))
    return rows
