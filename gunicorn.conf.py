"""gunicorn settings for `make run` and production (`gunicorn wsgi:app`).

gthread workers: on 2 cores they hold the most requests without the poor tail latency of
gevent (see docs/PERFORMANCE.md). Every value can be overridden with GUNICORN_CMD_ARGS.
"""

import ctypes
import gc
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time

bind = os.environ.get("QUIZ_BIND", "127.0.0.1:5000")
workers = int(os.environ.get("QUIZ_WORKERS", max(2, multiprocessing.cpu_count())))
worker_class = "gthread"
threads = int(os.environ.get("QUIZ_THREADS", 8))
worker_connections = threads * 2
# How long an idle connection is kept. Behind a proxy that pools its connections to the app (nginx's upstream
# `keepalive`, any load balancer), set QUIZ_KEEPALIVE above the proxy's own idle timeout (nginx and most load
# balancers: 60 s), e.g. 75: if the app closes an idle connection first, a request the proxy sends on it at that
# moment is lost, and a POST then fails as a 502 (docs/DEPLOYMENT.md). Serving phones directly, keep the short
# default, so that idle phones do not hold the worker's connection slots.
keepalive = int(os.environ.get("QUIZ_KEEPALIVE", 2))
# gunicorn itself believes X-Forwarded-Proto (https) only from these addresses. With no proxy in front
# (QUIZ_PROXY_HOPS=0, the default) from none: a client must not be able to claim https. Behind a proxy the app's
# ProxyFix reads the forwarded headers of QUIZ_PROXY_HOPS proxies (docs/DEPLOYMENT.md), gunicorn those from a
# proxy on this host. FORWARDED_ALLOW_IPS, gunicorn's own variable, still overrides.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS") or (
    "127.0.0.1,::1" if int(os.environ.get("QUIZ_PROXY_HOPS") or 0) > 0 else ""
)
graceful_timeout = 10
timeout = 30
accesslog = "-"
# Each worker's heartbeat touches a file after every event it handles; on a disk-backed /tmp (overlay
# filesystems above all) that costs a slow syscall per request. /dev/shm is memory (gunicorn's docs advise it).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
# gunicorn 24+ opens a control socket at one fixed path per user; instances would collide on it.
control_socket_disable = True
wsgi_app = "wsgi:app"


def on_starting(server):
    """Start (or adopt) the embedded Redis once, in the master, before any worker forks."""
    if os.environ.get("QUIZ_REDIS_URL"):
        return
    from quiz_engine import create_app

    app = create_app()
    server.quiz_embedded_redis = app.extensions["quiz_embedded_redis"]
    server.quiz_embedded_redis.ensure_running(adopt=True)


def when_ready(server):
    """With QUIZ_UPKEEP_SECONDS > 0 (`make run` sets 30), run the upkeep beside the server, for as long as it runs.

    Unset or 0 (the default): no upkeep here, as in production, where `quiz maintain` is a service of its own
    (docs/DEPLOYMENT.md).
    """
    seconds = float(os.environ.get("QUIZ_UPKEEP_SECONDS") or 0)
    if seconds > 0:
        server.quiz_upkeep = _Upkeep(server, seconds)
        server.quiz_upkeep.start()


def post_worker_init(worker):
    """Once the app is loaded, take its ~150,000 start-up objects out of the garbage collector's sight.

    A full collection otherwise walks them all (56 ms measured) while every thread of the worker waits.
    """
    gc.collect()
    gc.freeze()


def on_exit(server):
    """After the workers are gone, stop the upkeep, then the embedded Redis it uses (Redis fsyncs its append-only
    file)."""
    upkeep = getattr(server, "quiz_upkeep", None)
    if upkeep is not None:
        upkeep.stop()
    embedded = getattr(server, "quiz_embedded_redis", None)
    if embedded is not None:
        embedded.stop()


class _Upkeep:
    """`quiz maintain --every N` as a child of the gunicorn master, so that it lives and dies with the server.

    A watcher thread starts it, waits for it and restarts it (after 1, 2, 4 ... 60 s) should it exit while the
    server runs. The master stops it in on_exit, before the embedded Redis. It stays in the master's process group,
    so Ctrl-C reaches it too (it then exits on its own, quietly); and on Linux the kernel sends it SIGTERM if the
    master dies without on_exit (SIGKILL, a crash).
    """

    MAX_BACKOFF = 60.0

    def __init__(self, server, seconds: float) -> None:
        self.log = server.log
        self.every = f"{seconds:g}"
        self.command = [sys.executable, "-m", "flask", "--app", "wsgi", "quiz", "maintain", "--every", self.every]
        self.cwd = server.cfg.chdir  # where gunicorn itself imports wsgi from
        self.env = dict(os.environ)
        embedded = getattr(server, "quiz_embedded_redis", None)
        if embedded is not None:  # use the server's Redis, never start one of its own
            self.env["QUIZ_REDIS_URL"] = embedded.url
        self.prctl = _linux_prctl()
        self.lock = threading.Lock()
        self.stopped = threading.Event()  # set by stop(), in the master's main thread
        self.stop_signal = None  # set by the signal handlers (no locks there)
        self.process: subprocess.Popen[bytes] | None = None
        self.thread = threading.Thread(target=self._watch, name="quiz-upkeep", daemon=True)

    def start(self) -> None:
        # Ctrl-C or SIGTERM reaches the child and the master alike: when the child then exits, the master is
        # stopping, and it must not be restarted. gunicorn's own handlers (installed before when_ready) still run.
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT):
            previous = signal.getsignal(signum)

            def note_stop(signum, frame, previous=previous):
                self.stop_signal = signum
                if callable(previous):
                    previous(signum, frame)

            signal.signal(signum, note_stop)
        self.thread.start()

    def _stopping(self) -> bool:
        return self.stopped.is_set() or self.stop_signal is not None

    def _watch(self) -> None:
        # The child is always started from this thread: PR_SET_PDEATHSIG fires when the thread that forked it ends.
        backoff = 1.0
        while True:
            with self.lock:
                if self._stopping():
                    return
                try:
                    self.process = subprocess.Popen(
                        self.command,
                        cwd=self.cwd,
                        env=self.env,
                        stdin=subprocess.DEVNULL,
                        preexec_fn=self._die_with_master(os.getpid()),
                    )
                except OSError as exc:
                    self.process = None
                    self.log.error("Upkeep could not start: %s; retrying in %g s", exc, backoff)
            if self.process is not None:
                process, started = self.process, time.monotonic()
                self.log.info("Upkeep started: quiz maintain --every %s (pid %s)", self.every, process.pid)
                code = process.wait()
                if self._stopping():
                    return
                if time.monotonic() - started > self.MAX_BACKOFF:
                    backoff = 1.0  # it ran well for a while: this is a new failure, not the same one again
                self.log.error("Upkeep (pid %s) exited with code %s; restarting in %g s", process.pid, code, backoff)
            if self.stopped.wait(backoff):
                return
            backoff = min(backoff * 2, self.MAX_BACKOFF)

    def _die_with_master(self, master_pid: int):
        """The child's pre-exec step: have the kernel send it SIGTERM when the master dies (Linux only)."""
        prctl = self.prctl
        if prctl is None:
            return None

        def preexec() -> None:
            prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
            if os.getppid() != master_pid:  # the master died before prctl: no signal will come
                os._exit(0)

        return preexec

    def stop(self) -> None:
        """Stop the child: SIGTERM, up to 5 s, then SIGKILL. After Ctrl-C it got SIGINT too: let it end by itself."""
        with self.lock:
            self.stopped.set()
            process = self.process
        if process is not None:
            try:
                process.wait(timeout=2 if self.stop_signal == signal.SIGINT else 0)
            except subprocess.TimeoutExpired:
                process.terminate()
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            self.log.info("Upkeep stopped (pid %s, exit code %s)", process.pid, process.returncode)
        self.thread.join(timeout=2)


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _linux_prctl():
    """libc's prctl(2), or None where there is none (not Linux, or a libc without it)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
