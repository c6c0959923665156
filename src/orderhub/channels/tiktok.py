"""TikTok Shop (API version 202309): order webhooks and polling in; packages and stock out.

Webhooks are thin: ``{"type": 1, "shop_id", "data": {"order_id", "order_status"}}``, signed in
``Authorization`` with the hex HMAC-SHA256 of ``app_key + body`` under the app secret. After
verifying, the order detail is fetched (``GET /order/202309/orders?ids=…``). Polling uses
``POST /order/202309/orders/search`` by ``update_time`` with ``page_token`` paging.

Every API call is signed (202309 algorithm): the query parameters except ``sign`` and
``access_token``, sorted by name, concatenated as ``name + value``; the path in front; the body
(unless multipart) behind; wrapped in the app secret on both sides; HMAC-SHA256 with the app
secret, hex. The seller token goes in ``x-tts-access-token``.

Ids are 64-bit integers sent as strings: kept as strings. Line items carry no quantity — one
line item per unit — so they are grouped by SKU (and price) into lines with quantities; the
line item ids are kept in metadata because shipping a package names them. Money is decimal
strings. The webhook says ``CANCEL`` where the API says ``CANCELLED``: both mean cancelled.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

from orderhub.channels._shared import (
    ChannelOrder,
    OutboundRequest,
    WebhookRejected,
    address,
    channel_order,
    dumps,
    envelope,
    from_epoch,
    loads,
    money,
    open_envelope,
    text,
)
from orderhub.channels.api_client import (
    ApiClient,
    ChannelApiError,
    require,
    resolve_credentials,
    shared_bucket,
    shared_state,
)
from orderhub.channels.base import Delivery, json_object, maybe_time
from orderhub.channels.tiktok_auth import TOKEN_URL, SaveTokens, SellerTokens, TikTokApiClient
from orderhub.domain.channels import Channel
from orderhub.domain.money import Money, total
from orderhub.domain.orders import Customer, LineDraft, OrderDraft, Shipping
from orderhub.http.outbound import outbound_client

SOURCE = "tiktok"
VERSION = "202309"
PAGE_SIZE = 50
RATES = {"orders": (10.0, 20), "fulfillment": (10.0, 20), "product": (10.0, 20)}
CANCELLED = frozenset({"CANCELLED", "CANCEL"})
UNSIGNED = frozenset({"sign", "access_token"})
# district_info labels differ by market (US "State"/"City", ID "province"/"city", UK "county"
# and "post town"…): read case-insensitively, falling back on the documented address_level.
REGION_LABELS = frozenset({"state", "province", "region", "prefecture", "county"})
CITY_LABELS = frozenset({"city", "town", "post town", "municipality", "city/municipality"})
REGION_LEVEL, CITY_LEVEL = "L1", "L2"


# --- signing -------------------------------------------------------------------------------


def sign(*, secret: str, path: str, params: Mapping[str, str], body: bytes = b"") -> str:
    """The 202309 request signature (see the module docstring)."""
    joined = "".join(f"{k}{params[k]}" for k in sorted(params) if k not in UNSIGNED)
    message = f"{secret}{path}{joined}{body.decode()}{secret}"
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def webhook_signature(*, app_key: str, secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), app_key.encode() + body, hashlib.sha256).hexdigest()


def verify(*, app_key: str, secret: str, body: bytes, headers: Mapping[str, str]) -> None:
    """Raise :class:`WebhookRejected` unless ``Authorization`` signs ``app_key + body``."""
    given = headers.get("authorization", headers.get("Authorization", "")).strip()
    expected = webhook_signature(app_key=app_key, secret=secret, body=body)
    if not given or not hmac.compare_digest(given.lower().encode(), expected.encode()):
        raise WebhookRejected("Authorization does not sign app_key + body")


def signer(
    *,
    app_key: str,
    secret: str,
    token: Callable[[], str],
    shop_cipher: str | None,
    clock: Callable[[], float],
) -> Callable[[httpx.Request], None]:
    def authorize(request: httpx.Request) -> None:
        extra = {"app_key": app_key, "timestamp": str(int(clock()))}
        if shop_cipher:
            extra["shop_cipher"] = shop_cipher
        url = request.url.copy_merge_params(extra)
        params = dict(url.params.items())
        is_multipart = request.headers.get("content-type", "").startswith("multipart/")
        body = b"" if is_multipart else request.content
        signature = sign(secret=secret, path=url.path, params=params, body=body)
        request.url = url.copy_merge_params({"sign": signature})
        request.headers["x-tts-access-token"] = token()
        request.headers["content-type"] = "application/json"

    return authorize


def client(
    channel: Channel,
    *,
    transport: httpx.BaseTransport | None = None,
    environ: dict[str, str] | None = None,
    clock: Callable[[], float] = time.time,
    save_tokens: SaveTokens | None = None,
    **options: Any,
) -> ApiClient:
    """A signed client whose seller token is refreshed with the ``refresh_token`` credential
    before it expires and when TikTok refuses it as expired (see :mod:`tiktok_auth`); each new
    token pair goes to ``save_tokens`` to be stored with the channel's credentials."""
    creds = resolve_credentials(channel.credentials, environ)
    app_key, secret, access_token = require(creds, "app_key", "app_secret", "access_token")
    http = outbound_client(
        base_url=(channel.api_base_url or "https://open-api.tiktokglobalshop.com").rstrip("/"),
        transport=transport,
        timeout=30.0,
    )
    # One token state per stored token: a refresh by any client of the process is seen by
    # the next, until the refreshed pair is stored and read back.
    tokens: SellerTokens = shared_state(
        channel.code,
        "tiktok-tokens:" + _digest(access_token, creds.get("refresh_token", "")),
        lambda: SellerTokens(creds, token_url=creds.get("token_url", TOKEN_URL)),
    )
    authorize = signer(
        app_key=app_key,
        secret=secret,
        token=lambda: tokens.token(http, clock()),
        shop_cipher=creds.get("shop_cipher") or channel.settings.get("shop_cipher"),
        clock=clock,
    )
    buckets = {api: shared_bucket(channel.code, api, *rate) for api, rate in RATES.items()}
    return TikTokApiClient(
        http,
        buckets,
        authorize,
        tokens=tokens,
        save=save_tokens,
        stored=SellerTokens.stored_in(creds),
        **options,
    )


def _digest(*values: str) -> str:
    """A key for the stored tokens that does not hold them in clear."""
    return hashlib.sha256("\0".join(values).encode()).hexdigest()


def _data(response: httpx.Response) -> dict[str, Any]:
    body = loads(response.content)
    if body.get("code") not in (0, None):
        # TikTok refuses with HTTP 200 and a non-zero code in the body.
        raise ChannelApiError(response.status_code, response.text, str(response.request.url))
    data: dict[str, Any] = body.get("data") or {}
    return data


# --- inbound -------------------------------------------------------------------------------


def pull(
    api: ApiClient, channel: Channel, since: datetime, until: datetime
) -> Iterator[ChannelOrder]:
    """Orders updated in [since, until), page by page."""
    token = ""
    while True:
        params: dict[str, Any] = {"page_size": PAGE_SIZE, "sort_field": "update_time"}
        if token:
            params["page_token"] = token
        response = api.call(
            "POST",
            f"/order/{VERSION}/orders/search",
            api="orders",
            params=params,
            json={
                "update_time_ge": int(since.timestamp()),
                "update_time_lt": int(until.timestamp()),
            },
        )
        data = _data(response)
        for order in data.get("orders") or []:
            yield read_order(channel.code, order)
        token = str(data.get("next_page_token") or "")
        if not token:
            return


def fetch_orders(api: ApiClient, channel: str, ids: list[str]) -> list[ChannelOrder]:
    """Order detail for up to 50 ids (what a thin webhook needs)."""
    response = api.call(
        "GET", f"/order/{VERSION}/orders", api="orders", params={"ids": ",".join(ids)}
    )
    return [read_order(channel, order) for order in _data(response).get("orders") or []]


def delivery(body: bytes) -> Delivery:
    """The body's ``tts_notification_id`` and ``timestamp`` (Unix seconds), both signed."""
    data = json_object(body)
    return Delivery(
        text(data.get("tts_notification_id")), maybe_time(from_epoch, data.get("timestamp"))
    )


def read_webhook(api: ApiClient, channel: str, body: bytes) -> list[ChannelOrder]:
    """A verified order webhook: fetch the order; a ``CANCEL`` webhook marks it cancelled."""
    event = loads(body)
    data = event.get("data") or {}
    order_id = text(data.get("order_id"))
    if not order_id:
        return []
    items = fetch_orders(api, channel, [order_id])
    if str(data.get("order_status", "")).upper() in CANCELLED:
        items = [
            replace(i, cancelled=True, cancel_reason="cancelled on TikTok Shop") for i in items
        ]
    return items


def read_order(channel: str, order: dict[str, Any]) -> ChannelOrder:
    payload = envelope(channel, order=dumps(order))
    external_id = text(order.get("id"))
    item = channel_order(channel, SOURCE, external_id, payload, lambda: to_draft(channel, order))
    if str(order.get("status", "")).upper() in CANCELLED:
        return replace(item, cancelled=True, cancel_reason="cancelled on TikTok Shop")
    return item


def parse(payload: str) -> OrderDraft:
    channel, parts = open_envelope(payload)
    return to_draft(channel, loads(parts["order"]))


def _group(items: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """One line item per unit → one group per (SKU, price, discounts), in first-seen order."""
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for item in items:
        key = (
            item.get("sku_id"),
            item.get("seller_sku"),
            str(item.get("original_price")),
            str(item.get("seller_discount")),
            str(item.get("platform_discount")),
        )
        groups.setdefault(key, []).append(item)
    return list(groups.values())


def to_draft(channel: str, order: dict[str, Any]) -> OrderDraft:
    pay = order.get("payment") or {}
    currency = str(pay.get("currency") or order["line_items"][0]["currency"])

    def m(value: Any, name: str) -> Money:
        return money(value or "0", currency, field=name)

    lines = []
    unit_ids: dict[str, list[str]] = {}
    for group in _group(order.get("line_items") or []):
        first = group[0]
        qty = len(group)
        unit = m(first.get("original_price"), "original_price")
        discount = total(
            [
                m(i.get("seller_discount"), "seller_discount")
                + m(i.get("platform_discount"), "platform_discount")
                for i in group
            ],
            currency,
        )
        tax = total(
            [m(t.get("tax_amount"), "tax_amount") for i in group for t in i.get("item_tax") or []],
            currency,
        )
        sku = text(first.get("seller_sku")) or text(first.get("sku_id"))
        ids = [str(i["id"]) for i in group]
        unit_ids[str(first.get("sku_id"))] = ids
        lines.append(
            LineDraft(
                sku=None,
                channel_sku=sku,
                channel_line_id=ids[0],
                name=text(first.get("product_name")),
                quantity=qty,
                unit_price=unit,
                discount=discount,
                tax=tax,
            )
        )
    ship_to = order.get("recipient_address") or {}
    return OrderDraft(
        channel=channel,
        external_id=str(order["id"]),
        currency=currency,
        placed_at=from_epoch(order["create_time"]),
        customer=Customer(email=text(order.get("buyer_email")), name=text(ship_to.get("name"))),
        shipping_address=address(
            country=ship_to.get("region_code"),
            name=ship_to.get("name"),
            line1=ship_to.get("address_line1"),
            line2=ship_to.get("address_line2"),
            postal_code=ship_to.get("postal_code"),
            phone=ship_to.get("phone_number"),
            city=_district(ship_to, CITY_LABELS, CITY_LEVEL),
            region=_district(ship_to, REGION_LABELS, REGION_LEVEL),
        ),
        billing_address=None,
        lines=tuple(lines),
        shipping=Shipping(
            price=m(pay.get("original_shipping_fee"), "original_shipping_fee"),
            tax=m(pay.get("shipping_fee_tax"), "shipping_fee_tax"),
            discount=m(pay.get("shipping_fee_seller_discount"), "shipping_fee_seller_discount")
            + m(pay.get("shipping_fee_platform_discount"), "shipping_fee_platform_discount"),
            method=text(order.get("delivery_option_name")),
        ),
        metadata={
            "tiktok_status": order.get("status"),
            "fulfillment_type": order.get("fulfillment_type"),
            "line_item_ids": unit_ids,
            "platform_discount": str(m(pay.get("platform_discount"), "platform_discount")),
            "channel_total": str(m(pay.get("total_amount"), "total_amount")),
            "fulfilled_by_marketplace": order.get("fulfillment_type") == "FULFILLMENT_BY_TIKTOK",
            "skip_allocation": order.get("fulfillment_type") == "FULFILLMENT_BY_TIKTOK",
        },
    )


def _district(ship_to: dict[str, Any], labels: frozenset[str], level: str) -> str | None:
    """An address part from ``district_info``: the entry whose ``address_level_name`` is one
    of ``labels`` (any casing: markets write "City", "city", "Province", "State"), else the
    entry at ``address_level`` ``level`` (L0 country, L1 state/province, L2 city/district…)."""
    entries = [e for e in ship_to.get("district_info") or [] if isinstance(e, dict)]
    for entry in entries:
        if str(entry.get("address_level_name") or "").strip().casefold() in labels:
            return text(entry.get("address_name"))
    for entry in entries:
        if str(entry.get("address_level") or "").strip().upper() == level:
            return text(entry.get("address_name"))
    return None


# --- outbound ------------------------------------------------------------------------------


def ship_package(
    *, order_id: str, line_item_ids: list[str], tracking_number: str, shipping_provider_id: str
) -> OutboundRequest:
    """Mark Package As Shipped (seller's own carrier)."""
    return OutboundRequest(
        "POST",
        f"/fulfillment/{VERSION}/orders/{quote(order_id)}/packages",
        {
            "order_line_item_ids": line_item_ids,
            "tracking_number": tracking_number,
            "shipping_provider_id": shipping_provider_id,
        },
    )


def update_inventory(
    *, product_id: str, sku_id: str, quantity: int, warehouse_id: str | None = None
) -> OutboundRequest:
    stock: dict[str, Any] = {"quantity": max(0, quantity)}
    if warehouse_id:
        stock = {"warehouse_id": warehouse_id, **stock}
    return OutboundRequest(
        "POST",
        f"/product/{VERSION}/products/{quote(product_id)}/inventory/update",
        {"skus": [{"id": sku_id, "inventory": [stock]}]},
    )


def send(api: ApiClient, request: OutboundRequest) -> httpx.Response:
    kind = "product" if request.path.startswith("/product/") else "fulfillment"
    response = api.call(request.method, request.path, api=kind, json=request.body)
    _data(response)  # a 200 with a non-zero code is a refusal
    return response
