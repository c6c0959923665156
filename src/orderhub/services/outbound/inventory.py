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
from urllib.parse import quote

from orderhub.channels import amazon, bigcommerce, ebay, etsy, magento, shopify, tiktok, walmart
from orderhub.channels import woocommerce as woo
from orderhub.channels._shared import OutboundRequest as MarketRequest
from orderhub.channels.base import OutboundRequest
from orderhub.domain.channels import Channel, ChannelKind
from orderhub.services.outbound.calls import TransportFactory, marketplace_calls, store_calls
from orderhub.services.outbound.shipments import MARKETPLACES, STORES

log = logging.getLogger("orderhub.outbound")

# What each kind needs in the channel's inventory item for a SKU (empty: the SKU suffices).
REQUIRED: dict[ChannelKind, tuple[str, ...]] = {
    ChannelKind.SHOPIFY: ("inventory_item_id", "location_id"),
    ChannelKind.WOOCOMMERCE: ("product_id",),
    ChannelKind.BIGCOMMERCE: ("location_id",),
    ChannelKind.MAGENTO: (),
    ChannelKind.AMAZON: (),
    ChannelKind.EBAY: (),
    ChannelKind.WALMART: (),
    ChannelKind.ETSY: ("listing_id",),
    ChannelKind.TIKTOK: ("product_id", "sku_id"),
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
    needed = REQUIRED.get(channel.kind)
    if needed is None or item is None or not channel.sync_back:
        return False
    if channel.kind in STORES and not channel.api_base_url:
        return False
    missing = [name for name in needed if item.get(name) in (None, "")]
    if missing:
        log.info("%s: no %s for SKU %s, not pushed", channel.code, ", ".join(missing), sku)
        return False
    their_sku = str(item.get("sku") or sku)
    if channel.kind in STORES:
        with store_calls(channel, transport) as call:
            call(_store_request(channel, item, their_sku, available))
        return True
    assert channel.kind in MARKETPLACES
    with marketplace_calls(channel, transport) as call:
        if channel.kind == ChannelKind.ETSY:
            listing = str(item["listing_id"])
            current = call.get(f"/v3/application/listings/{quote(listing)}/inventory", api="etsy")
            call(
                etsy.update_listing_inventory(
                    listing_id=listing, current=current, quantities={their_sku: available}
                )
            )
        else:
            call(_marketplace_request(channel, item, their_sku, available))
    return True


def _store_request(
    channel: Channel, item: dict[str, Any], sku: str, available: int
) -> OutboundRequest:
    if channel.kind == ChannelKind.SHOPIFY:
        return shopify.set_inventory(
            inventory_item_id=int(item["inventory_item_id"]),
            location_id=int(item["location_id"]),
            available=available,
        )
    if channel.kind == ChannelKind.WOOCOMMERCE:
        variation = item.get("variation_id")
        return woo.set_stock(
            product_id=int(item["product_id"]),
            variation_id=int(variation) if variation else None,
            quantity=available,
        )
    if channel.kind == ChannelKind.BIGCOMMERCE:
        return bigcommerce.set_inventory(
            [(int(item["location_id"]), sku, available)], reason="OrderHub available-to-sell"
        )
    source = str(item.get("source_code") or channel.settings.get("source_code") or "default")
    return magento.set_source_items([(sku, source, available)])


def _marketplace_request(
    channel: Channel, item: dict[str, Any], sku: str, available: int
) -> MarketRequest:
    if channel.kind == ChannelKind.AMAZON:
        seller = item.get("seller_id") or channel.settings.get("seller_id")
        return amazon.listings_quantity(
            seller_id=str(seller or ""),
            sku=sku,
            marketplace_id=amazon.marketplace_ids(channel)[0],
            quantity=available,
        )
    if channel.kind == ChannelKind.EBAY:
        return ebay.bulk_update_quantity({sku: available})
    if channel.kind == ChannelKind.WALMART:
        return walmart.inventory(sku=sku, quantity=available)
    warehouse = item.get("warehouse_id") or channel.settings.get("warehouse_id")
    return tiktok.update_inventory(
        product_id=str(item["product_id"]),
        sku_id=str(item["sku_id"]),
        quantity=available,
        warehouse_id=str(warehouse) if warehouse else None,
    )
