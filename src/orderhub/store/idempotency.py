"""Idempotency keys with Stripe's semantics: the first response is replayed for 24 h.

Each step runs in its own short transaction so a concurrent duplicate sees the claim at once.
A claim that its request never finished (a crashed process) may be taken over after
``lock_seconds``. Stored answers are redacted (:func:`~orderhub.domain.redaction.redact`): a
replay of ``POST /v1/webhooks`` shows ``"secret": "***"``, not the secret shown once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, Engine, delete, select, update

from orderhub.domain.redaction import redact
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
                response_body=redact(response.body),
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


def redact_stored(conn: Connection) -> int:
    """Redact answers stored before redaction existed (``db upgrade``); returns how many."""
    found = conn.execute(
        select(keys.c.principal, keys.c.key, keys.c.response_body).where(
            keys.c.response_body.is_not(None)
        )
    ).all()
    changed = 0
    for row in found:
        text = redact(row.response_body)
        if text != row.response_body:
            conn.execute(
                update(keys)
                .where(keys.c.principal == row.principal, keys.c.key == row.key)
                .values(response_body=text)
            )
            changed += 1
    return changed
