"""Fingerprinted static files: ``url_for('static', filename='css/site.css')`` gives
``/static/css/site.3f2a9c1e0b7d.css``, served with a one-year immutable cache; a new release changes the
name, so phones on weak networks never fetch an unchanged file twice and never keep a stale one.

The fingerprints are taken once at start-up from the files' contents. A plain name still works (for
anything that typed it by hand) but is cached only briefly. So does another release's fingerprint of a
file this release has: during a rolling upgrade a page from one instance may ask another for its assets,
and a briefly cached current file serves it better than a page without its stylesheet.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from flask import Flask, abort, current_app, send_from_directory
from flask.typing import ResponseReturnValue

FINGERPRINT_LENGTH = 12
#: ``name.<12 hex>.ext``: what :func:`_fingerprinted` writes.
_NAMED = re.compile(rf"^(?P<stem>.+)\.(?P<digest>[0-9a-f]{{{FINGERPRINT_LENGTH}}})(?P<suffix>\.[^./]+)$")
YEAR = 365 * 24 * 3600
PLAIN_MAX_AGE = 300


def fingerprints(folder: Path) -> dict[str, str]:
    """``{"css/site.css": "css/site.3f2a9c1e0b7d.css", ...}`` for every file under ``folder``."""
    names = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder).as_posix()
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:FINGERPRINT_LENGTH]
        names[relative] = _fingerprinted(relative, digest)
    return names


def _fingerprinted(relative: str, digest: str) -> str:
    stem, dot, suffix = relative.rpartition(".")
    return f"{stem}.{digest}.{suffix}" if dot and "/" not in suffix else relative  # no extension: kept as it is


def _add_fingerprint(endpoint: str, values: dict[str, Any]) -> None:
    if endpoint == "static" and "filename" in values:
        values["filename"] = current_app.extensions["quiz_static"].get(values["filename"], values["filename"])


def _serve(filename: str) -> ResponseReturnValue:
    names: dict[str, str] = current_app.extensions["quiz_static"]
    match = _NAMED.match(filename)
    original = f"{match['stem']}{match['suffix']}" if match else None
    folder = current_app.static_folder or ""
    if original is not None and names.get(original) == filename:
        response = send_from_directory(folder, original, max_age=YEAR)
        response.cache_control.immutable = True
        response.cache_control.public = True
        return response
    if filename in names:
        return send_from_directory(folder, filename, max_age=PLAIN_MAX_AGE)
    if original is not None and original in names:  # another release's fingerprint (a rolling upgrade)
        return send_from_directory(folder, original, max_age=PLAIN_MAX_AGE)
    abort(404)


def init_app(app: Flask) -> None:
    app.extensions["quiz_static"] = fingerprints(Path(app.static_folder or ""))
    app.url_defaults(_add_fingerprint)
    app.view_functions["static"] = _serve
