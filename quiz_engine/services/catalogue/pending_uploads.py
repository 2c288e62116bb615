"""Uploaded files waiting for the organizer's confirmation, kept in Redis (shared by every instance).

A preview and its confirmation may reach different app instances, so the file cannot wait in
one process's memory or disk. Entries expire on their own and belong to the user who uploaded.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass

import redis

TTL_SECONDS = 30 * 60


@dataclass(frozen=True)
class PendingUpload:
    token: str
    user_id: int
    filename: str
    data: bytes
    #: Free-form fields the caller needs at confirmation (e.g. which bank).
    meta: dict[str, str]


def _key(prefix: str, token: str) -> str:
    return f"{prefix}:upload:{token}"


def save(client: redis.Redis, prefix: str, *, user_id: int, filename: str, data: bytes, meta: dict[str, str]) -> str:
    """Keep ``data`` for :data:`TTL_SECONDS`; return the token that finds it again."""
    token = secrets.token_urlsafe(16)
    key = _key(prefix, token)
    fields = {"user_id": str(user_id), "filename": filename, "data": base64.b64encode(data).decode()}
    fields.update({f"meta:{k}": v for k, v in meta.items()})
    # MULTI/EXEC, so the file never stays without its expiry. A cluster client's pipeline() is not a
    # transaction unless asked; one key is one slot, so it can be.
    pipe = client.pipeline(transaction=True)
    pipe.hset(key, mapping=fields)
    pipe.expire(key, TTL_SECONDS)
    pipe.execute()
    return token


def load(client: redis.Redis, prefix: str, token: str, user_id: int) -> PendingUpload | None:
    """The upload behind ``token`` if it exists and belongs to ``user_id``."""
    fields = client.hgetall(_key(prefix, token)) if token.replace("-", "").replace("_", "").isalnum() else {}
    if not fields or fields.get("user_id") != str(user_id):
        return None
    meta = {k[5:]: v for k, v in fields.items() if k.startswith("meta:")}
    return PendingUpload(token, user_id, fields["filename"], base64.b64decode(fields["data"]), meta)


def discard(client: redis.Redis, prefix: str, token: str) -> None:
    client.delete(_key(prefix, token))
