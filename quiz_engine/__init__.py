"""quiz_engine: an online knowledge-contest engine (Cuộc thi trực tuyến tìm hiểu ...)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask

__version__ = "0.1.0"


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Create and configure an instance of the quiz engine.

    Settings come from :class:`quiz_engine.config.Config`, then ``instance/config.py``, then
    ``QUIZ_*`` environment variables; ``test_config`` replaces the last two.
    ``QUIZ_INSTANCE_PATH`` moves the instance folder (default: ``instance/`` beside the package).
    """
    # The instance folder holds local config, the SQLite file, the embedded Redis and the key.
    app = Flask(__name__, instance_relative_config=True, instance_path=os.environ.get("QUIZ_INSTANCE_PATH"))
    app.config.from_object("quiz_engine.config.Config")
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("QUIZ")
    else:
        app.config.update(test_config)

    from quiz_engine import cli, config, export_runner, extensions, web
    from quiz_engine.services.taking import starts

    config.finalise(app)
    starts.forget()  # per-process caches keyed by database ids: this app may be on another database
    extensions.init_app(app)
    export_runner.init_app(app)
    web.init_app(app)
    cli.init_app(app)
    return app
