"""Settings and their defaults.

Override any key in ``instance/config.py`` or with a ``QUIZ_<KEY>`` environment variable
(``QUIZ_DATABASE_URL``, ``QUIZ_REDIS_URL``, ``QUIZ_SECRET_KEY``, ...). Environment values are
parsed as JSON when they can be, so booleans are ``true``/``false``. Nothing here reads the
environment at import time: :func:`finalise` derives what depends on the instance folder.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask


class Config:
    #: SQLAlchemy URL of the database; empty means SQLite at ``instance/quiz_engine.sqlite``.
    #: PostgreSQL: ``postgresql+psycopg://user:pass@host/dbname``.
    DATABASE_URL = ""
    #: Where Redis is; empty means the embedded server. One of (details in docs/REDIS.md):
    #: one server, ``redis://[[user]:password@]host[:port][/db]``, ``rediss://…`` (TLS) or
    #: ``unix:///path/to/redis.sock``; a primary found through Sentinel,
    #: ``redis+sentinel://[[user]:password@]host:port[,host:port…]/service_name[/db]`` (the credentials are
    #: the primary's; ``?sentinel_password=…`` the sentinels'); or a Cluster,
    #: ``redis+cluster://[[user]:password@]host:port[,host:port…]`` (a few seed nodes). ``rediss+sentinel://``
    #: and ``rediss+cluster://`` use TLS.
    REDIS_URL = ""
    #: Read a plain ``redis://host:port`` (or ``rediss://``) REDIS_URL as a seed node of a Redis Cluster.
    REDIS_CLUSTER = False
    #: Prefix of every Redis key this app writes, so several deployments can share one server. Keep braces
    #: out of it: on a Cluster a ``{…}`` here would become every key's hash tag and put them all on one node.
    REDIS_KEY_PREFIX = "quiz"
    #: Signing key for sessions and CSRF tokens; empty means generate once into ``instance/``.
    SECRET_KEY = ""
    #: IANA time zone in which rounds open and close and pages show times.
    TIMEZONE = "Asia/Ho_Chi_Minh"
    #: Language of pages, messages and exports unless the visitor chooses another.
    DEFAULT_LOCALE = "vi"
    #: Locales offered in the language switcher, default first.
    LOCALES = ("vi", "en")
    #: Folder of the shipped question banks (``catalog.toml`` and the CSV files it lists).
    QUESTION_BANKS_DIR = str(Path(__file__).resolve().parent.parent / "question_banks")
    #: Name shown in the page header and titles.
    SITE_NAME = "Cuộc thi trực tuyến"
    #: Youngest age (years, on the day of registration) at which a person may register.
    REGISTRATION_MIN_AGE = 12
    #: Largest question-bank file accepted (bytes), in the UI and the CLI.
    BANK_MAX_UPLOAD_BYTES = 10 * 1024 * 1024
    #: Largest request body accepted (bytes); question-bank uploads are the largest legitimate ones.
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024
    #: Connections each app process keeps open to PostgreSQL (ignored for SQLite). 0 means one per thread of a
    #: gunicorn worker (QUIZ_THREADS, 8 by default): then no request waits for a connection, and none is
    #: opened and closed per request, which costs PostgreSQL a new backend process each time (the sizing rule
    #: is in docs/DEPLOYMENT.md). The overflow serves the export threads.
    DATABASE_POOL_SIZE = 0
    DATABASE_MAX_OVERFLOW = 2
    DATABASE_POOL_RECYCLE = 1800
    #: Rate limits (see quiz_engine/web/rate_limits.py), in Flask-Limiter's notation; several may be
    #: joined with ";". Sign-in limits count failed attempts only.
    #: Failed sign-ins into one account from one address, then from all addresses together (a ceiling against
    #: guessing spread over many addresses; reaching it takes several addresses, so a stranger cannot lock the
    #: owner out before a round with a few wrong passwords).
    RATE_LIMIT_LOGIN_ACCOUNT = "10 per 15 minutes"
    RATE_LIMIT_LOGIN_ACCOUNT_ANYWHERE = "50 per 15 minutes"
    RATE_LIMIT_LOGIN_ADDRESS = "100 per 15 minutes"
    #: Registrations per account being registered (its phone, else its e-mail), and per address: only a ceiling,
    #: since carriers put many phones behind one address and an office registers its staff from one.
    RATE_LIMIT_REGISTER_ACCOUNT = "10 per 10 minutes"
    RATE_LIMIT_REGISTER_ADDRESS = "1000 per 10 minutes"
    RATE_LIMIT_ATTEMPT_START = "10 per minute"
    RATE_LIMIT_ANSWER_SAVE = "300 per minute"
    RATE_LIMIT_EXPORT = "20 per 10 minutes"
    #: Start spikes (README, "Đông người bắt đầu cùng lúc"). Papers drawn ahead of time into Redis by
    #: `quiz maintain` for open rounds and rounds opening within this many minutes (published contests).
    PAPER_POOL_LEAD_MINUTES = 60
    #: Papers kept ready per round and mix: the registrations it serves × PAPER_POOL_FACTOR, at least
    #: PAPER_POOL_MIN (people register on the day too) and at most PAPER_POOL_MAX (a 20-question paper
    #: takes about 250 bytes of Redis, so 20,000 take about 5 MB). `maintain` refills what starts use.
    #: One per registration: at a synchronised start everyone may come at once, and a start that must
    #: draw its paper live costs several times one that takes a ready paper (docs/PERFORMANCE.md).
    PAPER_POOL_FACTOR = 1.0
    PAPER_POOL_MIN = 50
    PAPER_POOL_MAX = 20000
    #: Most papers one `quiz maintain` run draws, all rounds together (1,000 20-question papers from a
    #: 2,000-question bank take about 0.2 s of one core), so a run stays short.
    PAPER_POOL_BATCH = 2000
    #: Starts admitted per second in one round, across all app instances; beyond it contestants wait in a
    #: fair queue (a waiting page that continues on its own). "auto" follows capacity: the cores of the app
    #: hosts running now (each renews a heartbeat in Redis) × ADMISSION_STARTS_PER_CORE, so the queue engages
    #: only when the servers would otherwise fall behind. A number fixes the rate; 0 turns the queue off.
    ADMISSION_RATE = "auto"
    #: Starts (each with its paper page) one app core sustains while the autosaves of those already writing
    #: keep their latency: measured by `make bench` on a 2-core host (docs/PERFORMANCE.md, "Admission").
    ADMISSION_STARTS_PER_CORE = 65.0
    #: Cores this host counts for; 0 means all the machine has. Set it where a container's CPU quota is smaller.
    ADMISSION_CORES = 0
    #: Starts admitted at once before anyone has to wait; "auto" is a quarter of a second of the rate.
    ADMISSION_BURST = "auto"
    #: Seconds between refreshes of the organizer's live dashboard.
    DASHBOARD_REFRESH_SECONDS = 15
    #: Question statistics (docs/STATISTICS.md): no flag below STATISTICS_MIN_ANSWERS papers; "too easy" above
    #: this share answered right, "too hard" below that; a key is called probably wrong when, among at least
    #: STATISTICS_MIN_TOP_ANSWERS answers of the top 27 %, another answer is chosen more often than the key, or
    #: when the point-biserial discrimination is at or below STATISTICS_WRONG_KEY_DISCRIMINATION.
    STATISTICS_MIN_ANSWERS = 30
    STATISTICS_TOO_EASY = 0.95
    STATISTICS_TOO_HARD = 0.2
    STATISTICS_MIN_TOP_ANSWERS = 10
    STATISTICS_WRONG_KEY_DISCRIMINATION = -0.1
    #: Excel exports: threads per app process that build them (each holds one export's rows in flight).
    EXPORT_WORKERS = 1
    #: Seconds a request waits for its export before handing over to the progress page instead.
    EXPORT_INLINE_WAIT_SECONDS = 2.0
    #: Hours a finished export file is kept (it may hold contact details), then deleted by `quiz maintain`.
    EXPORT_RETENTION_HOURS = 24
    #: Seconds the embedded Redis may take to start before start-up fails.
    EMBEDDED_REDIS_START_TIMEOUT = 10.0
    #: Session cookie: never readable by scripts, not sent on cross-site POSTs.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    #: Secure is also set on its own for any request that arrived over HTTPS (see web/sessions.py).
    SESSION_COOKIE_SECURE = False
    PERMANENT_SESSION_LIFETIME = 8 * 3600
    #: "Remember me" lasts 30 days, not Flask-Login's default year; set REMEMBER_COOKIE_SECURE behind HTTPS.
    REMEMBER_COOKIE_DURATION = 30 * 24 * 3600
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = False
    #: Reverse proxies in front of the app (nginx: 1). Their X-Forwarded-For/-Proto/-Host are then
    #: trusted, so rate limits and the audit log see the visitor's address and HTTPS is recognised.
    #: Leave 0 when nothing sits in front: the headers could then be forged by anyone.
    PROXY_HOPS = 0
    #: Flask-WTF: CSRF tokens live as long as the session.
    WTF_CSRF_TIME_LIMIT = None
    SQLALCHEMY_TRACK_MODIFICATIONS = False


def finalise(app: Flask) -> None:
    """Fill in the settings that depend on the instance folder (database path, secret key)."""
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = app.config["DATABASE_URL"] or (
            f"sqlite:///{instance / 'quiz_engine.sqlite'}"
        )
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("postgresql") and "SQLALCHEMY_ENGINE_OPTIONS" not in app.config:
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            "pool_size": int(app.config["DATABASE_POOL_SIZE"]) or int(os.environ.get("QUIZ_THREADS", 8)),
            "max_overflow": app.config["DATABASE_MAX_OVERFLOW"],
            "pool_recycle": app.config["DATABASE_POOL_RECYCLE"],
            "pool_pre_ping": True,
        }
    if not uri.startswith("sqlite"):
        _require_shared_settings(app)
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = load_or_create_secret(instance / "secret_key")


class ConfigError(RuntimeError):
    """A setting the deployment cannot run without; the message says which, in Vietnamese then English."""


def _require_shared_settings(app: Flask) -> None:
    """A shared database means several instances: each must not invent its own key or Redis.

    A key generated per instance folder makes every instance refuse the others' sessions, and an
    embedded Redis per instance hides the answers saved on one from the others.
    """
    missing = [name for name in ("SECRET_KEY", "REDIS_URL") if not app.config[name]]
    if missing:
        names = ", ".join(f"QUIZ_{name}" for name in missing)
        raise ConfigError(
            f"Cơ sở dữ liệu dùng chung (không phải SQLite) cần đặt {names}, giống nhau trên mọi máy chủ ứng dụng "
            f"(a shared database needs {names}, the same on every app instance; see docs/DEPLOYMENT.md)."
        )


def load_or_create_secret(path: Path) -> str:
    """Return the key stored at ``path``, creating it atomically on first use.

    Several gunicorn workers start at once; the temporary file plus ``os.link`` makes exactly
    one of them win, and the others read the winner's key.
    """
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(secrets.token_urlsafe(48))
    tmp.chmod(0o600)
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return path.read_text().strip()
