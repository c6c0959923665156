"""Etsy Open API v3: shop receipts and their transactions in; shipments and stock out.

In: ``GET /v3/application/shops/{shop_id}/receipts?min_last_modified=…&max_last_modified=…``
(offset paging); each receipt carries its ``transactions``. Money is ``{amount, divisor,
currency_code}`` — converted exactly as ``amount / divisor``. The receipt's ``discount_amt`` and
tax are spread over its lines in proportion to their amounts (to the cent, summing exactly);
the grand total is checked against Etsy's ``grandtotal`` and a mismatch is quarantined.

``buyer_coupon``/``shop_coupon`` arrive as plain JSON numbers (e.g. ``36.8``). Bodies are read
with ``json.loads(parse_float=Decimal)``, so each is the exact decimal text Etsy wrote, never a
binary float; they are informational (the receipt's ``discount_amt`` is the authoritative
discount) and are kept in metadata as decimal strings. ``sku`` is often empty: the channel SKU
is then ``listing:<listing_id>:<product_id>``, mapped through the channel's SKU map. Status
casing differs between spec and reality ("Fully Refunded"): compared case-insensitively.

Auth: OAuth 2 refresh token → bearer token, plus the app's ``x-api-key``, which since
9 February 2026 must be ``keystring:shared_secret`` (Etsy's Request Standards page): the
keystring alone is refused with 403. The token endpoint is on the same host as the API
(``{api_base_url}/v3/public/oauth/token``); Etsy has no sandbox host.
Out: ``createReceiptShipment`` (form-encoded) and ``updateListingInventory``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx

from orderhub.channels._shared import (
    ChannelOrder,
    OutboundRequest,
    Tracking,
    address,
    allocate,
    channel_order,
    dumps,
    envelope,
    from_epoch,
    loads,
    open_envelope,
    quantity,
    text,
)
from orderhub.channels.api_client import (
    ApiClient,
    OAuthRefresh,
    require,
    resolve_credentials,
    shared_bucket,
    shared_refresh,
)
from orderhub.domain.channels import Channel
from orderhub.domain.money import Money, total
from orderhub.domain.orders import Customer, LineDraft, OrderDraft, Shipping
from orderhub.http.outbound import outbound_client

SOURCE = "etsy"
DEFAULT_BASE = "https://openapi.etsy.com"  # api.etsy.com is the same service
TOKEN_PATH = "/v3/public/oauth/token"  # noqa: S105 (an endpoint, not a secret)
PAGE_SIZE = 100
RATES = {"etsy": (5.0, 10)}  # Etsy: 10 requests per second, 10,000 per day per app
CANCELLED = frozenset({"canceled", "cancelled"})


def client(
    channel: Channel,
    *,
    transport: httpx.BaseTransport | None = None,
    environ: dict[str, str] | None = None,
    **options: Any,
) -> ApiClient:
    """Etsy's client: ``x-api-key: keystring:shared_secret`` on every call, tokens bought at
    the API host's own token endpoint (``credentials.token_url`` overrides it)."""
    creds = resolve_credentials(channel.credentials, environ)
    keystring, shared_secret, refresh_token = require(
        creds, "keystring", "shared_secret", "refresh_token"
    )
    base = (channel.api_base_url or DEFAULT_BASE).rstrip("/")
    http = outbound_client(
        base_url=base,
        transport=transport,
        timeout=30.0,
        headers={"x-api-key": api_key(keystring, shared_secret)},
    )
    refresh = shared_refresh(
        channel.code,
        lambda: OAuthRefresh(
            creds.get("token_url", base + TOKEN_PATH),
            {"grant_type": "refresh_token", "client_id": keystring, "refresh_token": refresh_token},
        ),
    )

    def authorize(request: httpx.Request) -> None:
        request.headers["Authorization"] = f"Bearer {refresh.token(http)}"

    return ApiClient(
        http, {"etsy": shared_bucket(channel.code, "etsy", *RATES["etsy"])}, authorize, **options
    )


def api_key(keystring: str, shared_secret: str) -> str:
    """The ``x-api-key`` value Etsy accepts since 9 February 2026: ``keystring:shared_secret``."""
    return f"{keystring}:{shared_secret}"


def shop_id(channel: Channel) -> str:
    value = channel.settings.get("shop_id")
    if not value:
        raise ValueError(f"channel {channel.code!r} needs settings.shop_id")
    return str(value)


def pull(
    api: ApiClient, channel: Channel, since: datetime, until: datetime
) -> Iterator[ChannelOrder]:
    """Receipts modified in [since, until], oldest first, offset paging."""
    path = f"/v3/application/shops/{quote(shop_id(channel))}/receipts"
    offset = 0
    while True:
        params = {
            "min_last_modified": int(since.timestamp()),
            "max_last_modified": int(until.timestamp()),
            "limit": PAGE_SIZE,
            "offset": offset,
            "sort_on": "updated",
            "sort_order": "asc",
        }
        page = loads(api.call("GET", path, api="etsy", params=params).content)
        receipts = page.get("results") or []
        for receipt in receipts:
            yield read_order(channel.code, receipt)
        offset += len(receipts)
        if not receipts or offset >= int(page.get("count", 0)):
            return


def read_order(channel: str, receipt: dict[str, Any]) -> ChannelOrder:
    payload = envelope(channel, receipt=dumps(receipt))
    external_id = text(receipt.get("receipt_id"))
    item = channel_order(channel, SOURCE, external_id, payload, lambda: to_draft(channel, receipt))
    if str(receipt.get("status", "")).lower() in CANCELLED:
        return replace(item, cancelled=True, cancel_reason="canceled on Etsy")
    return item


def parse(payload: str) -> OrderDraft:
    channel, parts = open_envelope(payload)
    return to_draft(channel, loads(parts["receipt"]))


def etsy_money(value: dict[str, Any] | None, currency: str) -> Money:
    """``{amount: 11250, divisor: 100}`` → 112.50, exactly (integer division in Decimal)."""
    if not value:
        return Money.zero(currency)
    if value.get("currency_code", currency) != currency:
        raise ValueError(f"amount in {value.get('currency_code')}, receipt in {currency}")
    return Money(Decimal(int(value["amount"])) / Decimal(int(value["divisor"])), currency)


def _channel_sku(tx: dict[str, Any]) -> str:
    return text(tx.get("sku")) or f"listing:{tx.get('listing_id')}:{tx.get('product_id')}"


def to_draft(channel: str, receipt: dict[str, Any]) -> OrderDraft:
    currency = str(receipt["grandtotal"]["currency_code"])
    txs = receipt.get("transactions") or []
    quantities = [quantity(tx.get("quantity"), positive=True) for tx in txs]
    units = [etsy_money(tx.get("price"), currency) for tx in txs]
    gross = [unit * qty for unit, qty in zip(units, quantities, strict=True)]
    discounts = allocate(etsy_money(receipt.get("discount_amt"), currency), gross)
    tax_total = etsy_money(receipt.get("total_tax_cost"), currency) + etsy_money(
        receipt.get("total_vat_cost"), currency
    )
    taxes = allocate(tax_total, [g - d for g, d in zip(gross, discounts, strict=True)])
    shipping = etsy_money(receipt.get("total_shipping_cost"), currency) + etsy_money(
        receipt.get("gift_wrap_price"), currency
    )
    computed = total(gross, currency) - total(discounts, currency) + shipping + tax_total
    grand = etsy_money(receipt.get("grandtotal"), currency)
    if computed != grand:
        raise ValueError(f"lines add up to {computed}, Etsy's grandtotal is {grand}")
    lines = tuple(
        LineDraft(
            sku=None,
            channel_sku=_channel_sku(tx),
            channel_line_id=text(tx.get("transaction_id")),
            name=text(tx.get("title")),
            quantity=qty,
            unit_price=unit,
            discount=discount,
            tax=tax,
        )
        for tx, qty, unit, discount, tax in zip(
            txs, quantities, units, discounts, taxes, strict=True
        )
    )
    coupons = {
        str(tx.get("transaction_id")): {
            name: str(tx[name])
            for name in ("buyer_coupon", "shop_coupon")
            if tx.get(name) is not None
        }
        for tx in txs
    }
    return OrderDraft(
        channel=channel,
        external_id=str(receipt["receipt_id"]),
        currency=currency,
        placed_at=from_epoch(receipt.get("created_timestamp") or receipt["create_timestamp"]),
        customer=Customer(email=text(receipt.get("buyer_email")), name=text(receipt.get("name"))),
        shipping_address=address(
            country=receipt.get("country_iso"),
            name=receipt.get("name"),
            line1=receipt.get("first_line"),
            line2=receipt.get("second_line"),
            city=receipt.get("city"),
            region=receipt.get("state"),
            postal_code=receipt.get("zip"),
        ),
        billing_address=None,
        lines=lines,
        shipping=Shipping(shipping, Money.zero(currency), Money.zero(currency)),
        metadata={
            "etsy_status": receipt.get("status"),
            "is_paid": receipt.get("is_paid"),
            "is_shipped": receipt.get("is_shipped"),
            "buyer_user_id": receipt.get("buyer_user_id"),
            "coupons": coupons,
            "channel_total": str(grand),
        },
    )


# --- outbound ------------------------------------------------------------------------------


def create_receipt_shipment(
    *, shop: str, receipt_id: str, tracking: Tracking, send_bcc: bool = False
) -> OutboundRequest:
    """``createReceiptShipment``: sent form-encoded, as Etsy requires."""
    return OutboundRequest(
        "POST",
        f"/v3/application/shops/{quote(shop)}/receipts/{quote(receipt_id)}/tracking",
        {
            "tracking_code": tracking.number,
            "carrier_name": tracking.carrier,
            "send_bcc": "true" if send_bcc else "false",
        },
    )


def update_listing_inventory(
    *, listing_id: str, current: dict[str, Any], quantities: dict[str, int]
) -> OutboundRequest:
    """``updateListingInventory`` from the listing's current inventory (``GET …/inventory``).

    Etsy replaces the whole inventory, so every product and offering is sent back as it was,
    with only the quantities of the SKUs in ``quantities`` changed. Prices go back as exact
    decimal numbers (see :func:`encode`).
    """
    products = []
    for product in current.get("products") or []:
        if product.get("is_deleted"):
            continue
        sku = product.get("sku") or ""
        offerings = []
        for offering in product.get("offerings") or []:
            if offering.get("is_deleted"):
                continue
            price = offering["price"]
            offerings.append(
                {
                    "price": Decimal(int(price["amount"])) / Decimal(int(price["divisor"])),
                    "quantity": max(0, quantities.get(sku, int(offering.get("quantity", 0)))),
                    "is_enabled": bool(offering.get("is_enabled", True)),
                }
            )
        products.append(
            {
                "sku": sku,
                "property_values": [
                    {
                        k: v
                        for k, v in value.items()
                        if k in ("property_id", "value_ids", "values", "scale_id", "property_name")
                    }
                    for value in product.get("property_values") or []
                ],
                "offerings": offerings,
            }
        )
    body: dict[str, Any] = {"products": products}
    for name in ("price_on_property", "quantity_on_property", "sku_on_property"):
        if name in current:
            body[name] = current[name]
    return OutboundRequest("PUT", f"/v3/application/listings/{quote(listing_id)}/inventory", body)


_DECIMAL = re.compile(r'"\\u0000dec:([-0-9.]+)"')


def encode(body: Any) -> bytes:
    """JSON where every ``Decimal`` is a JSON number written from its exact text."""

    def mark(value: Any) -> str:
        if isinstance(value, Decimal):
            return f"\x00dec:{value}"
        raise TypeError(f"cannot serialize {type(value).__name__}")

    return _DECIMAL.sub(r"\1", json.dumps(body, default=mark)).encode()


def send(api: ApiClient, request: OutboundRequest) -> httpx.Response:
    if request.path.endswith("/tracking"):
        assert isinstance(request.body, dict)
        return api.call(request.method, request.path, api="etsy", data=request.body)
    return api.call(
        request.method,
        request.path,
        api="etsy",
        content=encode(request.body),
        headers={"Content-Type": "application/json"},
    )
