"""SVG charts: well-formed, named and described, escaped, proportional, an empty state, readable colours."""

import itertools
import xml.etree.ElementTree as ET

import pytest

from quiz_engine.services.results import charts
from quiz_engine.services.results.charts import Datum

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = "Xã <script>alert(\"x\")</script> & Co\x01 'quoted'"


def _parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    assert root.get("viewBox", "").startswith(f"0 0 {charts.WIDTH} ")
    assert root.get("width") == "100%" and root.get("height") is None  # scales with its container
    ids = {e.get("id"): e for e in root.iter() if e.get("id")}
    title_id, desc_id = root.get("aria-labelledby", "").split()
    assert ids[title_id].tag == f"{SVG}title" and ids[desc_id].tag == f"{SVG}desc"
    assert root[0] is ids[title_id]  # the title comes first, where tooltips and screen readers look
    return root


def _title(root: ET.Element) -> str:
    return root.find(f"{SVG}title").text or ""


def _desc(root: ET.Element) -> str:
    return root.find(f"{SVG}desc").text or ""


def _texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def _bars(root: ET.Element, cls: str = "bar") -> list[ET.Element]:
    return [r for r in root.iter(f"{SVG}rect") if r.get("class") == cls]


def _bar(values: list[float], **kwargs) -> ET.Element:  # type: ignore[no-untyped-def]
    data = [Datum(f"Đơn vị {i}", v, f"{v:g}%") for i, v in enumerate(values)]
    return _parse(charts.bar_chart(data, chart_id="c", title="Tỷ lệ", summary="Tóm tắt.", empty_text="Trống", **kwargs))


def test_bar_chart_names_and_describes_itself_with_every_number() -> None:
    root = _parse(
        charts.bar_chart(
            [Datum("Xã Một", 37.5, "37,5% (45/120)"), Datum("Phường Hai", 0, "0% (0/8)")],
            chart_id="chart-units",
            title="Tỷ lệ tham gia",
            summary="Người tham gia trên tổng số người.",
            empty_text="Chưa có đơn vị.",
        )
    )
    assert _title(root) == "Tỷ lệ tham gia"
    assert _desc(root) == "Người tham gia trên tổng số người. Xã Một: 37,5% (45/120); Phường Hai: 0% (0/8)"
    assert _texts(root) == ["Xã Một", "37,5% (45/120)", "Phường Hai", "0% (0/8)"]
    assert [b.find(f"{SVG}title").text for b in _bars(root)] == ["Xã Một: 37,5% (45/120)", "Phường Hai: 0% (0/8)"]


def _tracks(root: ET.Element) -> list[float]:
    return [float(r.get("width")) for r in root.iter(f"{SVG}rect") if r.get("fill") == charts.TRACK]


def test_bar_lengths_are_proportional_to_the_values() -> None:
    root = _bar([10, 20, 40, 100, 0])
    widths = [float(b.get("width")) for b in _bars(root)]
    [full] = set(_tracks(root))  # the track is the whole scale, 0 to 100
    assert full > (charts.WIDTH - 2 * charts.PAD) / 2
    assert widths == [pytest.approx(full * v / 100, abs=0.01) for v in (10, 20, 40, 100, 0)]


def test_a_value_above_the_scale_stretches_the_scale() -> None:
    root = _bar([150, 75])
    widths = [float(b.get("width")) for b in _bars(root)]
    assert widths[0] == _tracks(root)[0] and widths[1] == pytest.approx(widths[0] / 2, abs=0.01)


@pytest.mark.parametrize(
    "render",
    [
        lambda label: charts.bar_chart(
            [Datum(label, 5, label)], chart_id="c", title=label, summary=label, empty_text=label
        ),
        lambda label: charts.line_chart(
            [Datum(label, 3, label)] * 3, chart_id="c", title=label, summary=label, empty_text=label
        ),
        lambda label: charts.histogram(
            [Datum(label, 2, label)], chart_id="c", title=label, summary=label, empty_text=label
        ),
        lambda label: charts.bar_chart([], chart_id="c", title=label, summary=label, empty_text=label),
    ],
)
def test_hostile_text_is_escaped_everywhere(render) -> None:  # type: ignore[no-untyped-def]
    svg = render(HOSTILE)
    assert "<script" not in svg and "\x01" not in svg
    root = _parse(svg)  # still well-formed XML, so the characters did not break out of their text
    assert not [e for e in root.iter() if "script" in e.tag]
    expected = HOSTILE.replace("\x01", "")
    assert _title(root) == expected
    assert expected in _desc(root)
    shown = [t for t in _texts(root) + [t.text or "" for t in root.iter(f"{SVG}title")] if "script" in t]
    assert shown and all(t.startswith("Xã <script>") for t in shown)


def test_long_labels_are_shortened_on_screen_but_whole_in_tooltip_and_description() -> None:
    name = "Trường Trung học phổ thông chuyên Nguyễn Bỉnh Khiêm, thành phố Vĩnh Long"
    root = _parse(charts.bar_chart([Datum(name, 50, "50%")], chart_id="c", title="T", summary="", empty_text="E"))
    label = _texts(root)[0]
    assert label.endswith("…") and name.startswith(label[:-1])
    assert len(label) <= charts.chars_in(charts.WIDTH - 2 * charts.PAD, charts.LABEL_FONT)
    assert _bars(root)[0].find(f"{SVG}title").text == f"{name}: 50%"
    assert name in _desc(root)


@pytest.mark.parametrize(
    "svg",
    [
        charts.bar_chart([], chart_id="c", title="Tỷ lệ", summary="S", empty_text="Chưa có đơn vị nào."),
        charts.line_chart([], chart_id="c", title="Tỷ lệ", summary="S", empty_text="Chưa có đơn vị nào."),
        charts.line_chart(
            [Datum("09:00", 0, "0")] * 5, chart_id="c", title="Tỷ lệ", summary="S", empty_text="Chưa có đơn vị nào."
        ),
        charts.histogram(
            [Datum(str(k), 0, "0") for k in range(6)],
            chart_id="c",
            title="Tỷ lệ",
            summary="S",
            empty_text="Chưa có đơn vị nào.",
        ),
    ],
)
def test_no_data_renders_a_clear_empty_state(svg: str) -> None:
    root = _parse(svg)
    assert _title(root) == "Tỷ lệ" and _desc(root) == "Chưa có đơn vị nào."
    assert _texts(root) == ["Chưa có đơn vị nào."]
    assert not _bars(root) and not _bars(root, "bin") and root.find(f"{SVG}polyline") is None


def test_line_chart_plots_every_point_and_labels_both_ends_and_the_middle() -> None:
    values = [0, 2, 8, 4, 0, 1, 0]
    points = [Datum(f"{9 + i:02d}:00 12/05", v, f"{v} lượt") for i, v in enumerate(values)]
    root = _parse(charts.line_chart(points, chart_id="t", title="Lượt thi", summary="Tổng 15.", empty_text="E"))
    coords = [tuple(map(float, p.split(","))) for p in root.find(f"{SVG}polyline").get("points").split()]
    assert len(coords) == len(values)
    xs, ys = [x for x, _ in coords], [y for _, y in coords]
    assert xs == sorted(xs) and len(set(xs)) == len(xs)  # equally spaced, left to right
    step = xs[1] - xs[0]
    assert all(b - a == pytest.approx(step, abs=0.02) for a, b in itertools.pairwise(xs))  # to 1/100 unit
    zero_y = ys[0]
    # Heights above the zero line are proportional to the values.
    assert (zero_y - ys[2]) == pytest.approx(4 * (zero_y - ys[1])) and (zero_y - ys[3]) == pytest.approx(
        2 * (zero_y - ys[1])
    )
    assert {"09:00 12/05", "12:00 12/05", "15:00 12/05"} <= set(_texts(root))
    # The description lists the non-zero points only.
    assert _desc(root) == "Tổng 15. 10:00 12/05: 2 lượt; 11:00 12/05: 8 lượt; 12:00 12/05: 4 lượt; 14:00 12/05: 1 lượt"


def test_axis_labels_may_take_two_lines() -> None:
    points = [Datum(f"{h:02d}:00\n12/05", h, str(h)) for h in range(1, 5)]
    root = _parse(charts.line_chart(points, chart_id="t", title="T", summary="", empty_text="E"))
    first = next(t for t in root.iter(f"{SVG}text") if t.text == "01:00")
    assert [s.text for s in first.iter(f"{SVG}tspan")] == ["12/05"]
    assert "01:00 12/05: 1" in _desc(root)
    assert root.find(f"{SVG}circle/{SVG}title").text == "01:00 12/05: 1"


def test_line_chart_axis_numbers_use_the_callers_format() -> None:
    points = [Datum("a", 0, "0"), Datum("b", 1234, "1.234")]
    root = _parse(
        charts.line_chart(
            points, chart_id="t", title="T", summary="", empty_text="E", fmt=lambda n: f"{n:,}".replace(",", ".")
        )
    )
    assert "2.000" in _texts(root) and "0" in _texts(root)


def test_histogram_bar_heights_are_proportional_and_every_small_bin_is_labelled() -> None:
    counts = [1, 0, 3, 6, 2, 4]
    bins = [Datum(str(k), n, f"{n} bài") for k, n in enumerate(counts)]
    root = _parse(charts.histogram(bins, chart_id="d", title="Phân bố", summary="Số câu đúng.", empty_text="E"))
    heights = [float(r.get("height")) for r in _bars(root, "bin")]
    assert (
        heights[1] == 0 and heights[3] == pytest.approx(6 * heights[0]) and heights[2] == pytest.approx(heights[3] / 2)
    )
    texts = _texts(root)
    assert all(str(k) in texts for k in range(len(counts)))
    assert _desc(root) == "Số câu đúng. 0: 1 bài; 1: 0 bài; 2: 3 bài; 3: 6 bài; 4: 2 bài; 5: 4 bài"


def test_histogram_with_many_bins_labels_a_few_and_always_the_last() -> None:
    bins = [Datum(str(k), k % 7, str(k % 7)) for k in range(41)]
    root = _parse(charts.histogram(bins, chart_id="d", title="T", summary="", empty_text="E"))
    labels = [t for t in _texts(root) if t.isdigit() and int(t) <= 40]
    assert len(_bars(root, "bin")) == 41
    x_labels = [t for t in root.iter(f"{SVG}text") if t.get("text-anchor") == "middle" and float(t.get("y")) > 160]
    assert 5 <= len(x_labels) <= 13 and x_labels[-1].text == "40" and x_labels[0].text == "0"
    xs = [float(t.get("x")) for t in x_labels]
    assert min(b - a for a, b in itertools.pairwise(xs)) >= 20  # labels never crowd each other
    assert labels


def test_nice_ceiling() -> None:
    assert charts.nice_ceiling(0) == (4, 1)
    assert charts.nice_ceiling(7) == (8, 2)
    assert charts.nice_ceiling(8) == (8, 2)
    assert charts.nice_ceiling(9) == (20, 5)
    assert charts.nice_ceiling(1234) == (2000, 500)


def test_a_chart_id_that_is_not_an_xml_id_is_refused() -> None:
    with pytest.raises(ValueError):
        charts.bar_chart([], chart_id='x" onload="alert(1)', title="T", summary="", empty_text="E")


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast_on_white(colour: str) -> float:
    return 1.05 / (_luminance(colour) + 0.05)


def test_colours_meet_wcag_aa_on_white() -> None:
    svgs = [
        charts.bar_chart([Datum("A", 40, "40%")], chart_id="a", title="T", summary="", empty_text="E"),
        charts.line_chart(
            [Datum("a", 1, "1"), Datum("b", 3, "3")], chart_id="b", title="T", summary="", empty_text="E"
        ),
        charts.histogram([Datum("0", 1, "1"), Datum("1", 2, "2")], chart_id="c", title="T", summary="", empty_text="E"),
        charts.bar_chart([], chart_id="d", title="T", summary="", empty_text="E"),
    ]
    for svg in svgs:
        root = _parse(svg)
        inherited = root.get("fill")
        for element in root.iter(f"{SVG}text"):
            assert _contrast_on_white(element.get("fill", inherited)) >= 4.5
        marks = [*_bars(root), *_bars(root, "bin"), *root.iter(f"{SVG}polyline")]
        for element in marks:
            colour = element.get("stroke") if element.get("fill") == "none" else element.get("fill")
            assert _contrast_on_white(colour) >= 3


def test_share_strip_splits_one_bar_by_share_and_marks_the_key() -> None:
    options = [Datum("A", 0.6, "60 %"), Datum("B", 0.3, "30 %"), Datum("C", 0.0, "0 %"), Datum("D", 0.1, "10 %")]
    root = _parse(
        charts.share_strip(options, marked=[True, False, False, False], chart_id="s", title="T", summary="Đáp án A.")
    )
    shares = [r for r in root.iter(f"{SVG}rect") if (r.get("class") or "").startswith("share")]
    assert [r.find(f"{SVG}title").text for r in shares] == ["A: 60 %", "B: 30 %", "D: 10 %"]  # nothing drawn for C
    widths = [float(r.get("width")) + 1 for r in shares]  # each less a one-unit gap
    area = charts.WIDTH - 2 * charts.PAD
    assert widths == pytest.approx([area * 0.6, area * 0.3, area * 0.1])
    assert shares[0].get("class") == "share key" and shares[0].get("fill") == charts.HISTOGRAM
    assert _desc(root) == "Đáp án A. A: 60 %; B: 30 %; C: 0 %; D: 10 %"


def test_scatter_places_points_on_both_axes_and_marks_the_flagged() -> None:
    points = [Datum("Q1", 0.0, "a"), Datum("Q2", 1.0, "b"), Datum("Q3", 0.5, "c")]
    root = _parse(
        charts.scatter(
            points,
            [1.0, -1.0, 0.0],
            marked=[False, True, False],
            chart_id="p",
            title="T",
            summary="S",
            empty_text="E",
            x_title="Tỷ lệ đúng",
            y_title="Độ phân biệt",
        )
    )
    circles = list(root.iter(f"{SVG}circle"))
    xs, ys = [float(c.get("cx")) for c in circles], [float(c.get("cy")) for c in circles]
    assert xs[0] < xs[2] < xs[1] and ys[0] < ys[2] < ys[1]  # higher discrimination is higher on the page
    assert xs[2] == pytest.approx((xs[0] + xs[1]) / 2) and ys[2] == pytest.approx((ys[0] + ys[1]) / 2)
    assert [c.get("class") for c in circles] == ["point", "point flagged", "point"]
    assert circles[1].get("fill") == charts.LINE
    assert "Tỷ lệ đúng" in _texts(root) and "Độ phân biệt" in _texts(root)
    assert _texts(_parse(charts.scatter([], [], marked=[], chart_id="p", title="T", summary="S", empty_text="Trống",
                                        x_title="x", y_title="y"))) == ["Trống"]  # fmt: skip
