"""Import a generated 10,000-question .xlsx bank: dry run, then commit, each in a fresh process.

Target (issue 3): under 5 s and under 300 MB peak resident memory for each phase.
Peak memory is the process's own maximum RSS (interpreter and app included), measured in a
child process per phase so one phase's peak cannot hide in another's.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from openpyxl import Workbook

from benchmarks.report import machine, write_section
from quiz_engine.embedded_redis import EmbeddedRedis
from quiz_engine.services.catalogue.question_schema import COLUMNS, HEADERS_VI

QUESTIONS = 10_000
TOPICS = ["Chương trình chuyển đổi số quốc gia", "Đề án 06 và VNeID", "Kỹ năng số", "Dịch vụ công trực tuyến"]
LEVELS = ["dễ", "trung bình", "khó"]


def generate(path: Path) -> None:
    """Write the bank with realistic Vietnamese text lengths (write-only, so the generator is cheap)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Câu hỏi")
    sheet.append([HEADERS_VI[key] for key in COLUMNS])
    for i in range(1, QUESTIONS + 1):
        text = f"Câu hỏi số {i}: theo Quyết định 749/QĐ-TTg, mục tiêu nào sau đây thuộc trụ cột chính quyền số {i}?"
        choices = [f"Phương án {letter} của câu {i}: nội dung trả lời dài vừa phải" for letter in "ABCD"]
        row = {
            "code": f"BENCH-{i:05d}",
            "topic": TOPICS[i % len(TOPICS)],
            "difficulty": LEVELS[i % 3],
            "question": text,
            "choice_a": choices[0],
            "choice_b": choices[1],
            "choice_c": choices[2],
            "choice_d": choices[3],
            "correct": "ABCD"[i % 4],
            "explanation": f"Giải thích cho câu {i}.",
            "source": "Quyết định 749/QĐ-TTg ngày 03/6/2020",
            "active": "có",
        }
        sheet.append([row.get(key, "") for key in COLUMNS])
    workbook.save(path)


CHILD = """
import json, resource, sys, time
from quiz_engine import create_app
from quiz_engine.extensions import db
from quiz_engine.models import utcnow
from quiz_engine.services.catalogue import banks
app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[2], "REDIS_URL": sys.argv[3], "SECRET_KEY": "bench"})
with app.app_context():
    db.create_all()
    data = open(sys.argv[1], "rb").read()
    start = time.perf_counter()
    bank = banks.get_or_create_bank(db.session, "bench", "Bench")
    report = banks.import_file(db.session, bank, "bench.xlsx", data, now=utcnow(), dry_run=sys.argv[4] == "dry")
    db.session.commit()
    seconds = time.perf_counter() - start
    assert report.ok, report.problems[:3]
    print(json.dumps({"seconds": seconds, "added": report.added,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run_phase(xlsx: Path, database: str, redis_url: str, mode: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(xlsx), database, redis_url, mode], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def row(label: str, result: dict) -> str:
    verdict = "✅" if result["seconds"] < 5 and result["peak_mb"] < 300 else "❌"
    return f"| {label} | {result['seconds']:.2f} s | {result['peak_mb']:.0f} MB | {result['added']:,} | {verdict} |"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        xlsx = folder / "bench.xlsx"
        started = time.perf_counter()
        generate(xlsx)
        generated = time.perf_counter() - started
        redis_server = EmbeddedRedis(folder)
        redis_url = redis_server.ensure_running()
        try:
            database = f"sqlite:///{folder / 'bench.sqlite'}"
            dry = run_phase(xlsx, database, redis_url, "dry")
            commit = run_phase(xlsx, database, redis_url, "commit")
            again = run_phase(xlsx, database, redis_url, "commit")  # re-import: everything unchanged
        finally:
            redis_server.stop()
        size_mb = xlsx.stat().st_size / 2**20
    body = f"""## Question-bank import (issue 3)

{machine()}
A generated bank of {QUESTIONS:,} questions × 14 columns ({size_mb:.1f} MB .xlsx, generated in {generated:.1f} s),
imported on the embedded default (SQLite WAL). Each phase runs in a fresh process; time covers reading,
validating, planning against the bank and (for commits) writing and committing.
Target: < 5 s, < 300 MB.

| Phase | Time | Peak RSS of the process | Questions added (planned, for the dry run) | Target |
|---|---|---|---|---|
{row("Dry run (read + validate + plan)", dry)}
{row("Commit into an empty bank", commit)}
{row("Re-import of the same file (all unchanged)", again)}
"""
    write_section("bank-import", body)
    print(body)


if __name__ == "__main__":
    main()
