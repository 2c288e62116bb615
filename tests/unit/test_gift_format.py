"""Moodle GIFT files read as Moodle means them: keys worth 100 %, refusals by line, skipping on request."""

from __future__ import annotations

from pathlib import Path

from hypothesis import event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from quiz_engine.models import AuditEvent, Question, utcnow
from quiz_engine.services.catalogue import banks
from quiz_engine.services.catalogue.bank_formats import read_bank_file
from quiz_engine.services.catalogue.question_schema import Problem, QuestionSpec, normalise_text, validate_rows

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "gift"
MOODLE = (FIXTURES / "moodle_docs.gift").read_bytes()
VIETNAMESE = (FIXTURES / "vietnamese.gift").read_bytes()


def _line(data: bytes, marker: str) -> int:
    """The line of the fixture on which ``marker`` first appears (questions are found by their text)."""
    lines = data.decode("utf-8-sig").splitlines()
    return next(number for number, line in enumerate(lines, start=1) if marker in line)


def _read(data: bytes, name: str = "bank.gift") -> tuple[dict[int, QuestionSpec], dict[int, Problem]]:
    specs, problems = validate_rows(read_bank_file(name, data))
    assert len({p.row for p in problems}) == len(problems), "one problem per question in these files"
    return {s.row: s for s in specs}, {p.row: p for p in problems}


def _gift(text: str) -> tuple[dict[int, QuestionSpec], dict[int, Problem]]:
    return _read(text.encode())


# --- Moodle's documentation, construct by construct ----------------------------------------------


def test_multiple_choice_and_missing_word_as_moodle_shows_them() -> None:
    specs, _ = _read(MOODLE)
    tomb = specs[_line(MOODLE, "Who's buried in Grant's tomb?{~Grant")]
    assert tomb.choices == ("Grant", "Jefferson", "no one") and tomb.correct == (2,)
    assert tomb.topic == "GIFT examples" and tomb.code.startswith("Q-")
    gap = specs[_line(MOODLE, "Grant is {~buried")]
    assert gap.text == "Grant is _____ in Grant's tomb." and gap.choices[gap.correct[0]] == "entombed"
    # answers on lines of their own, the sentence going on after the closing brace
    thanksgiving = specs[_line(MOODLE, "The American holiday")]
    assert thanksgiving.text == "The American holiday of Thanksgiving is celebrated on the _____ Thursday of November."
    assert thanksgiving.choices == ("second", "third", "fourth") and thanksgiving.correct == (2,)
    kanji = specs[_line(MOODLE, "Japanese characters originally came from what country? {")]
    assert kanji.choices == ("India", "China", "Korea", "Egypt") and kanji.correct == (1,)


def test_true_false_keeps_the_text_after_the_brace_and_explains_with_the_right_feedback() -> None:
    specs, _ = _read(MOODLE)
    false = specs[_line(MOODLE, "Grant is buried in Grant's tomb.{F}")]
    assert false.choices == ("Đúng", "Sai") and false.correct == (1,)
    assert specs[_line(MOODLE, "The sun rises in the east.{T}")].correct == (0,)
    with_feedback = specs[_line(MOODLE, "New York City.{T#")]
    assert with_feedback.explanation == "Yes: Riverside Park, Manhattan."  # never "No, he was: …"
    plain, moodle = specs[_line(MOODLE, "[plain]")], specs[_line(MOODLE, "[moodle]")]
    assert (plain.text, plain.correct) == ("Is 1 < 2 written as plain text?", (0,))  # {TRUE}
    assert (moodle.text, moodle.correct) == ("Moodle's own format: is this text kept as written?", (1,))  # {FALSE}
    statement, _ = _gift("Hà Nội là thủ đô {T} của Việt Nam.\n\nTrái Đất quay quanh Mặt Trời {TRUE}.\n")
    assert [s.text for s in statement.values()] == ["Hà Nội là thủ đô của Việt Nam.", "Trái Đất quay quanh Mặt Trời."]


def test_unsupported_types_are_reported_by_line_and_type() -> None:
    _, problems = _read(MOODLE)
    expected = {
        "Who's buried in Grant's tomb?{=no one": "trả lời ngắn (short answer)",
        "Two plus two equals {=four": "điền từ (missing word, trả lời ngắn)",
        "Match the following countries": "ghép đôi (matching)",
        "{#1822:5}": "số (numerical)",
        "{#3.141..3.142}": "số (numerical)",
        "In which year was Grant born? {#": "số (numerical)",
        "Dag Hammarskjöld. {}": "tự luận (essay)",
        "You can use your pencil": "mô tả (description",
        "::Kanji Origins::": "trả lời ngắn (short answer)",
        "Who is buried in Grant's tomb?{": "trả lời ngắn (short answer)",
        "::Jesus' hometown, typed::": "trả lời ngắn (short answer)",
    }
    for marker, kind in expected.items():
        problem = problems[_line(MOODLE, marker)]
        assert problem.unsupported and problem.describe().startswith(f"Dòng {problem.row}: câu hỏi dạng {kind}")
        assert problem.describe("en").startswith(f"Row {problem.row}: ") and "not supported" in problem.en
    matching = problems[_line(MOODLE, "Match the following countries")]
    assert matching.describe() == f"Dòng {matching.row}: câu hỏi dạng ghép đôi (matching) chưa được hỗ trợ."
    assert matching.describe("en") == f"Row {matching.row}: matching questions are not supported."


def test_partial_credit_is_refused_with_its_line_and_reason() -> None:
    specs, problems = _read(MOODLE)
    hometown = problems[_line(MOODLE, "::Jesus' hometown::")]
    assert hometown.unsupported
    assert hometown.describe().startswith(
        f"Dòng {hometown.row}: câu hỏi cho điểm từng phần ('Bethlehem' 25%, 'Galilee' 50%): "
        "vòng thi chỉ chấm đúng hoặc sai"
    )
    assert "partial credit" in hometown.en and "would change its meaning" in hometown.en
    for marker in ("Difficult question.", "Which are odd numbers?"):
        assert "điểm từng phần" in problems[_line(MOODLE, marker)].vi
    assert "nhiều phương án cùng đúng 100%" in problems[_line(MOODLE, "Which are even numbers?")].vi
    # what stays: one 100 % answer, the others worth nothing or less
    assert specs[_line(MOODLE, "Which number is prime?")].correct == (0,)
    assert specs[_line(MOODLE, "Pick the capital.")].correct == (0,)


def test_multiple_answers_whose_weights_make_100_are_all_keys() -> None:
    specs, _ = _read(MOODLE)
    both = specs[_line(MOODLE, "What two people are entombed")]
    assert both.choices == ("No one", "Grant", "Grant's wife", "Grant's father") and both.correct == (1, 2)
    thirds, _ = _gift("Ba số lẻ? {~%33.33333%1 ~%33.33333%3 ~%33.33333%5 ~%-100%2}")
    assert thirds[1].correct == (0, 1, 2)


def test_feedback_explains_only_from_the_general_or_the_keys_own_feedback() -> None:
    specs, _ = _read(MOODLE)
    assert specs[_line(MOODLE, "What's the answer to this")].explanation == "Very good!"
    planet = specs[_line(MOODLE, "What is the largest planet")]
    assert planet.explanation == "Jupiter's mass is more than twice that of all the other planets together."
    assert specs[_line(MOODLE, "What two people are entombed")].explanation == ""
    wrong_only, _ = _gift("Câu? {=Đúng ~Sai#Phản hồi cho câu sai.}")
    assert wrong_only[1].explanation == ""


def test_every_escape_and_format_tag() -> None:
    specs, problems = _read(MOODLE)
    equals = specs[_line(MOODLE, "Which answer equals 5?")]
    assert equals.choices == ("= 2 + 2", "= 2 + 3", "= 2 + 4") and equals.correct == (1,)
    control = specs[_line(MOODLE, "::GIFT Control Characters::")]
    assert control.choices == ("~", "=", "#", "{", "}", "\\") and control.correct == (5,)
    assert control.explanation == (
        "Correct! \\ (backslash) is not a control character. BUT, it is used to escape the control characters."
    )
    escapes = specs[_line(MOODLE, "::Time\\: escapes::")]
    assert escapes.code == "Time-escapes"
    assert escapes.text == "In GIFT, what does \\n write?\nAnd what does : write?"  # "\\n" is not "\n"
    assert specs[_line(MOODLE, "[markdown]")].text == "Who's buried in **Grant's tomb**?"
    html = specs[_line(MOODLE, "::Grant's tomb::[html]")]
    assert (html.code, html.text, html.choices[0]) == ("Grant-s-tomb", "Who is buried in Grant's tomb?", "no one")
    image = problems[_line(MOODLE, "Which animal is shown?")]
    assert image.unsupported and "<img>" in image.vi
    superscript, _ = _gift("[html]x<sup>2</sup> = 4 khi x bằng? {=2 ~3}")
    assert superscript[1].text == "x^2 = 4 khi x bằng?"


def test_names_with_spaces_become_codes_and_categories_topics() -> None:
    specs, _ = _read(MOODLE)
    assert specs[_line(MOODLE, "::Thanksgiving Date::")].code == "Thanksgiving-Date"
    assert specs[_line(MOODLE, "Which number is prime?")].topic == "Weights/Keys"  # "//" is a "/" in a name
    long_name = "Một tên câu hỏi rất dài, dài hơn bốn mươi ký tự cho phép của mã"
    named, _ = _gift(f"::{long_name}::Câu một? {{=a ~b}}\n\n::漢字::Câu hai? {{=a ~b}}\n")
    first, second = named[1].code, named[3].code
    assert len(first) <= 40 and first.startswith("Mot-ten-cau-hoi-rat-dai") and second.startswith("T-")
    again, _ = _gift(f"::{long_name}::Câu một? {{=a ~b}}\n")
    assert again[1].code == first  # the same name gives the same code on every import


def test_comments_blank_lines_and_line_continuations() -> None:
    text = (
        "// chú thích\n"
        "$CATEGORY: Chủ đề A\n"
        "\n\n"
        "::Q1::Câu hỏi\n"
        "trên hai dòng? {\n"
        "  // chú thích giữa các phương án\n"
        "  =Có\n"
        "\n"
        "  ~Không\n"
        "}\n"
        "\n\n\n"
        "::Q2::Câu thứ hai? {=a ~b}"
    )
    specs, problems = _gift(text)
    assert problems == {}
    assert [(s.row, s.code, s.text, s.choices, s.topic) for s in specs.values()] == [
        (5, "Q1", "Câu hỏi trên hai dòng?", ("Có", "Không"), "Chủ đề A"),
        (15, "Q2", "Câu thứ hai?", ("a", "b"), "Chủ đề A"),
    ]


def test_mistakes_are_errors_that_cannot_be_skipped() -> None:
    cases = {
        "Thiếu ngoặc đóng? {=a ~b\n": "dấu { và } không khớp",
        "::Tên chưa đóng Câu? {=a ~b}\n": "thiếu '::'",
        "Câu một? {=a ~b}\nCâu hai? {=c ~d}\n": "cách nhau một dòng trống",
        "Phương án rỗng? {=a ~ ~b}\n": "phương án thứ 2 để trống",
        "Chữ trước? {lạc =a ~b}\n": "đứng trước phương án đầu tiên",
        "Trọng số? {=a ~%150%b}\n": "ngoài khoảng -100% đến 100%",
        "Không có đáp án đúng? {~a ~b}\n": "không có đáp án đúng",
    }
    for text, words in cases.items():
        _, problems = _gift(text)
        assert len(problems) == 1 and words in problems[1].vi and not problems[1].unsupported, text


def test_repeated_questions_are_named_by_their_text_and_lines() -> None:
    text = (
        "Who's buried in Grant's tomb? {~Grant =no one}\n\n"
        "::Same name::Câu một? {=a ~b}\n\n"
        "who's  BURIED in Grant's tomb? {~Grant =no one}\n\n"
        "::Same name::Câu hai? {=a ~b}\n"
    )
    _, problems = _gift(text)
    assert problems[5].describe() == "Dòng 5: câu hỏi trùng với dòng 1: 'who's BURIED in Grant's tomb?'"
    assert problems[5].describe("en") == "Row 5: the question duplicates row 1: 'who's BURIED in Grant's tomb?'"
    assert "Q-" not in problems[5].vi
    assert (
        problems[7].describe() == "Dòng 7, cột Mã câu hỏi: tên câu hỏi 'Same name' (mã 'Same-name') trùng với dòng 3."
    )
    long = "Một câu hỏi rất dài " * 8
    _, problems = _gift(f"{long}? {{=a ~b}}\n\n{long}? {{=a ~b}}\n")
    assert problems[3].vi.endswith("…'") and len(problems[3].vi) < 100


def test_vietnamese_bank_with_bom_and_windows_line_endings() -> None:
    assert VIETNAMESE.startswith(b"\xef\xbb\xbf") and b"\r\n" in VIETNAMESE
    specs, problems = _read(VIETNAMESE)
    assert _read(VIETNAMESE[3:].replace(b"\r\n", b"\n")) == (specs, problems)
    first = specs[_line(VIETNAMESE, "::CDS-01::")]
    assert (first.code, first.topic, first.correct) == ("CDS-01", "Chuyển đổi số", (0,))
    assert first.explanation == "Đúng: theo Quyết định 505/QĐ-TTg."
    named = specs[_line(VIETNAMESE, "::Định danh điện tử::")]
    assert named.code == "Dinh-danh-dien-tu" and named.text == "Ứng dụng định danh điện tử quốc gia là _____."
    both = specs[_line(VIETNAMESE, "::CDS 03::")]
    assert both.code == "CDS-03" and both.correct == (0, 1) and both.explanation.startswith("Theo Đề án 06")
    statement = specs[_line(VIETNAMESE, "Đề án 06 do Bộ Công an")]
    assert statement.text == "Đề án 06 do Bộ Công an chủ trì thực hiện." and statement.explanation.startswith("Đúng")
    escaped = specs[_line(VIETNAMESE, "Biểu thức")]
    assert escaped.text == "Biểu thức {a} = b có dấu \\ và : không?" and escaped.explanation == ""
    resolution = specs[_line(VIETNAMESE, "::NQ57-01::")]
    assert resolution.topic == "Nghị quyết 57" and resolution.text == "Nghị quyết 57-NQ/TW bàn về lĩnh vực nào?"
    assert resolution.explanation == "Nghị quyết 57-NQ/TW ngày 22/12/2024 của Bộ Chính trị."
    assert [(p.row, p.unsupported) for p in problems.values()] == [(_line(VIETNAMESE, "Hãy nêu ba lợi ích"), True)]


# --- importing: all or nothing, or skipping the unsupported questions ----------------------------


def test_import_without_skipping_writes_nothing(session) -> None:  # type: ignore[no-untyped-def]
    bank = banks.get_or_create_bank(session, "moodle", "Moodle")
    report = banks.import_file(session, bank, "moodle.gift", MOODLE, now=utcnow())
    assert not report.committed and report.skippable and report.skipped == []
    assert session.scalar(select(func.count(Question.id))) == 0


def test_import_skipping_unsupported_writes_the_rest_and_lists_the_skipped(session) -> None:  # type: ignore[no-untyped-def]
    specs, problems = _read(MOODLE)
    bank = banks.get_or_create_bank(session, "moodle", "Moodle")
    report = banks.import_and_record(session, bank, "moodle.gift", MOODLE, now=utcnow(), skip_unsupported=True)
    assert report.committed and report.problems == [] and report.added == len(specs) == 20
    assert sorted(p.row for p in report.skipped) == sorted(problems) and len(report.skipped) == 16
    stored = {q.code: q.current_version for q in session.scalars(select(Question))}
    assert [c.text for c in stored["GIFT-Control-Characters"].choices if c.is_correct] == ["\\"]
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "bank.import"))
    assert event.details["skipped"] == 16 and event.details["skipped_rows"] == [p.row for p in report.skipped]


def test_skipping_still_stops_at_a_mistake_and_at_a_file_of_nothing_else(session) -> None:  # type: ignore[no-untyped-def]
    bank = banks.get_or_create_bank(session, "b", "B")
    broken = MOODLE + "\n\nThiếu ngoặc đóng? {=a ~b\n".encode()
    report = banks.import_file(session, bank, "b.gift", broken, now=utcnow(), skip_unsupported=True)
    assert not report.committed and [p.unsupported for p in report.problems] == [False]
    essays = "Câu một? {}\n\nCâu hai? {#3:1}\n".encode()
    report = banks.import_file(session, bank, "b.gift", essays, now=utcnow(), skip_unsupported=True)
    assert not report.committed and len(report.skipped) == 2
    assert report.problems[0].vi.startswith("Tệp không có câu hỏi nào nhập được")
    assert session.scalar(select(func.count(Question.id))) == 0


# --- property: no key other than the answers worth 100 % -----------------------------------------

# Plain wrong answers and halves come often, so that clean questions (one key, or two halves) do too.
_MARKS = ["=", "=%100%", "~%100%", *["~"] * 4, "~%0%", "~%-50%", "~%-100%", *["~%50%"] * 3, "~%25%", "~%33.33333%"]
_ALPHABET = "abcxyzăđữẮ019 .,?!~=#{}:\\"


def _escape(text: str) -> str:
    text = text.replace("\\", "\\\\")
    for char in "~=#{}:":
        text = text.replace(char, "\\" + char)
    return text


def _weight(mark: str) -> float:
    return float(mark.strip("=~%")) if "%" in mark else (100.0 if mark == "=" else 0.0)


_answer = st.tuples(
    st.sampled_from(_MARKS),
    st.text(_ALPHABET, min_size=1, max_size=12),
    st.one_of(st.just(""), st.text(_ALPHABET, min_size=1, max_size=12)),
)


@settings(max_examples=500, deadline=None)
@given(answers=st.lists(_answer, min_size=2, max_size=6), general=st.one_of(st.just(""), st.text(_ALPHABET)))
def test_no_imported_key_other_than_the_answers_worth_100_percent(
    answers: list[tuple[str, str, str]], general: str
) -> None:
    # Each text and feedback ends with its position, so that none repeats another.
    texts = [f"{text} {i}" for i, (_, text, _) in enumerate(answers)]
    feedbacks = [f"{feedback} fb{i}" if feedback else "" for i, (_, _, feedback) in enumerate(answers)]
    body = " ".join(
        f"{mark}{_escape(text)}" + (f"#{_escape(feedback)}" if feedback else "")
        for (mark, _, _), text, feedback in zip(answers, texts, feedbacks, strict=True)
    )
    general_part = f" ####{_escape(general)}" if general.strip() else ""
    specs, problems = _gift(f"::P1::Câu hỏi thử? {{{body}{general_part}}}\n")
    weights = [_weight(mark) for mark, _, _ in answers]
    full = [i for i, w in enumerate(weights) if w == 100]
    positive = [i for i, w in enumerate(weights) if w > 0]
    multichoice = any(mark.startswith("~") for mark, _, _ in answers)
    single = len(full) == 1 and positive == full
    multiple = (
        not full
        and len(positive) > 1
        and abs(sum(weights[i] for i in positive) - 100) <= 0.1
        and not any(mark.startswith("=") for mark, _, _ in answers)
    )
    event("refused" if not specs else "multiple answers" if multiple else "one key")
    if not specs:
        assert not (multichoice and (single or multiple)), problems  # a clean question is never refused
        return
    spec = specs[1]
    assert list(spec.correct) == (full if full else positive)  # the 100 % answers, and only them
    assert single or multiple
    assert [normalise_text(c) for c in spec.choices] == [normalise_text(t) for t in texts]
    wrong = {normalise_text(feedbacks[i]) for i in range(len(answers)) if i not in spec.correct and feedbacks[i]}
    assert not spec.explanation or normalise_text(spec.explanation) not in wrong
    if general.strip():
        assert normalise_text(spec.explanation) == normalise_text(general)
    elif len(spec.correct) == 1:
        assert normalise_text(spec.explanation) == normalise_text(feedbacks[spec.correct[0]])
    else:
        assert spec.explanation == ""
