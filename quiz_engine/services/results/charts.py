"""Server-rendered SVG charts: pure functions from numbers and ready-made text to an SVG string.

Nothing here translates or formats numbers for a locale: callers pass every visible text already
translated and formatted (``Datum.text``, ``fmt``). Every text is escaped here, and characters XML
forbids are dropped, because unit names come from organizers' files.

Sizing: the viewBox is :data:`WIDTH` units wide and the SVG takes its container's width. On a
320 px phone the chart gets about 260 px, so a unit is about a pixel and the 13–14 unit text
reads as 12–13 px; wider screens cap the chart's width in CSS. Only presentation attributes are
used (no ``style``): the CSP forbids inline styles. A label may hold a line break (``"22:00\n24/11"``):
axis labels then take two lines, and descriptions and tooltips read it as a space.

Colours on white (WCAG 2.1 AA: 4.5:1 for text, 3:1 for graphics): ink #1c1b1f 17:1, muted text
#4a4a4a 8.9:1, axes #767676 4.5:1, bars #0b57d0 6.4:1, line #b3261e 6.5:1, histogram #1b6e35 6.4:1.

Each chart is ``role="img"`` named by its ``<title>`` and described by a ``<desc>`` that lists the
numbers, so the text alternative travels with the chart when a page swaps it in place.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

WIDTH = 280
PAD = 10
FONT = 13
LABEL_FONT = 14
INK = "#1c1b1f"
MUTED = "#4a4a4a"
AXIS = "#767676"
TRACK = "#e6e6e6"
BAR = "#0b57d0"
LINE = "#b3261e"
HISTOGRAM = "#1b6e35"

_BAR_ROW = 40
_PLOT_HEIGHT = 140
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")

NumberFormat = Callable[[int], str]


@dataclass(frozen=True)
class Datum:
    """One bar or point: its label, its value, and the value as people read it (e.g. ``"37,5 % (45/120)"``)."""

    label: str
    value: float
    text: str


def xml_text(value: str) -> str:
    """Escape ``value`` for XML text and attribute values, dropping characters XML does not allow."""
    return escape(_INVALID_XML.sub("", value), {'"': "&quot;", "'": "&#39;"})


def chars_in(width: float, font_size: float) -> int:
    """How many characters of ``font_size`` text fit in ``width`` units (0.6 em each: Vietnamese, a little bold)."""
    return int(width / (font_size * 0.6))


def fit(value: str, limit: int) -> str:
    """``value`` cut to ``limit`` characters with an ellipsis (before escaping, so no entity is cut)."""
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: max(limit - 1, 1)].rstrip() + "…"


def _n(number: float) -> str:
    """A coordinate: two decimals at most, no trailing zeros."""
    return f"{number:.2f}".rstrip("0").rstrip(".") or "0"


def _flat(label: str) -> str:
    return " ".join(label.split())


def _describe(summary: str, data: Sequence[Datum]) -> str:
    listed = "; ".join(f"{_flat(d.label)}: {d.text}" for d in data)
    return f"{summary} {listed}".strip() if listed else summary


def _svg(chart_id: str, title: str, description: str, height: float, body: Sequence[str]) -> str:
    if not _ID.match(chart_id):
        raise ValueError(f"chart id {chart_id!r} is not a valid XML id")
    return "".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {_n(height)}" width="100%" '
            f'role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" class="chart-svg" '
            f'font-size="{FONT}" fill="{INK}">',
            f'<title id="{chart_id}-title">{xml_text(title)}</title>',
            f'<desc id="{chart_id}-desc">{xml_text(description)}</desc>',
            *body,
            "</svg>",
        ]
    )


def empty_chart(*, chart_id: str, title: str, empty_text: str) -> str:
    """A chart with nothing to show yet: a dashed frame saying so (``empty_text``)."""
    body = [
        f'<rect x="1" y="1" width="{WIDTH - 2}" height="78" rx="6" fill="none" stroke="{AXIS}" '
        'stroke-dasharray="4 4"/>',
        f'<text x="{WIDTH / 2:g}" y="45" text-anchor="middle" fill="{MUTED}" class="empty">'
        f"{xml_text(fit(empty_text, chars_in(WIDTH - 2 * PAD, FONT)))}</text>",
    ]
    return _svg(chart_id, title, empty_text, 80, body)


def bar_chart(
    bars: Sequence[Datum],
    *,
    chart_id: str,
    title: str,
    summary: str,
    empty_text: str,
    scale_max: float = 100.0,
) -> str:
    """Horizontal bars, one row each: the label on its own line, the bar below with its value text beside it.

    Bar lengths are proportional to ``value`` on a scale from 0 to ``scale_max`` (or the largest
    value, if larger); a light track shows the whole scale. No bars: :func:`empty_chart`.
    """
    if not bars:
        return empty_chart(chart_id=chart_id, title=title, empty_text=empty_text)
    top = max([scale_max, *(b.value for b in bars)]) or 1.0
    area = WIDTH - 2 * PAD
    # The value column is as wide as the longest value text, up to half the chart.
    track = area - min(max(len(b.text) for b in bars) * FONT * 0.6 + 6, area / 2)
    body: list[str] = []
    for index, bar in enumerate(bars):
        y = PAD + index * _BAR_ROW
        label = fit(_flat(bar.label), chars_in(area, LABEL_FONT))
        body += [
            f'<text x="{PAD}" y="{y + 13}" font-size="{LABEL_FONT}">{xml_text(label)}</text>',
            f'<rect x="{PAD}" y="{y + 19}" width="{_n(track)}" height="12" rx="2" fill="{TRACK}"/>',
            f'<rect class="bar" x="{PAD}" y="{y + 19}" width="{_n(track * max(bar.value, 0.0) / top)}" height="12" '
            f'rx="2" fill="{BAR}"><title>{xml_text(_flat(bar.label))}: {xml_text(bar.text)}</title></rect>',
            f'<text x="{WIDTH - PAD}" y="{y + 30}" text-anchor="end" font-weight="600">{xml_text(bar.text)}</text>',
        ]
    return _svg(chart_id, title, _describe(summary, bars), 2 * PAD + len(bars) * _BAR_ROW - 6, body)


def nice_ceiling(value: float, ticks: int = 4) -> tuple[int, int]:
    """``(top, step)``: the smallest axis top ≥ ``value`` made of ``ticks`` steps of 1, 2 or 5 × 10ⁿ."""
    raw = max(value, 1) / ticks
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    step = max(int(step), 1)
    return step * ticks, step


def _axis_room(top: int, step: int, fmt: NumberFormat) -> float:
    """The left margin that fits the widest number on the value axis."""
    return max(len(fmt(tick)) for tick in range(0, top + 1, step)) * FONT * 0.6 + 8


def _y_axis(top: int, step: int, left: float, plot_top: float, fmt: NumberFormat) -> list[str]:
    body = []
    for tick in range(0, top + 1, step):
        y = plot_top + _PLOT_HEIGHT * (1 - tick / top)
        body += [
            f'<line x1="{_n(left)}" x2="{WIDTH - PAD}" y1="{_n(y)}" y2="{_n(y)}" stroke="{AXIS}" '
            f'stroke-width="{1 if tick == 0 else 0.5}"/>',
            f'<text x="{_n(left - 4)}" y="{_n(y + 4)}" text-anchor="end" fill="{MUTED}">{xml_text(fmt(tick))}</text>',
        ]
    return body


def _x_label(x: float, y: float, label: str, anchor: str) -> str:
    """An axis label under the plot; a line break in ``label`` starts a second line."""
    lines = [xml_text(line) for line in label.split("\n")]
    first, rest = lines[0], "".join(f'<tspan x="{_n(x)}" dy="1.15em">{line}</tspan>' for line in lines[1:])
    return f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}" fill="{MUTED}">{first}{rest}</text>'


def line_chart(
    points: Sequence[Datum],
    *,
    chart_id: str,
    title: str,
    summary: str,
    empty_text: str,
    fmt: NumberFormat = str,
) -> str:
    """A line over equally spaced points (e.g. attempts started per hour), labelled at both ends and the middle.

    The description lists only the non-zero points: a week of hours would otherwise read as a wall of zeros.
    No points, or only zeros: :func:`empty_chart`.
    """
    if not any(p.value for p in points):
        return empty_chart(chart_id=chart_id, title=title, empty_text=empty_text)
    top, step = nice_ceiling(max(p.value for p in points))
    left, plot_top = _axis_room(top, step, fmt), 12.0
    width = WIDTH - PAD - left
    count = len(points)

    def x_of(index: int) -> float:
        return left + (width * index / (count - 1) if count > 1 else width / 2)

    coords = [(x_of(i), plot_top + _PLOT_HEIGHT * (1 - p.value / top)) for i, p in enumerate(points)]
    body = _y_axis(top, step, left, plot_top, fmt)
    body.append(
        f'<polyline class="line" fill="none" stroke="{LINE}" stroke-width="2.5" stroke-linejoin="round" '
        f'points="{" ".join(f"{_n(x)},{_n(y)}" for x, y in coords)}"/>'
    )
    if count <= 48:  # dots help read a short series; on a long one they would merge into a band
        body += [
            f'<circle cx="{_n(x)}" cy="{_n(y)}" r="3" fill="{LINE}">'
            f"<title>{xml_text(_flat(p.label))}: {xml_text(p.text)}</title></circle>"
            for (x, y), p in zip(coords, points, strict=True)
        ]
    baseline = plot_top + _PLOT_HEIGHT + 18
    two_lines = any("\n" in p.label for p in points)
    ends = {0: "start", count // 2: "middle", count - 1: "end"} if count > 1 else {0: "middle"}
    body += [_x_label(x_of(i), baseline, points[i].label, anchor) for i, anchor in ends.items()]
    nonzero = [p for p in points if p.value]
    return _svg(chart_id, title, _describe(summary, nonzero), baseline + PAD + 15 * two_lines, body)


def histogram(
    bins: Sequence[Datum],
    *,
    chart_id: str,
    title: str,
    summary: str,
    empty_text: str,
    fmt: NumberFormat = str,
) -> str:
    """Vertical bars over consecutive bins (e.g. 0…n correct answers); up to ten bins labelled, always the last.

    Counts are printed above the bars when they fit. No bins, or only zeros: :func:`empty_chart`.
    """
    if not any(b.value for b in bins):
        return empty_chart(chart_id=chart_id, title=title, empty_text=empty_text)
    top, step = nice_ceiling(max(b.value for b in bins))
    left, plot_top = _axis_room(top, step, fmt), 18.0
    slot = (WIDTH - PAD - left) / len(bins)
    # Counts go above the bars only if every one fits its bar's width.
    show_counts = all(len(fmt(int(b.value))) * FONT * 0.6 <= slot for b in bins)
    last = len(bins) - 1
    every = math.ceil(len(bins) / 10)
    # Every ``every``-th bin from 0, and always the last (the perfect paper), never two labels too close.
    labelled = {i for i in range(0, last, every) if last - i >= every} | {last}
    baseline = plot_top + _PLOT_HEIGHT + 18
    body = _y_axis(top, step, left, plot_top, fmt)
    for index, item in enumerate(bins):
        height = _PLOT_HEIGHT * item.value / top
        x = left + index * slot
        body.append(
            f'<rect class="bin" x="{_n(x + slot * 0.1)}" y="{_n(plot_top + _PLOT_HEIGHT - height)}" '
            f'width="{_n(slot * 0.8)}" height="{_n(height)}" fill="{HISTOGRAM}">'
            f"<title>{xml_text(_flat(item.label))}: {xml_text(item.text)}</title></rect>"
        )
        if show_counts and item.value:
            body.append(
                f'<text x="{_n(x + slot / 2)}" y="{_n(plot_top + _PLOT_HEIGHT - height - 4)}" '
                f'text-anchor="middle">{xml_text(fmt(int(item.value)))}</text>'
            )
        if index in labelled:
            body.append(_x_label(x + slot / 2, baseline, item.label, "middle"))
    return _svg(chart_id, title, _describe(summary, bins), baseline + PAD, body)


def share_strip(options: Sequence[Datum], *, marked: Sequence[bool], chart_id: str, title: str, summary: str) -> str:
    """One bar split by share (``value``, 0–1) into its options, each labelled by ``label`` where it fits.

    ``marked`` options (the key) are drawn in green, the others in blue and grey by turns, with a white gap
    between neighbours; every segment carries its ``text`` as a tooltip and in the description.
    """
    height, top, bar = 34.0, 4.0, 22.0
    area = WIDTH - 2 * PAD
    total = sum(max(o.value, 0.0) for o in options) or 1.0
    body = [f'<rect x="{PAD}" y="{_n(top)}" width="{area}" height="{_n(bar)}" rx="3" fill="{TRACK}"/>']
    x = float(PAD)
    for index, (option, key) in enumerate(zip(options, marked, strict=True)):
        width = area * max(option.value, 0.0) / total
        if width <= 0:
            continue
        fill = HISTOGRAM if key else (BAR if index % 2 == 0 else "#5f6368")
        body.append(
            f'<rect class="share{" key" if key else ""}" x="{_n(x)}" y="{_n(top)}" width="{_n(max(width - 1, 0.5))}" '
            f'height="{_n(bar)}" fill="{fill}"><title>{xml_text(_flat(option.label))}: {xml_text(option.text)}'
            "</title></rect>"
        )
        if width >= FONT * 0.6 * len(option.label) + 4:
            body.append(
                f'<text x="{_n(x + width / 2)}" y="{_n(top + 15.5)}" text-anchor="middle" fill="#ffffff" '
                f'font-weight="600">{xml_text(option.label)}</text>'
            )
        x += width
    return _svg(chart_id, title, _describe(summary, options), height - 4 + top, body)


def scatter(
    points: Sequence[Datum],
    ys: Sequence[float],
    *,
    marked: Sequence[bool],
    chart_id: str,
    title: str,
    summary: str,
    empty_text: str,
    x_title: str,
    y_title: str,
) -> str:
    """Points with ``value`` from 0 to 1 across and ``ys`` from −1 to 1 up (a line at 0); ``marked`` ones in red.

    Each point is a circle with its ``label`` and ``text`` as a tooltip; the description lists them all.
    """
    if not points:
        return empty_chart(chart_id=chart_id, title=title, empty_text=empty_text)
    left, plot_top, plot = 34.0, 26.0, 180.0
    width = WIDTH - PAD - left

    def x_of(value: float) -> float:
        return left + width * min(max(value, 0.0), 1.0)

    def y_of(value: float) -> float:
        return plot_top + plot * (1 - (min(max(value, -1.0), 1.0) + 1) / 2)

    body = []
    for tick in (-1.0, -0.5, 0.0, 0.5, 1.0):
        body += [
            f'<line x1="{_n(left)}" x2="{WIDTH - PAD}" y1="{_n(y_of(tick))}" y2="{_n(y_of(tick))}" stroke="{AXIS}" '
            f'stroke-width="{1 if tick == 0 else 0.5}"/>',
            f'<text x="{_n(left - 4)}" y="{_n(y_of(tick) + 4)}" text-anchor="end" fill="{MUTED}">{tick:g}</text>',
        ]
    baseline = plot_top + plot + 18
    for tick in (0.0, 0.5, 1.0):
        anchor = {0.0: "start", 0.5: "middle", 1.0: "end"}[tick]
        body.append(_x_label(x_of(tick), baseline, f"{tick:g}", anchor))
    body.append(
        f'<text x="{_n(left + width / 2)}" y="{_n(baseline + 18)}" text-anchor="middle" fill="{MUTED}">'
        f"{xml_text(x_title)}</text>"
    )
    body.append(f'<text x="{_n(left + 4)}" y="{_n(plot_top + 12)}" fill="{MUTED}">{xml_text(y_title)}</text>')
    for point, y, flagged in zip(points, ys, marked, strict=True):
        body.append(
            f'<circle class="point{" flagged" if flagged else ""}" cx="{_n(x_of(point.value))}" cy="{_n(y_of(y))}" '
            f'r="{4.5 if flagged else 3.5}" fill="{LINE if flagged else BAR}" fill-opacity="0.85">'
            f"<title>{xml_text(_flat(point.label))}: {xml_text(point.text)}</title></circle>"
        )
    return _svg(chart_id, title, _describe(summary, points), baseline + 18 + PAD, body)
