"""Health of the two stores the engine needs: the database and Redis."""

from __future__ import annotations

from dataclasses import dataclass

import redis
from redis.cluster import RedisCluster
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class StoreStatus:
    ok: bool
    detail: str


def check_database(session: Session) -> StoreStatus:
    """Run a trivial query; report the backend's name, or the error's class on failure."""
    try:
        session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        session.rollback()
        return StoreStatus(False, type(exc).__name__)
    return StoreStatus(True, session.get_bind().dialect.name)


def check_redis(client: redis.Redis | RedisCluster) -> StoreStatus:
    """PING the server; report its version, or the error's class on failure.

    A Cluster is healthy when every primary answers and the cluster says its state is ``ok`` (all
    slots served): a node that answers PING while its cluster refuses commands is not healthy.
    """
    try:
        if isinstance(client, RedisCluster):
            client.ping(target_nodes=RedisCluster.PRIMARIES)
            state = client.cluster_info().get("cluster_state", "?")
            if state != "ok":
                return StoreStatus(False, f"cluster_state:{state}")
        else:
            client.ping()
        version = client.info("server").get("redis_version", "?")
    except (redis.RedisError, OSError) as exc:
        return StoreStatus(False, type(exc).__name__)
    if isinstance(client, RedisCluster):
        return StoreStatus(True, f"redis {version} (cluster, {len(client.get_primaries())} primaries)")
    return StoreStatus(True, f"redis {version}")
