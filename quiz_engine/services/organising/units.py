"""Units (communes, wards, agencies): reading a unit list and importing it by code, all or nothing; the unit tree.

Functions flush; the caller commits.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePath

from sqlalchemy import select
from sqlalchemy.orm import Session

from quiz_engine.models import Unit, UnitKind
from quiz_engine.services.catalogue.bank_formats import DEFAULT_MAX_BYTES
from quiz_engine.services.catalogue.bank_formats.errors import BankFileError, decode_text
from quiz_engine.services.catalogue.bank_formats.xlsx_format import OLE_MAGIC, read_xlsx_table
from quiz_engine.services.catalogue.question_schema import Problem, clean, fold
from quiz_engine.services.errors import ValidationError
from quiz_engine.services.people import audit

HEADERS_VI = {
    "code": "Mã đơn vị",
    "name": "Tên đơn vị",
    "kind": "Loại",
    "parent_code": "Mã đơn vị cấp trên",
    "headcount": "Số người",
}
_ALIASES = {
    "code": ["code", "ma", "ma don vi"],
    "name": ["name", "ten", "ten don vi"],
    "kind": ["kind", "type", "loai", "loai don vi"],
    "parent_code": ["parent", "parent code", "ma cap tren", "ma don vi cap tren"],
    "headcount": ["headcount", "so nguoi", "so can bo", "dan so", "so luong"],
}
_KIND_WORDS = {
    UnitKind.PROVINCE: ["tinh", "province"],
    UnitKind.COMMUNE: ["xa", "commune"],
    UnitKind.WARD: ["phuong", "ward"],
    UnitKind.AGENCY: ["co quan", "agency", "so", "ban", "nganh"],
    UnitKind.SCHOOL: ["truong", "truong hoc", "school"],
    UnitKind.ENTERPRISE: ["doanh nghiep", "enterprise"],
    UnitKind.OTHER: ["khac", "other"],
}
UNIT_SHEET_NAMES = ("đơn vị", "don vi", "units")
_KEY_BY_ALIAS = {fold(a): k for k, aliases in _ALIASES.items() for a in aliases}


@dataclass(frozen=True)
class UnitSpec:
    code: str
    name: str
    kind: UnitKind
    parent_code: str | None
    headcount: int | None
    row: int


@dataclass
class UnitImportReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def read_units_file(
    filename: str, data: bytes, max_bytes: int = DEFAULT_MAX_BYTES
) -> tuple[list[UnitSpec], list[Problem]]:
    """Parse a unit list (.xlsx or .csv); return the clean rows and every problem found.

    The same safety checks as question banks apply to the file as a whole.
    """
    try:
        if len(data) > max_bytes:
            raise BankFileError(
                f"Tệp quá lớn; giới hạn là {max_bytes // (1024 * 1024)} MB.",
                f"The file is too large; the limit is {max_bytes // (1024 * 1024)} MB.",
            )
        if PurePath(filename).suffix.lower() in (".xlsx", ".xls") or data.startswith((b"PK\x03\x04", OLE_MAGIC)):
            table = read_xlsx_table(data, UNIT_SHEET_NAMES)
            headers, rows = table.headers, table.rows
        else:
            headers, rows = _csv_table(decode_text(data, "CSV"))
    except BankFileError as exc:
        return [], [exc.problem]
    return _specs_from_table(headers, rows)


def read_units_csv(data: bytes) -> tuple[list[UnitSpec], list[Problem]]:
    """Parse a CSV unit list (see :func:`read_units_file`)."""
    return read_units_file("units.csv", data)


def _csv_table(text: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    headers = next(reader, [])
    return headers, [(n, r) for n, r in enumerate(reader, start=2) if any(c.strip() for c in r)]


def _specs_from_table(headers: list[str], rows: list[tuple[int, list[str]]]) -> tuple[list[UnitSpec], list[Problem]]:
    keys = [_KEY_BY_ALIAS.get(fold(h)) for h in headers]
    missing = [HEADERS_VI[k] for k in ("code", "name", "kind") if k not in keys]
    if missing:
        return [], [Problem(1, None, f"thiếu cột {', '.join(missing)}.", f"missing column(s) {', '.join(missing)}.")]
    problems: list[Problem] = []
    specs = []
    for number, record in rows:
        cells = {k: clean(v) for k, v in zip(keys, record, strict=False) if k}
        spec = _check_unit(number, cells, problems)
        if spec is not None:
            specs.append(spec)
    _check_references(specs, problems)
    return specs, problems


def _check_unit(row: int, cells: dict[str, str], problems: list[Problem]) -> UnitSpec | None:
    before = len(problems)
    code, name = cells.get("code", ""), cells.get("name", "")
    if not code:
        problems.append(Problem(row, HEADERS_VI["code"], "mã đơn vị để trống.", "the unit code is empty."))
    if not name:
        problems.append(Problem(row, HEADERS_VI["name"], "tên đơn vị để trống.", "the unit name is empty."))
    kind = next((k for k, words in _KIND_WORDS.items() if fold(cells.get("kind", "")) in words), None)
    if kind is None:
        problems.append(
            Problem(
                row,
                HEADERS_VI["kind"],
                f"loại '{cells.get('kind', '')}' không hợp lệ.",
                f"unknown unit type '{cells.get('kind', '')}'.",
            )
        )
    headcount = None
    if cells.get("headcount"):
        try:
            headcount = int(cells["headcount"].replace(".", "").replace(",", ""))
            if headcount < 0:
                raise ValueError
        except ValueError:
            problems.append(
                Problem(
                    row,
                    HEADERS_VI["headcount"],
                    "số người phải là số nguyên không âm.",
                    "the headcount must be a non-negative whole number.",
                )
            )
    if len(problems) > before or kind is None:
        return None
    return UnitSpec(code, name, kind, cells.get("parent_code") or None, headcount, row)


def _check_references(specs: list[UnitSpec], problems: list[Problem]) -> None:
    seen: dict[str, int] = {}
    for spec in specs:
        if spec.code in seen:
            problems.append(
                Problem(
                    spec.row,
                    HEADERS_VI["code"],
                    f"mã '{spec.code}' trùng với dòng {seen[spec.code]}.",
                    f"code '{spec.code}' duplicates row {seen[spec.code]}.",
                )
            )
        seen.setdefault(spec.code, spec.row)
    parents = {s.code: s.parent_code for s in specs}
    for spec in specs:
        walked, code = set(), spec.code
        while code in parents and parents[code] and code not in walked:
            walked.add(code)
            code = parents[code]
        if code in walked:  # the chain came back to itself: a unit would be its own ancestor
            problems.append(
                Problem(
                    spec.row,
                    HEADERS_VI["parent_code"],
                    "đơn vị cấp trên tạo thành vòng lặp.",
                    "the parent units form a loop.",
                )
            )


def import_units(session: Session, specs: list[UnitSpec], *, is_sample: bool = False) -> UnitImportReport:
    """Add or update units by code; a parent code must exist in the file or the database.

    Nothing is written if any parent is unknown.
    """
    report = UnitImportReport()
    existing = {u.code: u for u in session.scalars(select(Unit))}
    in_file = {s.code for s in specs}
    for spec in specs:
        if spec.parent_code and spec.parent_code not in in_file and spec.parent_code not in existing:
            report.problems.append(
                Problem(
                    spec.row,
                    HEADERS_VI["parent_code"],
                    f"không có đơn vị cấp trên mã '{spec.parent_code}'.",
                    f"no parent unit with code '{spec.parent_code}'.",
                )
            )
    if report.problems:
        return report
    for spec in specs:  # parents first is not required: links are set in a second pass
        unit = existing.get(spec.code)
        values = (spec.name, spec.kind, spec.headcount)
        if unit is None:
            unit = existing[spec.code] = Unit(code=spec.code, is_sample=is_sample)
            session.add(unit)
            report.added += 1
        elif (unit.name, unit.kind, unit.headcount) != values or _parent_code(unit) != spec.parent_code:
            report.updated += 1
        else:
            report.unchanged += 1
        unit.name, unit.kind, unit.headcount = values
    for spec in specs:
        existing[spec.code].parent = existing[spec.parent_code] if spec.parent_code else None
    session.flush()
    return report


def _parent_code(unit: Unit) -> str | None:
    return unit.parent.code if unit.parent else None


def import_units_file(
    session: Session,
    filename: str,
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    now: datetime,
    actor_id: int | None = None,
    origin: audit.Origin = audit.CLI,
) -> UnitImportReport:
    """Read a unit list file and import it whole, recording who did; with any problem nothing is written
    (the caller rolls back) and the report lists the problems."""
    specs, problems = read_units_file(filename, data, max_bytes)
    report = import_units(session, specs) if not problems else UnitImportReport(problems=problems)
    if report.ok:
        details = {"file": filename, "added": report.added, "updated": report.updated}
        audit.record(session, "units.import", now=now, actor_id=actor_id, origin=origin, **details)
    return report


# --- The unit tree ---------------------------------------------------------------------------------


def unit_tree(session: Session) -> list[tuple[Unit, int]]:
    """Every unit with its depth, each parent followed by its children, siblings by name."""
    units = list(session.scalars(select(Unit).order_by(Unit.name, Unit.code)))
    children = _children(units)
    ordered: list[tuple[Unit, int]] = []
    seen: set[int] = set()
    stack = [(u, 0) for u in reversed(children.get(None, []))]
    while stack:
        unit, depth = stack.pop()
        if unit.id in seen:  # a parent loop in imported data must not hang the page
            continue
        seen.add(unit.id)
        ordered.append((unit, depth))
        stack.extend((child, depth + 1) for child in reversed(children.get(unit.id, [])))
    return ordered


def _children(units: Sequence[Unit]) -> dict[int | None, list[Unit]]:
    ids = {u.id for u in units}
    children: dict[int | None, list[Unit]] = {}
    for unit in units:
        children.setdefault(unit.parent_id if unit.parent_id in ids else None, []).append(unit)
    return children


def units_under(session: Session, parent: Unit) -> list[Unit]:
    """``parent`` and every unit below it, at any depth."""
    children = _children(list(session.scalars(select(Unit))))
    found: dict[int, Unit] = {}
    stack = [parent]
    while stack:
        unit = stack.pop()
        if unit.id not in found:
            found[unit.id] = unit
            stack.extend(children.get(unit.id, []))
    return list(found.values())


def choose_units(session: Session, unit_ids: Sequence[int], under_id: int | None = None) -> list[Unit]:
    """The units picked one by one, or, when ``under_id`` is given, that unit and all below it.

    :raises ValidationError: if a unit does not exist.
    """
    if under_id is not None:
        parent = session.get(Unit, under_id)
        if parent is None:
            raise ValidationError("Không có đơn vị đã chọn.", "No such unit.", field="units_under")
        return units_under(session, parent)
    units = list(session.scalars(select(Unit).where(Unit.id.in_(list(unit_ids))))) if unit_ids else []
    if len(units) != len(set(unit_ids)):
        raise ValidationError("Có đơn vị không tồn tại.", "Some units do not exist.", field="units")
    return units


def units_by_codes(session: Session, codes: Sequence[str]) -> list[Unit]:
    """The units with these codes.

    :raises ValidationError: naming the codes that match no unit.
    """
    units = list(session.scalars(select(Unit).where(Unit.code.in_(list(codes))))) if codes else []
    missing = sorted(set(codes) - {u.code for u in units})
    if missing:
        raise ValidationError(
            f"Không có đơn vị mã: {', '.join(missing)}.", f"No unit with code(s): {', '.join(missing)}.", field="units"
        )
    return units
