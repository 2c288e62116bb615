"""``flask --app wsgi quiz ...`` commands: thin wrappers over services (parse, call, commit, echo)."""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click
import redis
from flask import Flask, current_app
from flask_migrate import upgrade
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from quiz_engine import contest_cli, privacy_cli  # noqa: F401  (their commands join the quiz group)
from quiz_engine.cli_group import quiz_cli
from quiz_engine.extensions import db, redis_client
from quiz_engine.models import QuestionBank, Role, Round, User, utcnow
from quiz_engine.services import demo
from quiz_engine.services.catalogue import bank_workbooks, banks
from quiz_engine.services.errors import QuizError
from quiz_engine.services.organising import units
from quiz_engine.services.people import accounts, audit
from quiz_engine.services.results import export_jobs, exports, question_statistics, rankings, scoring
from quiz_engine.services.taking import attempts, paper_pool
from quiz_engine.web import attempt_flow, deps


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
        if sys.stdin is None or not sys.stdin.isatty():  # a prompt would read end-of-file and abort
            raise click.ClickException(
                "Cần --email hoặc --phone khi không có bàn phím "
                "(no terminal: pass --email or --phone, or set QUIZ_ADMIN_EMAIL or QUIZ_ADMIN_PHONE)."
            )
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
    # Letters and digits only, without look-alikes (0/O, 1/l/I): it is read off a terminal and typed.
    alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    fresh = "".join(secrets.choice(alphabet) for _ in range(14))
    password = credentials.read_text().strip() if credentials.exists() else fresh
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


class _ProgressBar:
    """A click progress bar fed by a service's :class:`banks.ImportProgress` calls."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar: Any = None

    def start(self, total: int) -> None:
        self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
        self.bar.__enter__()

    def advance(self, count: int) -> None:
        self.bar.update(count)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


@quiz_cli.command("import-bank")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--bank", "slug", required=True, help="Mã ngân hàng (bank slug); created if new.")
@click.option("--title", help="Tên ngân hàng mới (title of a new bank); defaults to the slug.")
@click.option("--dry-run", is_flag=True, help="Chỉ kiểm tra, không ghi (validate only).")
@click.option(
    "--skip-unsupported",
    is_flag=True,
    help="Bỏ qua các câu chưa hỗ trợ và nhập các câu còn lại (skip unsupported questions, listing each).",
)
def import_bank_command(path: Path, slug: str, title: str | None, dry_run: bool, skip_unsupported: bool) -> None:
    """Import questions from .xlsx, .csv, GIFT or Aiken; all or nothing, exit 1 on any problem."""
    bank = banks.get_or_create_bank(db.session, slug, title)
    progress = _ProgressBar("Đang nhập (importing)")
    try:
        report = banks.import_and_record(
            db.session,
            bank,
            path.name,
            path.read_bytes(),
            now=utcnow(),
            dry_run=dry_run,
            skip_unsupported=skip_unsupported,
            max_bytes=current_app.config["BANK_MAX_UPLOAD_BYTES"],
            progress=progress,
        )
    finally:
        progress.close()
    for problem in report.skipped:
        click.echo(f"Bỏ qua (skipped): {problem.describe('vi')} / {problem.describe('en')}", err=True)
    for problem in report.problems:
        click.echo(f"{problem.describe('vi')} / {problem.describe('en')}", err=True)
    if report.skippable:
        click.echo(
            "Dùng --skip-unsupported để bỏ qua các câu chưa hỗ trợ và nhập các câu còn lại "
            "(use --skip-unsupported to import the other questions).",
            err=True,
        )
    summary = (
        f"Thêm {report.added}, cập nhật {report.updated}, giữ nguyên {report.unchanged}, "
        f"lỗi {len(report.problems)}, bỏ qua {len(report.skipped)} (added / updated / unchanged / errors / skipped)."
    )
    _finish_import(report.committed, report.ok, summary, f"Đã nhập vào ngân hàng '{bank.slug}'.")


def _finish_import(written: bool, ok: bool, summary: str, done: str) -> None:
    """Commit an import that wrote, else roll back and say why; a file with problems exits 1."""
    if not written:
        db.session.rollback()
        click.echo(("Kiểm tra xong, chưa ghi gì. " if ok else "Không ghi gì vì tệp có lỗi. ") + summary)
        if not ok:
            raise SystemExit(1)
        return
    db.session.commit()
    click.echo(f"{done} {summary}")


@quiz_cli.command("import-units")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Chỉ kiểm tra, không ghi (validate only).")
def import_units_command(path: Path, dry_run: bool) -> None:
    """Import a unit list (.xlsx or .csv) by code; all or nothing, exit 1 on any problem."""
    max_bytes = current_app.config["BANK_MAX_UPLOAD_BYTES"]
    report = units.import_units_file(db.session, path.name, path.read_bytes(), max_bytes=max_bytes, now=utcnow())
    for problem in report.problems:
        click.echo(f"{problem.describe('vi')} / {problem.describe('en')}", err=True)
    summary = (
        f"Thêm {report.added}, cập nhật {report.updated}, giữ nguyên {report.unchanged}, lỗi {len(report.problems)}."
    )
    _finish_import(report.ok and not dry_run, report.ok, summary, "Đã nhập danh sách đơn vị.")


@quiz_cli.command("export")
@click.argument("kind", type=click.Choice([k.value for k in exports.ExportKind]))
@click.option("--round", "round_id", type=int, required=True)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Tệp .xlsx (mặc định: tên như khi tải từ trang web, trong thư mục hiện tại).",
)
def export_command(kind: str, round_id: int, output: Path | None) -> None:
    """Write a round's export (leaderboard, winners, units, attempts, distribution, statistics) to .xlsx."""
    round_ = db.session.get(Round, round_id)
    if round_ is None:
        raise click.ClickException(f"Không có đợt thi #{round_id} (no such round).")
    output = output or Path(export_jobs.download_name(round_, exports.ExportKind(kind)))
    total = exports.expected_rows(db.session, exports.ExportKind(kind), round_)
    with (
        click.progressbar(length=total, label="Đang xuất (exporting)", file=sys.stderr, show_pos=True) as bar,
        output.open("wb") as out,
    ):
        rows = exports.build_export(
            db.session,
            exports.ExportKind(kind),
            round_,
            now=utcnow(),
            tz=ZoneInfo(current_app.config["TIMEZONE"]),
            exported_by="CLI",
            out=out,
            progress=bar.update,
            thresholds=question_statistics.Thresholds.from_config(current_app.config),
        )
    audit.record(db.session, "export.create", now=utcnow(), target=("round", round_.id), kind=kind, rows=rows)
    db.session.commit()
    click.echo(f"Đã xuất {rows} dòng ra {output} (exported).")


@quiz_cli.command("export-bank")
@click.argument("slug")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True, path_type=Path), required=True)
def export_bank_command(slug: str, output: Path) -> None:
    """Write a bank to .xlsx in the import schema (re-importable as it is)."""
    bank = db.session.scalar(select(QuestionBank).where(QuestionBank.slug == slug))
    if bank is None:
        raise click.ClickException(f"Không có ngân hàng '{slug}' (no such bank).")
    specs = banks.bank_specs(db.session, bank)
    output.write_bytes(bank_workbooks.build_bank_export(specs))
    audit.record(db.session, "bank.export", now=utcnow(), target=("bank", bank.id), questions=len(specs))
    db.session.commit()
    click.echo(f"Đã xuất {len(specs)} câu hỏi ra {output} (exported).")


@quiz_cli.command("bank-template")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True, path_type=Path), required=True)
def bank_template_command(output: Path) -> None:
    """Write the blank .xlsx import template with its guide sheet."""
    output.write_bytes(bank_workbooks.build_template())
    click.echo(f"Đã ghi tệp mẫu {output} (template written).")


@quiz_cli.command("close-overdue")
@click.option("--every", type=float, default=None, help="Repeat every N seconds until stopped (Ctrl-C).")
def close_overdue_command(every: float | None) -> None:
    """Close and score every attempt whose deadline (plus grace) has passed."""
    while True:
        try:
            closed = _close_overdue_once()
            if closed or every is None:
                click.echo(f"Đã đóng {closed} bài quá hạn (closed {closed} overdue attempts).")
        except (redis.RedisError, OSError, QuizError) as exc:  # keep sweeping: the store may come back
            db.session.rollback()
            click.echo(f"Chưa đóng được bài quá hạn: {exc}", err=True)
            if every is None:
                raise SystemExit(1) from exc
        if every is None:
            return
        time.sleep(every)


def _close_overdue_once() -> int:
    client, prefix = redis_client(), current_app.config["REDIS_KEY_PREFIX"]
    overdue = attempts.overdue_attempts(db.session, utcnow())
    return sum(attempt_flow.close(a, client=client, prefix=prefix, now=utcnow(), by_server=True) for a in overdue)


@quiz_cli.command("rebuild-leaderboards")
@click.option("--round", "round_id", type=int, help="Only this round (default: every ranked round).")
def rebuild_leaderboards_command(round_id: int | None) -> None:
    """Rebuild live boards, counters and answer keys in Redis from the database."""
    rounds = (
        [db.get_or_404(Round, round_id)]
        if round_id
        else list(db.session.scalars(select(Round).where(Round.is_practice.is_(False)).order_by(Round.id)))
    )
    for round_ in rounds:
        scoring.rebuild_round(db.session, redis_client(), current_app.config["REDIS_KEY_PREFIX"], round_)
        db.session.commit()
        click.echo(f"Đã dựng lại bảng xếp hạng đợt #{round_.id} {round_.title} (leaderboard rebuilt).")


@quiz_cli.command("finalize-round")
@click.argument("round_id", type=int)
def finalize_round_command(round_id: int) -> None:
    """Compute and store a closed round's final ranking (again gives the same result)."""
    round_ = db.session.get(Round, round_id)
    if round_ is None:
        raise click.ClickException(f"Không có đợt thi #{round_id} (no such round).")
    try:
        ranked = rankings.finalize_round(db.session, round_, utcnow())
    except QuizError as exc:
        raise _fail(exc) from exc
    audit.record(
        db.session,
        "round.finalize",
        now=utcnow(),
        target=("round", round_.id),
        ranked=ranked,
        prediction_actual=round_.prediction_actual,
    )
    db.session.commit()
    click.echo(
        f"Đã xếp hạng chung cuộc {ranked} thí sinh của đợt #{round_.id}; giá trị dự đoán đúng: "
        f"{round_.prediction_actual} (final ranking stored)."
    )


@quiz_cli.command("maintain")
@click.option("--every", type=float, default=None, help="Repeat every N seconds until stopped (Ctrl-C).")
def maintain_command(every: float | None) -> None:
    """Periodic upkeep: close overdue attempts, repair stale boards, finalise closed rounds.

    Every app host may run it: a Redis lock lets one of them work at a time and the others skip the turn.
    """
    try:
        while True:
            try:
                report = _maintain_turn()
                if every is None:
                    click.echo(report)
            except (redis.RedisError, OSError, SQLAlchemyError) as exc:  # keep going: the store may come back
                db.session.rollback()
                click.echo(f"Bảo trì chưa xong (maintenance incomplete): {exc}", err=True)
            if every is None:
                return
            time.sleep(every)
    except KeyboardInterrupt:  # Ctrl-C ends the loop normally (under `make run` it reaches the whole process group)
        if every is None:
            raise
        click.echo("Đã dừng bảo trì (upkeep stopped).", err=True)


def _maintain_turn() -> str:
    """One round of upkeep, unless another host's is running (without Redis, run anyway: the lock is a courtesy,
    and the database's constraints keep two finalisations from both landing)."""
    lock = redis_client().lock(f"{current_app.config['REDIS_KEY_PREFIX']}:maintain-lock", timeout=600)
    try:
        mine = lock.acquire(blocking=False)
    except (redis.RedisError, OSError):
        return _maintain_once()
    if not mine:
        return "Máy khác đang bảo trì; bỏ qua lượt này (another host is doing the upkeep; skipped)."
    try:
        return _maintain_once()
    finally:
        with contextlib.suppress(redis.RedisError, OSError):
            lock.release()


def _maintain_once() -> str:
    closed = _close_overdue_once()
    prefix = current_app.config["REDIS_KEY_PREFIX"]
    repaired = scoring.repair_stale(db.session, redis_client(), prefix)
    db.session.commit()
    finalized = []
    for round_ in rankings.rounds_to_finalize(db.session, utcnow()):
        rankings.finalize_round(db.session, round_, utcnow())
        audit.record(db.session, "round.finalize", now=utcnow(), target=("round", round_.id))
        db.session.commit()
        finalized.append(round_.id)
    retention = timedelta(hours=current_app.config["EXPORT_RETENTION_HOURS"])
    expired = export_jobs.expire_old(db.session, utcnow(), retention)
    db.session.commit()
    thresholds = question_statistics.Thresholds.from_config(current_app.config)
    counted = question_statistics.refresh_closed_rounds(db.session, thresholds, utcnow())
    db.session.commit()
    prepared = _top_up_papers()
    return (
        f"Đóng {closed} bài quá hạn; dựng lại bảng đợt {repaired or '-'}; xếp hạng chung cuộc đợt "
        f"{finalized or '-'}; xoá {expired} tệp xuất quá hạn; thống kê câu hỏi {counted} đợt; rút sẵn {prepared} "
        "(closed, repaired, finalised, expired exports, question statistics, papers drawn ahead)."
    )


def _top_up_papers() -> str:
    """Last, so the upkeep above is done even when Redis is away: top up the papers drawn ahead of time."""
    try:
        added = paper_pool.top_up_due(
            db.session,
            redis_client(),
            current_app.config["REDIS_KEY_PREFIX"],
            settings=deps.paper_pool_settings(),
            now=utcnow(),
            rng=random.SystemRandom(),
        )
    except paper_pool.PoolUnavailableError:
        return "- (Redis?)"
    finally:
        db.session.rollback()  # only reads: end the transaction
    return ", ".join(f"{n} đề cho đợt {round_id}" for round_id, n in added.items()) or "0 đề"


@quiz_cli.group("papers")
def papers_cli() -> None:
    """Đề rút sẵn (papers drawn ahead of time, so a crowd starting together costs the database little)."""


@papers_cli.command("prepare")
@click.option("--round", "round_id", type=int, required=True)
@click.option("--count", type=click.IntRange(min=0), help="Số đề mỗi nhóm (papers per pool); default: the target.")
def prepare_papers_command(round_id: int, count: int | None) -> None:
    """Draw a round's papers ahead of time into Redis, to the target (or --count) per pool."""
    round_ = db.session.get(Round, round_id)
    if round_ is None:
        raise click.ClickException(f"Không có đợt thi #{round_id} (no such round).")

    def progress(pool: paper_pool.Pool, ready: int, target: int) -> None:
        who = "đề chung (common mix)" if pool.group_id is None else f"nhóm #{pool.group_id} (group)"
        click.echo(f"  {who}: {ready}/{target}")

    now = utcnow()
    try:
        report = paper_pool.prepare_round(
            db.session,
            redis_client(),
            current_app.config["REDIS_KEY_PREFIX"],
            round_,
            settings=deps.paper_pool_settings(),
            now=now,
            rng=random.SystemRandom(),
            count=count,
            progress=progress,
        )
    except QuizError as exc:
        raise _fail(exc) from exc
    audit.record(db.session, "round.prepare_papers", now=now, target=("round", round_.id), added=report.added)
    db.session.commit()
    click.echo(
        f"Đã rút sẵn thêm {report.added} đề cho đợt #{round_.id}; sẵn sàng {report.ready}/{report.target} "
        f"(papers added; ready/target)."
    )
    if report.unfillable:
        click.echo("Ngân hàng không còn đủ câu cho đề của đợt này (the banks cannot fill the mix).", err=True)


def init_app(app: Flask) -> None:
    """Register the ``quiz`` command group (Flask-Migrate owns ``db``)."""
    app.cli.add_command(quiz_cli)
