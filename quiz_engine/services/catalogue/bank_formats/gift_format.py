"""Moodle GIFT question banks (https://docs.moodle.org/en/GIFT_format), read as Moodle reads them.

Imported: multiple choice (``=`` right, ``~`` wrong), multiple answers (``~%50%`` weights summing to
100, no ``=``), true/false (``{T}``, ``{TRUE}``, ``{F}``, ``{FALSE}``), missing-word multiple choice
(text after ``}``: the blank is shown as ``_____``), ``::names::`` (the question's code), ``$CATEGORY``
(the topic), ``//`` comments, ``[html]`` ``[plain]`` ``[markdown]`` ``[moodle]`` tags, every escape
(``\\~ \\= \\# \\{ \\} \\: \\\\ \\n``), general feedback (``####``, the explanation).

A round scores a question right or wrong, by the exact set of keys, so:

- the keys are the answers worth 100 %: one ``=`` (or ``~%100%``), or the positive answers of a
  multiple-answer question, whose weights add up to 100 %;
- partial credit (a ``~%50%`` beside a full answer, weights not adding up to 100 %) and two
  answers each worth 100 % (Moodle takes either one) would change what is right, so such a
  question is refused, as are the types a round cannot show (essay, matching, numerical, short
  answer, description, gap-fill short answer) and ``[html]`` holding images, tables or media.
  Those refusals are marked ``unsupported``: an import may skip them, listing each one;
- per-answer feedback has no place in the schema: only the key's own (a single key) stands in
  for a missing general feedback, never a wrong answer's.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from html.parser import HTMLParser

from quiz_engine.services.catalogue.bank_formats.errors import BankFileError, decode_text
from quiz_engine.services.catalogue.question_schema import LETTERS, MAX_LENGTHS, RawQuestion, strip_diacritics

TRUE_FALSE_CHOICES = ("Đúng", "Sai")
BLANK = "_____"

# Escaped characters become private-use stand-ins while the structure is read (Moodle does the same
# with "&&058;" and the like); one pass left to right, so "\\\\~" is a backslash and a live "~".
_STAND_INS = {c: chr(0xE000 + i) for i, c in enumerate("\\~=#{}:n")}
_RESTORED = {stand_in: ("\n" if c == "n" else c) for c, stand_in in _STAND_INS.items()}
_ESCAPE_RE = re.compile(r"\\([\\~=#{}:n])")
_FORMAT_RE = re.compile(r"^\s*\[(html|moodle|plain|markdown)\]", re.IGNORECASE)
_WEIGHT_RE = re.compile(r"^\s*%(-?\d+(?:\.\d+)?)%")
_CODE_SHAPED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]*")
_NO_SPACE_BEFORE = tuple(".,;:!?…)]}»”'\"")
# Sums such as 3 × 33.33333 % are 100 % as Moodle's own grade list means them.
_SUM_TOLERANCE = 0.1


class _Refused(Exception):
    """The question cannot be imported; ``unsupported`` when it is a kind, not a mistake."""

    def __init__(self, vi: str, en: str, *, unsupported: bool = False) -> None:
        super().__init__(vi)
        self.vi, self.en, self.unsupported = vi, en, unsupported


def _unsupported(kind_vi: str, kind_en: str) -> _Refused:
    return _Refused(f"câu hỏi dạng {kind_vi} chưa được hỗ trợ.", f"{kind_en} are not supported.", unsupported=True)


@dataclass
class _Block:
    line: int
    text: str
    topic: str


@dataclass
class _Answer:
    mark: str
    weight: float
    text: str
    feedback: str


# --- text ----------------------------------------------------------------------------------------


def _protect(text: str) -> str:
    return _ESCAPE_RE.sub(lambda m: _STAND_INS[m.group(1)], text)


def _restore(text: str) -> str:
    return "".join(_RESTORED.get(c, c) for c in text)


class _HtmlText(HTMLParser):
    """The text of an ``[html]`` piece, refusing what a round could not show."""

    BREAKS = re.compile(r"br|p|div|li|[uo]l|tr|t[dh]|h[1-6]|blockquote|pre|hr")
    UNSHOWABLE = re.compile(r"img|table|audio|video|i?frame|object|embed|svg|math|canvas|script|style|form|input")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.refused: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.UNSHOWABLE.fullmatch(tag):
            self.refused.append(tag)
        elif self.BREAKS.fullmatch(tag):
            self.parts.append(" ")
        elif tag == "sup":
            self.parts.append("^")  # x<sup>2</sup> must not read as x2

    def handle_endtag(self, tag: str) -> None:
        if self.BREAKS.fullmatch(tag):
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _html_to_text(markup: str) -> str:
    parser = _HtmlText()
    parser.feed(markup)
    parser.close()
    if parser.refused:
        tags = ", ".join(f"<{t}>" for t in dict.fromkeys(parser.refused))
        raise _Refused(
            f"nội dung HTML có {tags}, không hiển thị được trong vòng thi (chưa được hỗ trợ).",
            f"the HTML holds {tags}, which a round cannot show (not supported).",
            unsupported=True,
        )
    return " ".join("".join(parser.parts).split())


def _text(piece: str, default_format: str) -> tuple[str, str]:
    """A piece of GIFT (protected) as plain text, with its format: its own ``[tag]`` or the default."""
    found = _FORMAT_RE.match(piece)
    text_format = found.group(1).lower() if found else default_format
    if found:
        piece = piece[found.end() :]
    # Line breaks in the file are layout; "\n" asks for a real one (restored after collapsing).
    text = _restore(" ".join(piece.split()))
    if text_format == "html":
        text = _html_to_text(text)
    return text.strip(), text_format


def _join(before: str, after: str, middle: str = "") -> str:
    """``before middle after`` with one space between non-empty parts, none before punctuation."""
    text = before
    for part in (middle, after):
        if part:
            text = f"{text}{'' if not text or part.startswith(_NO_SPACE_BEFORE) else ' '}{part}"
    return text


# --- file → blocks -------------------------------------------------------------------------------


def _topic(path: str) -> str:
    # Moodle writes a "/" inside a category's name as "//"; the topic is the last category.
    parts = [p.replace("//", "/").strip() for p in re.split(r"(?<!/)/(?!/)", path.strip())]
    named = [p for p in parts if p and not (p.startswith("$") and p.endswith("$"))]
    return named[-1] if named else ""


def _blocks(text: str) -> list[_Block]:
    """Split the file into questions: blank lines outside braces separate them; ``//`` lines go."""
    blocks: list[_Block] = []
    topic = ""
    current: list[str] = []
    start = depth = 0
    for number, line in enumerate(_protect(text).splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("//"):
            continue
        if stripped.startswith("$CATEGORY:") and depth == 0 and not current:
            topic = _topic(_restore(stripped.split(":", 1)[1]))
            continue
        if not stripped and depth == 0:
            if current:
                blocks.append(_Block(start, "\n".join(current), topic))
                current = []
            continue
        if not current:
            start = number
        current.append(line)
        depth = max(depth + line.count("{") - line.count("}"), 0)
    if current:
        blocks.append(_Block(start, "\n".join(current), topic))
    return blocks


# --- one question --------------------------------------------------------------------------------


def _code(title: str) -> str:
    """A valid code from a ``::name::``: as written when code-shaped, else folded to ASCII.

    "Kanji Origins" gives "Kanji-Origins"; a name too long, or with no Latin letter or digit,
    keeps a hash of itself so that it stays the same code on every import.
    """
    if not title:
        return ""
    limit = MAX_LENGTHS["code"]
    if _CODE_SHAPED.fullmatch(title) and len(title) <= limit:
        return title
    slug = re.sub(r"[^A-Za-z0-9._\-]+", "-", strip_diacritics(title)).strip("-._")
    digest = hashlib.sha1(title.encode()).hexdigest()[:8].upper()
    if not slug:
        return f"T-{digest}"
    if len(slug) > limit:
        return f"{slug[: limit - 9].rstrip('-._')}-{digest}"
    return slug


def _kind(answers: str) -> str:
    """The question type, decided in Moodle's order (``qformat_gift::readquestion``)."""
    if not answers:
        return "essay"
    if answers.startswith("#"):
        return "numerical"
    if "~" in answers:
        return "multichoice"
    if "=" in answers and "->" in answers:
        return "matching"
    if answers.split("#", 1)[0].strip().upper() in ("T", "TRUE", "F", "FALSE"):
        return "truefalse"
    return "shortanswer"


_KINDS = {
    "essay": ("tự luận (essay)", "essay questions"),
    "numerical": ("số (numerical)", "numerical questions"),
    "matching": ("ghép đôi (matching)", "matching questions"),
    "shortanswer": ("trả lời ngắn (short answer)", "short-answer questions"),
}


def _read_answers(section: str, text_format: str) -> list[_Answer]:
    answers = []
    pieces = re.split(r"(?=[=~])", section)
    if pieces[0].strip():
        raise _Refused(
            f"'{_restore(pieces[0].strip())}' đứng trước phương án đầu tiên, thiếu dấu ~ hoặc =.",
            f"'{_restore(pieces[0].strip())}' comes before the first answer, without its ~ or =.",
        )
    for number, piece in enumerate(pieces[1:], start=1):
        mark, rest = piece[0], piece[1:]
        weight = 100.0 if mark == "=" else 0.0
        found = _WEIGHT_RE.match(rest)
        if found:
            weight, rest = float(found.group(1)), rest[found.end() :]
            if not -100 <= weight <= 100:
                raise _Refused(
                    f"phương án thứ {number} có trọng số {found.group(1)}% ngoài khoảng -100% đến 100%.",
                    f"answer {number} has a weight of {found.group(1)}%, outside -100% to 100%.",
                )
        text, _, feedback = rest.partition("#")
        choice = _text(text, text_format)[0]
        if not choice:
            raise _Refused(f"phương án thứ {number} để trống.", f"answer {number} is empty.")
        answers.append(_Answer(mark, weight, choice, _text(feedback, text_format)[0]))
    return answers


def _weight(value: float) -> str:
    return f"{value:g}%"


def _keys(answers: list[_Answer]) -> list[int]:
    """The positions that make the answer right: every way of earning 100 %, or a refusal."""
    full = [i for i, a in enumerate(answers) if a.weight == 100]
    positive = [i for i, a in enumerate(answers) if a.weight > 0]
    if len(full) > 1:
        raise _Refused(
            "câu hỏi có nhiều phương án cùng đúng 100%: Moodle chấm đúng khi chọn bất kỳ phương án nào, "
            "vòng thi chỉ chấm đúng khi chọn đủ mọi đáp án nên sẽ làm sai nghĩa câu hỏi (chưa được hỗ trợ).",
            "several answers are each worth 100%: Moodle accepts any one of them, a round only accepts all "
            "of them, which would change the question (not supported).",
            unsupported=True,
        )
    partial = [answers[i] for i in positive if i not in full]
    total = sum(answers[i].weight for i in positive)
    if full and not partial:
        return full
    if not positive:
        raise _Refused(
            "không có đáp án đúng: cần một phương án '=' hoặc '~%100%'.",
            "there is no correct answer: one answer needs '=' or '~%100%'.",
        )
    proper_multiple = not full and len(positive) > 1 and abs(total - 100) <= _SUM_TOLERANCE
    if proper_multiple and not any(a.mark == "=" for a in answers):
        return positive
    shown = ", ".join(f"'{a.text}' {_weight(a.weight)}" for a in partial or [answers[i] for i in positive])
    raise _Refused(
        f"câu hỏi cho điểm từng phần ({shown}): vòng thi chỉ chấm đúng hoặc sai, nhập câu này sẽ làm "
        "sai nghĩa của nó (chưa được hỗ trợ).",
        f"the question gives partial credit ({shown}): a round scores only right or wrong, so importing "
        "it would change its meaning (not supported).",
        unsupported=True,
    )


def _read_question(block: _Block, cells: dict[str, str]) -> RawQuestion:
    body = block.text.strip()
    if body.startswith("::"):
        end = body.find("::", 2)
        if end < 0:
            raise _Refused("thiếu '::' đóng tên câu hỏi.", "the question name lacks its closing '::'.")
        title = _restore(" ".join(body[2:end].split()))
        cells.update(code=_code(title), title=title)
        body = body[end + 2 :].strip()
    opening, closing = body.find("{"), body.find("}")
    if opening < 0 and closing < 0:
        cells["question"] = _text(body, "moodle")[0]
        raise _unsupported("mô tả (description: văn bản không có đáp án)", "descriptions (text with no answers)")
    if opening < 0 or closing < opening:
        raise _Refused("dấu { và } không khớp nhau.", "the braces { and } do not match.")
    if "{" in body[closing + 1 :] or "}" in body[closing + 1 :]:
        raise _Refused(
            "có hơn một phần đáp án { }: các câu hỏi phải cách nhau một dòng trống.",
            "there is more than one answer section { }: questions must be separated by a blank line.",
        )
    before, text_format = _text(body[:opening], "moodle")
    after = _text(body[closing + 1 :], text_format)[0]
    section, separator, general = body[opening + 1 : closing].rpartition("####")
    if not separator:
        section, general = general, ""
    section = section.strip()
    kind = _kind(section)
    cells["question"] = _join(before, after, BLANK if after else "")
    general = _text(general, text_format)[0]
    if kind == "truefalse":
        return _true_false(block, cells, _join(before, after), section, general, text_format)
    if kind == "shortanswer" and after:
        raise _unsupported("điền từ (missing word, trả lời ngắn)", "missing-word short-answer questions")
    if kind != "multichoice":
        raise _unsupported(*_KINDS[kind])
    answers = _read_answers(section, text_format)
    keys = _keys(answers)
    # Only a lone key's own feedback may stand in for the general one: it says why that answer is right.
    cells["explanation"] = general or (answers[keys[0]].feedback if len(keys) == 1 else "")
    cells["correct"] = ",".join(LETTERS[i] for i in keys if i < len(LETTERS))
    return RawQuestion(row=block.line, cells=cells, choices=[a.text for a in answers], correct_positions=keys)


def _true_false(
    block: _Block, cells: dict[str, str], statement: str, section: str, general: str, text_format: str
) -> RawQuestion:
    # {TRUE#feedback for a wrong answer#feedback for a right answer}: only the latter explains.
    value, *feedback = section.split("#", 2)
    is_true = value.strip().upper().startswith("T")
    cells["question"] = statement  # the braces stand for "true or false?", not for a missing word
    cells["explanation"] = general or (_text(feedback[1], text_format)[0] if len(feedback) > 1 else "")
    cells["correct"] = "A" if is_true else "B"
    return RawQuestion(
        row=block.line, cells=cells, choices=list(TRUE_FALSE_CHOICES), correct_positions=[0 if is_true else 1]
    )


def _parse_block(block: _Block) -> RawQuestion:
    cells = {"topic": block.topic, "code": ""}
    try:
        return _read_question(block, cells)
    except _Refused as refusal:
        return RawQuestion(row=block.line, cells=cells, error=(refusal.vi, refusal.en), unsupported=refusal.unsupported)


def read_gift_rows(data: bytes) -> list[RawQuestion]:
    """Parse GIFT text into canonical rows; row numbers are the line each question starts on.

    :raises BankFileError: if the file is not UTF-8 text or holds no question.
    """
    text = decode_text(data, "GIFT")
    rows = [_parse_block(block) for block in _blocks(text)]
    if not rows:
        raise BankFileError("Tệp GIFT không có câu hỏi nào.", "The GIFT file holds no question.")
    return rows
