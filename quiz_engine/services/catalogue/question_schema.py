"""The one canonical question schema every bank format maps onto, and its validation.

A format parser turns its file into :class:`RawQuestion` rows (strings as found, with the line
or row they came from); :func:`validate_rows` checks them all and returns every problem at once,
in Vietnamese with English beside it, together with the clean :class:`QuestionSpec` objects.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field

from quiz_engine.models import Difficulty

LETTERS = "ABCDEF"
MIN_CHOICES, MAX_CHOICES = 2, 6
MAX_LENGTHS = {"code": 40, "topic": 120, "question": 1000, "choice": 500, "explanation": 2000, "source": 1000}
DEFAULT_TOPIC = "Chung"
_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]*$")

#: Column key -> Vietnamese header (as written in templates and exports).
HEADERS_VI = {
    "code": "Mã câu hỏi",
    "topic": "Chủ đề",
    "difficulty": "Mức độ",
    "question": "Câu hỏi",
    **{f"choice_{x.lower()}": f"Phương án {x}" for x in LETTERS},
    "correct": "Đáp án đúng",
    "explanation": "Giải thích",
    "source": "Nguồn",
    "active": "Đang dùng",
}
COLUMNS = list(HEADERS_VI)
_HEADER_ALIASES = {
    "code": ["code", "question code", "id", "ma", "ma cau"],
    "topic": ["topic", "category", "chu de"],
    "difficulty": ["difficulty", "level", "muc do", "do kho"],
    "question": ["question", "question text", "text", "noi dung", "noi dung cau hoi"],
    **{f"choice_{x.lower()}": [f"choice {x}", f"option {x}", f"{x}", f"dap an {x}"] for x in LETTERS},
    "correct": ["correct", "answer", "correct answer", "dap an"],
    "explanation": ["explanation", "feedback"],
    "source": ["source", "reference", "can cu"],
    "active": ["active", "enabled", "su dung"],
}

DIFFICULTY_WORDS = {
    Difficulty.EASY: ["de", "easy", "1"],
    Difficulty.MEDIUM: ["trung binh", "tb", "medium", "2"],
    Difficulty.HARD: ["kho", "hard", "3"],
}
DIFFICULTY_VI = {Difficulty.EASY: "dễ", Difficulty.MEDIUM: "trung bình", Difficulty.HARD: "khó"}
_TRUE_WORDS = {"co", "x", "1", "true", "yes", "y", "dung"}
_FALSE_WORDS = {"khong", "0", "false", "no", "n", "ngung"}


def strip_diacritics(text: str) -> str:
    """Vietnamese (or any Latin) text without its diacritics, đ/Đ as d/D; case kept."""
    text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in text if not unicodedata.combining(c))


def fold(text: str) -> str:
    """Lower-case, strip Vietnamese diacritics and collapse spaces and underscores (for matching headers)."""
    return " ".join(strip_diacritics(text).replace("_", " ").casefold().split())


def normalise_text(text: str) -> str:
    """NFC, casefolded, single-spaced: the form in which two questions or choices are "the same"."""
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def clean(text: str | None) -> str:
    """Trim a cell and put it in NFC, keeping its case and inner line breaks."""
    if text is None:
        return ""
    return unicodedata.normalize("NFC", str(text)).strip()


_ALIAS_TO_KEY = {fold(alias): key for key, aliases in _HEADER_ALIASES.items() for alias in aliases}
_ALIAS_TO_KEY.update({fold(header): key for key, header in HEADERS_VI.items()})


def map_headers(headers: list[str]) -> tuple[dict[int, str], list[str]]:
    """Map header cells to column keys; return ``(index -> key, unknown headers)``."""
    mapping: dict[int, str] = {}
    unknown = []
    for index, header in enumerate(headers):
        key = _ALIAS_TO_KEY.get(fold(header or ""))
        if key and key not in mapping.values():
            mapping[index] = key
        elif (header or "").strip():
            unknown.append(header)
    return mapping, unknown


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an import file, located by row (or line) and column."""

    row: int | None
    column: str | None
    vi: str
    en: str
    #: The row is a kind of question the product has no place for (an essay, a matching question,
    #: partial credit): an import may skip it on request, listing it, instead of refusing the file.
    unsupported: bool = False

    def describe(self, locale: str = "vi") -> str:
        where = []
        if self.row is not None:
            where.append(f"{'Row' if locale == 'en' else 'Dòng'} {self.row}")
        if self.column:
            where.append(f"{'column' if locale == 'en' else 'cột'} {self.column}")
        text = self.en if locale == "en" else self.vi
        return f"{', '.join(where)}: {text}" if where else text


@dataclass
class RawQuestion:
    """A question as a parser found it: column key -> text, plus where it was."""

    row: int
    cells: dict[str, str] = field(default_factory=dict)
    #: Formats with a variable number of choices (GIFT, Aiken) give them here instead of cells.
    choices: list[str] | None = None
    correct_positions: list[int] | None = None
    #: A structural problem the parser found (Vietnamese, English): the row cannot be read.
    error: tuple[str, str] | None = None
    #: ``error`` says the question is of a kind the product does not support (see :class:`Problem`).
    unsupported: bool = False


@dataclass(frozen=True)
class QuestionSpec:
    """A validated question, ready to be written to a bank."""

    code: str
    topic: str
    difficulty: Difficulty
    text: str
    choices: tuple[str, ...]
    correct: tuple[int, ...]
    explanation: str
    source: str
    active: bool
    row: int

    @property
    def content_hash(self) -> str:
        """Hash of what a contestant sees and is scored on (not topic, difficulty or active)."""
        payload = [self.text, list(self.choices), list(self.correct), self.explanation, self.source]
        return hashlib.sha256(json.dumps(payload, ensure_ascii=False).encode()).hexdigest()

    def as_row(self) -> dict[str, str]:
        """The spec in the canonical columns (the form exports write)."""
        row = {
            "code": self.code,
            "topic": self.topic,
            "difficulty": DIFFICULTY_VI[self.difficulty],
            "question": self.text,
            "correct": ",".join(LETTERS[i] for i in self.correct),
            "explanation": self.explanation,
            "source": self.source,
            "active": "có" if self.active else "không",
        }
        for i, letter in enumerate(LETTERS):
            row[f"choice_{letter.lower()}"] = self.choices[i] if i < len(self.choices) else ""
        return row


def derived_code(text: str) -> str:
    """A stable code for formats that carry none (Aiken, unnamed GIFT): from the question's text."""
    return "Q-" + hashlib.sha1(normalise_text(text).encode()).hexdigest()[:10].upper()


class _RowChecker:
    """Collects the problems of one row while turning it into a spec."""

    def __init__(self, raw: RawQuestion, problems: list[Problem]) -> None:
        self.raw = raw
        self.problems = problems
        self.ok = True

    def fail(self, key: str | None, vi: str, en: str) -> None:
        self.ok = False
        self.problems.append(Problem(self.raw.row, HEADERS_VI.get(key, key) if key else None, vi, en))

    def text(self, key: str, limit_key: str | None = None) -> str:
        value = clean(self.raw.cells.get(key))
        limit = MAX_LENGTHS[limit_key or key]
        if len(value) > limit:
            self.fail(
                key, f"dài {len(value)} ký tự, tối đa {limit}.", f"{len(value)} characters long, at most {limit}."
            )
        return value

    def choices(self) -> list[str]:
        if self.raw.choices is not None:
            found = [clean(c) for c in self.raw.choices]
        else:
            found = [self.text(f"choice_{x.lower()}", "choice") for x in LETTERS]
            last = max((i for i, c in enumerate(found) if c), default=-1)
            gaps = [LETTERS[i] for i in range(last) if not found[i]]
            if gaps:
                self.fail(
                    f"choice_{gaps[0].lower()}",
                    f"phương án {', '.join(gaps)} để trống trong khi có phương án sau nó.",
                    f"choice {', '.join(gaps)} is empty while a later choice is filled.",
                )
            found = found[: last + 1]
        for c in found:
            if len(c) > MAX_LENGTHS["choice"]:
                self.fail("choice_a", "một phương án quá dài.", "a choice is too long.")
        if not MIN_CHOICES <= len(found) <= MAX_CHOICES:
            self.fail(
                "choice_a",
                f"cần từ {MIN_CHOICES} đến {MAX_CHOICES} phương án, có {len(found)}.",
                f"{MIN_CHOICES} to {MAX_CHOICES} choices are needed, found {len(found)}.",
            )
        seen: dict[str, int] = {}
        for i, c in enumerate(found):
            key = normalise_text(c)
            if key in seen:
                self.fail(
                    f"choice_{LETTERS[i].lower()}",
                    f"phương án {LETTERS[i]} trùng với phương án {LETTERS[seen[key]]}.",
                    f"choice {LETTERS[i]} duplicates choice {LETTERS[seen[key]]}.",
                )
            seen.setdefault(key, i)
        return found

    def correct(self, n_choices: int) -> list[int]:
        if self.raw.correct_positions is not None:
            positions = sorted(set(self.raw.correct_positions))
        else:
            raw = clean(self.raw.cells.get("correct")).upper()
            tokens = [t for t in re.split(r"[\s,;/+]+", raw) if t]
            if len(tokens) == 1 and len(tokens[0]) > 1 and tokens[0].isalpha():
                tokens = list(tokens[0])  # "AC" means A and C
            bad = [t for t in tokens if t not in LETTERS]
            if bad:
                self.fail(
                    "correct",
                    f"đáp án '{', '.join(bad)}' không phải chữ cái A–F.",
                    f"answer '{', '.join(bad)}' is not a letter A–F.",
                )
                return []
            positions = sorted({LETTERS.index(t) for t in tokens})
        if not positions:
            self.fail("correct", "thiếu đáp án đúng.", "the correct answer is missing.")
        beyond = [LETTERS[p] if p < len(LETTERS) else str(p) for p in positions if p >= n_choices]
        if beyond and n_choices:
            self.fail(
                "correct",
                f"đáp án {', '.join(beyond)} vượt quá số phương án ({n_choices}).",
                f"answer {', '.join(beyond)} is beyond the {n_choices} choices.",
            )
        return positions

    def difficulty(self) -> Difficulty:
        raw = fold(clean(self.raw.cells.get("difficulty")))
        if not raw:
            return Difficulty.MEDIUM
        for level, words in DIFFICULTY_WORDS.items():
            if raw in words:
                return level
        self.fail(
            "difficulty",
            f"mức độ '{self.raw.cells.get('difficulty')}' không hợp lệ: dùng dễ, trung bình hoặc khó.",
            f"unknown difficulty '{self.raw.cells.get('difficulty')}': use dễ, trung bình or khó (easy, medium, hard).",
        )
        return Difficulty.MEDIUM

    def active(self) -> bool:
        raw = fold(clean(self.raw.cells.get("active")))
        if not raw or raw in _TRUE_WORDS:
            return True
        if raw in _FALSE_WORDS:
            return False
        self.fail(
            "active",
            f"giá trị '{raw}' không hợp lệ: dùng có hoặc không.",
            f"'{raw}' is not valid: use có or không (yes/no).",
        )
        return True

    def code(self, text: str) -> str:
        code = self.text("code")
        if not code:
            return derived_code(text) if text else ""
        if not _CODE_RE.match(code):
            self.fail(
                "code",
                f"mã '{code}' chỉ được gồm chữ không dấu, số, dấu chấm, gạch ngang, gạch dưới.",
                f"code '{code}' may only hold ASCII letters, digits, '.', '-' and '_'.",
            )
        return code


def check_row(raw: RawQuestion, problems: list[Problem]) -> QuestionSpec | None:
    """Validate one row, appending its problems; return the spec if the row is clean."""
    if raw.error is not None:
        problems.append(Problem(raw.row, None, *raw.error, unsupported=raw.unsupported))
        return None
    check = _RowChecker(raw, problems)
    text = check.text("question")
    if not text:
        check.fail("question", "câu hỏi để trống.", "the question is empty.")
    choices = check.choices()
    correct = check.correct(len(choices))
    spec_fields = {
        "topic": check.text("topic") or DEFAULT_TOPIC,
        "difficulty": check.difficulty(),
        "explanation": check.text("explanation"),
        "source": check.text("source"),
        "active": check.active(),
        "code": check.code(text),
    }
    if not check.ok:
        return None
    return QuestionSpec(text=text, choices=tuple(choices), correct=tuple(correct), row=raw.row, **spec_fields)


def shorten(text: str, limit: int = 60) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis (for messages)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


class _Duplicates:
    """Codes and texts seen so far in a file, and the message when a row repeats one."""

    def __init__(self) -> None:
        self.codes: dict[str, int] = {}
        self.texts: dict[str, int] = {}

    def code(self, raw: RawQuestion, spec: QuestionSpec) -> Problem | None:
        first = self.codes.setdefault(spec.code.casefold(), spec.row)
        if first == spec.row:
            return None
        title = clean(raw.cells.get("title"))
        if title and title != spec.code:  # a GIFT name turned into a code: say the name the author wrote
            vi = f"tên câu hỏi '{title}' (mã '{spec.code}') trùng với dòng {first}."
            en = f"the question name '{title}' (code '{spec.code}') duplicates row {first}."
        else:
            vi, en = f"mã '{spec.code}' trùng với dòng {first}.", f"code '{spec.code}' duplicates row {first}."
        return Problem(spec.row, HEADERS_VI["code"], vi, en)

    def text(self, spec: QuestionSpec) -> Problem | None:
        first = self.texts.setdefault(normalise_text(spec.text), spec.row)
        if first == spec.row:
            return None
        quoted = shorten(spec.text)
        return Problem(
            spec.row,
            None,
            f"câu hỏi trùng với dòng {first}: '{quoted}'",
            f"the question duplicates row {first}: '{quoted}'",
        )


def validate_rows(rows: list[RawQuestion]) -> tuple[list[QuestionSpec], list[Problem]]:
    """Validate every row and cross-check codes and texts within the file.

    A repeated question is reported by its text and both rows; a repeated code only when the file
    gave the code (a code derived from the text says nothing the text does not).

    :return: the clean specs and every problem found (an import may proceed only if none).
    """
    problems: list[Problem] = []
    specs: list[QuestionSpec] = []
    seen = _Duplicates()
    for raw in rows:
        spec = check_row(raw, problems)
        if spec is None:
            continue
        if clean(raw.cells.get("code")):
            problem = seen.code(raw, spec) or seen.text(spec)
        else:
            problem = seen.text(spec) or seen.code(raw, spec)
        if problem is not None:
            problems.append(problem)
            continue
        specs.append(spec)
    return specs, problems
