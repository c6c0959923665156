"""Marketplace polling state: the last window read completely, and when to poll next."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, or_, select, update

from orderhub.store.repositories import insert_ignoring_duplicates
from orderhub.store.tables import channels
from orderhub.store.tables import marketplace_sync_state as state


@dataclass(frozen=True)
class SyncState:
    channel: str
    window_end: datetime | None = None
    next_run_at: datetime | None = None
    last_run_at: datetime | None = None
    failures: int = 0
    last_error: str | None = None
    last_result: dict[str, Any] = field(default_factory=dict)


class MarketplaceSyncRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def get(self, channel: str) -> SyncState:
        row = self._conn.execute(select(state).where(state.c.channel_code == channel)).first()
        if row is None:
            return SyncState(channel)
        return SyncState(
            channel,
            row.window_end,
            row.next_run_at,
            row.last_run_at,
            row.failures,
            row.last_error,
            row.last_result,
        )

    def _ensure(self, channel: str) -> None:
        insert_ignoring_duplicates(
            self._conn, state, {"channel_code": channel, "last_result": {}, "failures": 0}
        )

    def succeeded(
        self,
        channel: str,
        *,
        window_end: datetime,
        ran_at: datetime,
        next_run_at: datetime,
        result: dict[str, Any],
    ) -> None:
        """The window up to ``window_end`` is read whole; it only moves forward."""
        self._ensure(channel)
        current = self.get(channel).window_end
        end = window_end if current is None or window_end > current else current
        self._conn.execute(
            update(state)
            .where(state.c.channel_code == channel)
            .values(
                window_end=end,
                last_run_at=ran_at,
                next_run_at=next_run_at,
                last_result=result,
                last_error=None,
                failures=0,
            )
        )

    def failed(self, channel: str, *, error: str, ran_at: datetime, next_run_at: datetime) -> None:
        """The window stays where it was: the next run reads the same orders again."""
        self._ensure(channel)
        self._conn.execute(
            update(state)
            .where(state.c.channel_code == channel)
            .values(
                last_run_at=ran_at,
                next_run_at=next_run_at,
                last_error=error[:2000],
                failures=state.c.failures + 1,
            )
        )

    def due(self, kinds: set[str], now: datetime) -> list[str]:
        """Active channels of ``kinds`` whose next poll is due (or never ran)."""
        stmt = (
            select(channels.c.code)
            .select_from(channels.outerjoin(state, state.c.channel_code == channels.c.code))
            .where(
                channels.c.kind.in_(sorted(kinds)),
                channels.c.active.is_(True),
                or_(state.c.next_run_at.is_(None), state.c.next_run_at <= now),
            )
            .order_by(channels.c.code)
        )
        return [str(code) for code in self._conn.execute(stmt).scalars()]
