"""ShipStation (V1 API, ``https://ssapi.shipstation.com``): orders in, SHIP_NOTIFY webhooks out.

- Dispatch: ``POST /orders/createorder`` with ``orderKey`` = our fulfilment id (ShipStation
  updates instead of duplicating when the key repeats, so a retried dispatch is harmless) and
  ``lineItemKey`` = our order line id. HTTP Basic auth with the API key and secret.
- Update (an order edit's new address or method): ``createorder`` again, same ``orderKey``.
- Cancel: ``DELETE /orders/{orderId}``.
- Ship notification: ShipStation POSTs ``{"resource_url", "resource_type": "SHIP_NOTIFY"}``
  and signs nothing, so the webhook URL carries a token (``?token=<provider secret>``) that is
  checked in constant time, and ``resource_url`` must point at the configured API base before
  it is fetched (no request to a host a caller chose). The shipments page found there
  (``shipments[].orderKey``, ``trackingNumber``, ``carrierCode``, ``serviceCode``,
  ``shipmentItems[].lineItemKey``) becomes :class:`Shipped` updates; voided labels are skipped.

ShipStation V1 reports ``createDate`` in Pacific time without an offset; it is read as such.
Settings: ``api_key``, ``api_secret``, optional ``base_url``, ``store_id``.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Sequence
from datetime import UTC, datetime, time
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx

from orderhub.domain.fulfilment import FulfilmentOrder
from orderhub.fulfilment.base import (
    Callback,
    DispatchRequest,
    DispatchResult,
    InvalidCallback,
    PermanentProviderError,
    ProviderError,
    ProviderUpdate,
    Shipped,
)

DEFAULT_BASE_URL = "https://ssapi.shipstation.com"
SHIPSTATION_TIME = ZoneInfo("America/Los_Angeles")
SHIP_EVENTS = frozenset({"SHIP_NOTIFY", "ITEM_SHIP_NOTIFY"})


class ShipStationProvider:
    polled = False

    def __init__(
        self,
        code: str,
        *,
        api_key: str,
        api_secret: str,
        webhook_token: str | None,
        client: httpx.Client,
        base_url: str = DEFAULT_BASE_URL,
        store_id: int | None = None,
    ) -> None:
        self.code = code
        self._auth = httpx.BasicAuth(api_key, api_secret)
        self._token = webhook_token
        self._client = client
        self._base = base_url.rstrip("/")
        self._store_id = store_id

    def _call(self, method: str, url: str, payload: Any = None) -> Any:
        try:
            response = self._client.request(method, url, json=payload, auth=self._auth)
        except httpx.HTTPError as error:
            raise ProviderError(f"{self.code}: {error.__class__.__name__}: {error}") from error
        if response.status_code == 429 or response.status_code >= 500:
            raise ProviderError(f"ShipStation answered {response.status_code}")
        if response.status_code >= 400:
            raise PermanentProviderError(
                f"ShipStation refused {method} {url}: {response.status_code} {response.text[:200]}"
            )
        return response.json() if response.content else None

    def dispatch(self, request: DispatchRequest) -> DispatchResult:
        created = self._call("POST", f"{self._base}/orders/createorder", self._order(request))
        return DispatchResult(external_ref=str(created["orderId"]), accepted=True)

    def _order(self, request: DispatchRequest) -> dict[str, Any]:
        address = _address(request)
        order: dict[str, Any] = {
            "orderNumber": request.order_number,
            "orderKey": request.fulfilment_id,
            "orderDate": request.placed_at.astimezone(SHIPSTATION_TIME)
            .replace(tzinfo=None)
            .isoformat(timespec="seconds"),
            "orderStatus": "awaiting_shipment",
            "customerEmail": request.customer_email,
            "customerUsername": request.customer_email,
            "billTo": address,
            "shipTo": address,
            "requestedShippingService": request.shipping_method,
            "items": [
                {
                    "lineItemKey": x.line_id,
                    "sku": x.sku,
                    "name": x.name or x.sku,
                    "quantity": x.quantity,
                }
                for x in request.lines
            ],
            "advancedOptions": {"customField1": request.order_id, "source": request.channel},
        }
        if self._store_id is not None:
            order["advancedOptions"]["storeId"] = self._store_id
        return order

    def update(self, fulfilment: FulfilmentOrder, request: DispatchRequest) -> None:
        """``POST /orders/createorder`` again with the same ``orderKey``: ShipStation updates
        the order it holds instead of creating another (an order edit's new address or
        shipping method)."""
        self._call("POST", f"{self._base}/orders/createorder", self._order(request))

    def cancel(self, fulfilment: FulfilmentOrder) -> None:
        if fulfilment.external_ref:
            self._call("DELETE", f"{self._base}/orders/{fulfilment.external_ref}")

    def poll(
        self, open_fulfilments: Sequence[FulfilmentOrder], now: datetime
    ) -> list[ProviderUpdate]:
        return []  # SHIP_NOTIFY pushes; the shipments list could be polled by date if needed

    def handle_callback(self, callback: Callback) -> list[ProviderUpdate]:
        token = callback.query.get("token", "")
        if not self._token or not hmac.compare_digest(token.encode(), self._token.encode()):
            raise InvalidCallback("bad or missing webhook token")
        try:
            payload = json.loads(callback.body)
            resource_url = str(payload["resource_url"])
            resource_type = str(payload["resource_type"])
        except (ValueError, KeyError, TypeError):
            raise InvalidCallback("not a ShipStation webhook", unauthorized=False) from None
        if resource_type not in SHIP_EVENTS:
            return []
        if not _same_origin(resource_url, self._base):
            raise InvalidCallback("resource_url does not point at the configured ShipStation API")
        return [update for page in self._pages(resource_url) for update in _shipped(page)]

    def _pages(self, resource_url: str) -> list[dict[str, Any]]:
        first = self._call("GET", resource_url)
        pages = [first]
        for number in range(2, int(first.get("pages") or 1) + 1):
            pages.append(self._call("GET", f"{resource_url}&page={number}"))
        return pages


def _same_origin(url: str, base: str) -> bool:
    a, b = urlsplit(url), urlsplit(base)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)


def _address(request: DispatchRequest) -> dict[str, Any]:
    to = request.ship_to
    return {
        "name": (to.name if to else None) or request.customer_name,
        "company": to.company if to else None,
        "street1": to.line1 if to else None,
        "street2": to.line2 if to else None,
        "city": to.city if to else None,
        "state": to.region if to else None,
        "postalCode": to.postal_code if to else None,
        "country": to.country if to else None,
        "phone": to.phone if to else None,
    }


def _shipped(page: dict[str, Any]) -> list[ProviderUpdate]:
    updates: list[ProviderUpdate] = []
    for shipment in page.get("shipments") or []:
        if shipment.get("voided") or not shipment.get("orderKey"):
            continue
        items = shipment.get("shipmentItems")
        lines: dict[str, int] | None = None
        if items:
            lines = {}
            for item in items:
                key = item.get("lineItemKey")
                if key:
                    lines[key] = lines.get(key, 0) + int(item["quantity"])
        updates.append(
            Shipped(
                fulfilment_id=shipment["orderKey"],
                carrier=shipment.get("carrierCode") or "unknown",
                service=shipment.get("serviceCode"),
                tracking_number=shipment.get("trackingNumber"),
                shipped_at=_shipped_at(shipment),
                lines=lines or None,
            )
        )
    return updates


def _shipped_at(shipment: dict[str, Any]) -> datetime:
    created = shipment.get("createDate")
    if created:
        local = datetime.fromisoformat(created[:19])  # ".1000000": 7 fraction digits
        return local.replace(tzinfo=SHIPSTATION_TIME).astimezone(UTC)
    day = datetime.fromisoformat(shipment["shipDate"]).date()
    return datetime.combine(day, time(12), tzinfo=SHIPSTATION_TIME).astimezone(UTC)
