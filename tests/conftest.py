"""Fixtures: a fresh app per test on a real database and a real Redis.

Stores: ``QUIZ_TEST_DATABASE_URL`` (e.g. PostgreSQL) or a private SQLite file per test;
``QUIZ_TEST_REDIS_URL`` (any form ``REDIS_URL`` takes, a Cluster included) or one embedded Redis
server for the session, flushed before each test (every primary of a Cluster).
Under ``CI=true`` a skipped test fails the run.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient, FlaskCliRunner
from redis.cluster import RedisCluster
from sqlalchemy import text
from sqlalchemy.orm import Session

from quiz_engine import create_app, redis_connection
from quiz_engine.embedded_redis import EmbeddedRedis
from quiz_engine.extensions import db
from quiz_engine.models import Role, utcnow
from quiz_engine.redis_connection import RedisClient
from quiz_engine.services.people import accounts

TEST_DATABASE_URL = os.environ.get("QUIZ_TEST_DATABASE_URL", "")
TEST_REDIS_URL = os.environ.get("QUIZ_TEST_REDIS_URL", "")
PASSWORD = "mat-khau-thu-nghiem"


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis for the whole session: the configured server, or an embedded one."""
    if TEST_REDIS_URL:
        yield TEST_REDIS_URL
        return
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis-instance"))
    yield server.ensure_running()
    server.stop()


@pytest.fixture(scope="session")
def _postgres_schema() -> Iterator[None]:
    """On PostgreSQL, build the schema once; tests then truncate instead of recreating it."""
    if TEST_DATABASE_URL:
        app = create_app(_base_config(TEST_DATABASE_URL, "redis://unused"))
        with app.app_context():
            db.drop_all()
            db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
            db.session.commit()
            db.create_all()
            db.session.remove()
            db.engine.dispose()
    yield


def _base_config(database_url: str, redis_url: str) -> dict[str, object]:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url,
        "WTF_CSRF_ENABLED": False,
    }


@pytest.fixture
def config_overrides() -> dict[str, object]:
    """Override in a test module to change the app's settings."""
    return {}


@pytest.fixture
def app(
    tmp_path: Path,
    redis_url: str,
    _postgres_schema: None,
    config_overrides: dict[str, object],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Flask]:
    """A fresh app with an empty database and an empty Redis database."""
    monkeypatch.setenv("QUIZ_INSTANCE_PATH", str(tmp_path / "instance"))
    database_url = TEST_DATABASE_URL or f"sqlite:///{tmp_path / 'test.sqlite'}"
    app = create_app({**_base_config(database_url, redis_url), **config_overrides})
    flush(app.extensions["quiz_redis"])
    with app.app_context():
        if TEST_DATABASE_URL:
            tables = ", ".join(t.name for t in db.metadata.sorted_tables)
            db.session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            db.session.commit()
        else:
            db.create_all()
    yield app
    _close(app)


def flush(client: RedisClient) -> None:
    """Empty the test Redis: on a Cluster, every primary (each holds its own share of the keys)."""
    if isinstance(client, RedisCluster):
        client.flushdb(target_nodes=RedisCluster.PRIMARIES)
    else:
        client.flushdb()


def _close(app: Flask) -> None:
    """Release what an app holds: export threads, database connections, Redis connections (left to the
    garbage collector, a Redis connection can complain in whichever later test happens to collect it)."""
    app.extensions["quiz_export_runner"].shutdown()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    redis_connection.close(app.extensions["quiz_redis"])


@pytest.fixture
def static_url(app: Flask) -> Callable[[str], str]:
    """The address pages give a static file (fingerprinted: ``/static/js/attempt.<hash>.js``)."""

    def _static_url(filename: str) -> str:
        with app.test_request_context():
            return url_for("static", filename=filename)

    return _static_url


@pytest.fixture
def another_instance(app: Flask) -> Iterator[Callable[..., Flask]]:
    """Factory: a second app instance on the same database, Redis and secret key (as behind a load
    balancer), with extra settings; closed after the test."""
    made: list[Flask] = []

    def _make(**settings: object) -> Flask:
        shared = {k: app.config[k] for k in ("SQLALCHEMY_DATABASE_URI", "REDIS_URL", "REDIS_CLUSTER", "SECRET_KEY")}
        other = create_app({**shared, "TESTING": True, "WTF_CSRF_ENABLED": False, **settings})
        made.append(other)
        return other

    yield _make
    for other in made:
        _close(other)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    """The database session, for service tests (inside an app context)."""
    with app.app_context():
        yield db.session


@pytest.fixture
def redis_client(app: Flask) -> RedisClient:
    """The app's Redis client: a ``RedisCluster`` when ``QUIZ_TEST_REDIS_URL`` is a Cluster."""
    return app.extensions["quiz_redis"]


@pytest.fixture
def make_user(app: Flask):  # type: ignore[no-untyped-def]
    """Factory: create an account and return its id."""

    def _make_user(
        email: str = "thi-sinh@example.vn", role: Role = Role.CONTESTANT, name: str = "Nguyễn Văn An"
    ) -> int:
        with app.app_context():
            user = accounts.create_user(
                db.session, full_name=name, email=email, password=PASSWORD, role=role, now=utcnow()
            )
            db.session.commit()
            return user.id

    return _make_user


class AuthActions:
    def __init__(self, client: FlaskClient) -> None:
        self._client = client

    def login(self, login: str = "thi-sinh@example.vn", password: str = PASSWORD):  # type: ignore[no-untyped-def]
        return self._client.post("/auth/login", data={"login": login, "password": password})

    def logout(self):  # type: ignore[no-untyped-def]
        return self._client.post("/auth/logout")


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under CI a skipped test is a failure: every real service must be there."""
    if os.environ.get("CI", "").lower() != "true":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        reporter.write_line(f"CI=true: {len(skipped)} test(s) skipped; failing the run.", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
