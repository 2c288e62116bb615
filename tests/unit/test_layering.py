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


ROUTE_DECORATORS = {"route", "get", "post", "put", "patch", "delete"}
MAX_VIEW_LINES = 25


def _views(path: Path) -> list[tuple[str, int]]:
    """(name, length in lines from ``def`` to its last line) of each route function in ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef) and any(
            isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute) and d.func.attr in ROUTE_DECORATORS
            for d in node.decorator_list
        ):
            found.append((node.name, (node.end_lineno or node.lineno) - node.lineno + 1))
    return found


def test_views_stay_thin() -> None:
    """A view validates, calls one service, commits and responds (STYLE.md): about 25 lines at most."""
    web = Path(quiz_engine.__file__).parent / "web"
    views = [(f"{path.relative_to(web)}:{name}", n) for path in web.rglob("*.py") for name, n in _views(path)]
    assert len(views) > 50
    assert [v for v in views if v[1] > MAX_VIEW_LINES] == []


def test_the_view_check_measures_route_functions(tmp_path: Path) -> None:
    view = tmp_path / "views.py"
    view.write_text('@bp.get("/x")\ndef x():\n' + "    a = 1\n" * 30 + "\n\ndef helper():\n" + "    b = 2\n" * 40)
    assert _views(view) == [("x", 31)]
