"""`flask --app wsgi quiz ...` commands: what they print and what they leave in the database."""

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, inspect, select, text

from quiz_engine.extensions import db
from quiz_engine.models import AuditEvent, Contest, Question, Role, Round, Unit, User
from quiz_engine.services.demo import DEMO_ORGANIZER_EMAIL
from tests.bank_files import ALL_FORMATS
from tests.banks_fixture import write_catalog


def _empty_database(app: Flask) -> None:
    with app.app_context():
        db.drop_all()
        db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.session.commit()


def test_init_migrates_and_creates_the_admin_from_a_hidden_prompt(app: Flask, runner) -> None:
    _empty_database(app)
    result = runner.invoke(args=["quiz", "init", "--email", "Admin@Example.VN"], input="bi-mat-123\nbi-mat-123\n")
    assert result.exit_code == 0, result.output
    assert "bi-mat-123" not in result.output
    assert "Đã tạo quản trị viên admin@example.vn" in result.output
    with app.app_context():
        assert "alembic_version" in inspect(db.engine).get_table_names()
        admin = db.session.scalar(select(User).where(User.role == Role.ADMIN))
        assert admin.email == "admin@example.vn"
    again = runner.invoke(args=["quiz", "init"])
    assert again.exit_code == 0 and "Đã có tài khoản quản trị" in again.output
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 1


def test_init_takes_the_password_from_the_environment(app: Flask, runner, monkeypatch: pytest.MonkeyPatch) -> None:
    _empty_database(app)
    monkeypatch.setenv("QUIZ_ADMIN_PASSWORD", "tu-bien-moi-truong")
    monkeypatch.setenv("QUIZ_ADMIN_PHONE", "0912345678")
    result = runner.invoke(args=["quiz", "init"])
    assert result.exit_code == 0, result.output
    assert "+84912345678" in result.output and "tu-bien-moi-truong" not in result.output


def test_init_refuses_a_short_password_and_writes_no_account(app: Flask, runner, monkeypatch) -> None:
    _empty_database(app)
    monkeypatch.setenv("QUIZ_ADMIN_PASSWORD", "ngan")
    result = runner.invoke(args=["quiz", "init", "--email", "a@example.vn"])
    assert result.exit_code == 1 and "ít nhất 8 ký tự" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 0


def test_create_user(app: Flask, runner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUIZ_NEW_USER_PASSWORD", "mat-khau-btc-1")
    result = runner.invoke(
        args=["quiz", "create-user", "--email", "btc@example.vn", "--name", "Ban tổ chức", "--role", "organizer"]
    )
    assert result.exit_code == 0, result.output
    assert "với vai trò organizer" in result.output
    duplicate = runner.invoke(args=["quiz", "create-user", "--email", "BTC@example.vn", "--name", "X"])
    assert duplicate.exit_code == 1 and "đã có tài khoản" in duplicate.output
    with app.app_context():
        user = db.session.scalar(select(User))
        assert user.role is Role.ORGANIZER and user.full_name == "Ban tổ chức"
        assert db.session.scalar(select(AuditEvent.action)) == "user.create"


def test_demo_is_idempotent_and_prints_the_organizer_login(app: Flask, runner, tmp_path: Path) -> None:
    app.config["QUESTION_BANKS_DIR"] = str(write_catalog(tmp_path / "banks"))
    first = runner.invoke(args=["quiz", "demo"])
    assert first.exit_code == 0, first.output
    password = (Path(app.instance_path) / "demo-credentials.txt").read_text().strip()
    assert f"{DEMO_ORGANIZER_EMAIL} / {password}" in first.output
    assert "thêm 8, cập nhật 0, giữ nguyên 0" in first.output
    second = runner.invoke(args=["quiz", "demo"])
    assert second.exit_code == 0, second.output
    assert "thêm 0, cập nhật 0, giữ nguyên 8" in second.output and "Cuộc thi demo đã có sẵn" in second.output
    assert f"{DEMO_ORGANIZER_EMAIL} / {password}" in second.output
    with app.app_context():
        assert db.session.scalar(select(func.count(Contest.id))) == 1
        assert db.session.scalar(select(func.count(Round.id))) == 3
        assert db.session.scalar(select(func.count(Question.id))) == 16
        assert db.session.scalar(select(func.count(Unit.id))) == 16
        assert all(u.is_sample for u in db.session.scalars(select(Unit)))
        organizer = db.session.scalar(select(User).where(User.email == DEMO_ORGANIZER_EMAIL))
        assert organizer.role is Role.ORGANIZER
    client = app.test_client()
    response = client.post("/auth/login", data={"login": DEMO_ORGANIZER_EMAIL, "password": password})
    assert response.status_code == 302


BANK_CSV = (
    "Mã câu hỏi,Chủ đề,Mức độ,Câu hỏi,Phương án A,Phương án B,Đáp án đúng\n"
    "C1,Chung,dễ,Câu một?,Có,Không,A\n"
    "C2,Chung,khó,Câu hai?,Có,Không,B\n"
)


def test_import_bank_dry_run_then_commit_then_reimport(app: Flask, runner, tmp_path: Path) -> None:
    path = tmp_path / "bank.csv"
    path.write_text(BANK_CSV, encoding="utf-8")
    dry = runner.invoke(args=["quiz", "import-bank", str(path), "--bank", "thu", "--dry-run"])
    assert dry.exit_code == 0 and "chưa ghi gì" in dry.output and "Thêm 2" in dry.output
    with app.app_context():
        assert db.session.scalar(select(func.count(Question.id))) == 0
    done = runner.invoke(args=["quiz", "import-bank", str(path), "--bank", "thu", "--title", "Thử"])
    assert done.exit_code == 0 and "Thêm 2, cập nhật 0, giữ nguyên 0, lỗi 0" in done.output
    again = runner.invoke(args=["quiz", "import-bank", str(path), "--bank", "thu"])
    assert "Thêm 0, cập nhật 0, giữ nguyên 2" in again.output
    with app.app_context():
        assert db.session.scalar(select(func.count(Question.id))) == 2
        assert db.session.scalar(select(AuditEvent.details).where(AuditEvent.action == "bank.import"))["added"] == 2


def test_import_bank_with_errors_exits_1_and_writes_nothing(app: Flask, runner, tmp_path: Path) -> None:
    path = tmp_path / "bank.csv"
    path.write_text(BANK_CSV + "C3,Chung,dễ,Câu ba?,Có,Không,D\n", encoding="utf-8")
    result = runner.invoke(args=["quiz", "import-bank", str(path), "--bank", "thu"])
    assert result.exit_code == 1
    assert "Dòng 4, cột Đáp án đúng: đáp án D vượt quá số phương án (2)" in result.output
    assert "Row 4, column Đáp án đúng: answer D is beyond the 2 choices" in result.output
    assert "Không ghi gì vì tệp có lỗi" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count(Question.id))) == 0


def test_export_bank_and_template(app: Flask, runner, tmp_path: Path) -> None:
    path = tmp_path / "bank.csv"
    path.write_text(BANK_CSV, encoding="utf-8")
    runner.invoke(args=["quiz", "import-bank", str(path), "--bank", "thu"])
    out = tmp_path / "export.xlsx"
    result = runner.invoke(args=["quiz", "export-bank", "thu", "-o", str(out)])
    assert result.exit_code == 0 and "Đã xuất 2 câu hỏi" in result.output
    reimport = runner.invoke(args=["quiz", "import-bank", str(out), "--bank", "ban-sao"])
    assert "Thêm 2, cập nhật 0, giữ nguyên 0, lỗi 0" in reimport.output
    assert runner.invoke(args=["quiz", "export-bank", "khong-co", "-o", str(out)]).exit_code == 1
    template = tmp_path / "mau.xlsx"
    assert runner.invoke(args=["quiz", "bank-template", "-o", str(template)]).exit_code == 0
    assert template.read_bytes().startswith(b"PK")


@pytest.mark.parametrize("filename", list(ALL_FORMATS))
def test_every_format_imports_through_the_cli(app: Flask, runner, tmp_path: Path, filename: str) -> None:
    path = tmp_path / filename
    path.write_bytes(ALL_FORMATS[filename])
    result = runner.invoke(args=["quiz", "import-bank", str(path), "--bank", "dinh-dang"])
    assert result.exit_code == 0, result.output
    assert "Thêm 2, cập nhật 0, giữ nguyên 0, lỗi 0" in result.output
    again = runner.invoke(args=["quiz", "import-bank", str(path), "--bank", "dinh-dang"])
    assert "Thêm 0, cập nhật 0, giữ nguyên 2" in again.output
