"""Per-channel inventory items: the channel's own ids needed to push a SKU's stock there.

Shopify wants an ``inventory_item_id`` and a ``location_id``, WooCommerce a product (and
variation) id, BigCommerce a location id, Adobe Commerce a source code, Etsy a listing id,
TikTok a product and SKU id. The ``item`` column holds those ids as JSON, one row per
(channel, master SKU); channels that take the SKU itself need no row.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select, update

from orderhub.store.repositories import insert_ignoring_duplicates
from orderhub.store.tables import channel_inventory_items as items


class ChannelItemRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def get(self, channel: str, sku: str) -> dict[str, Any] | None:
        value = self._conn.execute(
            select(items.c.item).where(items.c.channel_code == channel, items.c.sku == sku)
        ).scalar_one_or_none()
        return dict(value) if value is not None else None

    def put(self, channel: str, sku: str, item: dict[str, Any]) -> None:
        row = {"channel_code": channel, "sku": sku, "item": item}
        if not insert_ignoring_duplicates(self._conn, items, row):
            self._conn.execute(
                update(items)
                .where(items.c.channel_code == channel, items.c.sku == sku)
                .values(item=item)
            )

    def list(self, channel: str) -> list[tuple[str, dict[str, Any]]]:
        rows = self._conn.execute(
            select(items.c.sku, items.c.item)
            .where(items.c.channel_code == channel)
            .order_by(items.c.sku)
        )
        return [(r.sku, dict(r.item)) for r in rows]
