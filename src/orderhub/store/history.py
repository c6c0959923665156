"""The order history: append-only, hash-chained per order, verified by ``orderhub audit verify``.

Each event's hash is SHA-256 over the previous hash and a canonical JSON of the event, so any
edit, deletion or reordering breaks every later link. The database refuses UPDATE and DELETE on
the table by trigger; the chain catches what a trigger cannot (a restored backup, a bypass).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select

from orderhub.domain.events import JSON, DomainEvent
from orderhub.domain.ids import new_id
from orderhub.store.tables import order_events

GENESIS = "0" * 64
_LAST_EVENT = (
    select(order_events.c.order_seq, order_events.c.hash)
    .where(order_events.c.order_id == bindparam("order_id"))
    .order_by(order_events.c.order_seq.desc())
    .limit(1)
)
_INSERT = order_events.insert()


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_hash(
    *,
    prev_hash: str,
    event_id: str,
    order_id: str,
    order_seq: int,
    type_: str,
    data: str,
    actor: str,
    occurred_at: datetime,
) -> str:
    body = canonical_json(
        {
            "id": event_id,
            "order_id": order_id,
            "order_seq": order_seq,
            "type": type_,
            "data": data,
            "actor": actor,
            "occurred_at": occurred_at.isoformat(),
        }
    )
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


@dataclass(frozen=True)
class StoredEvent:
    id: str
    order_id: str
    order_seq: int
    type: str
    data: dict[str, Any]
    actor: str
    occurred_at: datetime
    hash: str


def insert(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Write chained rows (of any number of orders) in one statement."""
    if rows:
        conn.execute(_INSERT, list(rows))


def chain(
    conn: Connection,
    order_id: str,
    recorded: Sequence[DomainEvent],
    *,
    actor: str,
    occurred_at: datetime,
    new_order: bool = False,
    data: Sequence[JSON] | None = None,
) -> list[dict[str, Any]]:
    """The history rows that chain ``recorded`` onto the order's history, not yet written: a
    unit of work writes every order's rows with one :func:`insert` at commit.

    ``data`` is each event's ``data()`` when the caller has computed it already. The caller
    holds the order's row (its version bump), so no other writer extends this chain
    concurrently; the unique (order_id, order_seq) constraint is the backstop. A ``new_order``
    inserted in this transaction has no history yet: no need to look.
    """
    last = None if new_order else conn.execute(_LAST_EVENT, {"order_id": order_id}).first()
    seq, prev = (last.order_seq, last.hash) if last else (0, GENESIS)
    rows = []
    payloads = data if data is not None else [event.data() for event in recorded]
    for event, payload in zip(recorded, payloads, strict=True):
        seq += 1
        event_id = new_id()
        body = canonical_json(payload)
        digest = event_hash(
            prev_hash=prev,
            event_id=event_id,
            order_id=order_id,
            order_seq=seq,
            type_=event.type,
            data=body,
            actor=actor,
            occurred_at=occurred_at,
        )
        rows.append(
            {
                "id": event_id,
                "order_id": order_id,
                "order_seq": seq,
                "type": event.type,
                "data": body,
                "actor": actor,
                "occurred_at": occurred_at,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        prev = digest
    return rows


def events_of(conn: Connection, order_id: str) -> list[StoredEvent]:
    rows = conn.execute(
        select(order_events)
        .where(order_events.c.order_id == order_id)
        .order_by(order_events.c.order_seq)
    )
    return [
        StoredEvent(
            r.id,
            r.order_id,
            r.order_seq,
            r.type,
            json.loads(r.data),
            r.actor,
            r.occurred_at,
            r.hash,
        )
        for r in rows
    ]


@dataclass(frozen=True)
class ChainBreak:
    order_id: str
    order_seq: int
    event_id: str
    problem: str


def verify(conn: Connection, *, batch: int = 5000) -> Iterator[ChainBreak | int]:
    """Yield the running count of checked events, and a :class:`ChainBreak` for each bad chain."""
    checked = 0
    current_order: str | None = None
    expected_seq, prev = 1, GENESIS
    broken: set[str] = set()
    stmt = (
        select(order_events)
        .order_by(order_events.c.order_id, order_events.c.order_seq)
        .execution_options(yield_per=batch)
    )
    for row in conn.execute(stmt):
        if row.order_id != current_order:
            current_order, expected_seq, prev = row.order_id, 1, GENESIS
        checked += 1
        if row.order_id in broken:
            continue
        problem = None
        if row.order_seq != expected_seq:
            problem = f"sequence gap: expected {expected_seq}, found {row.order_seq}"
        elif row.prev_hash != prev:
            problem = "prev_hash does not match the previous event's hash"
        else:
            digest = event_hash(
                prev_hash=prev,
                event_id=row.id,
                order_id=row.order_id,
                order_seq=row.order_seq,
                type_=row.type,
                data=row.data,
                actor=row.actor,
                occurred_at=row.occurred_at,
            )
            if digest != row.hash:
                problem = "hash does not match the event's content"
        if problem:
            broken.add(row.order_id)
            yield ChainBreak(row.order_id, row.order_seq, row.id, problem)
        expected_seq, prev = row.order_seq + 1, row.hash
        if checked % batch == 0:
            yield checked
    yield checked
