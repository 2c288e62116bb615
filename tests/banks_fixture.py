"""A small catalog of two valid banks, so tests do not depend on the shipped ones."""

from __future__ import annotations

import csv
from pathlib import Path

from quiz_engine.services.catalogue.question_schema import HEADERS_VI

HEADER = [
    HEADERS_VI[key]
    for key in (
        "code",
        "topic",
        "difficulty",
        "question",
        "choice_a",
        "choice_b",
        "choice_c",
        "choice_d",
        "correct",
        "explanation",
        "source",
    )
]


def write_catalog(directory: Path, per_bank: int = 8) -> Path:
    """Write ``catalog.toml`` and two CSV banks with the slugs the demo contest draws from."""
    directory.mkdir(parents=True, exist_ok=True)
    entries = []
    for slug, title in (("chuyen-doi-so", "Chuyển đổi số"), ("nghi-quyet-57", "Nghị quyết 57-NQ/TW")):
        with (directory / f"{slug}.csv").open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(HEADER)
            for i in range(1, per_bank + 1):
                writer.writerow(
                    [
                        f"{slug}-{i}",
                        "Chung",
                        "dễ",
                        f"{title}: câu hỏi số {i}?",
                        f"Đúng {i}",
                        f"Sai một {i}",
                        f"Sai hai {i}",
                        f"Sai ba {i}",
                        "A",
                        "Vì thế.",
                        "Nguồn",
                    ]
                )
        entries.append(f'[[bank]]\nslug = "{slug}"\nfile = "{slug}.csv"\ntitle = "{title}"\n')
    (directory / "catalog.toml").write_text("\n".join(entries), encoding="utf-8")
    return directory
