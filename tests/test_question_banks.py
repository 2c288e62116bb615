"""Every shipped bank is valid, large enough, and written the way shipped questions must be."""

from collections import Counter
from pathlib import Path

import pytest

from quiz_engine.models import Difficulty
from quiz_engine.services.catalogue.bank_formats.csv_format import read_csv_rows
from quiz_engine.services.catalogue.question_schema import normalise_text, validate_rows
from quiz_engine.services.demo import shipped_banks

BANKS_DIR = Path(__file__).resolve().parents[1] / "question_banks"
SHIPPED = shipped_banks(BANKS_DIR)
FORBIDDEN_CHOICES = ("tất cả các phương án", "cả a và b", "không phương án nào", "tất cả đều đúng", "cả hai")


def test_catalog_lists_both_banks() -> None:
    assert [b.slug for b in SHIPPED] == ["chuyen-doi-so", "nghi-quyet-57"]


@pytest.mark.parametrize("bank", SHIPPED, ids=lambda b: b.slug)
def test_shipped_bank_is_valid_and_sourced(bank) -> None:  # type: ignore[no-untyped-def]
    specs, problems = validate_rows(read_csv_rows(bank.path.read_bytes()))
    assert [p.describe() for p in problems] == []
    assert len(specs) >= 150
    for spec in specs:
        assert len(spec.choices) == 4 and len(spec.correct) == 1, spec.code
        assert spec.explanation and spec.source, spec.code
        assert not any(c.casefold().startswith(FORBIDDEN_CHOICES) for c in spec.choices), spec.code
    share = Counter(s.difficulty for s in specs)
    assert 0.3 <= share[Difficulty.EASY] / len(specs) <= 0.5
    assert 0.3 <= share[Difficulty.MEDIUM] / len(specs) <= 0.5
    assert 0.1 <= share[Difficulty.HARD] / len(specs) <= 0.3
    letters = Counter(s.correct[0] for s in specs)
    assert min(letters.values()) >= len(specs) * 0.15  # no letter a lazy guesser could farm


def test_no_question_is_shipped_twice_across_banks() -> None:
    seen: dict[str, str] = {}
    for bank in SHIPPED:
        specs, _ = validate_rows(read_csv_rows(bank.path.read_bytes()))
        for spec in specs:
            key = normalise_text(spec.text)
            assert key not in seen, f"{bank.slug}:{spec.code} repeats {seen.get(key)}"
            seen[key] = f"{bank.slug}:{spec.code}"
