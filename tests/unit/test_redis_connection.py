"""REDIS_URL to client: every URL form, the errors a bad one gives, and real connections (the test Redis,
whatever it is, and a Cluster seed nobody answers on)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from limits.storage import RedisClusterStorage
from redis.cluster import RedisCluster

from quiz_engine import create_app, redis_connection
from quiz_engine.redis_connection import RedisTarget, RedisUnavailableError, RedisUrlError, Topology
from quiz_engine.services import health
from quiz_engine.web.rate_limits import limiter


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize(
    "url",
    [
        "redis://redis.internal:6380/2",
        "redis://:mat-khau@127.0.0.1",
        "rediss://quiz:mat-khau@redis.internal:6380/0?ssl_cert_reqs=none",
        "unix:///run/redis/redis.sock?db=1",
    ],
)
def test_one_server_urls_are_left_to_redis_py(url: str) -> None:
    assert redis_connection.parse(url) == RedisTarget(Topology.SERVER, url=url)


def test_sentinel_url_names_the_sentinels_the_service_and_the_database() -> None:
    target = redis_connection.parse(
        "redis+sentinel://:mat%40khau@s1.internal:26380,s2.internal,[::1]:26381/quizprimary/3"
        "?sentinel_password=cua-sentinel"
    )
    assert target == RedisTarget(
        Topology.SENTINEL,
        nodes=(("s1.internal", 26380), ("s2.internal", 26379), ("::1", 26381)),
        service="quizprimary",
        db=3,
        password="mat@khau",
        sentinel_password="cua-sentinel",
    )


def test_sentinel_url_with_user_tls_and_default_database() -> None:
    target = redis_connection.parse(
        "rediss+sentinel://quiz:secret@s1:26379/quizprimary?ssl_ca_certs=/etc/ca.pem&sentinel_username=watch"
    )
    assert (target.topology, target.db, target.username, target.password) == (Topology.SENTINEL, 0, "quiz", "secret")
    assert target.tls and target.tls_options == (("ssl_ca_certs", "/etc/ca.pem"),)
    assert (target.sentinel_username, target.sentinel_password) == ("watch", None)


def test_cluster_urls_and_the_cluster_flag() -> None:
    assert redis_connection.parse("redis+cluster://n1:7001,n2:7002, n3") == RedisTarget(
        Topology.CLUSTER, nodes=(("n1", 7001), ("n2", 7002), ("n3", 6379))
    )
    tls = redis_connection.parse("rediss+cluster://u:p@n1:7001/0")
    assert (tls.topology, tls.tls, tls.username, tls.password) == (Topology.CLUSTER, True, "u", "p")
    # REDIS_CLUSTER=true makes a plain URL one seed node
    assert redis_connection.parse("redis://:pw@n1:7001", cluster=True) == RedisTarget(
        Topology.CLUSTER, nodes=(("n1", 7001),), password="pw"
    )
    assert redis_connection.parse("rediss://n1:7001", cluster=True).tls
    # the flag is harmless on a cluster URL
    assert redis_connection.parse("redis+cluster://n1:7001", cluster=True).topology is Topology.CLUSTER


@pytest.mark.parametrize(
    ("url", "cluster", "vi", "en"),
    [
        ("http://redis.internal:6379", False, "lược đồ 'http' không được hỗ trợ", "unsupported scheme 'http'"),
        ("redis.internal:6379", False, "lược đồ '(không có)'", "unsupported scheme '(none)'"),
        ("redis+sentinal://s1/quiz", False, "không được hỗ trợ", "unsupported scheme 'redis+sentinal'"),
        ("redis://redis.internal:port/0", False, "không đọc được địa chỉ", "cannot be parsed"),
        ("redis+sentinel://s1:26379,s2:26379", False, "cần tên dịch vụ Sentinel", "Sentinel service name"),
        ("redis+sentinel://s1/quiz/0/extra", False, "cần tên dịch vụ Sentinel", "Sentinel service name"),
        ("redis+sentinel://s1/quiz/zero", False, "số cơ sở dữ liệu 'zero'", "database number 'zero'"),
        ("redis+sentinel://s1/quiz?timeout=3", False, "tuỳ chọn không được hỗ trợ: timeout", "unsupported option"),
        ("redis+cluster://n1:7001?ssl_ca_certs=/x", False, "tuỳ chọn không được hỗ trợ", "unsupported option"),
        ("redis+cluster://n1:7001/1", False, "chỉ có cơ sở dữ liệu 0", "database 0 only"),
        ("redis+cluster://n1:7001,,n2:7002", False, "'' không phải host:port", "'' is not a host:port"),
        ("redis+cluster://n1:70x1", False, "'n1:70x1' không phải host:port", "is not a host:port"),
        ("redis+cluster://n1:99999", False, "không phải host:port", "is not a host:port"),
        ("redis+cluster://[::1:7001", False, "không đọc được địa chỉ", "cannot be parsed"),
        ("unix:///run/redis.sock", True, "không chạy qua socket unix", "not reached over a unix socket"),
        ("redis+sentinel://s1/quiz", True, "không dùng được cùng Sentinel", "cannot be combined with Sentinel"),
        ("", True, "REDIS_CLUSTER cần địa chỉ", "REDIS_CLUSTER needs the cluster's URL"),
    ],
)
def test_bad_urls_say_what_is_wrong_in_vietnamese_then_english(url: str, cluster: bool, vi: str, en: str) -> None:
    with pytest.raises(RedisUrlError) as caught:
        redis_connection.parse(url, cluster=cluster)
    message = str(caught.value)
    assert message.startswith("QUIZ_REDIS_URL không hợp lệ: ")
    assert vi in message and en in message and message.index(vi) < message.index("(invalid QUIZ_REDIS_URL: ")
    assert vi in caught.value.vi and en in caught.value.en


def test_errors_never_show_passwords() -> None:
    with pytest.raises(RedisUrlError) as caught:
        redis_connection.parse("redis+sentinel://quiz:bi-mat@s1:26379?sentinel_password=cung-bi-mat")
    message = str(caught.value)
    assert "bi-mat" not in message and "quiz:***@s1:26379" in message and "sentinel_password=***" in message


def test_mask_password() -> None:
    assert redis_connection.mask_password("redis://:pw@h:1/0") == "redis://:***@h:1/0"
    assert redis_connection.mask_password("rediss+cluster://u:p/w@a:1,b:2") == "rediss+cluster://u:***@a:1,b:2"
    assert redis_connection.mask_password("redis://h:1/0") == "redis://h:1/0"
    assert redis_connection.mask_password("redis://user@h:1") == "redis://user@h:1"


def test_an_app_with_a_bad_url_does_not_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUIZ_INSTANCE_PATH", str(tmp_path))
    with pytest.raises(RedisUrlError, match="không được hỗ trợ"):
        create_app({"TESTING": True, "SECRET_KEY": "x", "REDIS_URL": "memcached://127.0.0.1:11211"})


def test_connects_to_the_test_redis_with_the_fail_fast_settings(redis_url: str) -> None:
    client = redis_connection.connect(redis_url)
    try:
        is_cluster = redis_connection.parse(redis_url).topology is Topology.CLUSTER
        assert isinstance(client, RedisCluster) is is_cluster
        client.set("quiz:test:redis-connection", "Xin chào")
        assert client.get("quiz:test:redis-connection") == "Xin chào"  # replies decoded to str
        nodes = [n.redis_connection for n in client.get_primaries()] if is_cluster else [client]
        for node in nodes:
            settings = node.connection_pool.connection_kwargs
            assert (settings["socket_connect_timeout"], settings["socket_timeout"]) == (2, 5)
            assert settings.get("health_check_interval", 0) == (0 if is_cluster else 30)  # not in cluster mode
        status = health.check_redis(client)
        assert status.ok and status.detail.startswith("redis ") and ("cluster, " in status.detail) is is_cluster
        client.delete("quiz:test:redis-connection")
    finally:
        redis_connection.close(client)


def test_a_cluster_nobody_answers_for_fails_at_start_and_says_so() -> None:
    port = _free_port()  # nothing listens there
    with pytest.raises(RedisUnavailableError) as caught:
        redis_connection.connect(f"redis+cluster://127.0.0.1:{port}")
    assert f"Không dùng được Redis Cluster qua các nút 127.0.0.1:{port}" in str(caught.value)
    assert f"the Redis Cluster cannot be used through its seed nodes 127.0.0.1:{port}" in str(caught.value)


def test_the_cluster_flag_reads_a_plain_url_as_a_seed_node(
    redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a Cluster, the whole app (its client and the rate limiter) runs from ``redis://seed`` plus the flag;
    on one server the flag refuses to start rather than treat the server as a cluster."""
    monkeypatch.setenv("QUIZ_INSTANCE_PATH", str(tmp_path))
    target = redis_connection.parse(redis_url)
    seed = f"redis://{target.nodes[0][0]}:{target.nodes[0][1]}" if target.nodes else redis_url
    settings = {"TESTING": True, "SECRET_KEY": "x", "REDIS_URL": seed, "REDIS_CLUSTER": True}
    if target.topology is not Topology.CLUSTER:
        with pytest.raises((RedisUnavailableError, RedisUrlError), match="Redis Cluster"):
            create_app(settings)
        return
    app = create_app(settings)
    try:
        client = app.extensions["quiz_redis"]
        assert isinstance(client, RedisCluster) and len(client.get_primaries()) >= 2
        client.set("quiz:test:flag", "1")
        other = redis_connection.connect(redis_url)
        assert other.get("quiz:test:flag") == "1"
        redis_connection.close(other)
        storage = limiter.storage
        assert isinstance(storage, RedisClusterStorage) and storage.key_prefix == "quiz:rl"
        assert {n.port for n in storage.storage.get_primaries()} == {n.port for n in client.get_primaries()}
    finally:
        app.extensions["quiz_export_runner"].shutdown()
        client.delete("quiz:test:flag")
        redis_connection.close(app.extensions["quiz_redis"])
