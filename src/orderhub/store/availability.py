"""Per-channel safety stock overrides and available-to-sell, and the change events it causes.

At commit the unit of work asks :meth:`AvailabilityRepository.announce` for the SKUs touched in
the transaction: it locks each (channel, SKU)'s last announced figure in a fixed order, computes
the figure again from the levels *after* taking the lock (so of two concurrent transactions the
later one sees the earlier one's stock) and returns one event per figure that changed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from orderhub.domain.channels import Channel
from orderhub.domain.events import InventoryAvailableChanged
from orderhub.domain.inventory import StockLevel, available_to_sell
from orderhub.store import tables as t
from orderhub.store.locations import LocationRepository
from orderhub.store.repositories import ChannelRepository, insert_ignoring_duplicates, utcnow

S = t.channel_safety_stock.c
A = t.channel_availability.c


class AvailabilityRepository:
    def __init__(self, conn: Connection, *, touched: set[str]) -> None:
        self._conn = conn
        self.touched = touched  # shared with the stock repository
        self.everything = False  # a channel or location changed: every SKU may have moved

    def touch_all(self) -> None:
        self.everything = True

    # --- safety stock -------------------------------------------------------------------

    def safety_overrides(self, skus: Iterable[str]) -> dict[tuple[str, str], int]:
        wanted = sorted(set(skus))
        if not wanted:
            return {}
        rows = self._conn.execute(select(t.channel_safety_stock).where(S.sku.in_(wanted)))
        return {(r.channel_code, r.sku): r.safety_stock for r in rows}

    def set_safety_stock(self, channel: str, sku: str, quantity: int | None) -> None:
        """Override the channel's safety stock for one SKU; ``None`` removes the override."""
        where = (S.channel_code == channel, S.sku == sku)
        if quantity is None:
            self._conn.execute(delete(t.channel_safety_stock).where(*where))
        elif not insert_ignoring_duplicates(
            self._conn,
            t.channel_safety_stock,
            {"channel_code": channel, "sku": sku, "safety_stock": quantity},
        ):
            self._conn.execute(
                update(t.channel_safety_stock).where(*where).values(safety_stock=quantity)
            )
        self.touched.add(sku)

    # --- available-to-sell --------------------------------------------------------------

    def available_to_sell(
        self, skus: Iterable[str], channels: list[Channel] | None = None
    ) -> dict[tuple[str, str], int]:
        """(channel, SKU) → available-to-sell, computed from the current levels."""
        wanted = sorted(set(skus))
        channels = channels if channels is not None else ChannelRepository(self._conn).list()
        locations = LocationRepository(self._conn).list()
        overrides = self.safety_overrides(wanted)
        by_sku: dict[str, dict[str, StockLevel]] = defaultdict(dict)
        for row in self._conn.execute(
            select(t.stock_levels).where(t.stock_levels.c.sku.in_(wanted))
        ):
            by_sku[row.sku][row.location] = StockLevel(
                row.sku, row.location, row.on_hand, row.reserved
            )
        return {
            (channel.code, sku): available_to_sell(
                channel,
                locations,
                by_sku[sku],
                overrides.get((channel.code, sku), channel.safety_stock),
            )
            for channel in channels
            for sku in wanted
        }

    def announce(self) -> list[InventoryAvailableChanged]:
        """Events for every (channel, SKU) whose available-to-sell differs from the last one."""
        skus = set(self.touched)
        if self.everything:
            skus |= set(self._conn.execute(select(t.stock_levels.c.sku).distinct()).scalars())
        self.touched.clear()
        self.everything = False
        if not skus:
            return []
        channels = ChannelRepository(self._conn).list()
        if not channels:
            return []
        keys = sorted((c.code, sku) for c in channels for sku in skus)
        previous = self._lock(keys)
        current = self.available_to_sell(skus, channels)
        changed = []
        now = utcnow()
        for channel, sku in keys:
            before, after = previous[(channel, sku)], current[(channel, sku)]
            if before == after:
                continue
            self._conn.execute(
                update(t.channel_availability)
                .where(A.channel_code == channel, A.sku == sku)
                .values(available=after, updated_at=now)
            )
            changed.append(InventoryAvailableChanged(sku, channel, after, before))
        return changed

    def _lock(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """Create missing rows at 0, then lock them all in key order; the last figures."""
        insert = pg_insert if self._conn.dialect.name == "postgresql" else sqlite_insert
        now = utcnow()
        self._conn.execute(
            insert(t.channel_availability)
            .values(
                [{"channel_code": c, "sku": s, "available": 0, "updated_at": now} for c, s in keys]
            )
            .on_conflict_do_nothing()
        )
        channels = sorted({c for c, _ in keys})
        skus = sorted({s for _, s in keys})
        stmt = (
            select(A.channel_code, A.sku, A.available)
            .where(A.channel_code.in_(channels), A.sku.in_(skus))
            .order_by(A.channel_code, A.sku)
        )
        if self._conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        return {(r.channel_code, r.sku): r.available for r in self._conn.execute(stmt)}
