"""How people's names appear in public: family name in full, the rest as initials."""

from __future__ import annotations


def mask_name(full_name: str) -> str:
    """``"Nguyễn Văn An"`` -> ``"Nguyễn V. A."``; a single word stays as it is."""
    words = full_name.split()
    if len(words) <= 1:
        return full_name.strip()
    return " ".join([words[0], *(f"{w[0].upper()}." for w in words[1:])])
