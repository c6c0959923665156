"""Generic HTTP 3PL: signed JSON to a configured URL out, signed JSON callbacks in.

Both directions carry ``X-OrderHub-Timestamp`` (Unix seconds) and ``X-OrderHub-Signature:
sha256=<hex>``, the HMAC-SHA256 of ``"<timestamp>.<raw body>"`` under the provider's secret.
Callbacks older than :data:`TOLERANCE` are refused (replays). Settings: ``url`` (required),
``timeout`` seconds (default 10). The wire format is in docs/fulfilment.md.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from orderhub.clock import utc_now
from orderhub.domain.fulfilment import FulfilmentOrder, TrackingStatus
from orderhub.fulfilment.base import (
    Accepted,
    Callback,
    DispatchRequest,
    DispatchResult,
    InvalidCallback,
    PermanentProviderError,
    ProviderError,
    ProviderUpdate,
    Rejected,
    Shipped,
    TrackingUpdate,
)

SIGNATURE_HEADER = "X-OrderHub-Signature"
TIMESTAMP_HEADER = "X-OrderHub-Timestamp"
TOLERANCE = timedelta(minutes=5)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def signed_headers(secret: str, body: bytes, now: datetime) -> dict[str, str]:
    timestamp = str(int(now.timestamp()))
    return {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(secret, timestamp, body),
    }


class HttpProvider:
    polled = False

    def __init__(
        self,
        code: str,
        *,
        url: str,
        secret: str,
        client: httpx.Client,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        if not secret:
            raise PermanentProviderError(f"provider {code!r} needs a secret to sign with")
        self.code = code
        self._url = url
        self._secret = secret
        self._client = client
        self._clock = clock

    # -- outbound --------------------------------------------------------------------------------
    def _post(self, payload: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        try:
            response = self._client.post(
                self._url, content=body, headers=signed_headers(self._secret, body, self._clock())
            )
        except httpx.HTTPError as error:
            raise ProviderError(f"{self.code}: {error.__class__.__name__}: {error}") from error
        if response.status_code >= 500 or response.status_code in (408, 409, 425, 429):
            raise ProviderError(f"{self.code} answered {response.status_code}")
        if response.status_code >= 400:
            raise PermanentProviderError(f"{self.code} refused: {response.status_code}")
        try:
            answer = response.json() if response.content else {}
        except ValueError as error:
            raise ProviderError(f"{self.code} answered with invalid JSON") from error
        return answer if isinstance(answer, dict) else {}

    def dispatch(self, request: DispatchRequest) -> DispatchResult:
        answer = self._post(
            {
                "type": "fulfilment.dispatch",
                "fulfilment_id": request.fulfilment_id,
                "order_id": request.order_id,
                "order_number": request.order_number,
                "channel": request.channel,
                "location": request.location,
                "placed_at": request.placed_at.isoformat(),
                "shipping_method": request.shipping_method,
                "customer": {"name": request.customer_name, "email": request.customer_email},
                "ship_to": request.ship_to.__dict__ if request.ship_to else None,
                "lines": [
                    {"line_id": x.line_id, "sku": x.sku, "quantity": x.quantity, "name": x.name}
                    for x in request.lines
                ],
            }
        )
        status = answer.get("status", "pending")
        accepted = {"accepted": True, "rejected": False}.get(status)
        return DispatchResult(
            external_ref=answer.get("reference"),
            accepted=accepted,
            reason=answer.get("reason"),
            stock_out=bool(answer.get("stock_out", False)),
        )

    def cancel(self, fulfilment: FulfilmentOrder) -> None:
        self._post(
            {
                "type": "fulfilment.cancel",
                "fulfilment_id": fulfilment.id,
                "reference": fulfilment.external_ref,
            }
        )

    def poll(
        self, open_fulfilments: Sequence[FulfilmentOrder], now: datetime
    ) -> list[ProviderUpdate]:
        return []  # push only: the 3PL calls back

    # -- inbound ---------------------------------------------------------------------------------
    def verify(self, callback: Callback) -> None:
        timestamp = callback.headers.get(TIMESTAMP_HEADER.lower(), "")
        signature = callback.headers.get(SIGNATURE_HEADER.lower(), "")
        expected = sign(self._secret, timestamp, callback.body)
        if not signature or not hmac.compare_digest(signature, expected):
            raise InvalidCallback("bad or missing signature")
        try:
            sent = datetime.fromtimestamp(int(timestamp), UTC)
        except (ValueError, OverflowError):
            raise InvalidCallback("bad timestamp") from None
        if abs(self._clock() - sent) > TOLERANCE:
            raise InvalidCallback("timestamp outside the tolerance (replayed?)")

    def handle_callback(self, callback: Callback) -> list[ProviderUpdate]:
        self.verify(callback)
        try:
            payload = json.loads(callback.body)
            events = payload.get("events", [payload])
            return [_update(event) for event in events]
        except (ValueError, KeyError, TypeError) as error:
            raise InvalidCallback(f"unreadable callback: {error}", unauthorized=False) from None


def _update(event: dict[str, Any]) -> ProviderUpdate:
    kind = event["type"]
    if kind == "accepted":
        return Accepted(event["fulfilment_id"])
    if kind == "rejected":
        return Rejected(
            event["fulfilment_id"], event.get("reason", "rejected"), bool(event.get("stock_out"))
        )
    if kind == "shipped":
        lines = event.get("lines")
        return Shipped(
            fulfilment_id=event["fulfilment_id"],
            carrier=event["carrier"],
            service=event.get("service"),
            tracking_number=event.get("tracking_number"),
            shipped_at=_aware(event["shipped_at"]),
            lines={x["line_id"]: int(x["quantity"]) for x in lines} if lines else None,
        )
    if kind == "tracking":
        return TrackingUpdate(
            tracking_number=event["tracking_number"],
            status=TrackingStatus(event["status"]),
            at=_aware(event["at"]),
            detail=event.get("detail"),
        )
    raise KeyError(f"unknown callback type {kind!r}")


def _aware(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"{value!r} needs a timezone")
    return parsed.astimezone(UTC)
