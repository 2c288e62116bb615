"""How people's names appear in public: family name in full, the rest as initials."""

from __future__ import annotations

#: The name an anonymised account is left with (``Thí sinh #12``): nobody's name, so shown whole.
ANONYMISED_PREFIX = "Thí sinh #"


def mask_name(full_name: str) -> str:
    """``"Nguyễn Văn An"`` -> ``"Nguyễn V. A."``; a single word, or an anonymised account, stays as it is."""
    if full_name.startswith(ANONYMISED_PREFIX):
        return full_name
    words = full_name.split()
    if len(words) <= 1:
        return full_name.strip()
    return " ".join([words[0], *(f"{w[0].upper()}." for w in words[1:])])
