"""Tell the channel an order shipped: carrier, tracking number and which lines, in its API.

Runs on ``shipment.created`` (one call set per shipment). Channels whose kind has no ship
call here (native, CSV, the B2B kinds, which get documents), that take no sync back
(``sync_back`` false) or that are not connected (no ``api_base_url``) are left alone.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from orderhub.channels import (
    _shared,
    amazon,
    bigcommerce,
    ebay,
    etsy,
    magento,
    shopify,
    tiktok,
    walmart,
)
from orderhub.channels import woocommerce as woo
from orderhub.channels.base import Tracking
from orderhub.domain.channels import Channel, ChannelKind
from orderhub.domain.orders import Order
from orderhub.services.outbound.calls import (
    TransportFactory,
    marketplace_calls,
    refused,
    store_calls,
)

log = logging.getLogger("orderhub.outbound")

STORES = frozenset(
    {ChannelKind.SHOPIFY, ChannelKind.WOOCOMMERCE, ChannelKind.BIGCOMMERCE, ChannelKind.MAGENTO}
)
MARKETPLACES = frozenset(
    {
        ChannelKind.AMAZON,
        ChannelKind.EBAY,
        ChannelKind.WALMART,
        ChannelKind.ETSY,
        ChannelKind.TIKTOK,
    }
)


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
    if not channel.api_base_url and channel.kind in STORES:
        log.info("channel %s has no api_base_url: shipment not sent", channel.code)
        return False
    shipped = channel_quantities(order, list(data.get("lines") or []))
    if not shipped:
        return False
    tracking = tracking_of(data)
    if channel.kind in STORES:
        with store_calls(channel, transport) as call:
            _store(channel, order, shipped, tracking, call)
        return True
    if channel.kind in MARKETPLACES:
        shipped_at = datetime.fromisoformat(str(data["shipped_at"]))
        with marketplace_calls(channel, transport) as call:
            call(_marketplace(channel, order, shipped, tracking, shipped_at))
        return True
    return False


def _store(
    channel: Channel, order: Order, shipped: dict[str, int], tracking: Tracking, call: Any
) -> None:
    external = order.external_id
    if channel.kind == ChannelKind.SHOPIFY:
        groups = shopify.fulfillment_order_lines(
            call(shopify.fulfillment_orders_request(external)) or {}, shipped
        )
        if groups:  # nothing open: already fulfilled (a re-run), nothing to send
            call(shopify.mark_shipped(groups, tracking))
    elif channel.kind == ChannelKind.WOOCOMMERCE:
        for request in woo.mark_shipped(external, tracking):
            call(request)
    elif channel.kind == ChannelKind.BIGCOMMERCE:
        addresses = order.metadata.get("order_address_ids") or []
        if not addresses:
            raise refused(f"BigCommerce order {external} has no order_address_id in its metadata")
        items = {int(k): v for k, v in shipped.items()}
        call(
            bigcommerce.mark_shipped(
                external, order_address_id=int(addresses[0]), items=items, tracking=tracking
            )
        )
    elif channel.kind == ChannelKind.MAGENTO:
        items = {int(k): v for k, v in shipped.items()}
        call(magento.mark_shipped(external, items=items, tracking=tracking))


def _marketplace(
    channel: Channel,
    order: Order,
    shipped: dict[str, int],
    given: Tracking,
    shipped_at: datetime,
) -> Any:
    external = order.external_id
    pairs = sorted(shipped.items())
    tracking = _shared.Tracking(given.carrier, given.number, given.url)
    if channel.kind == ChannelKind.AMAZON:
        marketplace = order.metadata.get("marketplace_id") or amazon.marketplace_ids(channel)[0]
        return amazon.confirm_shipment(
            order_id=external,
            marketplace_id=str(marketplace),
            tracking=tracking,
            ship_date=shipped_at,
            items=pairs,
        )
    if channel.kind == ChannelKind.EBAY:
        return ebay.create_shipping_fulfillment(
            order_id=external, tracking=tracking, shipped_at=shipped_at, lines=pairs
        )
    if channel.kind == ChannelKind.WALMART:
        return walmart.ship_lines(
            purchase_order_id=external, lines=pairs, tracking=tracking, shipped_at=shipped_at
        )
    if channel.kind == ChannelKind.ETSY:
        return etsy.create_receipt_shipment(
            shop=etsy.shop_id(channel), receipt_id=external, tracking=tracking
        )
    return _tiktok(channel, order, shipped, given)


def _tiktok(channel: Channel, order: Order, shipped: dict[str, int], tracking: Tracking) -> Any:
    """TikTok ships unit line items; the order's metadata lists them per SKU."""
    groups: dict[str, list[str]] = order.metadata.get("line_item_ids") or {}
    units: list[str] = []
    for first_id, quantity in sorted(shipped.items()):
        ids = next((g for g in groups.values() if g and g[0] == first_id), [first_id])
        units += ids[:quantity]
    providers: dict[str, str] = channel.settings.get("shipping_provider_ids") or {}
    provider = providers.get(tracking.carrier) or providers.get(tracking.carrier.lower())
    if not provider:
        raise refused(
            f"TikTok channel {channel.code} has no shipping_provider_ids entry for "
            f"carrier {tracking.carrier!r}"
        )
    return tiktok.ship_package(
        order_id=order.external_id,
        line_item_ids=units,
        tracking_number=tracking.number,
        shipping_provider_id=str(provider),
    )
