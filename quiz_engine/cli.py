"""``flask --app wsgi quiz ...`` commands: thin wrappers over services (parse, call, commit, echo)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from flask_migrate import upgrade
from sqlalchemy import select

from quiz_engine.extensions import db
from quiz_engine.models import Role, User, utcnow
from quiz_engine.services import accounts, audit, demo
from quiz_engine.services.errors import QuizError

quiz_cli = AppGroup("quiz", help="Quản trị cuộc thi (contest administration).")


def _password(env_var: str, prompt: str) -> str:
    """A password from ``env_var`` or, failing that, a hidden, confirmed prompt."""
    return os.environ.get(env_var) or click.prompt(prompt, hide_input=True, confirmation_prompt=True)


def _fail(exc: QuizError) -> click.ClickException:
    db.session.rollback()
    return click.ClickException(f"{exc.vi} ({exc.en})")


@quiz_cli.command("init")
@click.option("--email", envvar="QUIZ_ADMIN_EMAIL", help="E-mail of the first administrator.")
@click.option("--phone", envvar="QUIZ_ADMIN_PHONE", help="Phone number of the first administrator.")
@click.option("--name", "full_name", default="Quản trị viên", show_default=True)
def init_command(email: str | None, phone: str | None, full_name: str) -> None:
    """Migrate the database and create the first administrator (password: QUIZ_ADMIN_PASSWORD or prompt)."""
    upgrade(directory=current_app.extensions["migrate"].directory)
    click.echo("Đã cập nhật cơ sở dữ liệu lên phiên bản mới nhất (database migrated).")
    if db.session.scalar(select(User.id).where(User.role == Role.ADMIN)) is not None:
        click.echo("Đã có tài khoản quản trị; không tạo thêm (an administrator exists).")
        return
    if not (email or phone):
        email = click.prompt("E-mail của quản trị viên (administrator e-mail)")
    password = _password("QUIZ_ADMIN_PASSWORD", "Mật khẩu (password)")
    try:
        user = accounts.create_user(
            db.session, full_name=full_name, email=email, phone=phone, password=password, role=Role.ADMIN, now=utcnow()
        )
        audit.record(db.session, "user.create", now=utcnow(), target=("user", user.id), role="admin")
    except QuizError as exc:
        raise _fail(exc) from exc
    db.session.commit()
    click.echo(f"Đã tạo quản trị viên {user.login_name} (administrator created).")


@quiz_cli.command("create-user")
@click.option("--email")
@click.option("--phone")
@click.option("--name", "full_name", required=True)
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.CONTESTANT.value, show_default=True)
def create_user_command(email: str | None, phone: str | None, full_name: str, role: str) -> None:
    """Create an account (password: QUIZ_NEW_USER_PASSWORD or prompt)."""
    password = _password("QUIZ_NEW_USER_PASSWORD", "Mật khẩu (password)")
    try:
        user = accounts.create_user(
            db.session, full_name=full_name, email=email, phone=phone, password=password, role=Role(role), now=utcnow()
        )
        audit.record(db.session, "user.create", now=utcnow(), target=("user", user.id), role=role)
    except QuizError as exc:
        raise _fail(exc) from exc
    db.session.commit()
    click.echo(f"Đã tạo tài khoản #{user.id} {user.login_name} với vai trò {role} (account created).")


@quiz_cli.command("demo")
def demo_command() -> None:
    """Load the shipped banks, a sample unit list, a demo organizer and a demo contest (idempotent)."""
    credentials = Path(current_app.instance_path) / "demo-credentials.txt"
    password = credentials.read_text().strip() if credentials.exists() else secrets.token_urlsafe(9)
    try:
        report = demo.load_demo(
            db.session,
            now=utcnow(),
            banks_dir=Path(current_app.config["QUESTION_BANKS_DIR"]),
            organizer_password=password,
            timezone=current_app.config["TIMEZONE"],
        )
    except QuizError as exc:
        raise _fail(exc) from exc
    db.session.commit()
    if report.organizer_created:
        credentials.write_text(password + "\n")
        credentials.chmod(0o600)
    for line in report.lines:
        click.echo(line)
    shown = password if credentials.exists() else "(mật khẩu đã đặt trước đó / set earlier)"
    click.echo(f"Đăng nhập ban tổ chức (organizer login): {demo.DEMO_ORGANIZER_EMAIL} / {shown}")


def init_app(app: Flask) -> None:
    """Register the ``quiz`` command group (Flask-Migrate owns ``db``)."""
    app.cli.add_command(quiz_cli)
