"""Citizen identity numbers (CCCD, *căn cước công dân*): checking their structure.

A CCCD number has 12 digits laid out by Circular 59/2021/TT-BCA, art. 7:

* digits 1–3: the code of the province where the birth was registered (the list below);
* digit 4: century of birth and sex: 0/1 = 1900–1999 (male/female), 2/3 = 2000–2099,
  4/5 = 2100–2199, 6/7 = 2200–2299, 8/9 = 2300–2399;
* digits 5–6: the last two digits of the year of birth;
* digits 7–12: a random serial.

There is no check digit, so a well-formed number can still be someone else's; uniqueness is
enforced per account by the registration service. Pure functions: no database, nothing to commit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from quiz_engine.services.errors import ValidationError

#: Province codes of Circular 59/2021/TT-BCA, appendix I (63 provinces as of 2021).
PROVINCE_CODES = frozenset(
    {
        "001", "002", "004", "006", "008", "010", "011", "012", "014", "015", "017", "019", "020",
        "022", "024", "025", "026", "027", "030", "031", "033", "034", "035", "036", "037", "038",
        "040", "042", "044", "045", "046", "048", "049", "051", "052", "054", "056", "058", "060",
        "062", "064", "066", "067", "068", "070", "072", "074", "075", "077", "079", "080", "082",
        "083", "084", "086", "087", "089", "091", "092", "093", "094", "095", "096",
    }
)  # fmt: skip
_SEPARATORS = re.compile(r"[\s.\-]")


@dataclass(frozen=True)
class CccdInfo:
    """What a CCCD number says about its holder."""

    number: str
    province_code: str
    birth_year: int
    is_female: bool


def parse_cccd(raw: str) -> CccdInfo:
    """Read a CCCD number, ignoring spaces, dots and dashes between digit groups.

    :raises ValidationError: (field ``cccd``) if it is not 12 digits or the province code is unknown.
    """
    number = _SEPARATORS.sub("", raw.strip())
    if len(number) != 12 or not number.isdigit() or not number.isascii():
        raise ValidationError(
            "Số CCCD phải gồm đúng 12 chữ số.", "The CCCD number must have exactly 12 digits.", field="cccd"
        )
    if number[:3] not in PROVINCE_CODES:
        raise ValidationError(
            f"Số CCCD không hợp lệ: {number[:3]} không phải mã tỉnh, thành phố (3 chữ số đầu).",
            f"Invalid CCCD number: {number[:3]} is not a province code (the first 3 digits).",
            field="cccd",
        )
    gender_century = int(number[3])
    return CccdInfo(
        number=number,
        province_code=number[:3],
        birth_year=1900 + 100 * (gender_century // 2) + int(number[4:6]),
        is_female=gender_century % 2 == 1,
    )


def check_cccd(raw: str, date_of_birth: date | None = None) -> str:
    """Return the CCCD number as 12 digits, after checking it agrees with ``date_of_birth`` if given.

    :raises ValidationError: (field ``cccd``) if it is malformed or encodes another year of birth.
    """
    info = parse_cccd(raw)
    if date_of_birth is not None and info.birth_year != date_of_birth.year:
        raise ValidationError(
            f"Số CCCD không khớp với ngày sinh: chữ số thứ 4 đến 6 ({info.number[3:6]}) ứng với năm sinh "
            f"{info.birth_year}, còn ngày sinh đã nhập là năm {date_of_birth.year}.",
            f"The CCCD number does not match the date of birth: digits 4 to 6 ({info.number[3:6]}) mean "
            f"born in {info.birth_year}, but the date of birth given is in {date_of_birth.year}.",
            field="cccd",
        )
    return info.number
