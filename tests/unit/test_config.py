"""Configuration: defaults, QUIZ_* environment variables, the generated secret key."""

from pathlib import Path

import pytest

from quiz_engine import create_app
from quiz_engine.config import ConfigError, load_or_create_secret


def test_secret_key_is_generated_once_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "secret_key"
    first = load_or_create_secret(path)
    assert len(first) >= 48
    assert load_or_create_secret(path) == first
    assert path.stat().st_mode & 0o777 == 0o600
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_environment_overrides_and_embedded_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, redis_url: str
) -> None:
    monkeypatch.setenv("QUIZ_INSTANCE_PATH", str(tmp_path / "inst"))
    monkeypatch.setenv("QUIZ_REDIS_URL", redis_url)
    monkeypatch.setenv("QUIZ_TIMEZONE", "Asia/Ho_Chi_Minh")
    monkeypatch.setenv("QUIZ_SITE_NAME", "Cuộc thi thử")
    monkeypatch.delenv("QUIZ_DATABASE_URL", raising=False)
    monkeypatch.delenv("QUIZ_SECRET_KEY", raising=False)
    app = create_app()
    assert app.config["SITE_NAME"] == "Cuộc thi thử"
    assert app.config["DEFAULT_LOCALE"] == "vi"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'inst' / 'quiz_engine.sqlite'}"
    assert app.config["SECRET_KEY"] == (tmp_path / "inst" / "secret_key").read_text().strip()
    assert app.extensions["quiz_redis"].ping()


def test_instance_config_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, redis_url: str) -> None:
    instance = tmp_path / "inst"
    instance.mkdir()
    (instance / "config.py").write_text('SECRET_KEY = "from-file"\nDATABASE_URL = "sqlite:///x.db"\n')
    monkeypatch.setenv("QUIZ_INSTANCE_PATH", str(instance))
    monkeypatch.setenv("QUIZ_REDIS_URL", redis_url)
    monkeypatch.delenv("QUIZ_SECRET_KEY", raising=False)
    app = create_app()
    assert app.config["SECRET_KEY"] == "from-file"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite:///x.db"
    assert not (instance / "secret_key").exists()


@pytest.mark.parametrize(("threads", "pool"), [(None, 8), ("4", 4)])
def test_postgres_url_gets_pool_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, redis_url: str, threads: str | None, pool: int
) -> None:
    """A connection per gunicorn thread: none waits for one, and none is opened and closed per request
    (a new PostgreSQL backend each time): docs/DEPLOYMENT.md."""
    monkeypatch.setenv("QUIZ_INSTANCE_PATH", str(tmp_path))
    if threads is None:
        monkeypatch.delenv("QUIZ_THREADS", raising=False)
    else:
        monkeypatch.setenv("QUIZ_THREADS", threads)
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://u:p@127.0.0.1/db", "REDIS_URL": redis_url, "SECRET_KEY": "x"}
    )
    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options["pool_pre_ping"] is True
    assert (options["pool_size"], options["max_overflow"]) == (pool, 2)


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"SECRET_KEY": "", "REDIS_URL": "redis://127.0.0.1:1/0"}, "QUIZ_SECRET_KEY"),
        ({"SECRET_KEY": "x", "REDIS_URL": ""}, "QUIZ_REDIS_URL"),
    ],
)
def test_a_shared_database_refuses_per_instance_keys_and_redis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: dict[str, str], named: str
) -> None:
    monkeypatch.setenv("QUIZ_INSTANCE_PATH", str(tmp_path))
    with pytest.raises(ConfigError, match=named) as refused:
        create_app({"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://u:p@127.0.0.1/db", **settings})
    assert "Cơ sở dữ liệu dùng chung" in str(refused.value) and "a shared database" in str(refused.value)
    assert list(tmp_path.iterdir()) == []  # no key generated, no embedded Redis started
