"""The refusal of a whole file (as opposed to problems in some of its rows)."""

from __future__ import annotations

from quiz_engine.services.question_schema import Problem


class BankFileError(Exception):
    """The file cannot be imported at all: wrong kind, too large, protected, malformed."""

    def __init__(self, vi: str, en: str, row: int | None = None) -> None:
        super().__init__(vi)
        self.problem = Problem(row, None, vi, en)
