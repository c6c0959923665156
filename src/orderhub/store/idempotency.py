"""Idempotency keys with Stripe's semantics: the first response is replayed for 24 h.

Each step runs in its own short transaction so a concurrent duplicate sees the claim at once.
A claim that its request never finished (a crashed process) may be taken over after
``lock_seconds``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Engine, delete, select, update

from orderhub.store.repositories import insert_ignoring_duplicates
from orderhub.store.tables import idempotency_keys as keys


@dataclass(frozen=True)
class StoredResponse:
    status: int
    headers: dict[str, str]
    body: str


@dataclass(frozen=True)
class Claim:
    outcome: Literal["proceed", "replay", "mismatch", "in_progress"]
    response: StoredResponse | None = None


def claim(
    engine: Engine,
    *,
    principal: str,
    key: str,
    request_hash: str,
    now: datetime,
    ttl: timedelta,
    lock: timedelta,
) -> Claim:
    with engine.begin() as conn:
        conn.execute(delete(keys).where(keys.c.expires_at < now))
        row_values: dict[str, Any] = {
            "principal": principal,
            "key": key,
            "request_hash": request_hash,
            "locked_until": now + lock,
            "created_at": now,
            "expires_at": now + ttl,
        }
        if insert_ignoring_duplicates(conn, keys, row_values):
            return Claim("proceed")
        row = conn.execute(
            select(keys).where(keys.c.principal == principal, keys.c.key == key)
        ).one()
        if row.request_hash != request_hash:
            return Claim("mismatch")
        if row.response_status is not None:
            return Claim(
                "replay",
                StoredResponse(row.response_status, row.response_headers or {}, row.response_body),
            )
        if row.locked_until is not None and row.locked_until > now:
            return Claim("in_progress")
        taken = conn.execute(
            update(keys)
            .where(
                keys.c.principal == principal,
                keys.c.key == key,
                keys.c.response_status.is_(None),
                keys.c.locked_until == row.locked_until,
            )
            .values(locked_until=now + lock)
        )
        return Claim("proceed" if taken.rowcount == 1 else "in_progress")


def complete(engine: Engine, *, principal: str, key: str, response: StoredResponse) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(keys)
            .where(keys.c.principal == principal, keys.c.key == key)
            .values(
                response_status=response.status,
                response_headers=response.headers,
                response_body=response.body,
                locked_until=None,
            )
        )


def release(engine: Engine, *, principal: str, key: str) -> None:
    """Forget an unfinished claim (the request failed in a way worth retrying)."""
    with engine.begin() as conn:
        conn.execute(
            delete(keys).where(
                keys.c.principal == principal,
                keys.c.key == key,
                keys.c.response_status.is_(None),
            )
        )
