"""JSON request bodies: nesting too deep to parse is bad input (400), not a server error.

Python's parser recurses once per level, so a body like ``[[[[…]]]]`` 100,000 deep raises RecursionError,
which Flask does not treat as a parse error and so answered 500. Turned into the ValueError Flask expects,
such a body reads as invalid JSON: ``request.get_json(silent=True)`` gives None and the endpoint answers 400.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider


class JSONProvider(DefaultJSONProvider):
    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError as exc:
            raise ValueError("JSON nested too deeply") from exc


def init_app(app: Flask) -> None:
    app.json = JSONProvider(app)
