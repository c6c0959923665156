"""Writing to the transactional outbox (delivery is the worker's job, in ``orderhub.workers``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection

from orderhub.domain.events import DomainEvent
from orderhub.domain.ids import new_id
from orderhub.store.tables import outbox


def add(
    conn: Connection,
    recorded: Sequence[DomainEvent],
    *,
    actor: str,
    occurred_at: datetime,
    ids: Sequence[str] | None = None,
) -> None:
    """Queue ``recorded`` for delivery; ``ids`` reuses the history's event ids when given."""
    if not recorded:
        return
    event_ids = list(ids) if ids is not None else [new_id() for _ in recorded]
    conn.execute(
        outbox.insert(),
        [
            {
                "id": event_id,
                "stream": event.stream,
                "type": event.type,
                "data": event.data(),
                "actor": actor,
                "occurred_at": occurred_at,
            }
            for event_id, event in zip(event_ids, recorded, strict=True)
        ],
    )
