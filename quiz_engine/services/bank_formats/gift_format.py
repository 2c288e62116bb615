"""Moodle GIFT question banks: multiple choice (one or several correct), true/false,
``$CATEGORY`` (becomes the topic), per-answer and general feedback (the explanation), comments.

Other GIFT question types (short answer, matching, numerical, essay) have no place in a timed
multiple-choice round; they are reported on their line rather than silently dropped.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from quiz_engine.services.bank_formats.errors import BankFileError, decode_text
from quiz_engine.services.question_schema import RawQuestion

_ESCAPED = {"~": "\x00t", "=": "\x00e", "#": "\x00h", "{": "\x00o", "}": "\x00c", ":": "\x00k"}
_FORMAT_RE = re.compile(r"^\[(html|moodle|plain|markdown)\]", re.IGNORECASE)
_TAG_RE = re.compile(r"<[^>]+>")
TRUE_FALSE_CHOICES = ("Đúng", "Sai")


@dataclass
class _Block:
    line: int
    text: str
    topic: str


def _protect(text: str) -> str:
    for char, token in _ESCAPED.items():
        text = text.replace("\\" + char, token)
    return text.replace("\\n", "\n")


def _restore(text: str, is_html: bool = False) -> str:
    for char, token in _ESCAPED.items():
        text = text.replace(token, char)
    if is_html:
        text = html.unescape(_TAG_RE.sub(" ", text))
    return " ".join(text.split())


def _blocks(text: str) -> list[_Block]:
    """Split the file into questions: blank lines outside braces separate them."""
    blocks: list[_Block] = []
    topic = ""
    current: list[str] = []
    start = 0
    depth = 0
    for number, line in enumerate(_protect(text).splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("//") and depth == 0:
            continue
        if stripped.startswith("$CATEGORY:") and depth == 0 and not current:
            path = stripped.split(":", 1)[1].strip()
            topic = path.replace("$course$/", "").strip("/").split("/")[-1].strip()
            continue
        if not stripped and depth == 0:
            if current:
                blocks.append(_Block(start, "\n".join(current), topic))
                current = []
            continue
        if not current:
            start = number
        current.append(line)
        depth += line.count("{") - line.count("}")
    if current:
        blocks.append(_Block(start, "\n".join(current), topic))
    return blocks


def _unsupported(block: _Block, kind_vi: str, kind_en: str) -> RawQuestion:
    return RawQuestion(
        row=block.line,
        error=(
            f"dạng câu hỏi {kind_vi} không dùng được trong vòng thi trắc nghiệm.",
            f"{kind_en} questions cannot be used in a multiple-choice round.",
        ),
    )


def _parse_block(block: _Block) -> RawQuestion:
    body = block.text.strip()
    title = ""
    if body.startswith("::"):
        end = body.find("::", 2)
        if end < 0:
            return RawQuestion(
                row=block.line, error=("thiếu '::' đóng tên câu hỏi.", "the question title lacks its closing '::'.")
            )
        title, body = body[2:end].strip(), body[end + 2 :].strip()
    opening, closing = body.find("{"), body.rfind("}")
    if opening < 0 or closing < opening:
        return RawQuestion(
            row=block.line, error=("thiếu phần đáp án trong dấu { }.", "the answers in { } are missing.")
        )
    is_html = bool(_FORMAT_RE.match(body)) and body[1:5].lower() == "html"
    before = _FORMAT_RE.sub("", body[:opening])
    after = body[closing + 1 :]
    question = _restore(before + (" _____ " + after if after.strip() else ""), is_html)
    answers, _, general = body[opening + 1 : closing].partition("####")
    raw = RawQuestion(row=block.line, cells={"question": question, "topic": block.topic, "code": _code(title)})
    return _fill_answers(raw, block, answers.strip(), _restore(general, is_html), is_html)


def _code(title: str) -> str:
    # A GIFT title becomes the stable code when it is code-shaped; otherwise the text decides.
    return title if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._\-]{0,39}", title) else ""


def _fill_answers(raw: RawQuestion, block: _Block, answers: str, general: str, is_html: bool) -> RawQuestion:
    if not answers:
        return _unsupported(block, "tự luận", "Essay")
    if answers.startswith("#"):
        return _unsupported(block, "số", "Numerical")
    head = answers.split("#", 1)[0].strip().upper()
    if head in ("T", "TRUE", "F", "FALSE"):
        feedback = answers.split("#")[1:]
        raw.choices = list(TRUE_FALSE_CHOICES)
        raw.correct_positions = [0 if head.startswith("T") else 1]
        raw.cells["explanation"] = general or (_restore(feedback[0], is_html) if feedback else "")
        return raw
    tokens = re.findall(r"([=~])([^=~]*)", answers)
    if any("->" in text for _, text in tokens):
        return _unsupported(block, "ghép cặp", "Matching")
    if not any(mark == "~" for mark, _ in tokens):
        return _unsupported(block, "trả lời ngắn", "Short-answer")
    choices, correct, feedbacks = [], [], []
    for mark, text in tokens:
        text, _, feedback = text.partition("#")
        weight = re.match(r"\s*%(-?\d+(?:\.\d+)?)%", text)
        if weight:
            text = text[weight.end() :]
        if mark == "=" or (weight and float(weight.group(1)) > 0):
            correct.append(len(choices))
            feedbacks.append(_restore(feedback, is_html))
        choices.append(_restore(text, is_html))
    raw.choices, raw.correct_positions = choices, correct
    raw.cells["explanation"] = general or next((f for f in feedbacks if f), "")
    return raw


def read_gift_rows(data: bytes) -> list[RawQuestion]:
    """Parse GIFT text into canonical rows; row numbers are the line each question starts on.

    :raises BankFileError: if the file is not UTF-8 text or holds no question.
    """
    text = decode_text(data, "GIFT")
    rows = [_parse_block(block) for block in _blocks(text)]
    if not rows:
        raise BankFileError("Tệp GIFT không có câu hỏi nào.", "The GIFT file holds no question.")
    return rows
