"""BigCommerce: thin ``store/order/*`` webhooks, then the order fetched through the V2 API.

A webhook carries only the order id, so the hub fetches ``/v2/orders/{id}``, its
``/products`` and ``/shippingaddresses`` from the channel's ``api_base_url``
(``https://api.bigcommerce.com/stores/{store_hash}``) with the ``X-Auth-Token`` credential.
BigCommerce does not sign webhooks: when registering the hook, set the custom header
``X-OrderHub-Webhook-Secret`` to the channel's ``webhook_secret``; it is compared in constant
time. Amounts come with four decimals and are rounded half-even to the currency's minor unit;
``default_currency_code`` is the transactional currency (``currency_code`` is for display).
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from orderhub.channels import base
from orderhub.channels._shared import from_epoch
from orderhub.channels.base import ChannelOrder, OutboundRequest, Tracking, WebhookRejected
from orderhub.domain.errors import FieldError, NormalizationProblem, NotNormalizable
from orderhub.domain.money import Money, total
from orderhub.domain.orders import Address, Customer, LineDraft, OrderDraft, Shipping

SOURCE = "bigcommerce"
SECRET_HEADER = "X-OrderHub-Webhook-Secret"  # noqa: S105 (a header name)
ORDER_SCOPES = frozenset(
    {"store/order/created", "store/order/updated", "store/order/statusUpdated"}
)
CANCELLED_STATUS_ID = 5
_PROVIDERS = frozenset(
    {"auspost", "canadapost", "endicia", "usps", "fedex", "royalmail", "ups", "upsready"}
)


def verify(*, secret: str, body: bytes, headers: Mapping[str, str]) -> None:
    given = headers.get(SECRET_HEADER.lower(), "")
    if not given or not hmac.compare_digest(given.encode(), secret.encode()):
        raise WebhookRejected(f"{SECRET_HEADER} is missing or wrong")


def order_id_of(body: bytes) -> str | None:
    """The order id an order webhook names, or None for scopes the hub does not follow."""
    data = base.loads(body)
    if not isinstance(data, dict) or data.get("scope") not in ORDER_SCOPES:
        return None
    return base.text((data.get("data") or {}).get("id"))


def fetch_order(client: httpx.Client, order_id: str) -> dict[str, str]:
    """The three V2 resources of one order, as the raw texts BigCommerce sent."""
    parts = {}
    for name, path in (
        ("order", f"/v2/orders/{order_id}"),
        ("products", f"/v2/orders/{order_id}/products"),
        ("shipping_addresses", f"/v2/orders/{order_id}/shippingaddresses"),
    ):
        response = client.get(path, headers={"Accept": "application/json"})
        response.raise_for_status()
        parts[name] = response.text if response.status_code != 204 else "[]"
    return parts


def delivery(body: bytes) -> base.Delivery:
    """The body's ``hash`` of the event with its ``created_at`` (Unix seconds)."""
    data = base.json_object(body)
    event_hash, created = base.text(data.get("hash")), data.get("created_at")
    return base.Delivery(
        f"{event_hash}:{created}" if event_hash else None, base.maybe_time(from_epoch, created)
    )


def read_webhook(
    channel: str, body: bytes, _headers: Mapping[str, str], *, client: httpx.Client
) -> list[ChannelOrder]:
    order_id = order_id_of(body)
    if order_id is None:
        return []
    return [read_order(channel, order_id, fetch_order(client, order_id))]


def read_order(channel: str, order_id: str, parts: dict[str, str]) -> ChannelOrder:
    payload = base.envelope(channel, **parts)
    try:
        order = base.loads(parts["order"])
        draft = to_draft(
            channel, order, base.loads(parts["products"]), base.loads(parts["shipping_addresses"])
        )
    except (NotNormalizable, KeyError, TypeError, ValueError, AttributeError) as error:
        return ChannelOrder(
            channel, SOURCE, order_id, payload, problem=base.problem_of(error, order_id)
        )
    cancelled = order.get("status_id") == CANCELLED_STATUS_ID
    return ChannelOrder(
        channel, SOURCE, order_id, payload, draft=draft, cancelled=cancelled,
        cancel_reason="cancelled on BigCommerce",
    )  # fmt: skip


def parse(payload: str) -> OrderDraft:
    channel, parts = base.open_envelope(payload)
    return to_draft(
        channel,
        base.loads(parts["order"]),
        base.loads(parts["products"]),
        base.loads(parts["shipping_addresses"]),
    )


def to_draft(
    channel: str, order: dict[str, Any], products: list[dict[str, Any]], addresses: list[Any]
) -> OrderDraft:
    currency = str(order.get("default_currency_code") or order["currency_code"])
    inclusive = bool(order.get("is_tax_inclusive_pricing"))
    lines = tuple(_line(p, currency, inclusive, i) for i, p in enumerate(products))
    if not lines:
        raise NotNormalizable(
            NormalizationProblem("no products", [FieldError(("products",), "empty")])
        )
    billing = order.get("billing_address") or {}
    ship_to = addresses[0] if addresses else billing
    return base.checked(
        OrderDraft(
            channel=channel,
            external_id=str(order["id"]),
            currency=currency,
            placed_at=parsedate_to_datetime(order["date_created"]),
            customer=Customer(
                email=base.text(billing.get("email")),
                name=base.full_name(billing.get("first_name"), billing.get("last_name")),
                phone=base.text(billing.get("phone")),
            ),
            shipping_address=_address(ship_to),
            billing_address=_address(billing),
            lines=lines,
            shipping=_shipping(order, currency, inclusive),
            prices_include_tax=inclusive,
            metadata={
                "source": SOURCE,
                "status": order.get("status"),
                "status_id": order.get("status_id"),
                "updated_at": order.get("date_modified"),
                "payment_status": order.get("payment_status"),
                "display_currency": order.get("currency_code"),
                "channel_total": str(base.money_rounded(order.get("total_inc_tax"), currency)),
                "gift_certificate_amount": str(
                    base.money_rounded(order.get("gift_certificate_amount"), currency)
                ),
                "store_credit_amount": str(
                    base.money_rounded(order.get("store_credit_amount"), currency)
                ),
                "order_address_ids": [a.get("id") for a in addresses if isinstance(a, dict)],
                "bundle_parents": {
                    str(p["id"]): str(p["parent_order_product_id"])
                    for p in products
                    if p.get("parent_order_product_id")
                },
            },
        )
    )


def _line(product: dict[str, Any], currency: str, inclusive: bool, index: int) -> LineDraft:
    field = f"products.{index}"
    price_key = "price_inc_tax" if inclusive else "price_ex_tax"
    return LineDraft(
        sku=None,
        channel_sku=base.text(product.get("sku")) or f"product:{product.get('product_id')}",
        channel_line_id=base.text(product.get("id")),
        name=base.text(product.get("name")),
        # The order product's barcode (Orders V2 ``upc``, often empty): a fallback when the
        # SKU map does not know the line.
        identifiers=tuple(filter(None, [base.text(product.get("upc"))])),
        quantity=base.quantity(product.get("quantity"), field=f"{field}.quantity"),
        unit_price=base.money_rounded(
            product.get(price_key), currency, field=f"{field}.{price_key}"
        ),
        discount=total(
            [
                base.money_rounded(d.get("amount"), currency, field=f"{field}.applied_discounts")
                for d in product.get("applied_discounts") or []
            ],
            currency,
        ),
        tax=base.money_rounded(product.get("total_tax"), currency, field=f"{field}.total_tax"),
    )


def _shipping(order: dict[str, Any], currency: str, inclusive: bool) -> Shipping:
    """Shipping, handling, wrapping and fees: the order's charges besides its products."""
    suffix = "inc_tax" if inclusive else "ex_tax"
    prices: list[Money] = []
    taxes: list[Money] = []
    for kind in ("shipping_cost", "handling_cost", "wrapping_cost"):
        prices.append(base.money_rounded(order.get(f"{kind}_{suffix}"), currency))
        taxes.append(base.money_rounded(order.get(f"{kind}_tax"), currency))
    for fee in order.get("fees") or []:
        price = fee.get(f"cost_{suffix}", fee.get("cost_exc_tax" if not inclusive else ""))
        prices.append(base.money_rounded(price, currency))
        taxes.append(base.money_rounded(fee.get("cost_tax"), currency))
    return Shipping(
        price=total(prices, currency),
        tax=total(taxes, currency),
        discount=Money.zero(currency),
        method=base.text(order.get("shipping_method")) or None,
    )


def _address(data: dict[str, Any]) -> Address | None:
    return base.address(
        country=data.get("country_iso2"),
        name=base.full_name(data.get("first_name"), data.get("last_name")),
        company=data.get("company"),
        line1=data.get("street_1"),
        line2=data.get("street_2"),
        city=data.get("city"),
        region=data.get("state"),
        postal_code=data.get("zip"),
        phone=data.get("phone"),
    )


# --- outbound: pure request builders -------------------------------------------------------


def mark_shipped(
    order_id: str, *, order_address_id: int, items: Mapping[int, int], tracking: Tracking
) -> OutboundRequest:
    """``POST /v2/orders/{id}/shipments``: items are order product id → quantity."""
    carrier = tracking.carrier.strip().lower()
    body: dict[str, Any] = {
        "order_address_id": order_address_id,
        "tracking_number": tracking.number,
        "items": [{"order_product_id": pid, "quantity": qty} for pid, qty in items.items()],
    }
    if carrier in _PROVIDERS:
        body["shipping_provider"] = carrier
    else:
        body["tracking_carrier"] = carrier
    if tracking.url:
        body["tracking_link"] = tracking.url
    return OutboundRequest("POST", f"/v2/orders/{order_id}/shipments", body)


def cancel(order_id: str) -> OutboundRequest:
    return OutboundRequest("PUT", f"/v2/orders/{order_id}", {"status_id": CANCELLED_STATUS_ID})


def refund(
    order_id: str,
    *,
    lines: list[tuple[str, int]],
    amount: Decimal,
    shipping: tuple[int, Decimal] | None,
    reason: str,
) -> OutboundRequest:
    """``POST /v3/orders/{id}/payment_actions/refunds``: ``lines`` are (order product id,
    quantity); ``shipping`` is (order address id, amount) when shipping is refunded. One
    offline ``custom`` payment of the hub's ``amount`` records the refund without moving money
    through the gateway (the hub's ledger is the record). ``Amount`` is a JSON number."""
    items: list[dict[str, Any]] = [
        {"item_type": "PRODUCT", "item_id": _numeric(item), "quantity": qty, "reason": reason}
        for item, qty in lines
    ]
    if shipping is not None:
        address_id, shipping_amount = shipping
        items.append(
            {"item_type": "SHIPPING", "item_id": address_id, "amount": _number(shipping_amount)}
        )
    return OutboundRequest(
        "POST",
        f"/v3/orders/{order_id}/payment_actions/refunds",
        {
            "items": items,
            "payments": [{"provider_id": "custom", "amount": _number(amount), "offline": True}],
        },
    )


def _numeric(value: str) -> int | str:
    return int(value) if value.isdigit() else value


def _number(value: Decimal) -> float:
    """A two-decimal amount as the JSON number the API wants (its text stays exact)."""
    return float(value.quantize(Decimal("0.01")))


def set_inventory(levels: list[tuple[int, str, int]], *, reason: str) -> OutboundRequest:
    """``PUT /v3/inventory/adjustments/absolute``: (location id, SKU, quantity) triples."""
    return OutboundRequest(
        "PUT",
        "/v3/inventory/adjustments/absolute",
        {
            "reason": reason,
            "items": [
                {"location_id": loc, "sku": sku, "quantity": max(qty, 0)}
                for loc, sku, qty in levels
            ],
        },
    )


def auth_headers(credentials: Mapping[str, Any]) -> dict[str, str]:
    return {"X-Auth-Token": str(credentials.get("access_token", ""))}
