"""The marketplaces' outbound adapters: Amazon, eBay, Walmart, Etsy, TikTok Shop.

Each function turns the hub's shipment or stock level into the calls its channel module builds
(``orderhub.channels.<kind>``), made through the marketplace's own client; they are registered
by kind in :mod:`orderhub.services.outbound.registry`. Ship calls take the shipped units sorted
by channel line id.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from orderhub.channels import amazon, ebay, etsy, tiktok, walmart
from orderhub.services.outbound.base import MarketplaceAdapter, Shipment, StockLevel
from orderhub.services.outbound.calls import MarketplaceCalls, refused

# Amazon


def _amazon_ship(call: MarketplaceCalls, shipment: Shipment, shipped_at: datetime) -> None:
    order = shipment.order
    marketplace = (
        order.metadata.get("marketplace_id") or amazon.marketplace_ids(shipment.channel)[0]
    )
    call(
        amazon.confirm_shipment(
            order_id=order.external_id,
            marketplace_id=str(marketplace),
            tracking=shipment.tracking,
            ship_date=shipped_at,
            items=sorted(shipment.shipped.items()),
        )
    )


def _amazon_stock(call: MarketplaceCalls, level: StockLevel) -> None:
    seller = level.item.get("seller_id") or level.channel.settings.get("seller_id")
    call(
        amazon.listings_quantity(
            seller_id=str(seller or ""),
            sku=level.sku,
            marketplace_id=amazon.marketplace_ids(level.channel)[0],
            quantity=level.available,
        )
    )


AMAZON = MarketplaceAdapter(ship=_amazon_ship, stock=_amazon_stock)

# eBay


def _ebay_ship(call: MarketplaceCalls, shipment: Shipment, shipped_at: datetime) -> None:
    call(
        ebay.create_shipping_fulfillment(
            order_id=shipment.order.external_id,
            tracking=shipment.tracking,
            shipped_at=shipped_at,
            lines=sorted(shipment.shipped.items()),
        )
    )


def _ebay_stock(call: MarketplaceCalls, level: StockLevel) -> None:
    call(ebay.bulk_update_quantity({level.sku: level.available}))


EBAY = MarketplaceAdapter(ship=_ebay_ship, stock=_ebay_stock)

# Walmart


def _walmart_ship(call: MarketplaceCalls, shipment: Shipment, shipped_at: datetime) -> None:
    call(
        walmart.ship_lines(
            purchase_order_id=shipment.order.external_id,
            lines=sorted(shipment.shipped.items()),
            tracking=shipment.tracking,
            shipped_at=shipped_at,
        )
    )


def _walmart_stock(call: MarketplaceCalls, level: StockLevel) -> None:
    call(walmart.inventory(sku=level.sku, quantity=level.available))


WALMART = MarketplaceAdapter(
    ship=_walmart_ship, stock=_walmart_stock, acknowledge=walmart.acknowledge
)

# Etsy


def _etsy_ship(call: MarketplaceCalls, shipment: Shipment, shipped_at: datetime) -> None:
    call(
        etsy.create_receipt_shipment(
            shop=etsy.shop_id(shipment.channel),
            receipt_id=shipment.order.external_id,
            tracking=shipment.tracking,
        )
    )


def _etsy_stock(call: MarketplaceCalls, level: StockLevel) -> None:
    """Etsy takes the listing's whole inventory back: read it, then write it with the quantity."""
    listing = str(level.item["listing_id"])
    current = call.get(f"/v3/application/listings/{quote(listing)}/inventory", api="etsy")
    call(
        etsy.update_listing_inventory(
            listing_id=listing, current=current, quantities={level.sku: level.available}
        )
    )


ETSY = MarketplaceAdapter(ship=_etsy_ship, stock=_etsy_stock, stock_needs=("listing_id",))

# TikTok Shop


def _tiktok_ship(call: MarketplaceCalls, shipment: Shipment, shipped_at: datetime) -> None:
    """TikTok ships unit line items; the order's metadata lists them per SKU."""
    channel, tracking = shipment.channel, shipment.tracking
    groups: dict[str, list[str]] = shipment.order.metadata.get("line_item_ids") or {}
    units: list[str] = []
    for first_id, quantity in sorted(shipment.shipped.items()):
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
            order_id=shipment.order.external_id,
            line_item_ids=units,
            tracking_number=tracking.number,
            shipping_provider_id=str(provider),
        )
    )


def _tiktok_stock(call: MarketplaceCalls, level: StockLevel) -> None:
    warehouse = level.item.get("warehouse_id") or level.channel.settings.get("warehouse_id")
    call(
        tiktok.update_inventory(
            product_id=str(level.item["product_id"]),
            sku_id=str(level.item["sku_id"]),
            quantity=level.available,
            warehouse_id=str(warehouse) if warehouse else None,
        )
    )


TIKTOK = MarketplaceAdapter(
    ship=_tiktok_ship, stock=_tiktok_stock, stock_needs=("product_id", "sku_id")
)
