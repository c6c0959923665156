"""The marketplaces' outbound adapters: Amazon, eBay, Walmart, Etsy, TikTok Shop.

Each function turns the hub's shipment or stock level into the calls its channel module builds
(``orderhub.channels.<kind>``), made through the marketplace's own client; they are registered
by kind in :mod:`orderhub.services.outbound.registry`. Ship calls take the shipped units sorted
by channel line id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from orderhub.channels import amazon, ebay, etsy, tiktok, walmart
from orderhub.channels.base import Tracking
from orderhub.domain.channels import Channel
from orderhub.domain.orders import Order
from orderhub.services.outbound.base import MarketplaceAdapter
from orderhub.services.outbound.calls import MarketplaceCalls, refused

# Amazon


def _amazon_ship(
    call: MarketplaceCalls,
    channel: Channel,
    order: Order,
    shipped: dict[str, int],
    tracking: Tracking,
    shipped_at: datetime,
) -> None:
    marketplace = order.metadata.get("marketplace_id") or amazon.marketplace_ids(channel)[0]
    call(
        amazon.confirm_shipment(
            order_id=order.external_id,
            marketplace_id=str(marketplace),
            tracking=tracking,
            ship_date=shipped_at,
            items=sorted(shipped.items()),
        )
    )


def _amazon_stock(
    call: MarketplaceCalls, channel: Channel, item: dict[str, Any], sku: str, available: int
) -> None:
    seller = item.get("seller_id") or channel.settings.get("seller_id")
    call(
        amazon.listings_quantity(
            seller_id=str(seller or ""),
            sku=sku,
            marketplace_id=amazon.marketplace_ids(channel)[0],
            quantity=available,
        )
    )


AMAZON = MarketplaceAdapter(ship=_amazon_ship, stock=_amazon_stock)

# eBay


def _ebay_ship(
    call: MarketplaceCalls,
    channel: Channel,
    order: Order,
    shipped: dict[str, int],
    tracking: Tracking,
    shipped_at: datetime,
) -> None:
    call(
        ebay.create_shipping_fulfillment(
            order_id=order.external_id,
            tracking=tracking,
            shipped_at=shipped_at,
            lines=sorted(shipped.items()),
        )
    )


def _ebay_stock(
    call: MarketplaceCalls, channel: Channel, item: dict[str, Any], sku: str, available: int
) -> None:
    call(ebay.bulk_update_quantity({sku: available}))


EBAY = MarketplaceAdapter(ship=_ebay_ship, stock=_ebay_stock)

# Walmart


def _walmart_ship(
    call: MarketplaceCalls,
    channel: Channel,
    order: Order,
    shipped: dict[str, int],
    tracking: Tracking,
    shipped_at: datetime,
) -> None:
    call(
        walmart.ship_lines(
            purchase_order_id=order.external_id,
            lines=sorted(shipped.items()),
            tracking=tracking,
            shipped_at=shipped_at,
        )
    )


def _walmart_stock(
    call: MarketplaceCalls, channel: Channel, item: dict[str, Any], sku: str, available: int
) -> None:
    call(walmart.inventory(sku=sku, quantity=available))


WALMART = MarketplaceAdapter(
    ship=_walmart_ship, stock=_walmart_stock, acknowledge=walmart.acknowledge
)

# Etsy


def _etsy_ship(
    call: MarketplaceCalls,
    channel: Channel,
    order: Order,
    shipped: dict[str, int],
    tracking: Tracking,
    shipped_at: datetime,
) -> None:
    call(
        etsy.create_receipt_shipment(
            shop=etsy.shop_id(channel), receipt_id=order.external_id, tracking=tracking
        )
    )


def _etsy_stock(
    call: MarketplaceCalls, channel: Channel, item: dict[str, Any], sku: str, available: int
) -> None:
    """Etsy takes the listing's whole inventory back: read it, then write it with the quantity."""
    listing = str(item["listing_id"])
    current = call.get(f"/v3/application/listings/{quote(listing)}/inventory", api="etsy")
    call(
        etsy.update_listing_inventory(
            listing_id=listing, current=current, quantities={sku: available}
        )
    )


ETSY = MarketplaceAdapter(ship=_etsy_ship, stock=_etsy_stock, stock_needs=("listing_id",))

# TikTok Shop


def _tiktok_ship(
    call: MarketplaceCalls,
    channel: Channel,
    order: Order,
    shipped: dict[str, int],
    tracking: Tracking,
    shipped_at: datetime,
) -> None:
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
    call(
        tiktok.ship_package(
            order_id=order.external_id,
            line_item_ids=units,
            tracking_number=tracking.number,
            shipping_provider_id=str(provider),
        )
    )


def _tiktok_stock(
    call: MarketplaceCalls, channel: Channel, item: dict[str, Any], sku: str, available: int
) -> None:
    warehouse = item.get("warehouse_id") or channel.settings.get("warehouse_id")
    call(
        tiktok.update_inventory(
            product_id=str(item["product_id"]),
            sku_id=str(item["sku_id"]),
            quantity=available,
            warehouse_id=str(warehouse) if warehouse else None,
        )
    )


TIKTOK = MarketplaceAdapter(
    ship=_tiktok_ship, stock=_tiktok_stock, stock_needs=("product_id", "sku_id")
)
