"""Writing workbooks people open in Excel: cells that never turn into formulas, readable headers.

openpyxl stores any string beginning with ``=`` as a formula; text that people typed (a question,
a name) must never run, so every text cell is written as a plain string.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.worksheet import Worksheet

HEADER_FONT = Font(bold=True)
WRAP = Alignment(wrap_text=True, vertical="top")


def text_cell(sheet: WriteOnlyWorksheet, value: Any, **style: Any) -> WriteOnlyCell:
    """A write-only cell; strings are stored as strings even when they start with ``=``."""
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
    for name, setting in style.items():
        setattr(cell, name, setting)
    return cell


def header_row(sheet: WriteOnlyWorksheet, titles: Iterable[str]) -> list[WriteOnlyCell]:
    return [text_cell(sheet, title, font=HEADER_FONT) for title in titles]


def set_widths(sheet: Worksheet | WriteOnlyWorksheet, widths: Iterable[float]) -> None:
    """Column widths in characters, from column A."""
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
