"""Outbound HTTP to channels: one client per channel, retries on 429 and 5xx.

``Retry-After`` (seconds or an HTTP date) is honoured, capped at ``max_delay``; otherwise the
wait doubles from ``base_delay``. Transport errors (refused, reset, timeout) are retried too.
Tests pass an ``httpx.MockTransport`` or point ``api_base_url`` at a local fake server.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from orderhub.channels.base import OutboundRequest
from orderhub.clock import utc_now
from orderhub.domain.channels import Channel, ChannelKind
from orderhub.http.outbound import outbound_client

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


def channel_client(
    channel: Channel, *, transport: httpx.BaseTransport | None = None, timeout: float = 20.0
) -> httpx.Client:
    """A client on the channel's ``api_base_url`` with the channel's own authentication."""
    if not channel.api_base_url:
        raise ValueError(f"channel {channel.code!r} has no api_base_url")
    creds = channel.credentials
    headers: dict[str, str] = {"Accept": "application/json", "User-Agent": "OrderHub"}
    auth: tuple[str, str] | None = None
    if channel.kind == ChannelKind.SHOPIFY:
        headers["X-Shopify-Access-Token"] = str(creds.get("access_token", ""))
    elif channel.kind == ChannelKind.WOOCOMMERCE:
        auth = (str(creds.get("consumer_key", "")), str(creds.get("consumer_secret", "")))
    elif channel.kind == ChannelKind.BIGCOMMERCE:
        headers["X-Auth-Token"] = str(creds.get("access_token", ""))
    elif channel.kind == ChannelKind.MAGENTO:
        headers["Authorization"] = f"Bearer {creds.get('access_token', '')}"
    return outbound_client(
        base_url=channel.api_base_url.rstrip("/"),
        headers=headers,
        auth=auth,
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
