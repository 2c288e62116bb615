"""`quiz import-bank --skip-unsupported` on a Moodle GIFT file, and `quiz init` without a terminal."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select, text

from quiz_engine.extensions import db
from quiz_engine.models import AuditEvent, Question, User

MOODLE = Path(__file__).resolve().parent / "fixtures" / "gift" / "moodle_docs.gift"


def _line(marker: str) -> int:
    return next(n for n, line in enumerate(MOODLE.read_text().splitlines(), 1) if marker in line)


def _questions(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Question.id)))


def test_unsupported_questions_stop_the_import_and_name_the_option(app: Flask, runner) -> None:
    result = runner.invoke(args=["quiz", "import-bank", str(MOODLE), "--bank", "moodle"])
    assert result.exit_code == 1
    line = _line("Match the following")
    assert (
        f"Dòng {line}: câu hỏi dạng ghép đôi (matching) chưa được hỗ trợ. / "
        f"Row {line}: matching questions are not supported." in result.output
    )
    assert "Dùng --skip-unsupported để bỏ qua các câu chưa hỗ trợ" in result.output
    assert "Không ghi gì vì tệp có lỗi" in result.output and "lỗi 16, bỏ qua 0" in result.output
    assert _questions(app) == 0


def test_skip_unsupported_imports_the_rest_and_lists_every_skipped_question(app: Flask, runner) -> None:
    dry = runner.invoke(
        args=["quiz", "import-bank", str(MOODLE), "--bank", "moodle", "--skip-unsupported", "--dry-run"]
    )
    assert dry.exit_code == 0, dry.output
    assert "Kiểm tra xong, chưa ghi gì. Thêm 20" in dry.output and _questions(app) == 0
    result = runner.invoke(args=["quiz", "import-bank", str(MOODLE), "--bank", "moodle", "--skip-unsupported"])
    assert result.exit_code == 0, result.output
    skipped = [line for line in result.output.splitlines() if line.startswith("Bỏ qua (skipped): Dòng ")]
    assert len(skipped) == 16
    hometown = _line("::Jesus' hometown::")
    assert any(s.startswith(f"Bỏ qua (skipped): Dòng {hometown}: câu hỏi cho điểm từng phần") for s in skipped)
    essay = _line("Dag Hammarskjöld")
    assert f"Bỏ qua (skipped): Dòng {essay}: câu hỏi dạng tự luận (essay) chưa được hỗ trợ." in result.output
    assert "Thêm 20, cập nhật 0, giữ nguyên 0, lỗi 0, bỏ qua 16" in result.output
    assert _questions(app) == 20
    with app.app_context():
        details = db.session.scalar(select(AuditEvent.details).where(AuditEvent.action == "bank.import"))
        assert (details["added"], details["skipped"], details["file"]) == (20, 16, "moodle_docs.gift")


def test_skip_unsupported_does_not_skip_a_mistake(app: Flask, runner, tmp_path: Path) -> None:
    broken = tmp_path / "broken.gift"
    broken.write_bytes(MOODLE.read_bytes() + "\n\nThiếu ngoặc đóng? {=a ~b\n".encode())
    result = runner.invoke(args=["quiz", "import-bank", str(broken), "--bank", "moodle", "--skip-unsupported"])
    assert result.exit_code == 1 and "dấu { và } không khớp nhau" in result.output
    assert _questions(app) == 0


def test_init_without_a_terminal_asks_for_email_or_phone(app: Flask, runner, monkeypatch: pytest.MonkeyPatch) -> None:
    with app.app_context():
        db.drop_all()
        db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.session.commit()
    for name in ("QUIZ_ADMIN_EMAIL", "QUIZ_ADMIN_PHONE", "QUIZ_ADMIN_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    result = runner.invoke(args=["quiz", "init"], input="")  # CliRunner's stdin is not a terminal
    assert result.exit_code == 1
    assert "Cần --email hoặc --phone khi không có bàn phím (no terminal: pass --email or --phone" in result.output
    assert "E-mail của quản trị viên" not in result.output  # no prompt was tried
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 0
