"""Every user-visible string has its English translation, and the compiled catalog is current."""

import subprocess
import sys
from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "quiz_engine" / "translations" / "en" / "LC_MESSAGES" / "messages.po"


def _messages(path: Path, reader=read_po) -> dict[object, object]:  # type: ignore[no-untyped-def]
    """Message id -> translation; plural messages have tuples on both sides."""

    def plain(value: object) -> object:
        return tuple(value) if isinstance(value, list | tuple) else value

    with path.open("rb") as f:
        return {plain(m.id): plain(m.string) for m in reader(f) if m.id}


def _translated(value: object) -> bool:
    return all(value) if isinstance(value, tuple | list) else bool(value)


def test_every_string_in_the_code_is_translated_to_english(tmp_path: Path) -> None:
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            str(ROOT / "babel.cfg"),
            "-k",
            "_l",
            "-o",
            str(pot),
            str(ROOT / "quiz_engine"),
        ],
        check=True,
        capture_output=True,
    )
    wanted = set(_messages(pot))
    catalog = _messages(PO)
    untranslated = sorted((str(i) for i in wanted if not _translated(catalog.get(i))), key=str)
    assert len(wanted) > 20
    assert untranslated == [], "run `make translations` and translate these"


def test_compiled_catalog_matches_the_po_file() -> None:
    assert _messages(PO.with_suffix(".mo"), read_mo) == _messages(PO), "run `make translations` to recompile"
