"""WooCommerce: ``order.created|updated`` webhooks in, status, tracking notes and stock out.

Line ``subtotal`` is before discounts and ``total`` after, both excluding tax even when the
store enters prices with tax (``prices_include_tax``); the difference is the line's discount.
``price`` is a JSON number (the discounted unit) and is not used. Negative fee lines (a common
way to give an order-level discount) are allocated over the lines; positive fees are charges
folded into shipping, itemized in the metadata.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from orderhub.channels import base
from orderhub.channels.base import ChannelOrder, OutboundRequest, Tracking
from orderhub.domain.errors import FieldError, NormalizationProblem, NotNormalizable
from orderhub.domain.money import Money, total
from orderhub.domain.orders import Address, Customer, LineDraft, OrderDraft, Shipping

SOURCE = "woocommerce"
SIGNATURE_HEADER = "X-WC-Webhook-Signature"
TOPIC_HEADER = "X-WC-Webhook-Topic"
ORDER_TOPICS = frozenset({"order.created", "order.updated", "order.restored"})
API = "/wp-json/wc/v3"


def verify(*, secret: str, body: bytes, headers: Mapping[str, str]) -> None:
    """``X-WC-Webhook-Signature``: base64 HMAC-SHA256 of the raw body with the webhook secret."""
    base.require_hmac_base64(secret=secret, body=body, headers=headers, header=SIGNATURE_HEADER)


def delivery(headers: Mapping[str, str]) -> base.Delivery:
    """``X-WC-Webhook-Delivery-ID``; WooCommerce sends no time of its own."""
    return base.Delivery(headers.get("x-wc-webhook-delivery-id") or None)


def read_webhook(channel: str, body: bytes, headers: Mapping[str, str]) -> list[ChannelOrder]:
    topic = headers.get(TOPIC_HEADER.lower(), "order.created")
    if topic not in ORDER_TOPICS or body.lstrip().startswith(b"webhook_id="):
        return []  # the creation ping, or a topic the hub does not follow
    return [read_order(channel, body.decode("utf-8"), topic=topic)]


def read_order(channel: str, raw: str, *, topic: str = "") -> ChannelOrder:
    payload = base.envelope(channel, order=raw)
    external_id = None
    try:
        data = base.loads(raw)
        external_id = base.text(data.get("id"))
        draft = to_draft(channel, data, topic=topic)
    except (NotNormalizable, KeyError, TypeError, ValueError, AttributeError) as error:
        return ChannelOrder(
            channel, SOURCE, external_id, payload, problem=base.problem_of(error, external_id)
        )
    cancelled = data.get("status") == "cancelled"
    return ChannelOrder(
        channel, SOURCE, external_id, payload, draft=draft, cancelled=cancelled,
        cancel_reason="cancelled on WooCommerce",
    )  # fmt: skip


def parse(payload: str) -> OrderDraft:
    channel, parts = base.open_envelope(payload)
    return to_draft(channel, base.loads(parts["order"]))


def to_draft(channel: str, data: dict[str, Any], *, topic: str = "") -> OrderDraft:
    currency = str(data["currency"])
    inclusive = bool(data.get("prices_include_tax"))
    lines = [_line(item, currency, inclusive, i) for i, item in enumerate(data["line_items"])]
    if not lines:
        raise NotNormalizable(
            NormalizationProblem("no line items", [FieldError(("line_items",), "empty")])
        )
    fees = data.get("fee_lines") or []
    lines = _apply_negative_fees(
        lines, [f for f in fees if base.dec(f.get("total")) < 0], inclusive
    )
    billing = data.get("billing") or {}
    return base.checked(
        OrderDraft(
            channel=channel,
            external_id=str(data["id"]),
            currency=currency,
            placed_at=base.parse_iso(data.get("date_created_gmt") or data["date_created"]),
            customer=Customer(
                email=base.text(billing.get("email")),
                name=base.full_name(billing.get("first_name"), billing.get("last_name")),
                phone=base.text(billing.get("phone")),
            ),
            shipping_address=_address(data.get("shipping")) or _address(billing),
            billing_address=_address(billing),
            lines=tuple(lines),
            shipping=_shipping(data, [f for f in fees if base.dec(f.get("total")) > 0], inclusive),
            prices_include_tax=inclusive,
            metadata={
                "source": SOURCE,
                "number": data.get("number"),
                "status": data.get("status"),
                "updated_at": data.get("date_modified_gmt"),
                "payment_method": data.get("payment_method"),
                "customer_id": data.get("customer_id"),
                "channel_total": str(base.money(data.get("total"), currency, field="total")),
                "coupon_codes": [str(c.get("code")) for c in data.get("coupon_lines") or []],
                "fees": [{"name": f.get("name"), "total": str(f.get("total"))} for f in fees],
            },
        )
    )


def _line(item: dict[str, Any], currency: str, inclusive: bool, index: int) -> LineDraft:
    field = f"line_items.{index}"
    qty = base.quantity(item.get("quantity"), field=f"{field}.quantity")
    before = base.money(item.get("subtotal"), currency, field=f"{field}.subtotal")
    after = base.money(item.get("total"), currency, field=f"{field}.total")
    tax = base.money(item.get("total_tax"), currency, field=f"{field}.total_tax")
    if inclusive:  # the hub's unit price then includes tax, as the shopper saw it
        before = before + base.money(
            item.get("subtotal_tax"), currency, field=f"{field}.subtotal_tax"
        )
        after = after + tax
    unit = base.unit_price_of(before, qty) if qty else Money.zero(currency)
    return LineDraft(
        sku=None,
        channel_sku=channel_sku(item),
        channel_line_id=base.text(item.get("id")),
        name=base.text(item.get("name")),
        quantity=qty,
        unit_price=unit,
        discount=unit * qty - after,
        tax=tax,
    )


def channel_sku(item: dict[str, Any]) -> str | None:
    sku = base.text(item.get("sku"))
    if sku:
        return sku
    if item.get("variation_id"):
        return f"variation:{item['variation_id']}"
    return f"product:{item['product_id']}" if item.get("product_id") else None


def _apply_negative_fees(
    lines: list[LineDraft], fees: list[dict[str, Any]], inclusive: bool
) -> list[LineDraft]:
    """An order-level discount given as a negative fee, spread over the lines by net amount."""
    if not fees:
        return lines
    currency = lines[0].unit_price.currency
    net = total([-base.money(f.get("total"), currency) for f in fees], currency)
    fee_tax = total([-base.money(f.get("total_tax"), currency) for f in fees], currency)
    discount = net + fee_tax if inclusive else net
    shares = base.allocate(discount, [ln.unit_price * ln.quantity - ln.discount for ln in lines])
    tax_shares = base.allocate(fee_tax, [ln.tax for ln in lines])
    if sum(t.amount for t in tax_shares) != fee_tax.amount:
        raise NotNormalizable(NormalizationProblem("a negative fee reduces tax on untaxed lines"))
    return [
        replace(ln, discount=ln.discount + share, tax=ln.tax - tax_share)
        for ln, share, tax_share in zip(lines, shares, tax_shares, strict=True)
    ]


def _shipping(data: dict[str, Any], fees: list[dict[str, Any]], inclusive: bool) -> Shipping:
    currency = str(data["currency"])
    charges = [*(data.get("shipping_lines") or []), *fees]
    price = total([base.money(s.get("total"), currency) for s in charges], currency)
    tax = total([base.money(s.get("total_tax"), currency) for s in charges], currency)
    titles = [base.text(s.get("method_title") or s.get("name")) for s in charges]
    return Shipping(
        price=price + tax if inclusive else price,
        tax=tax,
        discount=Money.zero(currency),
        method=" + ".join(t for t in titles if t) or None,
    )


def _address(data: dict[str, Any] | None) -> Address | None:
    if not data:
        return None
    return base.address(
        country=data.get("country"),
        name=base.full_name(data.get("first_name"), data.get("last_name")),
        company=data.get("company"),
        line1=data.get("address_1"),
        line2=data.get("address_2"),
        city=data.get("city"),
        region=data.get("state"),
        postal_code=data.get("postcode"),
        phone=data.get("phone"),
    )


# --- outbound: pure request builders -------------------------------------------------------


def mark_shipped(order_id: str, tracking: Tracking) -> list[OutboundRequest]:
    """Status ``completed``, then a customer-visible note with carrier and tracking number."""
    note = f"Shipped with {tracking.carrier}, tracking number {tracking.number}"
    if tracking.url:
        note += f": {tracking.url}"
    return [
        OutboundRequest("PUT", f"{API}/orders/{order_id}", {"status": "completed"}),
        OutboundRequest(
            "POST", f"{API}/orders/{order_id}/notes", {"note": note, "customer_note": True}
        ),
    ]


def cancel(order_id: str) -> OutboundRequest:
    return OutboundRequest("PUT", f"{API}/orders/{order_id}", {"status": "cancelled"})


def refund(
    order_id: str, *, amount: str, lines: list[tuple[str, int, str]], reason: str
) -> OutboundRequest:
    """``POST orders/{id}/refunds``: ``lines`` are (line item id, quantity, refund total).
    ``api_refund: false`` records the refund without asking the payment gateway to move money
    (the hub's ledger is the record; the merchant pays out through their gateway)."""
    return OutboundRequest(
        "POST",
        f"{API}/orders/{order_id}/refunds",
        {
            "amount": amount,
            "reason": reason,
            "api_refund": False,
            "line_items": [
                {"id": _numeric(item), "quantity": quantity, "refund_total": total}
                for item, quantity, total in lines
            ],
        },
    )


def add_note(order_id: str, note: str) -> OutboundRequest:
    """``POST orders/{id}/notes``: a private note on the order (return status changes)."""
    return OutboundRequest(
        "POST", f"{API}/orders/{order_id}/notes", {"note": note, "customer_note": False}
    )


def _numeric(value: str) -> int | str:
    return int(value) if value.isdigit() else value


def set_stock(
    *, product_id: int, quantity: int, variation_id: int | None = None
) -> OutboundRequest:
    """The product's (or variation's) ``stock_quantity``, with stock management on."""
    path = f"{API}/products/{product_id}"
    if variation_id:
        path += f"/variations/{variation_id}"
    return OutboundRequest("PUT", path, {"manage_stock": True, "stock_quantity": max(quantity, 0)})


def auth(credentials: Mapping[str, Any]) -> tuple[str, str]:
    """HTTP Basic with the REST API consumer key and secret (over HTTPS)."""
    return str(credentials.get("consumer_key", "")), str(credentials.get("consumer_secret", ""))
