"""Turning the configured Redis URL into a client: one server, a Sentinel-watched primary, or a Cluster.

``REDIS_URL`` (``QUIZ_REDIS_URL``) takes one of these forms (see docs/REDIS.md):

- one server, in redis-py's own syntax: ``redis://[[user]:password@]host[:port][/db]``,
  ``rediss://…`` (TLS), ``unix:///path/to/redis.sock[?db=N]``;
- a primary found through Sentinel:
  ``redis+sentinel://[[user]:password@]host:port[,host:port…]/service_name[/db][?sentinel_password=…]``
  (``rediss+sentinel://`` for TLS to the sentinels and the primary). The credentials before ``@``
  are the primary's; ``sentinel_username`` and ``sentinel_password`` are the sentinels' own, if
  they require any;
- a Cluster: ``redis+cluster://[[user]:password@]host:port[,host:port…]`` (``rediss+cluster://``
  for TLS), a few seed nodes from which the client learns the rest. With the ``REDIS_CLUSTER``
  setting true, a plain ``redis://host:port`` (or ``rediss://``) URL is read as one seed node.

Sentinel and Cluster URLs also accept ``ssl_ca_certs``, ``ssl_certfile``, ``ssl_keyfile`` and
``ssl_cert_reqs`` (``rediss+…`` only). Every client decodes replies to ``str`` and fails fast
(short timeouts, one quick retry), so a request errors out and ``/healthz`` answers 503 while
Redis is away instead of hanging. A bad URL raises :class:`RedisUrlError`, in Vietnamese first
and English after, with any password masked.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import redis
from redis.backoff import ExponentialBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.exceptions import RedisClusterException
from redis.retry import Retry
from redis.sentinel import Sentinel

#: A client the services accept: both kinds answer the same commands for keys of one hash slot.
RedisClient = redis.Redis | RedisCluster

#: Socket settings of every connection: to a server, a sentinel or a cluster node.
SOCKET_OPTIONS: dict[str, Any] = {"socket_connect_timeout": 2, "socket_timeout": 5}
#: Connections idle this long (seconds) are checked with a PING before use.
HEALTH_CHECK_INTERVAL = 30

DEFAULT_PORT = 6379
DEFAULT_SENTINEL_PORT = 26379
_SERVER_SCHEMES = ("redis", "rediss", "unix")
_SENTINEL_SCHEMES = {"redis+sentinel": False, "rediss+sentinel": True}
_CLUSTER_SCHEMES = {"redis+cluster": False, "rediss+cluster": True}
_TLS_OPTIONS = ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile", "ssl_cert_reqs")
_SENTINEL_OPTIONS = ("sentinel_username", "sentinel_password")


class RedisUrlError(ValueError):
    """``REDIS_URL`` (or ``REDIS_CLUSTER``) cannot be used as given; the message says why, in both languages."""

    def __init__(self, vi: str, en: str, url: str = "") -> None:
        shown = f": {mask_password(url)}" if url else ""
        super().__init__(f"QUIZ_REDIS_URL không hợp lệ: {vi} (invalid QUIZ_REDIS_URL: {en}){shown}")
        self.vi = vi
        self.en = en


class RedisUnavailableError(RuntimeError):
    """The configured Cluster could not be used while the app started: no seed node answered, or
    the nodes are not in cluster mode."""


class Topology(enum.StrEnum):
    SERVER = "server"
    SENTINEL = "sentinel"
    CLUSTER = "cluster"


@dataclass(frozen=True)
class RedisTarget:
    """Where Redis is, as read from the URL (nothing connected yet)."""

    topology: Topology
    #: One server: the URL itself, which redis-py reads (left out of the repr: it may hold a password).
    url: str = field(default="", repr=False)
    #: Sentinel: the sentinels; Cluster: the seed nodes.
    nodes: tuple[tuple[str, int], ...] = ()
    #: Sentinel: the name the sentinels monitor the primary under, and the database number on it.
    service: str = ""
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    #: TLS files and checks (``ssl_ca_certs`` …), for Sentinel and Cluster.
    tls_options: tuple[tuple[str, str], ...] = ()
    sentinel_username: str | None = None
    sentinel_password: str | None = field(default=None, repr=False)


def mask_password(url: str) -> str:
    """``url`` with its passwords (before ``@``, and ``sentinel_password=``) shown as ``***``."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    at = rest.split("?", 1)[0].rfind("@")
    if at >= 0 and ":" in rest[:at]:
        rest = rest[:at].split(":", 1)[0] + ":***" + rest[at:]
    return scheme + sep + re.sub(r"(sentinel_password=)[^&#]*", r"\1***", rest)


def parse(url: str, *, cluster: bool = False) -> RedisTarget:
    """Read ``url`` (see the module docstring); ``cluster`` is the ``REDIS_CLUSTER`` setting.

    :raises RedisUrlError: naming what is wrong.
    """
    url = (url or "").strip()
    if not url:
        if cluster:
            raise RedisUrlError(
                "REDIS_CLUSTER cần địa chỉ của cụm trong REDIS_URL", "REDIS_CLUSTER needs the cluster's URL"
            )
        raise RedisUrlError("địa chỉ trống", "the URL is empty")
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if scheme in _SENTINEL_SCHEMES:
        if cluster:
            raise RedisUrlError(
                "REDIS_CLUSTER không dùng được cùng Sentinel", "REDIS_CLUSTER cannot be combined with Sentinel", url
            )
        return _parse_sentinel(url, tls=_SENTINEL_SCHEMES[scheme])
    if scheme in _CLUSTER_SCHEMES:
        return _parse_cluster(url, tls=_CLUSTER_SCHEMES[scheme])
    if scheme not in _SERVER_SCHEMES:
        raise RedisUrlError(
            f"lược đồ '{scheme or '(không có)'}' không được hỗ trợ; dùng redis://, rediss://, unix://, "
            "redis+sentinel:// hoặc redis+cluster://",
            f"unsupported scheme '{scheme or '(none)'}'; use redis://, rediss://, unix://, redis+sentinel:// "
            "or redis+cluster://",
            url,
        )
    if cluster:
        if scheme == "unix":
            raise RedisUrlError(
                "Redis Cluster không chạy qua socket unix", "a Redis Cluster is not reached over a unix socket", url
            )
        return _parse_cluster(url, tls=scheme == "rediss")
    try:
        redis.connection.parse_url(url)
    except ValueError as exc:  # a bad port, a bad query value
        raise RedisUrlError(f"không đọc được địa chỉ ({exc})", f"cannot be parsed ({exc})", url) from exc
    return RedisTarget(Topology.SERVER, url=url)


def _split(url: str) -> tuple[str | None, str | None, str, str, dict[str, str]]:
    """``(username, password, host list, path, query options)`` of a many-host URL."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. an unclosed [ of an IPv6 address
        raise RedisUrlError(f"không đọc được địa chỉ ({exc})", f"cannot be parsed ({exc})", url) from exc
    userinfo, _, hosts = parts.netloc.rpartition("@")
    username, password = None, None
    if userinfo:
        user, colon, secret = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if colon and secret else None
    return username, password, hosts, parts.path, dict(parse_qsl(parts.query, keep_blank_values=True))


def _nodes(hosts: str, default_port: int, url: str) -> tuple[tuple[str, int], ...]:
    nodes = []
    for location in hosts.split(","):
        location = location.strip()
        try:
            parsed = urlsplit(f"//{location}")
            host, port = parsed.hostname, parsed.port or default_port
            extra = parsed.username or parsed.path
        except ValueError:  # a port that is not a number, or out of range
            host, port, extra = None, 0, ""
        if not host or extra:
            raise RedisUrlError(f"'{location}' không phải host:port", f"'{location}' is not a host:port", url)
        nodes.append((host, port))
    return tuple(nodes)


def _options(query: dict[str, str], allowed: tuple[str, ...], url: str) -> dict[str, str]:
    unknown = sorted(set(query) - set(allowed))
    if unknown:
        listed = ", ".join(allowed) or "-"
        raise RedisUrlError(
            f"tuỳ chọn không được hỗ trợ: {', '.join(unknown)} (dùng được: {listed})",
            f"unsupported option(s): {', '.join(unknown)} (allowed: {listed})",
            url,
        )
    return query


def _parse_sentinel(url: str, *, tls: bool) -> RedisTarget:
    username, password, hosts, path, query = _split(url)
    allowed = _SENTINEL_OPTIONS + (_TLS_OPTIONS if tls else ())
    options = _options(query, allowed, url)
    segments = [unquote(s) for s in path.strip("/").split("/")] if path.strip("/") else []
    if not segments or len(segments) > 2 or not segments[0]:
        raise RedisUrlError(
            "cần tên dịch vụ Sentinel sau dấu /, ví dụ redis+sentinel://h1:26379,h2:26379/mymaster/0",
            "the Sentinel service name must follow the hosts, e.g. redis+sentinel://h1:26379,h2:26379/mymaster/0",
            url,
        )
    db = _db(segments[1] if len(segments) == 2 else "0", url)
    return RedisTarget(
        Topology.SENTINEL,
        nodes=_nodes(hosts, DEFAULT_SENTINEL_PORT, url),
        service=segments[0],
        db=db,
        username=username,
        password=password,
        tls=tls,
        tls_options=tuple((k, v) for k, v in options.items() if k in _TLS_OPTIONS),
        sentinel_username=options.get("sentinel_username") or None,
        sentinel_password=options.get("sentinel_password") or None,
    )


def _parse_cluster(url: str, *, tls: bool) -> RedisTarget:
    username, password, hosts, path, query = _split(url)
    options = _options(query, _TLS_OPTIONS if tls else (), url)
    if path.strip("/") and _db(path.strip("/"), url) != 0:
        raise RedisUrlError("Redis Cluster chỉ có cơ sở dữ liệu 0", "a Redis Cluster has database 0 only", url)
    return RedisTarget(
        Topology.CLUSTER,
        nodes=_nodes(hosts, DEFAULT_PORT, url),
        username=username,
        password=password,
        tls=tls,
        tls_options=tuple(options.items()),
    )


def _db(text: str, url: str) -> int:
    if not text.isdigit():
        raise RedisUrlError(
            f"số cơ sở dữ liệu '{text}' phải là số nguyên không âm",
            f"database number '{text}' must be a non-negative integer",
            url,
        )
    return int(text)


def _retry() -> Retry:
    # One quick retry: a request should fail fast (and /healthz say 503) while Redis is away.
    return Retry(ExponentialBackoff(cap=0.2, base=0.05), 1)


def _credentials(target: RedisTarget) -> dict[str, Any]:
    found = {"username": target.username, "password": target.password}
    return {k: v for k, v in found.items() if v is not None}


def _tls(target: RedisTarget) -> dict[str, Any]:
    return {"ssl": True, **dict(target.tls_options)} if target.tls else {}


def cluster_kwargs(target: RedisTarget) -> dict[str, Any]:
    """Keyword arguments of :class:`~redis.cluster.RedisCluster` for ``target``: seed nodes, credentials,
    TLS, timeouts and retry (replies are left as bytes: the caller adds ``decode_responses``)."""
    # The retry is the cluster client's own (its connections to the nodes never retry by themselves), and
    # there is no health_check_interval: redis-py ignores it in cluster mode, where a failing node makes
    # the client reload the cluster's layout.
    return {
        "startup_nodes": [ClusterNode(host, port) for host, port in target.nodes],
        "retry": _retry(),
        **SOCKET_OPTIONS,
        **_credentials(target),
        **_tls(target),
    }


def open_client(target: RedisTarget) -> RedisClient:
    """A client for ``target``. A cluster client learns the cluster's layout now; the others connect on first use.

    :raises RedisUnavailableError: if a Cluster cannot be used (no seed node answers, or not in cluster mode).
    """
    if target.topology is Topology.CLUSTER:
        try:
            return RedisCluster(decode_responses=True, **cluster_kwargs(target))
        except (RedisClusterException, redis.RedisError) as exc:
            seeds = ", ".join(f"{h}:{p}" for h, p in target.nodes)
            raise RedisUnavailableError(
                f"Không dùng được Redis Cluster qua các nút {seeds} "
                f"(the Redis Cluster cannot be used through its seed nodes {seeds}): {exc}"
            ) from exc
    common = {
        "decode_responses": True,
        "health_check_interval": HEALTH_CHECK_INTERVAL,
        "retry": _retry(),
        **SOCKET_OPTIONS,
    }
    if target.topology is Topology.SENTINEL:
        sentinel_auth = {"username": target.sentinel_username, "password": target.sentinel_password}
        sentinel = Sentinel(
            list(target.nodes),
            sentinel_kwargs={**SOCKET_OPTIONS, **{k: v for k, v in sentinel_auth.items() if v}, **_tls(target)},
        )
        return sentinel.master_for(target.service, db=target.db, **common, **_credentials(target), **_tls(target))
    return redis.Redis.from_url(target.url, **common)


def connect(url: str, *, cluster: bool = False) -> RedisClient:
    """:func:`parse` then :func:`open_client`: the client for the ``REDIS_URL`` and ``REDIS_CLUSTER`` settings."""
    return open_client(parse(url, cluster=cluster))


def close(client: RedisClient) -> None:
    """Let go of every connection ``client`` holds: to the server, to every cluster node, to the sentinels."""
    client.close()
    if isinstance(client, RedisCluster):
        return  # closing it closed each node's client, and with it that node's pool
    pool = client.connection_pool
    pool.disconnect()
    for sentinel in getattr(getattr(pool, "sentinel_manager", None), "sentinels", ()):
        sentinel.close()
