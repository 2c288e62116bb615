"""``flask --app wsgi quiz create-contest`` and ``quiz list-contests``: contests from a TOML spec, and a listing.

Importing this module adds the commands to the ``quiz`` group (``cli`` imports it).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from flask import current_app

from quiz_engine.cli_group import quiz_cli
from quiz_engine.extensions import db
from quiz_engine.models import Contest, Round, utcnow
from quiz_engine.services.errors import QuizError
from quiz_engine.services.organising import contest_spec, contests
from quiz_engine.services.people import audit

#: The spec's own time format, so what is printed can be pasted back into a spec.
TIME_FORMAT = "%Y-%m-%d %H:%M"


def _local(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime(TIME_FORMAT)


def _round_line(round_: Round, tz: ZoneInfo) -> str:
    kind = " [luyện tập / practice]" if round_.is_practice else ""
    limit = f"tối đa {round_.max_attempts} lượt" if round_.max_attempts else "không giới hạn lượt"
    return (
        f"  đợt #{round_.id} (số {round_.number}) {round_.title}{kind}: "
        f"{_local(round_.opens_at, tz)} → {_local(round_.closes_at, tz)}, "
        f"{round_.question_count()} câu / {round_.time_limit_seconds // 60} phút, {limit}"
    )


def _contest_line(contest: Contest) -> str:
    status = "đã công bố / published" if contest.is_published else "chưa công bố / not published"
    return f"Cuộc thi #{contest.id} '{contest.slug}' — {contest.title} ({status})"


@quiz_cli.command("create-contest")
@click.argument("spec", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def create_contest_command(spec: Path) -> None:
    """Create a contest, its groups, units and rounds from a TOML spec; all or nothing."""
    now, tz = utcnow(), ZoneInfo(current_app.config["TIMEZONE"])
    try:
        text = spec.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise click.ClickException(f"Tệp {spec.name} không phải văn bản UTF-8 (not UTF-8 text).") from exc
    try:
        parsed = contest_spec.load_contest_spec(text, timezone=current_app.config["TIMEZONE"])
        contest = contest_spec.create_contest_from_spec(db.session, parsed, now=now)
        audit.record(db.session, "contest.create", now=now, target=("contest", contest.id), slug=contest.slug)
        for round_ in contest.rounds:
            audit.record(db.session, "round.create", now=now, target=("round", round_.id), contest=contest.id)
    except QuizError as exc:
        db.session.rollback()
        raise click.ClickException(f"Không tạo gì cả. {exc.vi} (nothing created: {exc.en})") from exc
    db.session.commit()
    click.echo(f"Đã tạo {_contest_line(contest)}.")
    groups = ", ".join(f"{g.code} ({g.name})" for g in contest.groups) or "-"
    click.echo(f"  Nhóm đối tượng (groups): {groups}")
    click.echo(f"  Đơn vị (units): {len(contest.units)}")
    for round_ in contest.rounds:
        click.echo(_round_line(round_, tz))
    click.echo(f"  Giờ {tz.key} (local time).")


@quiz_cli.command("list-contests")
def list_contests_command() -> None:
    """List contests and their rounds with ids and local times."""
    tz = ZoneInfo(current_app.config["TIMEZONE"])
    found = contests.list_contests(db.session)
    if not found:
        click.echo("Chưa có cuộc thi nào (no contests).")
        return
    for contest in found:
        click.echo(_contest_line(contest))
        for round_ in contest.rounds:
            click.echo(_round_line(round_, tz))
    click.echo(f"Giờ {tz.key} (local time).")
