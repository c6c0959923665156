"""Sync cursors: how far each pull-style channel has been read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from orderhub.clock import utc_now
from orderhub.domain.ids import new_id
from orderhub.store.repositories import insert_ignoring_duplicates
from orderhub.store.tables import channel_sync_cursors as cursors
from orderhub.store.tables import channel_sync_errors as errors

KEPT_ERRORS = 50  # per channel: the history a person reads, not a log archive


class SyncCursorRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def get(self, channel: str) -> datetime | None:
        """The newest channel-side ``updated_at`` already read, or None before the first sync."""
        value: datetime | None = self._conn.execute(
            select(cursors.c.last_updated_at).where(cursors.c.channel_code == channel)
        ).scalar_one_or_none()
        return value

    def advance(self, channel: str, seen: datetime | None, result: dict[str, Any]) -> None:
        """Record a run; the cursor only moves forward (an older ``seen`` keeps the old one)."""
        now = utc_now()
        row = {"last_run_at": now, "last_result": result}
        if insert_ignoring_duplicates(
            self._conn, cursors, {"channel_code": channel, "last_updated_at": seen, **row}
        ):
            return
        current = self.get(channel)
        if seen is not None and (current is None or seen > current):
            row["last_updated_at"] = seen
        self._conn.execute(update(cursors).where(cursors.c.channel_code == channel).values(row))

    def record_error(self, channel: str, error: str) -> None:
        """Keep a failed run's error for the channel page; only the newest KEPT_ERRORS stay."""
        e = errors.c
        self._conn.execute(
            insert(errors).values(
                id=new_id(), channel_code=channel, occurred_at=utc_now(), error=error[:2000]
            )
        )
        old = (
            select(e.id)
            .where(e.channel_code == channel)
            .order_by(e.occurred_at.desc(), e.id.desc())
            .offset(KEPT_ERRORS)
        )
        stale = list(self._conn.execute(old).scalars())
        if stale:
            self._conn.execute(delete(errors).where(e.id.in_(stale)))

    def errors(self, channel: str, *, limit: int = 20) -> list[dict[str, Any]]:
        """The channel's failed runs, newest first."""
        e = errors.c
        rows = self._conn.execute(
            select(e.occurred_at, e.error)
            .where(e.channel_code == channel)
            .order_by(e.occurred_at.desc(), e.id.desc())
            .limit(limit)
        )
        return [{"occurred_at": r.occurred_at, "error": r.error} for r in rows]
