"""Importing questions: validation of the canonical schema, all-or-nothing, upsert, versions."""

from sqlalchemy import func, select

from quiz_engine.models import Choice, Difficulty, Question, QuestionVersion, utcnow
from quiz_engine.services.catalogue import banks
from quiz_engine.services.catalogue.bank_formats.csv_format import read_csv_rows
from quiz_engine.services.catalogue.question_schema import validate_rows

HEADER = (
    "Mã câu hỏi,Chủ đề,Mức độ,Câu hỏi,Phương án A,Phương án B,Phương án C,Phương án D,Đáp án đúng,Giải thích,Nguồn\n"
)
GOOD = (
    HEADER
    + 'Q1,Chung,dễ,"Ngày Chuyển đổi số quốc gia là ngày nào?",10/10,1/1,2/9,19/5,A,Giải thích 1,Nguồn 1\n'
    + 'Q2,Chung,khó,"Câu hỏi thứ hai?",Một,Hai,Ba,Bốn,C,Giải thích 2,Nguồn 2\n'
)


def _specs(text: str):  # type: ignore[no-untyped-def]
    return validate_rows(read_csv_rows(text.encode()))


def test_validate_rows_reads_every_column() -> None:
    specs, problems = _specs(GOOD)
    assert problems == []
    first = specs[0]
    assert (first.code, first.topic, first.difficulty) == ("Q1", "Chung", Difficulty.EASY)
    assert first.choices == ("10/10", "1/1", "2/9", "19/5") and first.correct == (0,)
    assert specs[1].difficulty is Difficulty.HARD and specs[1].correct == (2,)


def test_validate_rows_reports_every_problem_with_row_and_column() -> None:
    text = (
        HEADER
        + 'Q1,Chung,rất khó,"",A,B,,D,E,,\n'  # unknown difficulty, empty question, gap, letter E
        + 'Q2,Chung,dễ,"Trùng?",X,x,Y,Z,B,,\n'  # duplicate choices
        + 'Q3,Chung,dễ,"Thiếu đáp án?",X,Y,Z,W,,,\n'
        + 'Q4,Chung,dễ,"  trùng?  ",P,Q,R,S,A,,\n'  # duplicate of Q2's question after normalising? (Q2 is invalid)
        + 'Q4,Chung,dễ,"Mã trùng",P,Q,R,S,A,,\n'
    )
    specs, problems = _specs(text)
    described = [p.describe() for p in problems]
    assert any(d.startswith("Dòng 2, cột Mức độ") for d in described)
    assert any(d.startswith("Dòng 2, cột Câu hỏi") for d in described)
    assert any(d.startswith("Dòng 2, cột Phương án C") for d in described)
    assert any(d.startswith("Dòng 2, cột Đáp án đúng") for d in described)
    assert any(d.startswith("Dòng 3, cột Phương án B") and "trùng" in d for d in described)
    assert any(d.startswith("Dòng 4, cột Đáp án đúng") and "thiếu" in d for d in described)
    assert any(d.startswith("Dòng 6, cột Mã câu hỏi") for d in described)
    assert all(p.en for p in problems)
    assert [s.code for s in specs] == ["Q4"]


def test_import_is_all_or_nothing_when_the_last_row_is_bad(session) -> None:
    bank = banks.get_or_create_bank(session, "b", "B")
    specs, problems = _specs(GOOD + 'Q3,Chung,dễ,"Câu cuối hỏng?",A,B,C,D,F,,\n')
    report = banks.import_questions(session, bank, specs, now=utcnow(), problems=problems)
    assert not report.ok and not report.committed
    assert session.scalar(select(func.count(Question.id))) == 0


def test_reimport_changes_nothing_and_an_edit_adds_a_version(session) -> None:
    bank = banks.get_or_create_bank(session, "b", "B")
    first = banks.import_questions(session, bank, _specs(GOOD)[0], now=utcnow())
    assert (first.added, first.updated, first.unchanged) == (2, 0, 0)
    again = banks.import_questions(session, bank, _specs(GOOD)[0], now=utcnow())
    assert (again.added, again.updated, again.unchanged) == (0, 0, 2)
    assert session.scalar(select(func.count(QuestionVersion.id))) == 2

    old_version = session.scalar(select(Question).where(Question.code == "Q2")).current_version
    old_version_id = old_version.id
    edited = banks.import_questions(session, bank, _specs(GOOD.replace("Bốn,C", "Bốn,D"))[0], now=utcnow())
    assert (edited.added, edited.updated, edited.unchanged) == (0, 1, 1)
    q2 = session.scalar(select(Question).where(Question.code == "Q2"))
    assert q2.current_version.number == 2 and q2.current_version.correct_positions == [3]
    old = session.get(QuestionVersion, old_version_id)
    assert old.correct_positions == [2]  # what a past paper was scored against is untouched
    assert session.scalar(select(func.count(Choice.id))) == 12


def test_import_refuses_a_question_already_in_the_bank_under_another_code(session) -> None:
    bank = banks.get_or_create_bank(session, "b", "B")
    banks.import_questions(session, bank, _specs(GOOD)[0], now=utcnow())
    clash = HEADER + 'NEW,Chung,dễ,"ngày chuyển đổi số   quốc gia là ngày nào?",10/10,1/1,2/9,19/5,A,,\n'
    report = banks.import_questions(session, bank, _specs(clash)[0], now=utcnow())
    assert not report.ok and "Q1" in report.problems[0].vi
    assert session.scalar(select(func.count(Question.id))) == 2


def test_dry_run_reports_without_writing(session) -> None:
    bank = banks.get_or_create_bank(session, "b", "B")
    report = banks.import_questions(session, bank, _specs(GOOD)[0], now=utcnow(), dry_run=True)
    assert report.added == 2 and not report.committed
    assert session.scalar(select(func.count(Question.id))) == 0


def test_csv_reader_accepts_bom_semicolons_and_english_headers() -> None:
    text = "\ufeffcode;topic;difficulty;question;choice_a;choice_b;correct\nE1;T;easy;Q?;Yes;No;b\n"
    specs, problems = _specs(text)
    assert problems == [] and specs[0].correct == (1,) and specs[0].choices == ("Yes", "No")
