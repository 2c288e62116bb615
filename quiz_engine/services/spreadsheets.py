"""Writing workbooks people open in Excel: text that never runs as a formula, real dates and
durations with a display format, a bold frozen header with a filter, sensible widths.

openpyxl stores a string beginning with ``=`` as a formula. Every text cell is written as a string
instead; text that Excel would read as a formula when someone edits the cell (it begins with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return) also carries Excel's quote prefix, the
same mark typing an apostrophe first leaves, so the text is shown exactly and never run.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import WINDOWS_EPOCH, to_excel
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.worksheet import Worksheet

HEADER_FONT = Font(bold=True)
TITLE_FONT = Font(bold=True, size=13)
WRAP = Alignment(wrap_text=True, vertical="top")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
DATE_TIME_FORMAT = "dd/mm/yyyy hh:mm:ss"
DURATION_FORMAT = "[h]:mm:ss.00"
PERCENT_FORMAT = "0.0%"
SECONDS_PER_DAY = 86400
#: Values written as they are, told apart by their exact type (quicker than isinstance on every value).
PLAIN_TYPES = frozenset({int, float, bool, type(None)})


def excel_date(value: datetime, tz: ZoneInfo, epoch: datetime = WINDOWS_EPOCH) -> float:
    """``value`` as Excel stores a date-time: days since the workbook's epoch, in ``tz``'s wall-clock time.

    This is openpyxl's own arithmetic (``to_excel``), so the cell holds exactly what writing the datetime
    would store, without the per-value type checks and the cell's date-format test, which on a
    million-row export cost several seconds. A naive ``value`` is taken as the machine's local time,
    as ``datetime.astimezone`` does.
    """
    local = value.astimezone(tz)  # the zone's own rules for that instant, DST and all
    days = local.toordinal() - epoch.toordinal()
    if days <= 60:  # up to Excel's phantom 29 February 1900, which openpyxl corrects for
        return to_excel(local.replace(tzinfo=None), epoch)
    return days + (local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 10**6) / SECONDS_PER_DAY


def excel_duration(value: timedelta) -> float:
    """``value`` as Excel stores a duration: a number of days (openpyxl's arithmetic, as for dates)."""
    return value.total_seconds() / SECONDS_PER_DAY


def text_cell(sheet: WriteOnlyWorksheet, value: Any, **style: Any) -> WriteOnlyCell:
    """A write-only cell; strings are stored as strings even when they start with ``=``."""
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
        if value.startswith(FORMULA_STARTS):
            cell.quotePrefix = True
    for name, setting in style.items():
        setattr(cell, name, setting)
    return cell


def header_row(sheet: WriteOnlyWorksheet, titles: Iterable[str]) -> list[WriteOnlyCell]:
    return [text_cell(sheet, title, font=HEADER_FONT) for title in titles]


def set_widths(sheet: Worksheet | WriteOnlyWorksheet, widths: Iterable[float]) -> None:
    """Column widths in characters, from column A."""
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width


class ReportSheet:
    """A write-only sheet laid out as every export is: title, blank line, header, rows.

    Dates (aware) are shown in the contest's time zone as real Excel date-times; ``timedelta``
    values become Excel durations. Call :meth:`row` for each record, then the workbook's save.

    Both are written as the serial number Excel keeps (see :func:`excel_date`) in a cell carrying the
    display format, which is what openpyxl writes for a ``datetime`` or ``timedelta`` itself.
    """

    def __init__(self, workbook: Workbook, name: str, title: str, columns: Sequence[tuple[str, float]], tz: ZoneInfo):
        self.sheet = workbook.create_sheet(name)
        self.tz = tz
        self.epoch = workbook.epoch
        self.count = 0
        self._styled: dict[tuple[int, str], WriteOnlyCell] = {}
        set_widths(self.sheet, [w for _h, w in columns])
        self.sheet.freeze_panes = "A4"
        self.sheet.auto_filter.ref = f"A3:{get_column_letter(len(columns))}3"
        self.sheet.append([text_cell(self.sheet, title, font=TITLE_FONT)])
        self.sheet.append([])
        self.sheet.append(header_row(self.sheet, [h for h, _w in columns]))

    def _formatted(self, column: int, value: Any, number_format: str) -> WriteOnlyCell:
        # A write-only row is written out as soon as it is appended, so one styled cell per column can
        # be refilled row after row: styling a fresh cell per value cost a fifth of the export's time.
        cell = self._styled.get((column, number_format))
        if cell is None:  # one per format too: a column may hold a date in one row and a duration in another
            cell = self._styled[column, number_format] = text_cell(self.sheet, None, number_format=number_format)
        cell.value = value
        return cell

    def _cell(self, column: int, value: Any) -> Any:
        # Plain values go in as they are (what openpyxl does fastest); only values that need a format
        # or protection from being read as a formula become styled cells.
        if isinstance(value, str):
            return text_cell(self.sheet, value) if value.startswith(FORMULA_STARTS) else value
        if isinstance(value, datetime):
            return self._formatted(column, excel_date(value, self.tz, self.epoch), DATE_TIME_FORMAT)
        if isinstance(value, timedelta):
            return self._formatted(column, excel_duration(value), DURATION_FORMAT)
        return value

    def row(self, values: Sequence[Any]) -> None:
        # Numbers and blanks skip the method call: they are most of a big export's values.
        self.sheet.append([v if type(v) in PLAIN_TYPES else self._cell(i, v) for i, v in enumerate(values)])
        self.count += 1

    def percent(self, value: float | None) -> WriteOnlyCell:
        """A ratio (0.5) shown as a percentage (50.0 %)."""
        return text_cell(self.sheet, value, number_format=PERCENT_FORMAT)


def parameters_sheet(workbook: Workbook, parameters: Sequence[tuple[str, Any]], tz: ZoneInfo) -> None:
    """The export's parameters (what, for which contest and round, when, by whom), on their own sheet."""
    sheet = ReportSheet(workbook, "Thông số", "Thông số của tệp xuất", [("Thông số", 32), ("Giá trị", 60)], tz)
    for name, value in parameters:
        sheet.row([name, value])


def save(workbook: Workbook) -> bytes:
    """The workbook as .xlsx bytes (for small workbooks; large exports write to a file)."""
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
