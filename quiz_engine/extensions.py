"""Extension singletons, bound to an app in :func:`init_app` (Flask's extension pattern).

Nothing here connects at import time. The Redis client lives in ``app.extensions["quiz_redis"]``
and is reached through :func:`redis_client`; :mod:`quiz_engine.redis_connection` builds it from the
``REDIS_URL`` and ``REDIS_CLUSTER`` settings (one server, Sentinel or Cluster), and an empty URL
starts the embedded server.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from flask import Flask, current_app, request, session
from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

from quiz_engine import redis_connection
from quiz_engine.embedded_redis import EmbeddedRedis
from quiz_engine.redis_connection import RedisClient


class Base(DeclarativeBase):
    """Declarative base for all models; constraints get stable names so migrations can alter them."""

    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()


@event.listens_for(Engine, "connect")
def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers work while one writer commits; foreign keys are off by default in SQLite.
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()


def select_locale() -> str:
    """The visitor's chosen language, else the configured default (Vietnamese)."""
    locales = current_app.config["LOCALES"]
    chosen = session.get("locale") or request.args.get("lang")
    return chosen if chosen in locales else current_app.config["DEFAULT_LOCALE"]


def select_timezone() -> str:
    return current_app.config["TIMEZONE"]


def init_app(app: Flask) -> None:
    """Bind every extension to ``app`` and open the Redis connection pool."""
    db.init_app(app)
    migrate.init_app(app, db, directory=str(_migrations_dir()), render_as_batch=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    app.config.setdefault("BABEL_DEFAULT_LOCALE", app.config["DEFAULT_LOCALE"])
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", app.config["TIMEZONE"])
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.extensions["quiz_redis"] = _connect_redis(app)


def _migrations_dir() -> Path:
    return Path(__file__).parent / "migrations"


def _connect_redis(app: Flask) -> RedisClient:
    url, cluster = app.config["REDIS_URL"], bool(app.config["REDIS_CLUSTER"])
    if not url and not cluster:
        server = EmbeddedRedis(app.instance_path, app.config["EMBEDDED_REDIS_START_TIMEOUT"])
        url = server.ensure_running()
        app.extensions["quiz_embedded_redis"] = server
    return redis_connection.connect(url, cluster=cluster)


def redis_client() -> RedisClient:
    """The current app's Redis client (a :class:`redis.cluster.RedisCluster` when Redis is a Cluster)."""
    return current_app.extensions["quiz_redis"]
