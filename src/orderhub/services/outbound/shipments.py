"""Tell the channel an order shipped: carrier, tracking number and which lines, in its API.

Runs on ``shipment.created`` (one call set per shipment), through the kind's adapter
(:mod:`orderhub.services.outbound.registry`). Channels whose kind has none (native, CSV, the
B2B kinds, which get documents), that take no sync back
(``sync_back`` false) or that are not connected (no ``api_base_url``) are left alone.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from orderhub.channels.base import Tracking
from orderhub.domain.channels import Channel
from orderhub.domain.orders import Order
from orderhub.services.outbound.base import MarketplaceAdapter, Shipment, StoreAdapter
from orderhub.services.outbound.calls import TransportFactory, marketplace_calls, store_calls
from orderhub.services.outbound.registry import adapter_for

log = logging.getLogger("orderhub.outbound")


def channel_quantities(order: Order, lines: list[dict[str, Any]]) -> dict[str, int]:
    """Shipped units per channel line id (lines the channel does not know are skipped)."""
    by_id = {line.id: line for line in order.lines}
    shipped: dict[str, int] = {}
    for item in lines:
        line = by_id.get(str(item["line_id"]))
        if line is None or not line.channel_line_id:
            continue
        shipped[line.channel_line_id] = shipped.get(line.channel_line_id, 0) + int(item["quantity"])
    return shipped


def tracking_of(data: dict[str, Any]) -> Tracking:
    return Tracking(
        carrier=str(data.get("carrier") or ""), number=str(data.get("tracking_number") or "")
    )


def mark_shipped(
    channel: Channel, order: Order, data: dict[str, Any], transport: TransportFactory
) -> bool:
    """Make the channel's ship call(s) for one ``shipment.created``; False when not applicable."""
    if not channel.sync_back:
        return False
    adapter = adapter_for(channel.kind)
    if not channel.api_base_url and isinstance(adapter, StoreAdapter):
        log.info("channel %s has no api_base_url: shipment not sent", channel.code)
        return False
    shipped = channel_quantities(order, list(data.get("lines") or []))
    if not shipped:
        return False
    shipment = Shipment(channel, order, shipped, tracking_of(data))
    match adapter:
        case StoreAdapter():
            with store_calls(channel, transport) as call:
                adapter.ship(call, shipment)
            return True
        case MarketplaceAdapter():
            shipped_at = datetime.fromisoformat(str(data["shipped_at"]))
            with marketplace_calls(channel, transport) as call:
                adapter.ship(call, shipment, shipped_at)
            return True
    return False
