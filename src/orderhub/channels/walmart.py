"""Walmart Marketplace: released purchase orders in; acknowledge, ship, cancel and stock out.

In: ``GET /v3/orders/released`` (orders Walmart has released for fulfilment) with
``createdStartDate``/``createdEndDate``, paged by following ``meta.nextCursor`` verbatim. One
customer order (``customerOrderId``) can be split into several *purchase orders*; each purchase
order is acknowledged, shipped and cancelled on its own, so each becomes one hub order
(external id = ``purchaseOrderId``, the customer order id in metadata).

Money is JSON numbers (read exactly with ``parse_float=Decimal``); a ``PRODUCT`` charge is
taken as the line's amount for its quantity (Walmart lines almost always have quantity "1"),
``SHIPPING`` charges add to the order's shipping, their ``tax`` to line/shipping tax, negative
or ``DISCOUNT`` charges are discounts. Quantities are strings; dates are epoch milliseconds;
countries are ISO alpha-3 ("USA"). Status is per line: an order whose lines are all
``Cancelled`` is reported cancelled.

Auth: client credentials (``POST /v3/token``, basic auth) → ``WM_SEC.ACCESS_TOKEN``; every call
carries ``WM_SVC.NAME`` and a fresh ``WM_QOS.CORRELATION_ID``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
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
    from_epoch,
    iso_z,
    loads,
    money,
    open_envelope,
    quantity,
    text,
    unit_price_of,
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
from orderhub.domain.money import Money
from orderhub.domain.orders import Customer, LineDraft, OrderDraft, Shipping
from orderhub.http.outbound import outbound_client

SOURCE = "walmart"
PAGE_SIZE = 200
RELEASE_LOOKBACK = 2 * 24 * 3600  # seconds
RATES = {"orders": (1.0, 10), "inventory": (1.0, 10)}
_ALPHA3 = {"USA": "US", "CAN": "CA", "MEX": "MX", "CHL": "CL", "PRI": "PR"}


def client(
    channel: Channel,
    *,
    transport: httpx.BaseTransport | None = None,
    environ: dict[str, str] | None = None,
    **options: Any,
) -> ApiClient:
    creds = resolve_credentials(channel.credentials, environ)
    client_id, client_secret = require(creds, "client_id", "client_secret")
    base = (channel.api_base_url or "https://marketplace.walmartapis.com").rstrip("/")
    http = outbound_client(
        base_url=base,
        transport=transport,
        timeout=30.0,
        headers={
            "Accept": "application/json",
            "WM_SVC.NAME": "Walmart Marketplace",
            "WM_QOS.CORRELATION_ID": str(uuid.uuid4()),
        },
    )
    refresh = shared_refresh(
        channel.code,
        lambda: OAuthRefresh(
            f"{base}/v3/token",
            {"grant_type": "client_credentials"},
            basic_auth=(client_id, client_secret),
        ),
    )

    def authorize(request: httpx.Request) -> None:
        request.headers["WM_SEC.ACCESS_TOKEN"] = refresh.token(http)
        request.headers["WM_QOS.CORRELATION_ID"] = str(uuid.uuid4())

    buckets = {api: shared_bucket(channel.code, api, *rate) for api, rate in RATES.items()}
    return ApiClient(http, buckets, authorize, **options)


def pull(
    api: ApiClient, channel: Channel, since: datetime, until: datetime
) -> Iterator[ChannelOrder]:
    """Released purchase orders created in [since − release lookback, until], by ``nextCursor``.

    Walmart filters released orders by *creation* date, and releases an order only after its
    fraud check — minutes or hours after creation. Reading just the polling window would miss
    an order created in one window and released after that window was read, so the start goes
    back ``release_lookback_seconds`` (default two days); ingest dedupes what is read again.
    """
    lookback = timedelta(
        seconds=float(channel.settings.get("release_lookback_seconds", RELEASE_LOOKBACK))
    )
    url = "/v3/orders/released"
    params: dict[str, Any] | None = {
        "createdStartDate": iso_z(min(since, until - lookback)),
        "createdEndDate": iso_z(until),
        "limit": PAGE_SIZE,
    }
    while True:
        page = loads(api.call("GET", url, api="orders", params=params).content)
        listing = page.get("list") or {}
        for order in (listing.get("elements") or {}).get("order", []):
            yield read_order(channel.code, order)
        cursor = (listing.get("meta") or {}).get("nextCursor")
        if not cursor:
            return
        url, params = f"/v3/orders/released{cursor}", None  # the cursor is a query string


def read_order(channel: str, order: dict[str, Any]) -> ChannelOrder:
    payload = envelope(channel, order=dumps(order))
    external_id = text(order.get("purchaseOrderId"))
    item = channel_order(channel, SOURCE, external_id, payload, lambda: to_draft(channel, order))
    statuses = [_status(line) for line in _lines(order)]
    if statuses and all(s == "Cancelled" for s in statuses):
        return replace(item, cancelled=True, cancel_reason="cancelled on Walmart")
    return item


def parse(payload: str) -> OrderDraft:
    channel, parts = open_envelope(payload)
    return to_draft(channel, loads(parts["order"]))


def _lines(order: dict[str, Any]) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = (order.get("orderLines") or {}).get("orderLine") or []
    return lines


def _status(line: dict[str, Any]) -> str | None:
    statuses = (line.get("orderLineStatuses") or {}).get("orderLineStatus") or []
    return str(statuses[-1].get("status")) if statuses else None


def _charges(line: dict[str, Any]) -> list[dict[str, Any]]:
    charges: list[dict[str, Any]] = (line.get("charges") or {}).get("charge") or []
    return charges


def _currency(order: dict[str, Any]) -> str:
    for line in _lines(order):
        for charge in _charges(line):
            code = (charge.get("chargeAmount") or {}).get("currency")
            if code:
                return str(code)
    raise ValueError("no charge carries a currency")


def _amount(value: dict[str, Any] | None, currency: str, name: str) -> Money:
    if not value:
        return Money.zero(currency)
    if value.get("currency", currency) != currency:
        raise ValueError(f"{name} is in {value.get('currency')}, the order in {currency}")
    return money(value.get("amount"), currency, field=name)


def _country(value: Any) -> str | None:
    code = text(value)
    if code is None or len(code) == 2:
        return code
    if code.upper() not in _ALPHA3:
        raise ValueError(f"unknown country {code!r}")
    return _ALPHA3[code.upper()]


def to_draft(channel: str, order: dict[str, Any]) -> OrderDraft:
    currency = _currency(order)
    zero = Money.zero(currency)
    lines: list[LineDraft] = []
    ship_price, ship_tax, ship_discount = zero, zero, zero
    for line in _lines(order):
        qty = quantity((line.get("orderLineQuantity") or {}).get("amount"), positive=True)
        gross, discount, tax = zero, zero, zero
        for charge in _charges(line):
            amount = _amount(charge.get("chargeAmount"), currency, "chargeAmount")
            charge_tax = _amount((charge.get("tax") or {}).get("taxAmount"), currency, "tax")
            kind = str(charge.get("chargeType", "")).upper()
            if amount.amount < 0 or kind == "DISCOUNT":
                discount = discount + Money(abs(amount.amount), currency)
                tax = tax - Money(abs(charge_tax.amount), currency)
            elif kind == "PRODUCT":
                gross, tax = gross + amount, tax + charge_tax
            elif kind == "SHIPPING":
                ship_price, ship_tax = ship_price + amount, ship_tax + charge_tax
            else:
                raise ValueError(f"unhandled Walmart chargeType {kind!r}")
        unit = unit_price_of(gross, qty)
        item = line.get("item") or {}
        lines.append(
            LineDraft(
                sku=None,
                channel_sku=text(item.get("sku")),
                channel_line_id=text(line.get("lineNumber")),
                name=text(item.get("productName")),
                quantity=qty,
                unit_price=unit,
                discount=discount + (unit * qty - gross),
                tax=tax,
            )
        )
    info = order.get("shippingInfo") or {}
    postal = info.get("postalAddress") or {}
    return OrderDraft(
        channel=channel,
        external_id=str(order["purchaseOrderId"]),
        currency=currency,
        placed_at=from_epoch(order["orderDate"], millis=True),
        customer=Customer(email=text(order.get("customerEmailId")), name=text(postal.get("name"))),
        shipping_address=address(
            country=_country(postal.get("country")),
            name=postal.get("name"),
            line1=postal.get("address1"),
            line2=postal.get("address2"),
            city=postal.get("city"),
            region=postal.get("state"),
            postal_code=postal.get("postalCode"),
            phone=info.get("phone"),
        ),
        billing_address=None,
        lines=tuple(lines),
        shipping=Shipping(ship_price, ship_tax, ship_discount, text(info.get("methodCode"))),
        metadata={
            "customer_order_id": order.get("customerOrderId"),
            "walmart_order_type": order.get("orderType"),
            "ship_node_type": (order.get("shipNode") or {}).get("type"),
            "estimated_ship_date": _epoch_iso(info.get("estimatedShipDate")),
            "line_statuses": {str(line.get("lineNumber")): _status(line) for line in _lines(order)},
        },
    )


def _epoch_iso(value: Any) -> str | None:
    return None if value is None else from_epoch(value, millis=True).isoformat()


# --- outbound ------------------------------------------------------------------------------


def acknowledge(purchase_order_id: str) -> OutboundRequest:
    return OutboundRequest("POST", f"/v3/orders/{quote(purchase_order_id)}/acknowledge")


def ship_lines(
    *,
    purchase_order_id: str,
    lines: list[tuple[str, int]],
    tracking: Tracking,
    shipped_at: datetime,
    method_code: str = "Standard",
) -> OutboundRequest:
    """Mark (lineNumber, quantity) pairs shipped with tracking; quantities go as strings."""
    ship_ms = int(shipped_at.timestamp() * 1000)
    tracking_info: dict[str, Any] = {
        "shipDateTime": ship_ms,
        "carrierName": {"carrier": tracking.carrier},
        "methodCode": method_code,
        "trackingNumber": tracking.number,
    }
    if tracking.url:
        tracking_info["trackingURL"] = tracking.url
    return OutboundRequest(
        "POST",
        f"/v3/orders/{quote(purchase_order_id)}/shipping",
        {
            "orderShipment": {
                "orderLines": {
                    "orderLine": [
                        {
                            "lineNumber": number,
                            "orderLineStatuses": {
                                "orderLineStatus": [
                                    {
                                        "status": "Shipped",
                                        "statusQuantity": {
                                            "unitOfMeasurement": "EACH",
                                            "amount": str(qty),
                                        },
                                        "trackingInfo": tracking_info,
                                    }
                                ]
                            },
                        }
                        for number, qty in lines
                    ]
                }
            }
        },
    )


def cancel_lines(
    *,
    purchase_order_id: str,
    lines: list[tuple[str, int]],
    reason: str = "CUSTOMER_REQUESTED_SELLER_TO_CANCEL",
) -> OutboundRequest:
    return OutboundRequest(
        "POST",
        f"/v3/orders/{quote(purchase_order_id)}/cancel",
        {
            "orderCancellation": {
                "orderLines": {
                    "orderLine": [
                        {
                            "lineNumber": number,
                            "orderLineStatuses": {
                                "orderLineStatus": [
                                    {
                                        "status": "Cancelled",
                                        "cancellationReason": reason,
                                        "statusQuantity": {
                                            "unitOfMeasurement": "EA",
                                            "amount": str(qty),
                                        },
                                    }
                                ]
                            },
                        }
                        for number, qty in lines
                    ]
                }
            }
        },
    )


def inventory(*, sku: str, quantity: int) -> OutboundRequest:
    """``PUT /v3/inventory?sku=…`` with the available quantity."""
    return OutboundRequest(
        "PUT",
        f"/v3/inventory?sku={quote(sku, safe='')}",
        {"sku": sku, "quantity": {"unit": "EACH", "amount": max(0, quantity)}},
    )


def send(api: ApiClient, request: OutboundRequest) -> httpx.Response:
    kind = "inventory" if request.path.startswith("/v3/inventory") else "orders"
    return api.call(request.method, request.path, api=kind, json=request.body)
