"""A round's live dashboard: number tiles, SVG charts and the weakest units, refreshed by dashboard.js."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, jsonify, render_template
from flask.typing import ResponseReturnValue
from flask_babel import format_number, format_percent, gettext, ngettext
from markupsafe import Markup

from quiz_engine.extensions import db, redis_client
from quiz_engine.models import Round
from quiz_engine.services.results import charts, dashboard
from quiz_engine.web import deps
from quiz_engine.web.access import organizer_required, round_or_404
from quiz_engine.web.organizer.blueprint import bp

#: How often dashboard.js asks for fresh numbers.
TILES = ("participants", "in_progress", "submitted", "perfect")


def _dashboard(round_id: int) -> tuple[Round, dashboard.Dashboard]:
    round_ = round_or_404(round_id)
    if round_.is_practice:
        abort(404)  # practice rounds are not scored into the counters: their numbers would mislead
    dash = dashboard.round_dashboard(
        db.session, redis_client(), deps.redis_prefix(), round_, deps.now(), deps.timezone()
    )
    return round_, dash


@bp.get("/rounds/<int:round_id>/dashboard")
@organizer_required
def round_dashboard(round_id: int) -> ResponseReturnValue:
    """The round's live numbers and charts; complete without JavaScript, refreshed in place with it."""
    round_, dash = _dashboard(round_id)
    return render_template(
        "organizer/dashboard.html",
        round=round_,
        view=_present(dash),
        refresh_ms=int(current_app.config["DASHBOARD_REFRESH_SECONDS"] * 1000),
    )


@bp.get("/rounds/<int:round_id>/dashboard.json")
@organizer_required
def round_dashboard_data(round_id: int) -> ResponseReturnValue:
    """The dashboard's numbers and rendered charts, for dashboard.js to swap in."""
    _round, dash = _dashboard(round_id)
    response = jsonify(_present(dash))
    response.headers["Cache-Control"] = "no-store"
    return response


def _percent(rate: float | None) -> str:
    return "—" if rate is None else format_percent(rate / 100, "#,##0.#%")


def _present(dash: dashboard.Dashboard) -> dict[str, Any]:
    """The dashboard as the page and the JSON show it: raw counts, formatted text, and the charts' SVG."""
    counts = {
        "started": dash.started,
        "in_progress": dash.in_progress,
        "submitted": dash.submitted,
        "participants": dash.participants,
        "perfect": dash.perfect,
    }
    return {
        "round_id": dash.round_id,
        "updated_at": dash.as_of.isoformat(),
        "updated_text": gettext("Đã cập nhật lúc %(time)s", time=dash.as_of.strftime("%H:%M")),
        "live": dash.live,
        "stale": dash.stale,
        "counts": counts,
        "tiles": {name: format_number(counts[name]) for name in TILES},
        "charts": {
            "units": Markup(_units_chart(dash)),
            "timeline": Markup(_timeline_chart(dash)),
            "distribution": Markup(_distribution_chart(dash)),
        },
        "weakest": [
            {
                "unit_id": u.unit_id,
                "name": u.name,
                "participants": u.participants,
                "headcount": u.headcount,
                "rate": u.rate,
                "cells": [u.name, format_number(u.participants), format_number(u.headcount or 0), _percent(u.rate)],
            }
            for u in dash.weakest
        ],
    }


def _units_chart(dash: dashboard.Dashboard) -> str:
    bars = [
        charts.Datum(
            u.name,
            u.rate or 0.0,
            f"{_percent(u.rate)} ({format_number(u.participants)}/{format_number(u.headcount)})"
            if u.headcount
            else ngettext("%(n)s người", "%(n)s người", u.participants, n=format_number(u.participants)),
        )
        for u in dash.units
    ]
    return charts.bar_chart(
        bars,
        chart_id="chart-units",
        title=gettext("Tỷ lệ tham gia theo đơn vị"),
        summary=gettext("Người tham gia trên tổng số người của từng đơn vị, cao nhất trước."),
        empty_text=gettext("Cuộc thi chưa có đơn vị nào."),
    )


def _timeline_chart(dash: dashboard.Dashboard) -> str:
    total = format_number(sum(b.started for b in dash.timeline))
    hourly = dash.bucket.total_seconds() >= 3600
    points = [
        charts.Datum(
            b.start.strftime("%H:%M\n%d/%m"),
            b.started,
            ngettext("%(n)s lượt", "%(n)s lượt", b.started, n=format_number(b.started)),
        )
        for b in dash.timeline
    ]
    return charts.line_chart(
        points,
        chart_id="chart-timeline",
        title=gettext("Lượt thi bắt đầu mỗi giờ") if hourly else gettext("Lượt thi bắt đầu mỗi 10 phút"),
        summary=gettext("Tổng cộng %(n)s lượt (giờ Việt Nam).", n=total),
        empty_text=gettext("Chưa có lượt thi nào."),
        fmt=format_number,
    )


def _distribution_chart(dash: dashboard.Dashboard) -> str:
    bins = [
        charts.Datum(str(k), n, ngettext("%(n)s bài", "%(n)s bài", n, n=format_number(n)))
        for k, n in enumerate(dash.distribution)
    ]
    return charts.histogram(
        bins,
        chart_id="chart-distribution",
        title=gettext("Phân bố số câu đúng"),
        summary=gettext("Số bài thi theo số câu trả lời đúng, từ 0 đến %(n)d.", n=dash.question_count),
        empty_text=gettext("Chưa có bài thi nào được nộp."),
        fmt=format_number,
    )
