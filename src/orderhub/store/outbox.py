"""Writing to the transactional outbox (delivery is the worker's job, in ``orderhub.workers``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection

from orderhub.domain.events import DomainEvent
from orderhub.store import bulk
from orderhub.store.tables import outbox


def add_queued(
    conn: Connection, queued: Sequence[tuple[DomainEvent, str, str, datetime]], *, actor: str
) -> None:
    """Queue events gathered over a transaction, each with its id, its ``data()`` as JSON text
    (:func:`history.canonical_json`, the text its history row hashes: not encoded again here)
    and when it was queued, in one INSERT (a unit of work's commit)."""
    if not queued:
        return
    bulk.insert_values(
        conn,
        outbox,
        _COLUMNS,
        [
            (event_id, event.stream, event.type, payload, actor, occurred_at)
            for event, event_id, payload, occurred_at in queued
        ],
        encoded=("data",),
    )


_COLUMNS = ("id", "stream", "type", "data", "actor", "occurred_at")
