"""The refusal of a whole file (as opposed to problems in some of its rows)."""

from __future__ import annotations

from quiz_engine.services.catalogue.question_schema import Problem


class BankFileError(Exception):
    """The file cannot be imported at all: wrong kind, too large, protected, malformed."""

    def __init__(self, vi: str, en: str, row: int | None = None) -> None:
        super().__init__(vi)
        self.problem = Problem(row, None, vi, en)


def decode_text(data: bytes, kind: str) -> str:
    """UTF-8 text (a leading BOM is dropped), as every text bank format must be.

    :raises BankFileError: naming the format (``kind``) when the bytes are not UTF-8.
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BankFileError(
            f"Tệp {kind} phải được lưu với mã hóa UTF-8.", f"The {kind} file must be saved as UTF-8."
        ) from exc
