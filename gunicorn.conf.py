"""gunicorn settings for `make run` and production (`gunicorn wsgi:app`).

gthread workers: on 2 cores they hold the most requests without the poor tail latency of
gevent (see docs/PERFORMANCE.md). Every value can be overridden with GUNICORN_CMD_ARGS.
"""

import gc
import multiprocessing
import os

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


def post_worker_init(worker):
    """Once the app is loaded, take its ~150,000 start-up objects out of the garbage collector's sight.

    A full collection otherwise walks them all (56 ms measured) while every thread of the worker waits.
    """
    gc.collect()
    gc.freeze()


def on_exit(server):
    """After the workers are gone, stop the embedded Redis (it fsyncs its append-only file)."""
    embedded = getattr(server, "quiz_embedded_redis", None)
    if embedded is not None:
        embedded.stop()
