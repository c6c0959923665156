"""Amazon Selling Partner API: Orders v0 in; shipment confirmation and quantities out.

In: ``getOrders`` by ``LastUpdatedAfter``/``LastUpdatedBefore`` with ``NextToken`` paging, then
``getOrderItems`` per order (paged too). Amounts are decimal strings; ``ItemPrice`` is the
unit price × quantity, ``PromotionDiscount`` the line's discount, shipping sits on each item.

* ``Pending`` orders carry no prices: they are held back (not created). Once paid Amazon moves
  them to ``Unshipped``, which changes ``LastUpdateDate``, so the next window picks them up.
* ``AFN`` (Fulfilled by Amazon) orders are imported for visibility only: their metadata says
  ``fulfilled_by_marketplace: true`` and ``skip_allocation: true``; routing and allocation
  must leave them alone (Amazon ships them from its own stock).
* Canceled orders are reported with ``cancelled=True``.

Auth: Login with Amazon — the refresh token buys an access token (cached until expiry) sent as
``x-amz-access-token``. Buyer name and email and the street address of merchant-fulfilled
orders come from Orders v0 only with a Restricted Data Token: each pull asks the Tokens API
(``createRestrictedDataToken``) for one covering ``GET /orders/v0/orders`` with the
``buyerInfo`` and ``shippingAddress`` data elements and sends it instead of the access token on
``getOrders``. An app without the restricted roles is refused the token: orders then come
without that data (logged), as before. ``settings.orders_api_version: "2026-01-01"`` reads
orders through Orders API v2026-01-01 instead (:mod:`amazon_2026`), which needs no RDT.

Out: ``confirmShipment`` and a Listings Items ``patchListingsItem`` that replaces
``fulfillment_availability``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

from orderhub.channels import amazon_2026
from orderhub.channels._shared import (
    ChannelOrder,
    OutboundRequest,
    Tracking,
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
from orderhub.channels.api_client import ApiClient, ChannelApiError, oauth_client
from orderhub.domain.channels import Channel
from orderhub.domain.money import Money
from orderhub.domain.orders import Customer, LineDraft, OrderDraft, Shipping

SOURCE = "amazon"
TOKEN_URL = "https://api.amazon.com/auth/o2/token"  # noqa: S105 (an endpoint, not a secret)
# Default usage plans (requests per second, burst) from the Orders v0 and Listings docs.
RATES = {
    "orders": (0.0167, 20),
    "order_items": (0.5, 30),
    "shipment": (2, 10),
    "listings": (5, 10),
    "tokens": (1.0, 10),  # createRestrictedDataToken
    "search_orders": (0.0056, 20),  # Orders API v2026-01-01 searchOrders
}
TOKENS_PATH = "/tokens/2021-03-01/restrictedDataToken"
# getOrders with the buyer's name and email and the full shipping address (Tokens API use
# case guide: a generic path covers every getOrders call, every page).
RESTRICTED_ORDERS = {
    "method": "GET",
    "path": "/orders/v0/orders",
    "dataElements": ["buyerInfo", "shippingAddress"],
}
RDT_REFUSED = frozenset({400, 401, 403})
log = logging.getLogger(__name__)
HELD_STATUSES = frozenset({"Pending", "PendingAvailability"})


def client(
    channel: Channel,
    *,
    transport: httpx.BaseTransport | None = None,
    environ: dict[str, str] | None = None,
    **options: Any,
) -> ApiClient:
    return oauth_client(
        channel,
        default_base="https://sellingpartnerapi-na.amazon.com",
        token_url=TOKEN_URL,
        rates=RATES,
        access_header="x-amz-access-token",
        transport=transport,
        environ=environ,
        rate_header="x-amzn-RateLimit-Limit",
        **options,
    )


def marketplace_ids(channel: Channel) -> list[str]:
    ids = channel.settings.get("marketplace_ids") or ["ATVPDKIKX0DER"]
    return [str(i) for i in ids]


def pull(
    api: ApiClient, channel: Channel, since: datetime, until: datetime
) -> Iterator[ChannelOrder]:
    """Orders updated in [since, until), each with all its items; Pending ones held back.
    ``getOrders`` carries a restricted data token when Amazon grants one (see the module)."""
    if channel.settings.get("orders_api_version") == amazon_2026.VERSION:
        yield from amazon_2026.pull(api, channel, since, until)
        return
    rdt = RestrictedToken(api, enabled=channel.settings.get("restricted_data", True) is not False)
    params: dict[str, Any] = {
        "MarketplaceIds": ",".join(marketplace_ids(channel)),
        "LastUpdatedAfter": iso_z(since),
        "LastUpdatedBefore": iso_z(until),
        "MaxResultsPerPage": 100,
    }
    while True:
        response = api.call(
            "GET", "/orders/v0/orders", api="orders", params=params, headers=rdt.headers()
        )
        page = loads(response.content)
        payload = page.get("payload", {})
        for order in payload.get("Orders", []):
            if order.get("OrderStatus") in HELD_STATUSES:
                continue
            items = list(_items(api, str(order["AmazonOrderId"])))
            yield read_order(channel.code, order, items)
        token = payload.get("NextToken")
        if not token:
            return
        params = {"MarketplaceIds": params["MarketplaceIds"], "NextToken": token}


class RestrictedToken:
    """The restricted data token for ``getOrders``, asked for once and again when it expires
    (``expiresIn``, an hour); ``None`` once Amazon refused it (the app lacks the roles)."""

    def __init__(
        self, api: ApiClient, *, enabled: bool = True, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._api = api
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._refused = not enabled

    def headers(self) -> dict[str, str] | None:
        """``x-amz-access-token: <RDT>`` for the call, or None to send the access token."""
        if self._refused:
            return None
        if self._token is None or self._clock() >= self._expires_at - 60:
            self._ask()
        return {"x-amz-access-token": self._token} if self._token else None

    def _ask(self) -> None:
        try:
            response = self._api.call(
                "POST",
                TOKENS_PATH,
                api="tokens",
                json={"restrictedResources": [RESTRICTED_ORDERS]},
            )
        except ChannelApiError as error:
            if error.status not in RDT_REFUSED:
                raise
            log.warning(
                "Amazon refused a restricted data token, orders come without PII: %s", error
            )
            self._refused, self._token = True, None
            return
        body = loads(response.content)
        self._token = str(body["restrictedDataToken"])
        self._expires_at = self._clock() + float(body.get("expiresIn", 3600))


def _items(api: ApiClient, order_id: str) -> Iterator[dict[str, Any]]:
    path = f"/orders/v0/orders/{quote(order_id)}/orderItems"
    params: dict[str, str] = {}
    while True:
        page = loads(api.call("GET", path, api="order_items", params=params).content)
        payload = page.get("payload", {})
        yield from payload.get("OrderItems", [])
        token = payload.get("NextToken")
        if not token:
            return
        params = {"NextToken": token}


def read_order(channel: str, order: dict[str, Any], items: list[dict[str, Any]]) -> ChannelOrder:
    payload = envelope(channel, order=dumps(order), items=dumps(items))
    external_id = text(order.get("AmazonOrderId"))
    item = channel_order(
        channel, SOURCE, external_id, payload, lambda: to_draft(channel, order, items)
    )
    if order.get("OrderStatus") == "Canceled":
        return replace(item, cancelled=True, cancel_reason="canceled on Amazon")
    return item


def parse(payload: str) -> OrderDraft:
    """A stored payload of either Orders API version (v2026-01-01 stores ``order_2026``)."""
    if "order_2026" in open_envelope(payload)[1]:
        return amazon_2026.parse(payload)
    channel, parts = open_envelope(payload)
    return to_draft(channel, loads(parts["order"]), loads(parts["items"]))


def _amount(item: dict[str, Any], name: str, currency: str) -> Money:
    value = item.get(name)
    if not value:
        return Money.zero(currency)
    if value.get("CurrencyCode", currency) != currency:
        raise ValueError(f"{name} is in {value.get('CurrencyCode')}, the order in {currency}")
    return money(value.get("Amount"), currency, field=name)


def _currency(order: dict[str, Any], items: list[dict[str, Any]]) -> str:
    total = order.get("OrderTotal") or {}
    for source in [total, *(i.get("ItemPrice") or {} for i in items)]:
        if source.get("CurrencyCode"):
            return str(source["CurrencyCode"])
    raise ValueError("the order carries no currency (no OrderTotal, no ItemPrice)")


def to_draft(channel: str, order: dict[str, Any], items: list[dict[str, Any]]) -> OrderDraft:
    currency = _currency(order, items)
    lines = []
    shipping = Shipping(Money.zero(currency), Money.zero(currency), Money.zero(currency))
    for item in items:
        qty = quantity(item.get("QuantityOrdered"), field="QuantityOrdered", positive=True)
        line_total = _amount(item, "ItemPrice", currency)  # unit price × quantity
        unit = unit_price_of(line_total, qty)
        rounding = unit * qty - line_total  # cents the unit price had to round up
        lines.append(
            LineDraft(
                sku=None,
                channel_sku=text(item.get("SellerSKU")),
                channel_line_id=text(item.get("OrderItemId")),
                name=text(item.get("Title")),
                quantity=qty,
                unit_price=unit,
                discount=_amount(item, "PromotionDiscount", currency) + rounding,
                tax=_amount(item, "ItemTax", currency),
            )
        )
        shipping = Shipping(
            price=shipping.price + _amount(item, "ShippingPrice", currency),
            tax=shipping.tax + _amount(item, "ShippingTax", currency),
            discount=shipping.discount + _amount(item, "ShippingDiscount", currency),
            method=text(order.get("ShipServiceLevel")),
        )
    ship_to = order.get("ShippingAddress") or {}
    buyer = order.get("BuyerInfo") or {}
    afn = order.get("FulfillmentChannel") == "AFN"
    metadata: dict[str, Any] = {
        "amazon_status": order.get("OrderStatus"),
        "marketplace_id": order.get("MarketplaceId"),
        "fulfillment_channel": order.get("FulfillmentChannel"),
        "latest_ship_date": order.get("LatestShipDate"),
        "is_prime": order.get("IsPrime") in (True, "true"),
        "fulfilled_by_marketplace": afn,
        "skip_allocation": afn,
    }
    if order.get("OrderTotal"):
        metadata["channel_total"] = str(order["OrderTotal"].get("Amount"))
    return OrderDraft(
        channel=channel,
        external_id=str(order["AmazonOrderId"]),
        currency=currency,
        placed_at=parse_iso(str(order["PurchaseDate"])),
        customer=Customer(email=text(buyer.get("BuyerEmail")), name=text(buyer.get("BuyerName"))),
        shipping_address=address(
            country=ship_to.get("CountryCode"),
            name=ship_to.get("Name"),
            line1=ship_to.get("AddressLine1"),
            line2=ship_to.get("AddressLine2"),
            city=ship_to.get("City"),
            region=ship_to.get("StateOrRegion"),
            postal_code=ship_to.get("PostalCode"),
            phone=ship_to.get("Phone"),
        ),
        billing_address=None,
        lines=tuple(lines),
        shipping=shipping,
        metadata=metadata,
    )


# --- outbound ------------------------------------------------------------------------------


def confirm_shipment(
    *,
    order_id: str,
    marketplace_id: str,
    tracking: Tracking,
    ship_date: datetime,
    items: list[tuple[str, int]],
    package_reference_id: str = "1",
    shipping_method: str | None = None,
) -> OutboundRequest:
    """``confirmShipment``: ``items`` are (OrderItemId, quantity) pairs in this package."""
    detail: dict[str, Any] = {
        "packageReferenceId": package_reference_id,
        "carrierCode": tracking.carrier,
        "trackingNumber": tracking.number,
        "shipDate": ship_date.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "orderItems": [{"orderItemId": i, "quantity": q} for i, q in items],
    }
    if shipping_method:
        detail["shippingMethod"] = shipping_method
    return OutboundRequest(
        "POST",
        f"/orders/v0/orders/{quote(order_id)}/shipmentConfirmation",
        {"marketplaceId": marketplace_id, "packageDetail": detail},
    )


def listings_quantity(
    *, seller_id: str, sku: str, marketplace_id: str, quantity: int, product_type: str = "PRODUCT"
) -> OutboundRequest:
    """``patchListingsItem`` replacing the merchant-fulfilled quantity of one SKU."""
    return OutboundRequest(
        "PATCH",
        f"/listings/2021-08-01/items/{quote(seller_id)}/{quote(sku, safe='')}"
        f"?marketplaceIds={quote(marketplace_id)}",
        {
            "productType": product_type,
            "patches": [
                {
                    "op": "replace",
                    "path": "/attributes/fulfillment_availability",
                    "value": [
                        {"fulfillment_channel_code": "DEFAULT", "quantity": max(0, quantity)}
                    ],
                }
            ],
        },
    )


def send(api: ApiClient, request: OutboundRequest) -> httpx.Response:
    kind = "shipment" if "shipmentConfirmation" in request.path else "listings"
    return api.call(request.method, request.path, api=kind, json=request.body)
