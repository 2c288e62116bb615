"""Workbooks for Excel: dates in the contest's local time, durations, formula-proof text, the layout.

Dates and durations are written as Excel's serial numbers computed here rather than by openpyxl;
these tests hold them to exactly what openpyxl would have written for the datetime or timedelta.
"""

from __future__ import annotations

import enum
import io
import random
import zipfile
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils.datetime import MAC_EPOCH, WINDOWS_EPOCH, to_excel

from quiz_engine.services import spreadsheets
from quiz_engine.services.spreadsheets import (
    DATE_TIME_FORMAT,
    DURATION_FORMAT,
    FORMULA_STARTS,
    ReportSheet,
    excel_date,
    excel_duration,
    parameters_sheet,
)

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
BERLIN = ZoneInfo("Europe/Berlin")  # has daylight saving time, unlike Ho Chi Minh City today


class Status(enum.StrEnum):
    DONE = "xong"


def _openpyxl(value: datetime, tz: ZoneInfo, epoch: datetime = WINDOWS_EPOCH) -> float:
    """What openpyxl stores for the local wall-clock time of ``value``."""
    return to_excel(value.astimezone(tz).replace(tzinfo=None), epoch)


def test_a_date_is_the_local_wall_clock_time_in_the_zone() -> None:
    submitted = datetime(2026, 11, 26, 1, 2, 3, tzinfo=UTC)  # 08:02:03 in Ho Chi Minh City (UTC+7)
    expected = (datetime(2026, 11, 26, 8, 2, 3) - WINDOWS_EPOCH) / timedelta(days=1)
    assert excel_date(submitted, HCM) == pytest.approx(expected, abs=1e-9)
    late = datetime(2026, 11, 26, 20, 0, tzinfo=UTC)  # already the next day there
    assert int(excel_date(late, HCM)) == (datetime(2026, 11, 27) - WINDOWS_EPOCH).days


@pytest.mark.parametrize("tz", [HCM, BERLIN, ZoneInfo("America/St_Johns"), ZoneInfo("Australia/Lord_Howe")])
def test_dates_match_openpyxl_to_the_last_bit(tz: ZoneInfo) -> None:
    generator = random.Random(6)
    start = datetime(1900, 3, 2, tzinfo=UTC)
    span = int((datetime(2100, 1, 1, tzinfo=UTC) - start).total_seconds())
    instants = [start + timedelta(seconds=generator.randrange(span), microseconds=generator.randrange(10**6))]
    instants += [start + timedelta(seconds=generator.randrange(span)) for _ in range(5000)]
    for value in instants:
        assert excel_date(value, tz) == _openpyxl(value, tz), value


def test_dates_across_daylight_saving_changes_and_old_offsets() -> None:
    # Berlin, 2026: clocks go forward at 01:00 UTC on 29 March and back at 01:00 UTC on 25 October.
    for day in (datetime(2026, 3, 29, tzinfo=UTC), datetime(2026, 10, 25, tzinfo=UTC)):
        for minutes in range(0, 180, 7):
            value = day + timedelta(minutes=minutes)
            assert excel_date(value, BERLIN) == _openpyxl(value, BERLIN), value
    # Saigon kept UTC+8 from 1959 to 1975: the zone's rules for the instant apply, not today's +7.
    old = datetime(1970, 1, 1, 0, 0, tzinfo=UTC)
    assert excel_date(old, HCM) == to_excel(datetime(1970, 1, 1, 8, 0))


def test_dates_around_the_1900_leap_year_bug_and_the_1904_epoch() -> None:
    for value in (datetime(1900, 1, 15, 12, tzinfo=UTC), datetime(1900, 2, 28, 23, tzinfo=UTC)):
        assert excel_date(value, UTC) == _openpyxl(value, UTC)
    for value in (datetime(1904, 1, 2, 6, tzinfo=UTC), datetime(2026, 11, 26, 1, 2, 3, 456789, tzinfo=UTC)):
        assert excel_date(value, HCM, MAC_EPOCH) == _openpyxl(value, HCM, MAC_EPOCH)


def test_durations_match_openpyxl() -> None:
    for duration in (timedelta(0), timedelta(milliseconds=61234), timedelta(hours=30, seconds=1.5)):
        assert excel_duration(duration) == to_excel(duration)
    assert excel_duration(timedelta(hours=36)) == 1.5


def _report(rows: list[list[object]]) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = ReportSheet(workbook, "Bảng", "Tiêu đề", [("Cột A", 10), ("Cột B", 20), ("Cột C", 12)], HCM)
    for row in rows:
        sheet.row(row)
    assert sheet.count == len(rows)
    parameters_sheet(workbook, [("Xuất lúc", datetime(2026, 11, 26, 1, 2, tzinfo=UTC)), ("Số dòng", 3)], HCM)
    return spreadsheets.save(workbook)


def test_a_report_reads_back_with_its_dates_durations_and_layout() -> None:
    submitted = datetime(2026, 11, 26, 1, 2, 3, 500000, tzinfo=UTC)
    data = _report([[1, submitted, timedelta(minutes=1, seconds=2.25)], [2, None, Status.DONE]])
    workbook = load_workbook(io.BytesIO(data))
    sheet = workbook["Bảng"]
    assert sheet["A1"].value == "Tiêu đề" and sheet["A1"].font.bold and sheet["A1"].font.size == 13
    assert [c.value for c in sheet[3]] == ["Cột A", "Cột B", "Cột C"] and all(c.font.bold for c in sheet[3])
    assert sheet.freeze_panes == "A4" and sheet.auto_filter.ref == "A3:C3"
    assert sheet.column_dimensions["B"].width == 20
    date, duration = sheet["B4"], sheet["C4"]
    assert date.is_date and date.number_format == DATE_TIME_FORMAT
    assert date.value == datetime(2026, 11, 26, 8, 2, 3, 500000)  # local time, and no zone: Excel has none
    assert duration.number_format == DURATION_FORMAT and duration.value == timedelta(minutes=1, seconds=2.25)
    assert sheet["B5"].value is None and sheet["C5"].value == "xong" and sheet["C5"].data_type == "s"
    parameters = workbook["Thông số"]
    assert [c.value for c in parameters[3]] == ["Thông số", "Giá trị"]
    assert parameters["B4"].value == datetime(2026, 11, 26, 8, 2) and parameters["B5"].value == 3


def test_text_that_excel_would_run_is_kept_as_text_with_a_quote_prefix() -> None:
    hostile = [f"{start}SUM(1,2)" for start in FORMULA_STARTS]
    data = _report([[text, "Nguyễn Văn An", 3] for text in hostile])
    sheet = load_workbook(io.BytesIO(data))["Bảng"]
    for row, text in enumerate(hostile, start=4):
        cell = sheet.cell(row=row, column=1)
        assert (cell.value, cell.data_type, cell.quotePrefix) == (text, "s", True)
        plain = sheet.cell(row=row, column=2)
        assert plain.value == "Nguyễn Văn An" and not plain.quotePrefix
    assert "<f>" not in zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()


def test_date_and_duration_cells_are_what_openpyxl_writes_for_datetime_and_timedelta() -> None:
    """Byte for byte: the serial numbers computed here change nothing in the file."""
    values = [datetime(2026, 11, 26, 1, 2, 3, 123456, tzinfo=UTC), timedelta(milliseconds=60001)]
    ours = _report([[1, *values]])
    workbook = Workbook(write_only=True)
    sheet = ReportSheet(workbook, "Bảng", "Tiêu đề", [("Cột A", 10), ("Cột B", 20), ("Cột C", 12)], HCM)
    cells = [WriteOnlyCell(sheet.sheet), WriteOnlyCell(sheet.sheet)]
    cells[0].number_format, cells[1].number_format = DATE_TIME_FORMAT, DURATION_FORMAT  # before the values
    cells[0].value, cells[1].value = values[0].astimezone(HCM).replace(tzinfo=None), values[1]
    sheet.sheet.append([1, *cells])
    parameters_sheet(workbook, [("Xuất lúc", datetime(2026, 11, 26, 1, 2, tzinfo=UTC)), ("Số dòng", 3)], HCM)
    theirs = spreadsheets.save(workbook)
    for part in ("xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml", "xl/styles.xml"):
        assert zipfile.ZipFile(io.BytesIO(ours)).read(part) == zipfile.ZipFile(io.BytesIO(theirs)).read(part), part


def test_a_column_mixing_dates_and_durations_gives_each_its_own_format() -> None:
    workbook = Workbook(write_only=True)
    sheet = ReportSheet(workbook, "Bảng", "Tiêu đề", [("Thông số", 20), ("Giá trị", 20)], HCM)
    sheet.row(["Xuất lúc", datetime(2026, 11, 26, 1, 2, tzinfo=UTC)])
    sheet.row(["Thời lượng", timedelta(minutes=90)])
    sheet.row(["Nộp lúc", datetime(2026, 11, 27, 1, 2, tzinfo=UTC)])
    read = load_workbook(io.BytesIO(spreadsheets.save(workbook)))["Bảng"]
    assert [read.cell(row=r, column=2).number_format for r in (4, 5, 6)] == [
        DATE_TIME_FORMAT,
        DURATION_FORMAT,
        DATE_TIME_FORMAT,
    ]
    assert read["B5"].value == timedelta(minutes=90) and read["B6"].value == datetime(2026, 11, 27, 8, 2)
