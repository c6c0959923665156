"""Push a channel's available-to-sell for a SKU on ``inventory.available_changed``.

Quantities are absolute (the event's ``available``), so a retried or repeated push is
harmless, and deliveries of one SKU's stream arrive in order. Where the channel needs its own
ids for the SKU (Shopify, WooCommerce, TikTok, Etsy, …) they come from the channel's
inventory items (``POST /v1/channels/{code}/inventory-items``). Only SKUs listed there are
pushed — a channel that never sold a SKU would refuse it — so for channels that need no ids the
row is just ``{}``. The channel's SKU defaults to the master SKU; ``item.sku`` overrides it.
"""

from __future__ import annotations

import logging
from typing import Any

from orderhub.domain.channels import Channel, ChannelKind
from orderhub.services.outbound.base import MarketplaceAdapter, StockLevel, StoreAdapter
from orderhub.services.outbound.calls import TransportFactory, marketplace_calls, store_calls
from orderhub.services.outbound.registry import ADAPTERS, adapter_for

log = logging.getLogger("orderhub.outbound")

# What each kind needs in the channel's inventory item for a SKU (empty: the SKU suffices).
REQUIRED: dict[ChannelKind, tuple[str, ...]] = {
    kind: adapter.stock_needs for kind, adapter in ADAPTERS.items()
}


def push_available(
    channel: Channel,
    *,
    sku: str,
    available: int,
    item: dict[str, Any] | None,
    transport: TransportFactory,
) -> bool:
    """Send the quantity; False when the channel takes no push or lacks what it needs."""
    adapter = adapter_for(channel.kind)
    if adapter is None or item is None or not channel.sync_back:
        return False
    if isinstance(adapter, StoreAdapter) and not channel.api_base_url:
        return False
    missing = [name for name in adapter.stock_needs if item.get(name) in (None, "")]
    if missing:
        log.info("%s: no %s for SKU %s, not pushed", channel.code, ", ".join(missing), sku)
        return False
    level = StockLevel(channel, item, str(item.get("sku") or sku), available)
    match adapter:
        case StoreAdapter():
            with store_calls(channel, transport) as call:
                adapter.stock(call, level)
        case MarketplaceAdapter():
            with marketplace_calls(channel, transport) as call:
                adapter.stock(call, level)
    return True
