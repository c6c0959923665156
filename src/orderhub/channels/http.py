"""Outbound HTTP to channels: one client per channel, retries on 429 and 5xx.

``Retry-After`` (seconds or an HTTP date) is honoured, capped at ``max_delay``; otherwise the
wait doubles from ``base_delay``. Transport errors (refused, reset, timeout) are retried too.
Tests pass an ``httpx.MockTransport`` or point ``api_base_url`` at a local fake server.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from orderhub.channels.base import OutboundRequest
from orderhub.clock import utc_now
from orderhub.domain.channels import Channel, ChannelKind
from orderhub.http.outbound import outbound_client

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class _Auth:
    headers: dict[str, str] = field(default_factory=dict)
    basic: tuple[str, str] | None = None


def _token_header(name: str, prefix: str = "") -> Callable[[Mapping[str, Any]], _Auth]:
    return lambda creds: _Auth({name: f"{prefix}{creds.get('access_token', '')}"})


def _consumer_key(creds: Mapping[str, Any]) -> _Auth:
    return _Auth(basic=(str(creds.get("consumer_key", "")), str(creds.get("consumer_secret", ""))))


# How each storefront's API is authenticated (other kinds send no credentials this way).
_AUTH: dict[ChannelKind, Callable[[Mapping[str, Any]], _Auth]] = {
    ChannelKind.SHOPIFY: _token_header("X-Shopify-Access-Token"),
    ChannelKind.WOOCOMMERCE: _consumer_key,
    ChannelKind.BIGCOMMERCE: _token_header("X-Auth-Token"),
    ChannelKind.MAGENTO: _token_header("Authorization", "Bearer "),
}


def channel_client(
    channel: Channel, *, transport: httpx.BaseTransport | None = None, timeout: float = 20.0
) -> httpx.Client:
    """A client on the channel's ``api_base_url`` with the channel's own authentication."""
    if not channel.api_base_url:
        raise ValueError(f"channel {channel.code!r} has no api_base_url")
    auth = _AUTH[channel.kind](channel.credentials) if channel.kind in _AUTH else _Auth()
    headers = {"Accept": "application/json", "User-Agent": "OrderHub", **auth.headers}
    return outbound_client(
        base_url=channel.api_base_url.rstrip("/"),
        headers=headers,
        auth=auth.basic,
        timeout=timeout,
        transport=transport,
    )


def retry_after(response: httpx.Response, *, now: datetime | None = None) -> float | None:
    """Seconds to wait as the server asked, or None when it did not say."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - (now or utc_now())).total_seconds())


def send(
    client: httpx.Client,
    request: OutboundRequest,
    *,
    attempts: int = 4,
    base_delay: float = 0.5,
    max_delay: float = 60.0,
    sleep: Callable[[float], None] = time.sleep,
) -> httpx.Response:
    """Send with retries; the last response (or transport error) is the caller's to judge."""
    kwargs: dict[str, Any] = {}
    if request.body is not None:
        kwargs["json"] = request.body
    for attempt in range(1, attempts + 1):
        try:
            response = client.request(request.method, request.path, **kwargs)
        except httpx.TransportError:
            if attempt == attempts:
                raise
            sleep(min(max_delay, base_delay * 2 ** (attempt - 1)))
            continue
        if response.status_code not in RETRY_STATUSES or attempt == attempts:
            return response
        asked = retry_after(response)
        sleep(min(max_delay, asked if asked is not None else base_delay * 2 ** (attempt - 1)))
    raise AssertionError("unreachable")  # pragma: no cover
