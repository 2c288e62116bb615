"""GET /healthz: both stores and the version; 503 when either is down."""

from pathlib import Path

import pytest
from flask import Flask

from quiz_engine import __version__, create_app


def test_healthz_reports_both_stores(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok" and body["version"] == __version__
    assert body["database"]["ok"] and body["database"]["detail"] in ("sqlite", "postgresql")
    assert body["redis"]["ok"] and body["redis"]["detail"].startswith("redis ")


def _app_with(tmp_path: Path, redis_url: str, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Flask:
    monkeypatch.setenv("QUIZ_INSTANCE_PATH", str(tmp_path / "inst"))
    return create_app(
        {"TESTING": True, "SECRET_KEY": "x", "REDIS_URL": redis_url, "SQLALCHEMY_DATABASE_URI": database_url}
    )


def test_healthz_is_503_when_redis_is_down(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = _app_with(tmp_path, f"unix://{tmp_path}/no-such.sock", f"sqlite:///{tmp_path}/db.sqlite", monkeypatch)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable" and body["database"]["ok"] and not body["redis"]["ok"]


def test_healthz_is_503_when_the_database_is_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, redis_url: str
) -> None:
    app = _app_with(tmp_path, redis_url, "postgresql+psycopg://nobody:x@127.0.0.1:1/none", monkeypatch)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert not body["database"]["ok"] and body["redis"]["ok"]
    app.extensions["quiz_redis"].close()  # a real server: let go of its connection now
