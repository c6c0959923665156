"""Writing to the transactional outbox (delivery is the worker's job, in ``orderhub.workers``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection

from orderhub.domain.events import JSON, DomainEvent
from orderhub.domain.ids import new_id
from orderhub.store.tables import outbox

_INSERT = outbox.insert()


def add(
    conn: Connection,
    recorded: Sequence[DomainEvent],
    *,
    actor: str,
    occurred_at: datetime,
    ids: Sequence[str] | None = None,
    data: Sequence[JSON] | None = None,
) -> None:
    """Queue ``recorded`` for delivery in one INSERT; ``ids`` reuses the history's event ids
    when given, ``data`` each event's already computed ``data()``."""
    if not recorded:
        return
    event_ids = list(ids) if ids is not None else [new_id() for _ in recorded]
    payloads = list(data) if data is not None else [event.data() for event in recorded]
    conn.execute(
        _INSERT,
        [
            {
                "id": event_id,
                "stream": event.stream,
                "type": event.type,
                "data": payload,
                "actor": actor,
                "occurred_at": occurred_at,
            }
            for event_id, event, payload in zip(event_ids, recorded, payloads, strict=True)
        ],
    )


def add_queued(
    conn: Connection, queued: Sequence[tuple[DomainEvent, str, JSON, datetime]], *, actor: str
) -> None:
    """Queue events gathered over a transaction, each with its id, its ``data()`` and when it
    was queued, in one INSERT (a unit of work's commit)."""
    if not queued:
        return
    conn.execute(
        _INSERT,
        [
            {
                "id": event_id,
                "stream": event.stream,
                "type": event.type,
                "data": payload,
                "actor": actor,
                "occurred_at": occurred_at,
            }
            for event, event_id, payload, occurred_at in queued
        ],
    )
