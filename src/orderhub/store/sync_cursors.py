"""Sync cursors: how far each pull-style channel has been read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from orderhub.clock import utc_now
from orderhub.store.repositories import insert_ignoring_duplicates
from orderhub.store.tables import channel_sync_cursors as cursors


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
