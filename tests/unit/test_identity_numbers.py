"""CCCD numbers: 12 digits, a province code, century/sex and year of birth agreeing with the date of birth."""

from datetime import date

import pytest

from quiz_engine.services.errors import ValidationError
from quiz_engine.services.people import identity_numbers


def test_province_codes_are_the_63_of_circular_59() -> None:
    assert len(identity_numbers.PROVINCE_CODES) == 63
    assert {"001", "079", "096"} <= identity_numbers.PROVINCE_CODES
    assert not {"000", "003", "097"} & identity_numbers.PROVINCE_CODES


@pytest.mark.parametrize(
    ("raw", "province", "year", "female"),
    [
        ("001090012345", "001", 1990, False),  # Hà Nội, man born 1990
        ("079305001234", "079", 2005, True),  # TP.HCM, woman born 2005
        ("038199123456", "038", 1999, True),
        ("096400000001", "096", 2100, False),
        ("001 090 012 345", "001", 1990, False),  # spaces between groups are ignored
        ("001.090.012.345", "001", 1990, False),
    ],
)
def test_parse_cccd_reads_province_century_sex_and_year(raw: str, province: str, year: int, female: bool) -> None:
    info = identity_numbers.parse_cccd(raw)
    assert (info.number, info.province_code, info.birth_year, info.is_female) == (
        raw.replace(" ", "").replace(".", ""),
        province,
        year,
        female,
    )


@pytest.mark.parametrize(
    "raw", ["", "00109001234", "0010900123456", "00109001234a", "００１０９００１２３４５", "+01090012345"]
)
def test_check_cccd_refuses_anything_but_12_digits(raw: str) -> None:
    with pytest.raises(ValidationError) as err:
        identity_numbers.check_cccd(raw)
    assert err.value.field == "cccd"
    assert err.value.vi == "Số CCCD phải gồm đúng 12 chữ số."
    assert err.value.en == "The CCCD number must have exactly 12 digits."


@pytest.mark.parametrize("raw", ["000090012345", "003090012345", "097090012345", "999090012345"])
def test_check_cccd_refuses_an_unknown_province_code(raw: str) -> None:
    with pytest.raises(ValidationError) as err:
        identity_numbers.check_cccd(raw)
    assert err.value.field == "cccd"
    assert f"{raw[:3]} không phải mã tỉnh" in err.value.vi


def test_check_cccd_accepts_a_number_agreeing_with_the_date_of_birth() -> None:
    assert identity_numbers.check_cccd("001 090 012 345", date(1990, 12, 31)) == "001090012345"
    assert identity_numbers.check_cccd("079305001234", date(2005, 1, 1)) == "079305001234"


@pytest.mark.parametrize(
    ("raw", "born", "encoded"),
    [
        ("001090012345", date(1991, 1, 1), 1990),  # wrong year
        ("001290012345", date(1990, 6, 1), 2090),  # right last two digits, wrong century
        ("001105012345", date(2005, 6, 1), 1905),
    ],
)
def test_check_cccd_refuses_a_number_disagreeing_with_the_date_of_birth(raw: str, born: date, encoded: int) -> None:
    with pytest.raises(ValidationError) as err:
        identity_numbers.check_cccd(raw, born)
    assert err.value.field == "cccd"
    assert "không khớp với ngày sinh" in err.value.vi
    assert f"năm sinh {encoded}" in err.value.vi and f"năm {born.year}" in err.value.vi
    assert "does not match the date of birth" in err.value.en
