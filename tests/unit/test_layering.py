"""The domain core must stay Flask-free (see STYLE.md §10.2)."""

import ast
from pathlib import Path

import quiz_engine

FORBIDDEN = (
    "flask",
    "flask_login",
    "flask_sqlalchemy",
    "flask_wtf",
    "flask_babel",
    "quiz_engine.web",
    "quiz_engine.extensions",
)


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.extend(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import; services use absolute imports"
            names.append(node.module or "")
    return names


def test_services_never_import_flask() -> None:
    services = Path(quiz_engine.__file__).parent / "services"
    files = list(services.rglob("*.py"))
    assert len(files) >= 8
    for path in files:
        for name in _imports(path):
            assert not any(name == f or name.startswith(f + ".") for f in FORBIDDEN), f"{path}: imports {name}"


def test_layering_check_catches_a_flask_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from flask import request\n")
    assert "flask" in _imports(bad)
