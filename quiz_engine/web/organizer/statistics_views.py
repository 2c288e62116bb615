"""A round's question statistics: a sortable table, option shares and a facility–discrimination scatter."""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import format_decimal, format_number, format_percent, gettext
from markupsafe import Markup

from quiz_engine.extensions import db
from quiz_engine.services.results import charts
from quiz_engine.services.results import question_statistics as stats
from quiz_engine.web import deps
from quiz_engine.web.access import organizer_required, round_or_404
from quiz_engine.web.organizer.blueprint import bp

#: Sortable columns: query value -> the figure it sorts by (None sorts last).
SORTS = {
    "code": lambda q: q.code,
    "seen": lambda q: q.seen,
    "facility": lambda q: q.facility,
    "point_biserial": lambda q: q.point_biserial,
    "discrimination": lambda q: q.discrimination,
    "blank": lambda q: q.blank_rate,
    "time": lambda q: q.median_seconds,
}


def thresholds() -> stats.Thresholds:
    return stats.Thresholds.from_config(current_app.config)


@bp.get("/rounds/<int:round_id>/statistics")
@organizer_required
def round_statistics(round_id: int) -> ResponseReturnValue:
    """Each question's facility, discrimination, options chosen and flags; flagged questions first."""
    round_, limits = round_or_404(round_id), thresholds()
    figures = stats.round_figures(db.session, round_, limits, now=deps.now())
    db.session.commit()  # the figures are kept: the next visit reads them while no answer changes
    sort = request.args.get("sort", "")
    descending = request.args.get("order") == "desc"
    return render_template(
        "organizer/round_statistics.html",
        round=round_,
        figures=figures,
        rows=[_row(q) for q in _sorted(figures.questions, sort, descending)],
        sort=sort if sort in SORTS else "",
        descending=descending,
        scatter=Markup(_scatter(figures)),
        thresholds=limits,
    )


def _sorted(questions: list[stats.QuestionFigures], sort: str, descending: bool) -> list[stats.QuestionFigures]:
    if sort not in SORTS:
        return questions  # the service's order: flagged first
    present = [q for q in questions if SORTS[sort](q) is not None]
    missing = [q for q in questions if SORTS[sort](q) is None]
    return sorted(present, key=SORTS[sort], reverse=descending) + missing


def _percent(value: float | None) -> str:
    return "—" if value is None else format_percent(value, "#,##0.#%")


def _decimal(value: float | None) -> str:
    return "—" if value is None else format_decimal(value, "0.00")


def _row(q: stats.QuestionFigures) -> dict[str, Any]:
    options = [
        charts.Datum(
            o.letter,
            o.share,
            f"{_percent(o.share)} ({format_number(o.count)})" + (" · " + gettext("đáp án") if o.is_key else ""),
        )
        for o in q.options
    ]
    return {
        "q": q,
        "facility": _percent(q.facility),
        "point_biserial": _decimal(q.point_biserial),
        "discrimination": _decimal(q.discrimination),
        "blank": _percent(q.blank_rate),
        "time": "—" if q.median_seconds is None else gettext("%(n)s giây", n=format_decimal(q.median_seconds, "0.#")),
        "flags": [f.message(deps.locale()) for f in q.flags],
        "wrong_key": any(f.code == "wrong_key" for f in q.flags),
        "chart": Markup(
            charts.share_strip(
                options,
                marked=[o.is_key for o in q.options],
                chart_id=f"options-{q.question_id}",
                title=gettext("Tỷ lệ chọn từng phương án, câu %(code)s", code=q.code),
                summary=gettext("Đáp án %(key)s, tô màu xanh lá.", key=q.key or "—"),
            )
        ),
    }


def _scatter(figures: stats.RoundFigures) -> str:
    plotted = [q for q in figures.questions if q.facility is not None and q.point_biserial is not None]
    return charts.scatter(
        [
            charts.Datum(
                q.code,
                q.facility or 0.0,
                gettext("độ khó %(f)s, độ phân biệt %(d)s", f=_percent(q.facility), d=_decimal(q.point_biserial)),
            )
            for q in plotted
        ],
        [q.point_biserial or 0.0 for q in plotted],
        marked=[bool(q.flags) for q in plotted],
        chart_id="chart-scatter",
        title=gettext("Độ khó và độ phân biệt của từng câu"),
        summary=gettext("Ngang: tỷ lệ trả lời đúng; dọc: độ phân biệt; câu bị đánh dấu màu đỏ."),
        empty_text=gettext("Chưa có bài thi nào được nộp."),
        x_title=gettext("Tỷ lệ trả lời đúng"),
        y_title=gettext("Độ phân biệt"),
    )
