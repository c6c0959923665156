"""Shopify: ``orders/create|updated|cancelled`` webhooks in, fulfillments and stock out.

Amounts are taken in the *shop* currency (``*_set.shop_money``), the currency the merchant
books in; the buyer's presentment currency and total are kept in the order's metadata. Line
discounts come from ``discount_allocations`` (which already spread order-level discounts over
the lines), so ``subtotal_price`` (after discounts) is never used. A gift-card *payment* is a
payment, not a discount; a gift-card *product* is an ordinary line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orderhub.channels import base
from orderhub.channels.base import ChannelOrder, OutboundRequest, Tracking
from orderhub.domain.errors import FieldError, NormalizationProblem, NotNormalizable
from orderhub.domain.money import Money, total
from orderhub.domain.orders import Address, Customer, LineDraft, OrderDraft, Shipping

SOURCE = "shopify"
SIGNATURE_HEADER = "X-Shopify-Hmac-Sha256"
TOPIC_HEADER = "X-Shopify-Topic"
API_VERSION = "2024-10"
ORDER_TOPICS = frozenset({"orders/create", "orders/updated", "orders/cancelled", "orders/paid"})


def verify(*, secret: str, body: bytes, headers: Mapping[str, str]) -> None:
    """``X-Shopify-Hmac-Sha256`` is the base64 (not hex) HMAC-SHA256 of the raw body."""
    base.require_hmac_base64(secret=secret, body=body, headers=headers, header=SIGNATURE_HEADER)


def delivery(headers: Mapping[str, str]) -> base.Delivery:
    """``X-Shopify-Event-Id`` (one event, whatever the subscription) or else
    ``X-Shopify-Webhook-Id`` (the same on every retry); ``X-Shopify-Triggered-At``."""
    found = headers.get("x-shopify-event-id") or headers.get("x-shopify-webhook-id")
    return base.Delivery(
        found or None, base.maybe_time(base.parse_iso, headers.get("x-shopify-triggered-at"))
    )


def read_webhook(channel: str, body: bytes, headers: Mapping[str, str]) -> list[ChannelOrder]:
    """The orders a verified delivery carries (none for topics the hub does not follow)."""
    topic = headers.get(TOPIC_HEADER.lower(), "orders/create")
    if topic not in ORDER_TOPICS:
        return []
    raw = body.decode("utf-8")
    payload = base.envelope(channel, order=raw, topic=topic)
    external_id = None
    try:
        data = base.loads(raw)
        external_id = base.text(data.get("id")) if isinstance(data, dict) else None
        draft = to_draft(channel, data, topic=topic)
    except (NotNormalizable, KeyError, TypeError, ValueError, AttributeError) as error:
        problem = base.problem_of(error, external_id)
        return [ChannelOrder(channel, SOURCE, external_id, payload, problem=problem)]
    # The payload decides, not the topic: X-Shopify-Topic is not covered by the HMAC, so a
    # captured orders/create body re-sent as orders/cancelled must not cancel anything.
    cancelled = bool(data.get("cancelled_at"))
    reason = f"cancelled on Shopify: {data.get('cancel_reason') or 'no reason given'}"
    return [
        ChannelOrder(
            channel, SOURCE, external_id, payload, draft=draft, cancelled=cancelled,
            cancel_reason=reason,
        )
    ]  # fmt: skip


def parse(payload: str) -> OrderDraft:
    """Quarantine replay: re-read the kept envelope."""
    channel, parts = base.open_envelope(payload)
    return to_draft(channel, base.loads(parts["order"]), topic=parts.get("topic", ""))


def to_draft(channel: str, data: dict[str, Any], *, topic: str = "") -> OrderDraft:
    currency = _shop_currency(data)
    lines = tuple(_line(item, currency, i) for i, item in enumerate(data.get("line_items") or []))
    if not lines:
        raise NotNormalizable(
            NormalizationProblem("no line items", [FieldError(("line_items",), "empty")])
        )
    return base.checked(
        OrderDraft(
            channel=channel,
            external_id=str(data["id"]),
            currency=currency,
            placed_at=base.parse_iso(data.get("processed_at") or data["created_at"]),
            customer=_customer(data),
            shipping_address=_address(data.get("shipping_address")),
            billing_address=_address(data.get("billing_address")),
            lines=lines,
            shipping=_shipping(data.get("shipping_lines") or [], currency),
            prices_include_tax=bool(data.get("taxes_included")),
            metadata=_metadata(data, topic),
        )
    )


def _shop(value_set: Any, fallback: Any, currency: str, field: str) -> Money:
    """The shop-money amount of a ``*_set``, or the plain field of older payloads."""
    if isinstance(value_set, dict) and isinstance(value_set.get("shop_money"), dict):
        return base.money(value_set["shop_money"].get("amount"), currency, field=field)
    return base.money(fallback, currency, field=field)


def _shop_currency(data: dict[str, Any]) -> str:
    price_set = data.get("total_price_set") or {}
    shop_money = price_set.get("shop_money") or {}
    return str(shop_money.get("currency_code") or data["currency"])


def _allocations(item: dict[str, Any], currency: str, field: str) -> Money:
    return total(
        [
            _shop(a.get("amount_set"), a.get("amount"), currency, field)
            for a in item.get("discount_allocations") or []
        ],
        currency,
    )


def _taxes(item: dict[str, Any], currency: str, field: str) -> Money:
    return total(
        [
            _shop(t.get("price_set"), t.get("price"), currency, field)
            for t in item.get("tax_lines") or []
        ],
        currency,
    )


def _line(item: dict[str, Any], currency: str, index: int) -> LineDraft:
    field = f"line_items.{index}"
    return LineDraft(
        sku=None,
        channel_sku=channel_sku(item),
        channel_line_id=base.text(item.get("id")),
        name=base.text(item.get("name") or item.get("title")),
        quantity=base.quantity(item.get("quantity"), field=f"{field}.quantity"),
        unit_price=_shop(item.get("price_set"), item.get("price"), currency, f"{field}.price"),
        discount=_allocations(item, currency, f"{field}.discount_allocations"),
        tax=_taxes(item, currency, f"{field}.tax_lines"),
    )


def channel_sku(item: dict[str, Any]) -> str | None:
    """The line's SKU; without one (gift cards often), the variant id names the product."""
    sku = base.text(item.get("sku"))
    if sku:
        return sku
    if item.get("variant_id"):
        return f"variant:{item['variant_id']}"
    return f"product:{item['product_id']}" if item.get("product_id") else None


def _shipping(lines: list[dict[str, Any]], currency: str) -> Shipping:
    return Shipping(
        price=total(
            [_shop(s.get("price_set"), s.get("price"), currency, "shipping_lines") for s in lines],
            currency,
        ),
        tax=total([_taxes(s, currency, "shipping_lines.tax_lines") for s in lines], currency),
        discount=total(
            [_allocations(s, currency, "shipping_lines.discount_allocations") for s in lines],
            currency,
        ),
        method=" + ".join(t for t in (base.text(s.get("title")) for s in lines) if t) or None,
    )


def _customer(data: dict[str, Any]) -> Customer:
    person = data.get("customer") or {}
    address = data.get("shipping_address") or data.get("billing_address") or {}
    return Customer(
        email=base.text(data.get("email") or data.get("contact_email") or person.get("email")),
        name=base.full_name(person.get("first_name"), person.get("last_name"))
        or base.text(address.get("name")),
        phone=base.text(data.get("phone") or person.get("phone")),
    )


def _address(data: dict[str, Any] | None) -> Address | None:
    if not data:
        return None
    return base.address(
        country=data.get("country_code"),
        name=base.text(data.get("name"))
        or base.full_name(data.get("first_name"), data.get("last_name")),
        company=data.get("company"),
        line1=data.get("address1"),
        line2=data.get("address2"),
        city=data.get("city"),
        region=data.get("province_code") or data.get("province"),
        postal_code=data.get("zip"),
        phone=data.get("phone"),
    )


def _metadata(data: dict[str, Any], topic: str) -> dict[str, Any]:
    price_set = data.get("total_price_set") or {}
    presentment = price_set.get("presentment_money") or {}
    gateways = [str(g) for g in data.get("payment_gateway_names") or []]
    return {
        "source": SOURCE,
        "name": data.get("name"),
        "order_number": data.get("order_number"),
        "updated_at": data.get("updated_at"),
        "financial_status": data.get("financial_status"),
        "fulfillment_status": data.get("fulfillment_status"),
        "tags": data.get("tags") or "",
        "source_name": data.get("source_name"),
        "test": bool(data.get("test")),
        "channel_total": str(
            _shop(price_set, data.get("total_price"), _shop_currency(data), "total")
        ),
        "presentment_currency": presentment.get("currency_code")
        or data.get("presentment_currency"),
        "presentment_total": str(presentment.get("amount")) if presentment else None,
        "payment_gateways": gateways,
        "paid_with_gift_card": "gift_card" in gateways,
        "gift_card_line_ids": [
            str(i["id"]) for i in data.get("line_items") or [] if i.get("gift_card")
        ],
        "discount_codes": [str(c.get("code")) for c in data.get("discount_codes") or []],
        "shopify_customer_id": base.text((data.get("customer") or {}).get("id")),
    }


# --- outbound: pure request builders -------------------------------------------------------


def fulfillment_order_lines(
    fulfillment_orders: dict[str, Any], quantities: Mapping[str, int]
) -> list[dict[str, Any]]:
    """Map order line ids (what the hub knows) to fulfillment-order line items (what Shopify
    ships), from a ``GET /orders/{id}/fulfillment_orders.json`` response."""
    groups = []
    for fo in fulfillment_orders.get("fulfillment_orders") or []:
        if fo.get("status") not in (None, "open", "in_progress"):
            continue
        items = [
            {"id": li["id"], "quantity": min(quantities[str(li["line_item_id"])], li["quantity"])}
            for li in fo.get("line_items") or []
            if str(li.get("line_item_id")) in quantities
        ]
        if items:
            groups.append({"fulfillment_order_id": fo["id"], "fulfillment_order_line_items": items})
    return groups


def fulfillment_orders_request(order_id: str) -> OutboundRequest:
    return OutboundRequest(
        "GET", f"/admin/api/{API_VERSION}/orders/{order_id}/fulfillment_orders.json"
    )


def mark_shipped(
    line_items_by_fulfillment_order: list[dict[str, Any]],
    tracking: Tracking,
    *,
    notify_customer: bool = True,
) -> OutboundRequest:
    """``POST /fulfillments.json`` (fulfillment orders API) with the tracking info."""
    info: dict[str, Any] = {"company": tracking.carrier, "number": tracking.number}
    if tracking.url:
        info["url"] = tracking.url
    return OutboundRequest(
        "POST",
        f"/admin/api/{API_VERSION}/fulfillments.json",
        {
            "fulfillment": {
                "line_items_by_fulfillment_order": line_items_by_fulfillment_order,
                "tracking_info": info,
                "notify_customer": notify_customer,
            }
        },
    )


def cancel(
    order_id: str, *, reason: str = "other", notify_customer: bool = False
) -> OutboundRequest:
    """``POST /orders/{id}/cancel.json``; reason is one of Shopify's (customer, inventory…)."""
    return OutboundRequest(
        "POST",
        f"/admin/api/{API_VERSION}/orders/{order_id}/cancel.json",
        {"reason": reason, "email": notify_customer},
    )


def refund(
    order_id: str,
    *,
    currency: str,
    lines: list[tuple[str, int]],
    shipping: str | None,
    note: str,
    notify_customer: bool = False,
) -> OutboundRequest:
    """``POST /orders/{id}/refunds.json``: ``lines`` are (line item id, quantity); the hub
    already moved stock, so nothing is restocked by Shopify."""
    body: dict[str, Any] = {
        "currency": currency,
        "notify": notify_customer,
        "note": note,
        "refund_line_items": [
            {"line_item_id": _numeric(item), "quantity": quantity, "restock_type": "no_restock"}
            for item, quantity in lines
        ],
    }
    if shipping is not None:
        body["shipping"] = {"amount": shipping}
    return OutboundRequest(
        "POST", f"/admin/api/{API_VERSION}/orders/{order_id}/refunds.json", {"refund": body}
    )


def update_shipping_address(order_id: str, address: Mapping[str, Any]) -> OutboundRequest:
    """``PUT /orders/{id}.json`` with a new ``shipping_address`` (the REST Admin API lets an
    app change it). ``address`` is the hub's (line1, city, region, postal_code, country…).
    Line and quantity changes are not sent: Shopify edits those only through the GraphQL
    order-edit mutations (``orderEditBegin`` → ``orderEditAddVariant`` /
    ``orderEditSetQuantity`` → ``orderEditCommit``), see docs/channels/shopify.md."""
    name = str(address.get("name") or "").strip()
    first, _, last = name.rpartition(" ")
    fields = {
        "address1": address.get("line1"),
        "address2": address.get("line2"),
        "city": address.get("city"),
        "province_code": address.get("region"),
        "zip": address.get("postal_code"),
        "country_code": address.get("country"),
        "company": address.get("company"),
        "phone": address.get("phone"),
        "first_name": first or None,
        "last_name": last or None,
    }
    body = {
        "order": {
            "id": _numeric(order_id),
            "shipping_address": {k: v for k, v in fields.items() if v is not None},
        }
    }
    return OutboundRequest("PUT", f"/admin/api/{API_VERSION}/orders/{order_id}.json", body)


def _numeric(value: str) -> int | str:
    return int(value) if value.isdigit() else value


def set_inventory(*, inventory_item_id: int, location_id: int, available: int) -> OutboundRequest:
    """``POST /inventory_levels/set.json``: the absolute available quantity at a location."""
    return OutboundRequest(
        "POST",
        f"/admin/api/{API_VERSION}/inventory_levels/set.json",
        {
            "location_id": location_id,
            "inventory_item_id": inventory_item_id,
            "available": max(available, 0),
        },
    )


def auth_headers(credentials: Mapping[str, Any]) -> dict[str, str]:
    return {"X-Shopify-Access-Token": str(credentials.get("access_token", ""))}
