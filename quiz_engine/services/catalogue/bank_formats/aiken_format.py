"""Aiken question banks: the question, lettered choices (``A.`` or ``A)``), then ``ANSWER: X``."""

from __future__ import annotations

import re

from quiz_engine.services.catalogue.bank_formats.errors import BankFileError, decode_text
from quiz_engine.services.catalogue.question_schema import LETTERS, RawQuestion

_CHOICE_RE = re.compile(r"^([A-Z])[.)]\s+(.*)$")
_ANSWER_RE = re.compile(r"^ANSWER\s*:\s*(.*)$", re.IGNORECASE)


class _Reader:
    """Collects one question at a time, line by line."""

    def __init__(self) -> None:
        self.rows: list[RawQuestion] = []
        self.question: list[str] = []
        self.choices: list[str] = []
        self.start = 0

    def blank(self) -> None:
        if self.question and self.choices:
            self.unfinished()  # choices then a blank line, and no ANSWER

    def line(self, number: int, text: str) -> None:
        if not self.question:
            self.start, self.question = number, [text]
            return
        answer = _ANSWER_RE.match(text)
        choice = _CHOICE_RE.match(text)
        if answer:
            cells = {"question": " ".join(self.question), "correct": answer.group(1).strip().upper()}
            self.rows.append(RawQuestion(row=self.start, cells=cells, choices=self.choices))
            self.question, self.choices = [], []
        elif choice and choice.group(1) == LETTERS[len(self.choices) : len(self.choices) + 1]:
            self.choices.append(choice.group(2))
        elif self.choices:
            self.choices[-1] += " " + text  # a choice continued on the next line
        else:
            self.question.append(text)

    def unfinished(self) -> None:
        error = ("câu hỏi thiếu dòng 'ANSWER: X'.", "the question lacks its 'ANSWER: X' line.")
        self.rows.append(RawQuestion(row=self.start, error=error))
        self.question, self.choices = [], []


def read_aiken_rows(data: bytes) -> list[RawQuestion]:
    """Parse Aiken text into canonical rows; row numbers are the line each question starts on.

    :raises BankFileError: if the file is not UTF-8 text or holds no question.
    """
    text = decode_text(data, "Aiken")
    reader = _Reader()
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            reader.line(number, line.strip())
        else:
            reader.blank()
    if reader.question:
        reader.unfinished()
    if not reader.rows:
        raise BankFileError("Tệp Aiken không có câu hỏi nào.", "The Aiken file holds no question.")
    return reader.rows
