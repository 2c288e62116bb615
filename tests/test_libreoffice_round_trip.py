"""Banks through real LibreOffice, as organizers use it: every cell reads as the spreadsheet shows it.

Each example is one generated bank whose cells hold what spreadsheets like to reinterpret: dates
typed as text, percentages, numbers with leading zeros or decimal commas, formula-looking text,
times, and Vietnamese with diacritics. Paths:

- the project's own export, re-saved by LibreOffice: every question comes back identical;
- the bank as CSV, opened in LibreOffice (English or Vietnamese, special numbers detected, as in
  issue 17) and saved as .xlsx: LibreOffice itself turns "03/6/2020" into a date shown 03/06/20,
  "0912345678" into 912345678 and "=1+1" into 2, so the source text cannot come back; what must
  hold is that every cell reads exactly as LibreOffice shows it (its own CSV export "as shown" is
  the oracle), never as the date-time or fraction behind it, and no cell is refused;
- the same CSV opened with every column as Text (the advice in the README): identical again.

LibreOffice runs headless with a private profile per test module, a few examples each, since
each conversion takes about a second.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from quiz_engine.models import Difficulty
from quiz_engine.services.catalogue.bank_formats import BankFileError, read_bank_file
from quiz_engine.services.catalogue.bank_workbooks import build_bank_export
from quiz_engine.services.catalogue.question_schema import (
    COLUMNS,
    HEADERS_VI,
    QuestionSpec,
    RawQuestion,
    normalise_text,
    validate_rows,
)

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed")]

HEADER = [HEADERS_VI[key] for key in COLUMNS]
#: Text LibreOffice (or Excel) reinterprets when it opens a CSV: dates, percentages, numbers, formulas, times.
TRICKY = [
    "03/6/2020",
    "01/10/2025",
    "13/10/2025",
    "10/10",
    "22/4/2022",
    "66%",
    "66.5%",
    "1990",
    "3.50",
    "0,5",
    "1,234",
    "0912345678",
    "=1+1",
    "08:30",
    "-3",
    "TRUE",
    "1e5",
    "2020-03-06",
    "Hà Nội",
    "Đề án 06",
    "Quyết định 505/QĐ-TTg",
]
LETTERS = "aăâbcdđeêghiklmnoôơpqrstuưvxyáàảãạắằẳẵặấầẩẫậéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵĐƯ "
CSV_OPTIONS = "44,34,76,1"  # comma, double quote, UTF-8, from line 1
LOCALES = {"en": ("en_US.UTF-8", 1033), "vi": ("vi_VN.UTF-8", 1066)}
ORACLE = f"csv:Text - txt - csv (StarCalc):{CSV_OPTIONS},,0,false,true,true"  # cell contents "as shown"

_cell = st.one_of(
    st.sampled_from(TRICKY),
    st.text(LETTERS, min_size=1, max_size=14).map(str.strip).filter(bool),
)
_codes = st.sampled_from(["Q{}", "{:03d}", "0912{:06d}", "1990{}", "CDS-{:02d}"])


@st.composite
def banks(draw: st.DrawFn) -> list[QuestionSpec]:
    """A valid bank of 1–5 questions whose cells are mostly text spreadsheets reinterpret."""
    texts = draw(st.lists(_cell, min_size=1, max_size=5, unique_by=normalise_text))
    specs = []
    for number, text in enumerate(texts, start=1):
        choices = draw(st.lists(_cell, min_size=2, max_size=6, unique_by=normalise_text))
        correct = draw(st.sets(st.integers(0, len(choices) - 1), min_size=1, max_size=2))
        specs.append(
            QuestionSpec(
                code=draw(_codes).format(number),
                topic=draw(_cell),
                difficulty=draw(st.sampled_from(list(Difficulty))),
                text=text,
                choices=tuple(choices),
                correct=tuple(sorted(correct)),
                explanation=draw(st.one_of(st.just(""), _cell)),
                source=draw(st.one_of(st.just(""), _cell)),
                active=draw(st.booleans()),
                row=number + 1,
            )
        )
    return specs


class LibreOffice:
    """``soffice --headless --convert-to`` with a private profile, in a chosen locale."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.profile = (work / "profile").as_uri()

    def convert(self, files: list[Path], target: str, *, locale: str = "en_US.UTF-8", infilter: str = "") -> list[Path]:
        outdir = Path(tempfile.mkdtemp(dir=self.work))
        command = [str(SOFFICE), f"-env:UserInstallation={self.profile}", "--headless", "--norestore"]
        if infilter:
            command.append(f"--infilter={infilter}")
        command += ["--convert-to", target, "--outdir", str(outdir), *map(str, files)]
        env = {**os.environ, "LC_ALL": locale, "LANG": locale, "LANGUAGE": ""}
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180, check=False)
        extension = target.split(":")[0]
        converted = [outdir / f"{path.stem}.{extension}" for path in files]
        assert done.returncode == 0 and all(p.exists() for p in converted), done.stdout + done.stderr
        return converted


@pytest.fixture(scope="module")
def libreoffice(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LibreOffice]:
    yield LibreOffice(tmp_path_factory.mktemp("libreoffice"))


def _example_dir(office: LibreOffice) -> Path:
    return Path(tempfile.mkdtemp(dir=office.work))


def _csv(specs: list[QuestionSpec]) -> bytes:
    lines = io.StringIO()
    writer = csv.writer(lines)
    writer.writerow(HEADER)
    writer.writerows([spec.as_row()[key] for key in COLUMNS] for spec in specs)
    return lines.getvalue().encode()


def _same_questions(rows: list[RawQuestion], specs: list[QuestionSpec]) -> None:
    read, problems = validate_rows(rows)
    assert problems == []
    assert [s.as_row() for s in read] == [s.as_row() for s in specs]


SLOW = settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _issue_bank() -> list[QuestionSpec]:
    """Every tricky text of issue 17 in one bank (always run, besides the generated ones)."""
    chunks = [TRICKY[i : i + 4] for i in range(0, len(TRICKY), 4)]
    return [
        QuestionSpec(
            code=f"{n:03d}",
            topic="Chung",
            difficulty=Difficulty.MEDIUM,
            text=f"Câu {n}?",
            choices=tuple(chunk),
            correct=(len(chunk) - 1,),
            explanation="",
            source="",
            active=True,
            row=n + 1,
        )
        for n, chunk in enumerate(chunks, start=1)
    ]


@SLOW
@given(specs=banks())
def test_the_projects_export_resaved_by_libreoffice_imports_identical(
    libreoffice: LibreOffice, specs: list[QuestionSpec]
) -> None:
    work = _example_dir(libreoffice)
    exported = work / "bank.xlsx"
    exported.write_bytes(build_bank_export(specs))
    (resaved,) = libreoffice.convert([exported], "xlsx")
    _same_questions(read_bank_file("bank.xlsx", resaved.read_bytes()), specs)


@SLOW
@given(specs=banks())
@example(specs=_issue_bank())
def test_a_csv_saved_as_xlsx_by_libreoffice_reads_as_libreoffice_shows_it(
    libreoffice: LibreOffice, specs: list[QuestionSpec]
) -> None:
    work = _example_dir(libreoffice)
    workbooks = []
    for name, (locale, language) in LOCALES.items():
        source = work / f"bank-{name}.csv"
        source.write_bytes(_csv(specs))
        infilter = f"CSV:{CSV_OPTIONS},,{language},false,true"  # special numbers (dates, %) detected
        workbooks += libreoffice.convert([source], "xlsx", locale=locale, infilter=infilter)
    shown = libreoffice.convert(workbooks, ORACLE)  # LibreOffice's own display of each workbook
    for workbook, display in zip(workbooks, shown, strict=True):
        grid = list(csv.reader(io.StringIO(display.read_text(encoding="utf-8"), newline="")))
        rows = read_bank_file(workbook.name, workbook.read_bytes())
        assert [raw.error for raw in rows] == [None] * len(specs)
        if any("03/6/2020" in spec.choices for spec in specs):  # LibreOffice did detect dates
            assert any("03/06/20" in raw.cells.values() for raw in rows)
        for raw in rows:
            for index, key in enumerate(COLUMNS):
                expected = grid[raw.row - 1][index] if index < len(grid[raw.row - 1]) else ""
                assert raw.cells.get(key, "").strip() == expected.strip(), (workbook.name, raw.row, key)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs=banks())
def test_a_csv_opened_with_text_columns_imports_identical(libreoffice: LibreOffice, specs: list[QuestionSpec]) -> None:
    work = _example_dir(libreoffice)
    source = work / "bank.csv"
    source.write_bytes(_csv(specs))
    as_text = "/".join(f"{column}/2" for column in range(1, len(COLUMNS) + 1))  # 2: the Text column type
    locale, language = LOCALES["vi"]
    (workbook,) = libreoffice.convert(
        [source], "xlsx", locale=locale, infilter=f"CSV:{CSV_OPTIONS},{as_text},{language},false,true"
    )
    _same_questions(read_bank_file("bank.xlsx", workbook.read_bytes()), specs)


def test_a_csv_misread_by_libreoffice_is_refused_with_an_encoding_hint(libreoffice: LibreOffice) -> None:
    """Opened as Windows-1252 (LibreOffice's headless default here) and saved as UTF-8: garbled, refused."""
    work = _example_dir(libreoffice)
    source = work / "bank.csv"
    source.write_text("Mã câu hỏi,Câu hỏi,Phương án A,Phương án B,Đáp án đúng\nQ1,Thủ đô?,Hà Nội,Huế,A\n")
    (garbled,) = libreoffice.convert(
        [source], f"csv:Text - txt - csv (StarCalc):{CSV_OPTIONS}", infilter="CSV:44,34,1,1"
    )
    assert "CÃ¢u há»" in garbled.read_text(encoding="utf-8")
    with pytest.raises(BankFileError) as err:
        read_bank_file("bank.csv", garbled.read_bytes())
    assert "Unicode (UTF-8)" in err.value.problem.vi and "wrong encoding" in err.value.problem.en
