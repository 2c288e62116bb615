"""Domain errors. Each carries a Vietnamese message and its English twin, both safe to show."""

from __future__ import annotations


class QuizError(Exception):
    """A refusal the person can act on: what is wrong and, where possible, how to fix it."""

    #: HTTP status a web adapter should answer with.
    status_code = 400

    def __init__(self, vi: str, en: str | None = None) -> None:
        super().__init__(vi)
        self.vi = vi
        self.en = en or vi

    def message(self, locale: str) -> str:
        return self.en if locale == "en" else self.vi


class NotFoundError(QuizError):
    status_code = 404


class ConflictError(QuizError):
    """The request clashes with what exists (a duplicate account, an attempt already running)."""

    status_code = 409


class ValidationError(QuizError):
    """Input that breaks a rule; ``field`` names the form field when there is one."""

    def __init__(self, vi: str, en: str | None = None, *, field: str | None = None) -> None:
        super().__init__(vi, en)
        self.field = field
