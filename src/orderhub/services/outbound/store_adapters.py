"""The store platforms' outbound adapters: Shopify, WooCommerce, BigCommerce, Adobe Commerce.

Each function turns the hub's order, shipment, stock level, cancellation, refund or edit into
the calls its channel module builds (``orderhub.channels.<kind>``); they are registered by kind
in :mod:`orderhub.services.outbound.registry`. What each call looks like on the wire is in
docs/channels/outbound.md and the channel's own page.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orderhub.channels import bigcommerce, magento, shopify
from orderhub.channels import woocommerce as woo
from orderhub.channels.base import OutboundRequest
from orderhub.domain.cancellation import CancelReason
from orderhub.domain.money import Money
from orderhub.domain.orders import Order
from orderhub.services.outbound.base import RefundLines, Shipment, StockLevel, StoreAdapter
from orderhub.services.outbound.calls import StoreCalls, refused
from orderhub.store.after_sale import StoredRefund

_SHOPIFY_REASONS: dict[str, str] = {
    CancelReason.CUSTOMER_REQUEST: "customer",
    CancelReason.FRAUD: "fraud",
    CancelReason.OUT_OF_STOCK: "inventory",
}


def edit_note(data: Mapping[str, Any]) -> str:
    """An order edit in one line, for a channel that takes order notes."""
    changes = data.get("changes") or {}
    parts = [f"{x['sku']} {x['before']} → {x['after']}" for x in changes.get("lines", [])] + [
        f"added {x['sku']} × {x['quantity']} at {x['unit_price']}"
        for x in changes.get("added_lines", [])
    ]
    address = (changes.get("shipping_address") or {}).get("after")
    if address:
        where = ", ".join(
            str(address[k])
            for k in ("line1", "city", "region", "postal_code", "country")
            if address.get(k)
        )
        parts.append(f"ship to {where}")
    shipping = (changes.get("shipping") or {}).get("after")
    if shipping:
        parts.append(
            f"shipping {shipping.get('method') or ''} {shipping['price']}".replace("  ", " ")
        )
    totals = changes.get("totals") or {}
    if totals:
        parts.append(f"total {totals['before']['total']} → {totals['after']['total']}")
    reason = f" ({data['reason']})" if data.get("reason") else ""
    return f"Order edited in OrderHub{reason}: " + "; ".join(parts)


def _counted(lines: RefundLines) -> list[tuple[str, int]]:
    """A refund's lines as (channel line id, quantity)."""
    return [(item, quantity) for item, quantity, _ in lines if item]


def _numbered(shipped: dict[str, int]) -> dict[int, int]:
    """Shipped units by numeric line id, for the APIs that number their order items."""
    return {int(k): v for k, v in shipped.items()}


# Shopify


def _shopify_ship(call: StoreCalls, shipment: Shipment) -> None:
    groups = shopify.fulfillment_order_lines(
        call(shopify.fulfillment_orders_request(shipment.order.external_id)) or {},
        shipment.shipped,
    )
    if groups:  # nothing open: already fulfilled (a re-run), nothing to send
        call(shopify.mark_shipped(groups, shipment.tracking))


def _shopify_stock(call: StoreCalls, level: StockLevel) -> None:
    call(
        shopify.set_inventory(
            inventory_item_id=int(level.item["inventory_item_id"]),
            location_id=int(level.item["location_id"]),
            available=level.available,
        )
    )


def _shopify_cancel(order: Order, reason: str) -> list[OutboundRequest]:
    return [shopify.cancel(order.external_id, reason=_SHOPIFY_REASONS.get(reason, "other"))]


def _shopify_refund(
    order: Order, stored: StoredRefund, lines: RefundLines
) -> list[OutboundRequest]:
    shipping = Money.from_minor(stored.shipping_minor, stored.currency)
    return [
        shopify.refund(
            order.external_id,
            currency=stored.currency,
            lines=_counted(lines),
            shipping=str(shipping.amount) if stored.shipping_minor else None,
            note=stored.reason,
        )
    ]


def _shopify_edit(order: Order, data: Mapping[str, Any]) -> list[OutboundRequest]:
    """Its new shipping address (line edits are GraphQL order-edit sessions, not sent)."""
    changes = data.get("changes") or {}
    address = (changes.get("shipping_address") or {}).get("after")
    return [shopify.update_shipping_address(order.external_id, address)] if address else []


SHOPIFY = StoreAdapter(
    ship=_shopify_ship,
    stock=_shopify_stock,
    stock_needs=("inventory_item_id", "location_id"),
    cancel=_shopify_cancel,
    refund=_shopify_refund,
    edit=_shopify_edit,
)

# WooCommerce


def _woo_ship(call: StoreCalls, shipment: Shipment) -> None:
    for request in woo.mark_shipped(shipment.order.external_id, shipment.tracking):
        call(request)


def _woo_stock(call: StoreCalls, level: StockLevel) -> None:
    variation = level.item.get("variation_id")
    call(
        woo.set_stock(
            product_id=int(level.item["product_id"]),
            variation_id=int(variation) if variation else None,
            quantity=level.available,
        )
    )


def _woo_cancel(order: Order, reason: str) -> list[OutboundRequest]:
    return [woo.cancel(order.external_id)]


def _woo_refund(order: Order, stored: StoredRefund, lines: RefundLines) -> list[OutboundRequest]:
    return [
        woo.refund(
            order.external_id,
            amount=str(Money.from_minor(stored.amount_minor, stored.currency).amount),
            lines=[(item, q, t) for item, q, t in lines if item],
            reason=stored.reason,
        )
    ]


def _woo_note(order: Order, note: str) -> list[OutboundRequest]:
    """A private order note (WooCommerce has no REST returns API the hub can drive)."""
    return [woo.add_note(order.external_id, note)]


def _woo_edit(order: Order, data: Mapping[str, Any]) -> list[OutboundRequest]:
    return _woo_note(order, edit_note(data))


WOOCOMMERCE = StoreAdapter(
    ship=_woo_ship,
    stock=_woo_stock,
    stock_needs=("product_id",),
    cancel=_woo_cancel,
    refund=_woo_refund,
    edit=_woo_edit,
    return_note=_woo_note,
)

# BigCommerce


def _bigcommerce_ship(call: StoreCalls, shipment: Shipment) -> None:
    external = shipment.order.external_id
    addresses = shipment.order.metadata.get("order_address_ids") or []
    if not addresses:
        raise refused(f"BigCommerce order {external} has no order_address_id in its metadata")
    call(
        bigcommerce.mark_shipped(
            external,
            order_address_id=int(addresses[0]),
            items=_numbered(shipment.shipped),
            tracking=shipment.tracking,
        )
    )


def _bigcommerce_stock(call: StoreCalls, level: StockLevel) -> None:
    call(
        bigcommerce.set_inventory(
            [(int(level.item["location_id"]), level.sku, level.available)],
            reason="OrderHub available-to-sell",
        )
    )


def _bigcommerce_cancel(order: Order, reason: str) -> list[OutboundRequest]:
    return [bigcommerce.cancel(order.external_id)]


def bigcommerce_refund(
    order: Order, stored: StoredRefund, lines: RefundLines
) -> list[OutboundRequest]:
    """Shipping is refunded against the order's first shipping address (ingest keeps their
    ids in ``order_address_ids``); without one the shipping share rides in the payment only."""
    addresses = order.metadata.get("order_address_ids") or []
    shipping = None
    if stored.shipping_minor and addresses and addresses[0] is not None:
        shipping = (
            int(addresses[0]),
            Money.from_minor(stored.shipping_minor, stored.currency).amount,
        )
    return [
        bigcommerce.refund(
            order.external_id,
            lines=_counted(lines),
            amount=Money.from_minor(stored.amount_minor, stored.currency).amount,
            shipping=shipping,
            reason=stored.reason,
        )
    ]


BIGCOMMERCE = StoreAdapter(
    ship=_bigcommerce_ship,
    stock=_bigcommerce_stock,
    stock_needs=("location_id",),
    cancel=_bigcommerce_cancel,
    refund=bigcommerce_refund,
)

# Adobe Commerce (Magento)


def _magento_ship(call: StoreCalls, shipment: Shipment) -> None:
    call(
        magento.mark_shipped(
            shipment.order.external_id,
            items=_numbered(shipment.shipped),
            tracking=shipment.tracking,
        )
    )


def _magento_stock(call: StoreCalls, level: StockLevel) -> None:
    settings = level.channel.settings
    source = str(level.item.get("source_code") or settings.get("source_code") or "default")
    call(magento.set_source_items([(level.sku, source, level.available)]))


def _magento_cancel(order: Order, reason: str) -> list[OutboundRequest]:
    return [magento.cancel(order.external_id)]


def _magento_refund(
    order: Order, stored: StoredRefund, lines: RefundLines
) -> list[OutboundRequest]:
    return [
        magento.refund(
            order.external_id,
            lines=_counted(lines),
            shipping=Money.from_minor(stored.shipping_minor, stored.currency).amount,
            fees=Money.from_minor(stored.fees_minor, stored.currency).amount,
            reason=stored.reason,
        )
    ]


def _magento_edit(order: Order, data: Mapping[str, Any]) -> list[OutboundRequest]:
    """A status-history comment."""
    return [magento.add_comment(order.external_id, edit_note(data))]


MAGENTO = StoreAdapter(
    ship=_magento_ship,
    stock=_magento_stock,
    cancel=_magento_cancel,
    refund=_magento_refund,
    edit=_magento_edit,
)
