"""CSV question banks: UTF-8 with or without a BOM, comma or semicolon separated."""

from __future__ import annotations

import csv
import io

from quiz_engine.services.question_schema import Problem, RawQuestion, map_headers


class CsvFormatError(Exception):
    """The file cannot be read as a CSV bank at all."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.vi)
        self.problem = problem


def read_csv_rows(data: bytes) -> list[RawQuestion]:
    """Parse CSV bytes into rows keyed by canonical column; row numbers count the header as 1.

    :raises CsvFormatError: if the bytes are not UTF-8 text or have no question column.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvFormatError(
            Problem(None, None, "Tệp CSV phải được lưu với mã hóa UTF-8.", "The CSV file must be saved as UTF-8.")
        ) from exc
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader, [])
    mapping, _unknown = map_headers(header)
    if "question" not in mapping.values():
        raise CsvFormatError(
            Problem(
                1,
                None,
                "Không tìm thấy cột 'Câu hỏi' ở dòng tiêu đề.",
                "No 'Câu hỏi' (question) column in the header row.",
            )
        )
    rows = []
    for number, record in enumerate(reader, start=2):
        if not any(cell.strip() for cell in record):
            continue  # blank lines, including the trailing ones spreadsheets leave
        cells = {key: record[index] for index, key in mapping.items() if index < len(record)}
        rows.append(RawQuestion(row=number, cells=cells))
    return rows
