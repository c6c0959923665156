"""Amazon Orders API v2026-01-01: ``searchOrders`` with its items, buyer and recipient in one call.

Opted into with the channel setting ``orders_api_version: "2026-01-01"`` (Amazon retires the
v0 ``getOrders``/``getOrderItems`` on 27 March 2027). ``GET /orders/2026-01-01/orders`` by
``lastUpdatedAfter``/``lastUpdatedBefore``, ``pagination.nextToken`` passed back as
``paginationToken``; ``includedData`` asks for the buyer, the recipient, the proceeds and the
fulfillment data in the same answer, so there is no per-order items call. PII needs no
Restricted Data Token in this version: the app's roles decide (Amazon's "Access Orders PII").

Money is ``{amount, currencyCode}`` with decimal strings. An item's ``product.price.unitPrice``
is its unit price; its ``proceeds.breakdowns`` split what it brings: ``ITEM`` (unit price ×
quantity), ``SHIPPING``, ``GIFT_WRAP``, ``COD_FEE``, ``OTHER``, ``TAX`` and ``DISCOUNT``, the last
two with ``detailedBreakdowns`` by ``subtype`` (``ITEM``, ``SHIPPING``, …) telling which part
they apply to. Discounts are read as magnitudes whatever their sign.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any

from orderhub.channels._shared import (
    ChannelOrder,
    address,
    channel_order,
    dumps,
    envelope,
    iso_z,
    loads,
    money,
    open_envelope,
    parse_iso,
    quantity,
    text,
    unit_price_of,
)
from orderhub.channels.api_client import ApiClient
from orderhub.domain.channels import Channel
from orderhub.domain.money import Money
from orderhub.domain.orders import Customer, LineDraft, OrderDraft, Shipping

VERSION = "2026-01-01"
SOURCE = "amazon"
PATH = f"/orders/{VERSION}/orders"
INCLUDED = ("BUYER", "RECIPIENT", "PROCEEDS", "PROMOTION", "FULFILLMENT", "CANCELLATION")
HELD = frozenset({"PENDING", "PENDING_AVAILABILITY"})
CHARGES = frozenset({"SHIPPING", "GIFT_WRAP", "COD_FEE", "OTHER"})  # added to shipping


def pull(
    api: ApiClient, channel: Channel, since: datetime, until: datetime
) -> Iterator[ChannelOrder]:
    """Orders updated in [since, until) with everything in one answer; pending ones held back."""
    ids = channel.settings.get("marketplace_ids") or ["ATVPDKIKX0DER"]
    params: dict[str, Any] = {
        "marketplaceIds": ",".join(str(i) for i in ids),
        "lastUpdatedAfter": iso_z(since),
        "lastUpdatedBefore": iso_z(until),
        "maxResultsPerPage": 100,
        "includedData": ",".join(INCLUDED),
    }
    while True:
        page = loads(api.call("GET", PATH, api="search_orders", params=params).content)
        for order in page.get("orders") or []:
            if _status(order) in HELD:
                continue
            yield read_order(channel.code, order)
        token = (page.get("pagination") or {}).get("nextToken")
        if not token:
            return
        params = {**params, "paginationToken": token}


def _status(order: dict[str, Any]) -> str:
    return str((order.get("fulfillment") or {}).get("fulfillmentStatus") or "")


def read_order(channel: str, order: dict[str, Any]) -> ChannelOrder:
    payload = envelope(channel, order_2026=dumps(order))
    external_id = text(order.get("orderId"))
    item = channel_order(channel, SOURCE, external_id, payload, lambda: to_draft(channel, order))
    if _status(order) == "CANCELLED":
        return replace(item, cancelled=True, cancel_reason="canceled on Amazon")
    return item


def parse(payload: str) -> OrderDraft:
    channel, parts = open_envelope(payload)
    return to_draft(channel, loads(parts["order_2026"]))


def _money(value: dict[str, Any] | None, currency: str, name: str) -> Money:
    if not value:
        return Money.zero(currency)
    if value.get("currencyCode", currency) != currency:
        raise ValueError(f"{name} is in {value.get('currencyCode')}, the order in {currency}")
    return money(value.get("amount"), currency, field=name)


def _currency(order: dict[str, Any]) -> str:
    grand = ((order.get("proceeds") or {}).get("grandTotal")) or {}
    if grand.get("currencyCode"):
        return str(grand["currencyCode"])
    for item in order.get("orderItems") or []:
        unit = (((item.get("product") or {}).get("price")) or {}).get("unitPrice") or {}
        if unit.get("currencyCode"):
            return str(unit["currencyCode"])
    raise ValueError("the order carries no currency (no grandTotal, no unitPrice)")


def _split(item: dict[str, Any], currency: str) -> dict[str, Money]:
    """An item's proceeds by part: item, line discount/tax, shipping, its discount and tax."""
    parts = {
        k: Money.zero(currency)
        for k in ("item", "discount", "tax", "ship", "ship_disc", "ship_tax")
    }
    for entry in (item.get("proceeds") or {}).get("breakdowns") or []:
        kind = str(entry.get("type") or "")
        subtotal = _money(entry.get("subtotal"), currency, f"proceeds.{kind}")
        if kind == "ITEM":
            parts["item"] += subtotal
        elif kind in CHARGES:
            parts["ship"] += subtotal
        elif kind in ("TAX", "DISCOUNT"):
            details = entry.get("detailedBreakdowns") or [
                {"subtype": "ITEM", "value": entry.get("subtotal")}
            ]
            for detail in details:
                value = _money(detail.get("value"), currency, f"proceeds.{kind}")
                on_shipping = str(detail.get("subtype") or "ITEM") in CHARGES
                if kind == "TAX":
                    parts["ship_tax" if on_shipping else "tax"] += value
                else:
                    magnitude = Money(abs(value.amount), currency)
                    parts["ship_disc" if on_shipping else "discount"] += magnitude
    return parts


def to_draft(channel: str, order: dict[str, Any]) -> OrderDraft:
    currency = _currency(order)
    zero = Money.zero(currency)
    lines = []
    ship, ship_tax, ship_disc = zero, zero, zero
    for item in order.get("orderItems") or []:
        product = item.get("product") or {}
        qty = quantity(item.get("quantityOrdered"), field="quantityOrdered", positive=True)
        parts = _split(item, currency)
        unit_given = _money((product.get("price") or {}).get("unitPrice"), currency, "unitPrice")
        line_total = parts["item"] if parts["item"] != zero else unit_given * qty
        unit = unit_price_of(line_total, qty)
        lines.append(
            LineDraft(
                sku=None,
                channel_sku=text(product.get("sellerSku")),
                channel_line_id=text(item.get("orderItemId")),
                name=text(product.get("title")),
                quantity=qty,
                unit_price=unit,
                discount=parts["discount"] + (unit * qty - line_total),
                tax=parts["tax"],
            )
        )
        ship, ship_tax, ship_disc = (
            ship + parts["ship"],
            ship_tax + parts["ship_tax"],
            ship_disc + parts["ship_disc"],
        )
    fulfillment = order.get("fulfillment") or {}
    to = (order.get("recipient") or {}).get("deliveryAddress") or {}
    buyer = order.get("buyer") or {}
    by_amazon = fulfillment.get("fulfilledBy") == "AMAZON"
    metadata: dict[str, Any] = {
        "amazon_status": fulfillment.get("fulfillmentStatus"),
        "orders_api_version": VERSION,
        "marketplace_id": (order.get("salesChannel") or {}).get("marketplaceId"),
        "fulfillment_channel": "AFN" if by_amazon else "MFN",
        "latest_ship_date": (fulfillment.get("shipByWindow") or {}).get("latestDateTime"),
        "is_prime": "PRIME" in (order.get("programs") or []),
        "fulfilled_by_marketplace": by_amazon,
        "skip_allocation": by_amazon,
    }
    grand = (order.get("proceeds") or {}).get("grandTotal")
    if grand:
        metadata["channel_total"] = str(grand.get("amount"))
    return OrderDraft(
        channel=channel,
        external_id=str(order["orderId"]),
        currency=currency,
        placed_at=parse_iso(str(order["createdTime"])),
        customer=Customer(email=text(buyer.get("buyerEmail")), name=text(buyer.get("buyerName"))),
        shipping_address=address(
            country=to.get("countryCode"),
            name=to.get("name"),
            line1=to.get("addressLine1"),
            line2=to.get("addressLine2"),
            city=to.get("city"),
            region=to.get("stateOrRegion"),
            postal_code=to.get("postalCode"),
            phone=to.get("phone"),
        ),
        billing_address=None,
        lines=tuple(lines),
        shipping=Shipping(
            ship, ship_tax, ship_disc, text(fulfillment.get("fulfillmentServiceLevel"))
        ),
        metadata=metadata,
    )
