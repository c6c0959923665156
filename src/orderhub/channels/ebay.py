"""eBay Sell Fulfillment API: orders in; shipping fulfillments and quantities out.

In: ``GET /sell/fulfillment/v1/order?filter=lastmodifieddate:[from..to]`` with offset paging.
``lineItemCost`` is the unit price × quantity *before* discounts; promotions sit in
``appliedPromotions``; seller-collected tax in ``taxes``. Tax in ``ebayCollectAndRemitTaxes``
(US sales tax, EU/UK VAT under OSS/IOSS) is collected and paid by eBay, not by the seller, and
is outside ``pricingSummary.total``: it is kept in metadata, not in the order's tax.

The order's currency is ``pricingSummary``'s (what the buyer was charged); the seller's payout
may be in another currency (``paymentSummary.totalDueSeller``), kept in metadata. Buyer emails
are masked after 14 days (``2****@****.com``): a masked email is dropped, not stored.

Out: ``createShippingFulfillment`` and Inventory API ``bulk_update_price_quantity``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from orderhub.channels._shared import (
    ChannelOrder,
    OutboundRequest,
    Tracking,
    address,
    channel_order,
    dumps,
    envelope,
    loads,
    money,
    open_envelope,
    parse_iso,
    quantity,
    text,
    unit_price_of,
)
from orderhub.channels.api_client import ApiClient, oauth_client
from orderhub.domain.channels import Channel
from orderhub.domain.money import Money, total
from orderhub.domain.orders import Customer, LineDraft, OrderDraft, Shipping

SOURCE = "ebay"
# On the API host itself: api.ebay.com in production, api.sandbox.ebay.com in the sandbox
# (eBay's "Using a refresh token to update a User access token" page).
TOKEN_PATH = "/identity/v1/oauth2/token"  # noqa: S105 (an endpoint, not a secret)
SCOPES = (
    "https://api.ebay.com/oauth/api_scope/sell.fulfillment "
    "https://api.ebay.com/oauth/api_scope/sell.inventory"
)
PAGE_SIZE = 200
RATES = {"fulfillment": (5.0, 10), "inventory": (5.0, 10)}


def client(
    channel: Channel,
    *,
    transport: httpx.BaseTransport | None = None,
    environ: dict[str, str] | None = None,
    **options: Any,
) -> ApiClient:
    return oauth_client(
        channel,
        default_base="https://api.ebay.com",
        token_url=TOKEN_PATH,
        rates=RATES,
        scope=SCOPES,
        basic_auth=True,
        transport=transport,
        environ=environ,
        **options,
    )


def pull(
    api: ApiClient, channel: Channel, since: datetime, until: datetime
) -> Iterator[ChannelOrder]:
    """Orders last modified in [since, until], page by page (offset paging)."""
    offset = 0
    while True:
        params = {
            "filter": f"lastmodifieddate:[{_millis(since)}..{_millis(until)}]",
            "limit": PAGE_SIZE,
            "offset": offset,
        }
        response = api.call("GET", "/sell/fulfillment/v1/order", api="fulfillment", params=params)
        page = loads(response.content)
        orders = page.get("orders", [])
        for order in orders:
            yield read_order(channel.code, order)
        offset += len(orders)
        if not orders or not page.get("next") or offset >= int(page.get("total", 0)):
            return


def _millis(moment: datetime) -> str:
    """eBay's filter dates: ISO 8601 UTC with milliseconds (``2026-11-26T13:58:00.000Z``)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def read_order(channel: str, order: dict[str, Any]) -> ChannelOrder:
    payload = envelope(channel, order=dumps(order))
    external_id = text(order.get("orderId"))
    item = channel_order(channel, SOURCE, external_id, payload, lambda: to_draft(channel, order))
    if (order.get("cancelStatus") or {}).get("cancelState") == "CANCELED":
        return replace(item, cancelled=True, cancel_reason="cancelled on eBay")
    return item


def parse(payload: str) -> OrderDraft:
    channel, parts = open_envelope(payload)
    return to_draft(channel, loads(parts["order"]))


def _money(value: dict[str, Any] | None, currency: str, name: str) -> Money:
    if not value:
        return Money.zero(currency)
    if value.get("currency", currency) != currency:
        raise ValueError(f"{name} is in {value.get('currency')}, the order in {currency}")
    return money(value.get("value"), currency, field=name)


def _line(raw: dict[str, Any], currency: str) -> LineDraft:
    qty = quantity(raw.get("quantity"), positive=True)
    gross = _money(raw.get("lineItemCost"), currency, "lineItemCost")  # unit × qty
    unit = unit_price_of(gross, qty)
    promotions = total(
        [
            Money(abs(_money(p.get("discountAmount"), currency, "discountAmount").amount), currency)
            for p in raw.get("appliedPromotions") or []
        ],
        currency,
    )
    tax = total(
        [_money(t.get("amount"), currency, "taxes") for t in raw.get("taxes") or []], currency
    )
    legacy = text(raw.get("legacyItemId"))
    variation = text(raw.get("legacyVariationId"))
    listing_sku = f"{legacy}-{variation}" if legacy and variation else legacy
    return LineDraft(
        sku=None,
        channel_sku=text(raw.get("sku")) or listing_sku,
        channel_line_id=text(raw.get("lineItemId")),
        name=text(raw.get("title")),
        quantity=qty,
        unit_price=unit,
        discount=promotions + (unit * qty - gross),
        tax=tax,
    )


def _email(value: Any) -> str | None:
    email = text(value)
    return None if email is None or "*" in email else email


def to_draft(channel: str, order: dict[str, Any]) -> OrderDraft:
    pricing = order.get("pricingSummary") or {}
    currency = str((pricing.get("total") or {}).get("currency"))
    raw_lines = order.get("lineItems") or []
    lines = tuple(_line(raw, currency) for raw in raw_lines)
    ship_discount = _money(pricing.get("deliveryDiscount"), currency, "deliveryDiscount")
    step = ((order.get("fulfillmentStartInstructions") or [{}])[0]).get("shippingStep") or {}
    ship_to = step.get("shipTo") or {}
    contact = ship_to.get("contactAddress") or {}
    buyer = order.get("buyer") or {}
    registration = buyer.get("buyerRegistrationAddress") or {}
    remitted = [
        {
            "line_item_id": raw.get("lineItemId"),
            "type": t.get("taxType"),
            "amount": str(_money(t.get("amount"), currency, "ebayCollectAndRemitTaxes")),
        }
        for raw in raw_lines
        for t in raw.get("ebayCollectAndRemitTaxes") or []
    ]
    due = (order.get("paymentSummary") or {}).get("totalDueSeller") or {}
    metadata: dict[str, Any] = {
        "ebay_fulfillment_status": order.get("orderFulfillmentStatus"),
        "ebay_payment_status": order.get("orderPaymentStatus"),
        "legacy_order_id": order.get("legacyOrderId"),
        "sales_record_reference": order.get("salesRecordReference"),
        "legacy_ids": {
            str(raw.get("lineItemId")): {
                "legacy_item_id": raw.get("legacyItemId"),
                "legacy_variation_id": raw.get("legacyVariationId"),
            }
            for raw in raw_lines
        },
        "marketplace_collected_tax": remitted,
        "channel_total": str((pricing.get("total") or {}).get("value")),
    }
    if due:
        metadata["payout"] = {"amount": str(due.get("value")), "currency": due.get("currency")}
    return OrderDraft(
        channel=channel,
        external_id=str(order["orderId"]),
        currency=currency,
        placed_at=parse_iso(str(order["creationDate"])),
        customer=Customer(
            email=_email(registration.get("email")) or _email(ship_to.get("email")),
            name=text(registration.get("fullName")) or text(ship_to.get("fullName")),
        ),
        shipping_address=address(
            country=contact.get("countryCode"),
            name=ship_to.get("fullName"),
            line1=contact.get("addressLine1"),
            line2=contact.get("addressLine2"),
            city=contact.get("city"),
            region=contact.get("stateOrProvince"),
            postal_code=contact.get("postalCode"),
            phone=(ship_to.get("primaryPhone") or {}).get("phoneNumber"),
        ),
        billing_address=None,
        lines=lines,
        shipping=Shipping(
            price=_money(pricing.get("deliveryCost"), currency, "deliveryCost"),
            tax=Money.zero(currency),
            discount=Money(abs(ship_discount.amount), currency),
            method=text(step.get("shippingServiceCode")),
        ),
        metadata=metadata,
    )


# --- outbound ------------------------------------------------------------------------------


def create_shipping_fulfillment(
    *, order_id: str, tracking: Tracking, shipped_at: datetime, lines: list[tuple[str, int]]
) -> OutboundRequest:
    """``createShippingFulfillment``: ``lines`` are (lineItemId, quantity) pairs."""
    return OutboundRequest(
        "POST",
        f"/sell/fulfillment/v1/order/{quote(order_id)}/shipping_fulfillment",
        {
            "lineItems": [{"lineItemId": i, "quantity": q} for i, q in lines],
            "shippedDate": shipped_at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "shippingCarrierCode": tracking.carrier,
            "trackingNumber": tracking.number,
        },
    )


def bulk_update_quantity(quantities: dict[str, int]) -> OutboundRequest:
    """Inventory API ``bulk_update_price_quantity`` (at most 25 SKUs per call)."""
    if not 0 < len(quantities) <= 25:
        raise ValueError("bulk_update_price_quantity takes 1 to 25 SKUs")
    return OutboundRequest(
        "POST",
        "/sell/inventory/v1/bulk_update_price_quantity",
        {
            "requests": [
                {"sku": sku, "shipToLocationAvailability": {"quantity": max(0, qty)}}
                for sku, qty in sorted(quantities.items())
            ]
        },
    )


def send(api: ApiClient, request: OutboundRequest) -> httpx.Response:
    kind = "inventory" if "/sell/inventory/" in request.path else "fulfillment"
    return api.call(request.method, request.path, api=kind, json=request.body)
