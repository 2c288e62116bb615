"""The text a spreadsheet shows for a cell: its value rendered with the cell's own number format.

Excel and LibreOffice keep a typed date, time, percentage or number as a number plus a display
format; the organizer sees, and checks, the displayed text, so that text is what a bank imports.
Supported: ``General``; digit placeholders ``0 # ?`` with ``.`` decimals, ``,`` thousands (and
trailing ``,`` scaling), ``%``, simple scientific ``0.00E+00``; dates and times ``d dd m mm yy yyyy
h hh mm ss .0-.000 AM/PM A/P [h] [m] [s]``; quoted text, ``\\`` escapes, ``_x`` spacing, colours,
up to four ``;`` sections. Separators are the format code's own (``,`` thousands, ``.`` decimals).

Anything whose display depends on the viewer's machine (the system short date, id 14; month and
weekday names; a non-English locale's AM/PM), on conditions (``[>100]``), or that is not reproduced
here (fractions, engineering notation, fills) raises :class:`CellDisplayError` rather than guessing:
a wrong answer key is worse than a refused file.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

from openpyxl.styles.numbers import BUILTIN_FORMATS

#: Excel's day 0 (serial numbers count days from it). Dates before day 61, 1 March 1900, are
#: refused where the date shows: Excel counts a 29 February 1900 that never was.
_EXCEL_ZERO = datetime(1899, 12, 30)
_FIRST_SAFE_DAY = 61
_US_PER_SECOND = 1_000_000
_US_PER_DAY = 86_400 * _US_PER_SECOND
#: Durations ([h]:mm) up to this many days (about 27 years) show alike in Excel and LibreOffice.
_MAX_ELAPSED_DAYS = 10_000
#: Builtin formats Excel shows in the viewer's regional settings (ids 14 and 22), whatever their code says.
_SYSTEM_FORMATS = frozenset({BUILTIN_FORMATS[14], BUILTIN_FORMATS[22]})
_COLOURS = frozenset({"black", "blue", "cyan", "green", "magenta", "red", "white", "yellow"})
_ENGLISH_LCIDS = frozenset({0, 0x409})
#: Characters Excel shows as themselves without quotes.
_PLAIN_LITERALS = frozenset("$-+/():!^&'~{}<>= ")
#: General shows integers in full below this, scientific notation from here on.
_GENERAL_MAX = Decimal("1e11")
_GENERAL_MIN_FRACTION = Decimal("1e-4")


class CellDisplayError(ValueError):
    """The cell's displayed text cannot be reproduced exactly (the reason is in English)."""


@dataclass(frozen=True)
class _Token:
    kind: str  # lit, digit, point, comma, percent, exp, general, text, date, elapsed, ampm, locale
    text: str


_Section = Sequence[_Token]


def display_text(value: object, number_format: str | None) -> str:
    """The text Excel shows for ``value`` (as openpyxl reads it) formatted with ``number_format``.

    :raises CellDisplayError: if that text cannot be reproduced exactly.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    code = number_format or "General"
    if isinstance(value, str):
        return _render_text(value, code)
    if code in _SYSTEM_FORMATS:
        raise CellDisplayError(f"format {code!r} is the viewer's system date format")
    sections = _sections(code)
    if isinstance(value, datetime | date | time | timedelta):
        return _render_moment(value, sections)
    if isinstance(value, int | float):
        return _render_number(value, sections)
    raise CellDisplayError(f"unexpected cell value {value!r}")


def describe_value(value: object) -> str:
    """A cell's stored value written plainly, for messages about a cell that cannot be shown."""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, float):
        return _general(Decimal(repr(value)), allow_any=True)
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return str(value)


# -- parsing ---------------------------------------------------------------------------------------

_TOKEN_RE = re.compile(
    r"""
      "(?P<quoted>[^"]*)"
    | \\(?P<escaped>.)
    | _(?P<space>.)
    | \*(?P<fill>.)
    | \[(?P<bracket>[^\]]*)\]
    | (?P<general>general)
    | (?P<ampm>am/pm|a/p)
    | (?P<exp>e[+-])
    | (?P<date>y+|m+|d+|h+|s+)
    | (?P<simple>[0#?.,%@])
    | (?P<other>.)
    """,
    re.IGNORECASE | re.VERBOSE | re.DOTALL,
)
_SIMPLE_KINDS = {"0": "digit", "#": "digit", "?": "digit", ".": "point", ",": "comma", "%": "percent", "@": "text"}


@lru_cache(maxsize=512)
def _sections(code: str) -> tuple[_Section, ...]:
    """The format's sections (split at ``;`` outside quotes and brackets), each as tokens."""
    sections: list[list[_Token]] = [[]]
    for match in _TOKEN_RE.finditer(code):
        if match.lastgroup == "other" and match.group() == ";":
            sections.append([])
            continue
        token = _token(match)
        if token is not None:
            sections[-1].append(token)
    if len(sections) > 4:
        raise CellDisplayError(f"format {code!r} has more than four sections")
    return tuple(tuple(section) for section in sections)


def _token(match: re.Match[str]) -> _Token | None:
    kind, text = match.lastgroup or "", match.group(match.lastgroup or 0)
    if kind in ("quoted", "escaped"):
        return _Token("lit", text)
    if kind == "space":
        return _Token("lit", " ")  # "_x" leaves the width of x
    if kind == "fill":
        if text != " ":
            raise CellDisplayError(f"fill character {text!r} repeats to the column's width")
        return None
    if kind == "bracket":
        return _bracket(text)
    if kind == "simple":
        return _Token(_SIMPLE_KINDS[text], text)
    if kind == "date":
        return _Token("date", text.lower())
    if kind == "other":
        if text in _PLAIN_LITERALS or text.isdigit() or not text.isascii():
            return _Token("lit", text)
        raise CellDisplayError(f"unsupported format character {text!r}")
    return _Token(kind, text)


def _bracket(content: str) -> _Token | None:
    lower = content.lower()
    if lower in _COLOURS or re.fullmatch(r"color\s*\d+", lower):
        return None  # a colour changes how the text looks, not the text
    if re.fullmatch(r"h+|m+|s+", lower):
        return _Token("elapsed", lower)
    locale = re.fullmatch(r"\$([^-]*)(?:-([0-9a-f]+))?", lower)
    if locale:
        lcid = int(locale.group(2) or "0", 16)
        if lcid > 0xFFFF or lcid & 0xFFFF in (0xF800, 0xF400):
            raise CellDisplayError(f"locale code [{content}] uses the viewer's settings or another calendar")
        symbol = content[1 : 1 + len(locale.group(1))]
        return _Token("locale", str(lcid)) if not symbol else _Token("lit", symbol)
    raise CellDisplayError(f"unsupported bracket [{content}] (a condition or an unknown code)")


def _kinds(tokens: _Section) -> set[str]:
    return {t.kind for t in tokens}


def _is_date_section(tokens: _Section) -> bool:
    return bool(_kinds(tokens) & {"date", "elapsed", "ampm"})


# -- text and numbers ------------------------------------------------------------------------------


def _render_text(value: str, code: str) -> str:
    """Text shows as typed, unless the format has a text section (the fourth, or one with ``@``)."""
    if ";" not in code and "@" not in code:
        return value
    sections = _sections(code)
    if len(sections) == 4:
        section = sections[3]
    elif len(sections) == 1 and "text" in _kinds(sections[0]):
        section = sections[0]
    else:
        return value
    if _kinds(section) - {"lit", "text", "locale"}:
        raise CellDisplayError("the text section holds number or date codes")
    return "".join(value if t.kind == "text" else t.text for t in section if t.kind != "locale")


def _pick_section(sections: Sequence[_Section], negative: bool, zero: bool) -> tuple[_Section, bool]:
    """The section that shows the value, and whether a minus sign goes before it."""
    numeric = sections[:3]
    if negative and len(numeric) >= 2:
        return numeric[1], False
    if zero and len(numeric) == 3:
        return numeric[2], False
    return numeric[0], negative


def _render_number(value: float, sections: Sequence[_Section]) -> str:
    number = _decimal(value)
    section, minus = _pick_section(sections, number < 0, number == 0)
    if not section:
        raise CellDisplayError("the format hides this value (an empty section)")
    if _is_date_section(section):
        return _DateLayout(section).render(_serial_moment(number))
    if "text" in _kinds(section):
        section = (_Token("general", ""),)  # "@" shows a number as General does
    text = _render_number_section(abs(number), section)
    if minus:
        if not re.search(r"[1-9]", text):
            raise CellDisplayError(f"negative {value!r} rounds to zero (shown as 0 or -0 depending on the program)")
        text = "-" + text
    return text


def _decimal(value: float) -> Decimal:
    """The value to at most 15 significant digits, as Excel displays it."""
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        raise CellDisplayError(f"{value!r} is not a number")
    return Decimal(format(value, ".15g")) if isinstance(value, float) else Decimal(value)


def _render_number_section(number: Decimal, section: _Section) -> str:
    kinds = _kinds(section)
    if "general" in kinds:
        if kinds & {"digit", "exp"}:
            raise CellDisplayError("General mixed with digit placeholders")
        number = number * 100 ** sum(t.kind == "percent" for t in section)
        body = _general(number)
        return "".join(body if t.kind == "general" else t.text for t in section if t.kind != "locale")
    if "digit" not in kinds:
        return "".join(t.text for t in section if t.kind in ("lit", "percent", "point", "comma"))
    return _DigitLayout(section).render(number)


def _general(number: Decimal, allow_any: bool = False) -> str:
    """Excel's General: integers in full, others to at most 15 significant digits, no trailing zeros."""
    size = abs(number)
    if not allow_any and (size >= _GENERAL_MAX or (0 < size < _GENERAL_MIN_FRACTION)):
        raise CellDisplayError(f"General shows {number} in scientific notation or to the column width")
    text = format(number.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


class _DigitLayout:
    """Where the digits of a number section go: integer, decimal and exponent placeholders."""

    def __init__(self, section: _Section) -> None:
        self.section = section
        digits = [i for i, t in enumerate(section) if t.kind == "digit"]
        self.first, self.last = digits[0], digits[-1]
        self.exponent = next((i for i, t in enumerate(section) if t.kind == "exp"), None)
        point = next((i for i, t in enumerate(section) if t.kind == "point"), None)
        if point is not None and point > self.last:
            raise CellDisplayError("Excel shows a trailing point here ('3.'), LibreOffice does not ('3')")
        self.point = point
        end_of_mantissa = self.exponent if self.exponent is not None else len(section)
        split = self.point if self.point is not None else end_of_mantissa
        self.integer = [i for i in digits if i < split]
        self.decimal = [i for i in digits if split < i < end_of_mantissa]
        self.exp_digits = [i for i in digits if self.exponent is not None and i > self.exponent]
        self.grouped, self.scale = self._commas()
        self.percent = sum(t.kind == "percent" for t in section)
        if "/" in (t.text for t in section[self.first : self.last + 1]):
            raise CellDisplayError("fractions are not supported")

    def _commas(self) -> tuple[bool, int]:
        grouped, scale = False, 0
        integer_end = self.integer[-1] if self.integer else self.first
        for index, token in enumerate(self.section):
            if token.kind != "comma":
                continue
            if self.integer and self.integer[0] < index < integer_end:
                grouped = True
            elif self._scales(index):
                scale += 1
            else:
                raise CellDisplayError("a thousands separator outside the integer digits")
        return grouped, scale

    def _scales(self, index: int) -> bool:
        """A comma right after the last digit placeholder (or just before the point) divides by 1,000."""
        after_digits = all(t.kind == "comma" for t in self.section[self.last + 1 : index])
        return (index > self.last and after_digits) or (
            self.point is not None and index < self.point and not any(i > index for i in self.integer)
        )

    def render(self, number: Decimal) -> str:
        number = number * 100**self.percent / 1000**self.scale
        try:
            parts = self._scientific(number) if self.exponent is not None else self._fixed(number)
        except InvalidOperation as exc:
            raise CellDisplayError(f"{number} has too many digits") from exc
        shown = {"lit", "percent", "point"}
        return "".join(parts.get(i, t.text if t.kind in shown else "") for i, t in enumerate(self.section))

    def _rounded(self, number: Decimal) -> tuple[int, str]:
        places = len(self.decimal)
        rounded = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        whole = int(rounded)
        fraction = format(rounded - whole, "f").partition(".")[2].ljust(places, "0")[:places]
        return whole, fraction

    def _fixed(self, number: Decimal) -> dict[int, str]:
        whole, fraction = self._rounded(number)
        decimals = self._decimal_parts(fraction)
        if self.decimal and not any(decimals.values()):
            raise CellDisplayError("Excel shows a trailing point here ('3.'), LibreOffice does not ('3')")
        return self._integer_parts(whole) | decimals

    def _integer_parts(self, whole: int) -> dict[int, str]:
        if not self.integer:
            if whole:
                raise CellDisplayError("a whole part with no integer placeholder")
            return {}
        marks = [self.section[i].text for i in self.integer]
        digits = str(whole) if whole else ""
        shown = []
        for mark in reversed(marks):
            shown.append(digits[-1] if digits else {"0": "0", "?": " "}.get(mark, ""))
            digits = digits[:-1]
        shown.reverse()
        shown[0] = digits + shown[0]
        interleaved = any(self.section[i].kind in ("lit", "percent") for i in range(self.integer[0], self.integer[-1]))
        if not self.grouped:
            return dict(zip(self.integer, shown, strict=True))
        if interleaved or "?" in marks:
            raise CellDisplayError("thousands separators mixed with text or '?' in the integer digits")
        digits = "".join(shown)  # zero-padded as the 0 placeholders ask, then grouped: "00,012"
        grouped = ",".join(digits[max(0, end - 3) : end] for end in range(len(digits), 0, -3)[::-1])
        return {i: (grouped if i == self.integer[0] else "") for i in self.integer}

    def _decimal_parts(self, fraction: str) -> dict[int, str]:
        shown = list(fraction)
        for j in range(len(shown) - 1, -1, -1):
            mark = self.section[self.decimal[j]].text
            if mark == "0" or shown[j] != "0":
                break
            shown[j] = " " if mark == "?" else ""
        return dict(zip(self.decimal, shown, strict=True))

    def _scientific(self, number: Decimal) -> dict[int, str]:
        if len(self.integer) != 1 or self.grouped or self.scale:
            raise CellDisplayError("only scientific notation with one integer digit is supported")
        exponent = number.adjusted() if number else 0
        mantissa = number.scaleb(-exponent)
        whole, fraction = self._rounded(mantissa)
        if whole >= 10:  # 9.99 rounded up to 10.0: one more power of ten
            exponent += 1
            whole, fraction = self._rounded(number.scaleb(-exponent))
        parts = {self.integer[0]: str(whole)} | self._decimal_parts(fraction)
        sign = "-" if exponent < 0 else ("+" if self.section[self.exponent].text.endswith("+") else "")
        width = max(len(self.exp_digits), 1)
        assert self.exponent is not None
        parts[self.exponent] = self.section[self.exponent].text[0] + sign + f"{abs(exponent):0{width}d}"
        parts.update({i: "" for i in self.exp_digits})
        return parts


# -- dates and times -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Moment:
    """A date-time as microseconds from Excel's day 0, and whether it carries a real date."""

    micros: int
    has_date: bool
    #: Before 1 March 1900, where Excel counts a 29 February 1900 that never was: the time of day
    #: is right, the date and the day count are not.
    early: bool = False


def _moment(value: datetime | date | time | timedelta) -> _Moment:
    if isinstance(value, timedelta):
        if value < timedelta(0):
            raise CellDisplayError("a negative duration")
        return _Moment(value // timedelta(microseconds=1), has_date=False)
    if isinstance(value, time):
        return _Moment((datetime.combine(date.min, value) - datetime.min) // timedelta(microseconds=1), False)
    if not isinstance(value, datetime):
        value = datetime.combine(value, time())
    micros = (value.replace(tzinfo=None) - _EXCEL_ZERO) // timedelta(microseconds=1)
    if micros < 0:
        raise CellDisplayError(f"{value:%Y-%m-%d} is before Excel's first day")
    return _Moment(micros, has_date=True, early=micros < _FIRST_SAFE_DAY * _US_PER_DAY)


def _serial_moment(serial: Decimal) -> _Moment:
    """A number under a date format: whole days from day 0, the fraction a time of day."""
    if serial < 0:
        raise CellDisplayError(f"serial {serial} is before Excel's first day")
    micros = int((serial * _US_PER_DAY).to_integral_value(ROUND_HALF_UP))
    return _Moment(micros, has_date=serial >= 1, early=1 <= serial < _FIRST_SAFE_DAY)


def _render_moment(value: datetime | date | time | timedelta, sections: Sequence[_Section]) -> str:
    section = sections[0]
    moment = _moment(value)
    if not _is_date_section(section):
        if moment.early:
            raise CellDisplayError("a date before 1 March 1900 shown as a number")
        return _render_number(moment.micros / _US_PER_DAY, sections)
    return _DateLayout(section).render(moment)


class _DateLayout:
    """A date/time section: which ``m`` are minutes, the fraction of a second shown, 12-hour clock."""

    def __init__(self, section: _Section) -> None:
        kinds = _kinds(section)
        if kinds & {"general", "exp", "percent", "text"}:
            raise CellDisplayError("date codes mixed with number codes")
        lcids = {int(t.text) for t in section if t.kind == "locale"}
        if "ampm" in kinds and lcids - _ENGLISH_LCIDS:
            raise CellDisplayError("AM/PM in another language")
        self.section = [t for t in section if t.kind != "locale"]
        self.twelve_hour = "ampm" in kinds
        self.minutes = self._minute_positions()
        self.fraction_point, self.fraction = self._fraction()

    def _minute_positions(self) -> set[int]:
        """An ``m``/``mm`` right after an hour or right before a second is minutes (Excel's rule)."""
        timed = [(i, t) for i, t in enumerate(self.section) if t.kind in ("date", "elapsed")]
        found = set()
        for k, (i, token) in enumerate(timed):
            if token.kind != "date" or token.text[0] != "m" or len(token.text) > 2:
                continue
            before = timed[k - 1][1].text[0] if k > 0 else ""
            after = timed[k + 1][1].text[0] if k + 1 < len(timed) else ""
            if before == "h" or after == "s":
                found.add(i)
        return found

    def _fraction(self) -> tuple[int | None, int]:
        """The point and the number of digits of a second shown after ``ss.`` (no other digit is allowed)."""
        digits = [i for i, t in enumerate(self.section) if t.kind == "digit"]
        if not digits:
            return None, 0
        point = digits[0] - 1
        seconds = [i for i, t in enumerate(self.section[:point]) if t.kind in ("date", "elapsed") and t.text[0] == "s"]
        if (
            point < 0
            or self.section[point].kind != "point"
            or not seconds
            or digits != list(range(digits[0], digits[0] + len(digits)))
            or any(self.section[i].text != "0" for i in digits)
            or len(digits) > 3
        ):
            raise CellDisplayError("digit placeholders in a date format other than ss.0 to ss.000")
        return point, len(digits)

    def render(self, moment: _Moment) -> str:
        needs_date = any(
            t.kind == "date" and t.text[0] in "ymd" and i not in self.minutes for i, t in enumerate(self.section)
        )
        if needs_date and not moment.has_date:
            raise CellDisplayError("a date format on a value with no date")
        if moment.early and (needs_date or "elapsed" in _kinds(self.section)):
            raise CellDisplayError("a date before 1 March 1900, where Excel's calendar is off")
        unit = _US_PER_SECOND // 10**self.fraction
        # Excel rounds to the smallest unit shown, LibreOffice cuts the rest off: where that changes
        # the text (23:59:59.6 shown to the second), no one text is what every organizer sees.
        rounded = self._text((moment.micros + unit // 2) // unit * unit)
        if moment.micros % unit and rounded != self._text(moment.micros // unit * unit):
            raise CellDisplayError("a fraction of a second shows differently in Excel and LibreOffice")
        return rounded

    def _text(self, micros: int) -> str:
        try:
            when = _EXCEL_ZERO + timedelta(microseconds=micros)
        except OverflowError as exc:
            raise CellDisplayError("a date beyond the year 9999") from exc
        out = []
        for index, token in enumerate(self.section):
            if index == self.fraction_point:
                out.append("." + f"{when.microsecond:06d}"[: self.fraction])
            elif token.kind != "digit":
                out.append(self._part(index, token, when, micros))
        return "".join(out)

    def _part(self, index: int, token: _Token, when: datetime, micros: int) -> str:
        if token.kind in ("lit", "point", "comma"):
            return token.text
        if token.kind == "ampm":
            am, pm = token.text.split("/")
            return am if when.hour < 12 else pm
        if token.kind == "elapsed":
            if micros >= _MAX_ELAPSED_DAYS * _US_PER_DAY:
                raise CellDisplayError("LibreOffice cannot show so long a duration")
            per_unit = {"h": 3600, "m": 60, "s": 1}[token.text[0]] * _US_PER_SECOND
            return f"{micros // per_unit:0{len(token.text)}d}"
        return self._date_part(index, token.text, when)

    def _date_part(self, index: int, code: str, when: datetime) -> str:
        letter, width = code[0], min(len(code), 2)
        if letter == "y":
            return f"{when.year % 100:02d}" if len(code) <= 2 else f"{when.year:04d}"
        if letter in "md" and len(code) > 2 and index not in self.minutes:
            raise CellDisplayError(f"'{code}' shows a month or weekday name in the viewer's language")
        if letter == "m":
            number = when.minute if index in self.minutes else when.month
        elif letter == "h":
            number = (when.hour % 12 or 12) if self.twelve_hour else when.hour
        else:
            number = {"d": when.day, "s": when.second}[letter]
        return f"{number:0{width}d}"
