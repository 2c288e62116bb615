"""``flask --app wsgi quiz purge-personal-data``: anonymise a finished contest's contestants (Decree 13/2023/NĐ-CP).

Importing this module adds the command to the ``quiz`` group (``cli`` imports it).
"""

from __future__ import annotations

import click
import redis
from flask import current_app

from quiz_engine.cli_group import quiz_cli
from quiz_engine.extensions import db, redis_client
from quiz_engine.models import Contest, utcnow
from quiz_engine.services.errors import QuizError
from quiz_engine.services.people import personal_data

PURGE_HELP = """Anonymise the personal data of a finished contest's contestants, keeping results and statistics.

\b
Ẩn danh dữ liệu cá nhân của thí sinh một cuộc thi đã kết thúc (mọi đợt đã đóng, không còn bài đang làm):
họ tên thành "Thí sinh #<id>"; e-mail, số điện thoại, CCCD, ngày sinh bị xoá; tài khoản không đăng nhập
được nữa; IP và trình duyệt trong nhật ký và bài thi của họ bị xoá. Giấy chứng nhận giữ mã và giải
nhưng tên người nhận cũng được ẩn danh. Tệp xuất của cuộc thi bị xoá. Kết quả, thứ hạng, điểm và
thống kê đơn vị giữ nguyên. Bỏ qua ban tổ chức/quản trị và người còn đăng ký một cuộc thi chưa kết thúc.

\b
Names become "Thí sinh #<id>"; e-mail, phone, CCCD and birth date are cleared; the account can no
longer sign in; IPs and user agents in their audit events and attempts are cleared. Certificates keep
their code and award but their holder name is anonymised too. The contest's export files are deleted.
Results, ranks, scores and unit statistics are kept. Staff, and anyone also registered in an
unfinished contest, are skipped. All or nothing; running it again changes nothing.
"""


def _report_lines(report: personal_data.PurgeReport) -> list[str]:
    lines = [
        f"Ẩn danh (anonymised): {len(report.anonymised)} thí sinh",
        f"Đã ẩn danh trước đó (already anonymised): {report.already_anonymised}",
        f"Bỏ qua ban tổ chức/quản trị (staff skipped): {report.skipped_staff}",
        f"Bỏ qua vì còn dự một cuộc thi chưa kết thúc (skipped, in an unfinished contest): "
        f"{report.skipped_other_contests}",
        f"Giấy chứng nhận ẩn danh (certificates): {report.certificates}",
        f"Sự kiện nhật ký xoá IP/trình duyệt (audit events cleared): {report.audit_events}",
        f"Đăng nhập sai xoá tên đăng nhập (failed sign-ins redacted): {report.failed_logins}",
        f"Bài thi xoá IP/trình duyệt (attempts cleared): {report.attempts}",
        f"Tệp xuất đã xoá (export files deleted): {report.exports}",
    ]
    if report.unfinalised_rounds:
        rounds = ", ".join(f"#{r}" for r in report.unfinalised_rounds)
        lines.append(
            f"Lưu ý: đợt {rounds} chưa xếp hạng chung cuộc; sau khi ẩn danh không cấp được giấy chứng nhận "
            f"cho những người này (note: rounds not finalised; anonymised people can no longer get certificates)."
        )
    return lines


def _purge(contest: Contest) -> personal_data.PurgeReport:
    try:
        return personal_data.purge_contest(db.session, contest, utcnow())
    except QuizError as exc:
        db.session.rollback()
        raise click.ClickException(f"{exc.vi} ({exc.en})") from exc


@quiz_cli.command("purge-personal-data", help=PURGE_HELP, short_help="Ẩn danh thí sinh của cuộc thi đã kết thúc.")
@click.option("--contest", "contest_id", type=int, required=True, help="Mã số cuộc thi (contest id).")
@click.option("--dry-run", is_flag=True, help="Chỉ đếm, không ghi (show the counts, write nothing).")
@click.option("--yes", is_flag=True, help="Không hỏi xác nhận (do not ask for confirmation).")
def purge_personal_data_command(contest_id: int, dry_run: bool, yes: bool) -> None:
    contest = db.session.get(Contest, contest_id)
    if contest is None:
        raise click.ClickException(f"Không có cuộc thi #{contest_id} (no such contest).")
    report = _purge(contest)
    click.echo(f"Cuộc thi #{contest.id} '{contest.slug}' — {contest.title}")
    for line in _report_lines(report):
        click.echo(f"  {line}")
    if dry_run or not report.changed:
        db.session.rollback()
        if dry_run:
            click.echo("Chạy thử: không ghi gì (dry run: nothing written).")
        else:
            click.echo("Không có gì để ẩn danh; không thay đổi gì (nothing to anonymise; nothing changed).")
        return
    if not yes:
        db.session.rollback()  # do not hold the transaction (and its locks) while a person reads the prompt
        if not click.confirm(f"Ẩn danh {len(report.anonymised)} thí sinh? Không thể hoàn tác (cannot be undone)"):
            raise click.ClickException("Đã huỷ, không thay đổi gì (cancelled, nothing changed).")
        report = _purge(db.session.get(Contest, contest_id))
    db.session.commit()
    try:
        keys = personal_data.forget_attempt_state(
            redis_client(), current_app.config["REDIS_KEY_PREFIX"], report.attempt_refs
        )
    except (redis.RedisError, OSError) as exc:  # the keys expire on their own a week after each deadline
        click.echo(f"Chưa xoá được dữ liệu bài thi trong Redis (Redis state not deleted): {exc}", err=True)
        keys = 0
    click.echo(
        f"Đã ẩn danh {len(report.anonymised)} thí sinh của cuộc thi #{contest_id}; xoá {keys} khoá Redis "
        f"(anonymised; Redis keys deleted)."
    )
