"""Which connector reads a channel's webhooks, by the channel's kind (:data:`READERS`, one
:class:`WebhookReader` per platform), and which channels are pulled instead (Magento)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import httpx

from orderhub.channels import bigcommerce, magento, shopify, tiktok, woocommerce
from orderhub.channels.api_client import resolve_credentials
from orderhub.channels.base import ChannelOrder, Delivery, WebhookRejected
from orderhub.channels.http import channel_client
from orderhub.domain.channels import Channel, ChannelKind
from orderhub.domain.errors import NotFound, ValidationFailed


class WebhookReader(Protocol):
    """One platform's webhooks: checked, dated, and read into orders."""

    def verify(self, channel: Channel, body: bytes, headers: Mapping[str, str]) -> None:
        """Raise ``WebhookRejected`` unless the platform signed ``body`` for ``channel``."""

    def delivery(self, body: bytes, headers: Mapping[str, str]) -> Delivery:
        """The platform's id and time of the delivery, from where it puts them."""

    def read(
        self, channel: Channel, body: bytes, headers: Mapping[str, str], calls: Calls
    ) -> list[ChannelOrder]:
        """The orders the delivery reports (fetched first where the webhook is thin)."""


@dataclass(frozen=True)
class Calls:
    """What reading a thin webhook may call the platform with."""

    transport: httpx.BaseTransport | None = None
    save_tokens: Callable[[dict[str, str]], None] | None = None


def _secret(channel: Channel) -> str:
    if not channel.webhook_secret:
        raise WebhookRejected(f"channel {channel.code!r} has no webhook secret")
    return channel.webhook_secret


class _SignedPush(Protocol):
    """What Shopify's and WooCommerce's modules offer: the whole order in a signed push,
    its id and time in the headers."""

    def verify(self, *, secret: str, body: bytes, headers: Mapping[str, str]) -> None: ...

    def delivery(self, headers: Mapping[str, str]) -> Delivery: ...

    def read_webhook(
        self, channel: str, body: bytes, headers: Mapping[str, str]
    ) -> list[ChannelOrder]: ...


class _WholeOrderPush:
    """A platform that pushes the whole order (Shopify, WooCommerce): nothing to fetch."""

    def __init__(self, platform: _SignedPush) -> None:
        self._platform = platform

    def verify(self, channel: Channel, body: bytes, headers: Mapping[str, str]) -> None:
        self._platform.verify(secret=_secret(channel), body=body, headers=headers)

    def delivery(self, body: bytes, headers: Mapping[str, str]) -> Delivery:
        return self._platform.delivery(headers)

    def read(
        self, channel: Channel, body: bytes, headers: Mapping[str, str], calls: Calls
    ) -> list[ChannelOrder]:
        return self._platform.read_webhook(channel.code, body, headers)


class _BigCommerce:
    def verify(self, channel: Channel, body: bytes, headers: Mapping[str, str]) -> None:
        bigcommerce.verify(secret=_secret(channel), body=body, headers=headers)

    def delivery(self, body: bytes, headers: Mapping[str, str]) -> Delivery:
        return bigcommerce.delivery(body)

    def read(
        self, channel: Channel, body: bytes, headers: Mapping[str, str], calls: Calls
    ) -> list[ChannelOrder]:
        with channel_client(channel, transport=calls.transport) as client:
            return bigcommerce.read_webhook(channel.code, body, headers, client=client)


class _TikTok:
    def verify(self, channel: Channel, body: bytes, headers: Mapping[str, str]) -> None:
        """TikTok signs ``app_key + body`` with the app secret: ``webhook_secret`` when set
        (the same app secret), else the ``app_secret`` credential; ``app_key`` is a
        credential."""
        try:
            creds = resolve_credentials(channel.credentials)
        except ValidationFailed:
            raise WebhookRejected(f"channel {channel.code!r} has incomplete credentials") from None
        app_key = creds.get("app_key")
        secret = channel.webhook_secret or creds.get("app_secret")
        if not app_key or not secret:
            raise WebhookRejected(f"channel {channel.code!r} has no app_key or app secret")
        tiktok.verify(app_key=app_key, secret=secret, body=body, headers=headers)

    def delivery(self, body: bytes, headers: Mapping[str, str]) -> Delivery:
        return tiktok.delivery(body)

    def read(
        self, channel: Channel, body: bytes, headers: Mapping[str, str], calls: Calls
    ) -> list[ChannelOrder]:
        # One attempt: a failed fetch is a 503 and TikTok delivers the notification again.
        api = tiktok.client(
            channel, transport=calls.transport, attempts=1, save_tokens=calls.save_tokens
        )
        try:
            return tiktok.read_webhook(api, channel.code, body)
        finally:
            api.http.close()


# The one place that says which kinds take webhooks, and who reads them.
READERS: dict[ChannelKind, WebhookReader] = {
    ChannelKind.SHOPIFY: _WholeOrderPush(shopify),
    ChannelKind.WOOCOMMERCE: _WholeOrderPush(woocommerce),
    ChannelKind.BIGCOMMERCE: _BigCommerce(),
    ChannelKind.TIKTOK: _TikTok(),
}


def accepts_webhooks(channel: Channel) -> bool:
    return channel.kind in READERS


def verify(channel: Channel, body: bytes, headers: Mapping[str, str]) -> None:
    """Raise ``WebhookRejected`` unless signed with the channel's secret."""
    _reader(channel).verify(channel, body, headers)


def delivery_of(channel: Channel, body: bytes, headers: Mapping[str, str]) -> Delivery:
    """The platform's id and time of a verified delivery, from where each platform puts them."""
    return _reader(channel).delivery(body, headers)


def _reader(channel: Channel) -> WebhookReader:
    reader = READERS.get(channel.kind)
    if reader is None:
        raise NotFound(f"channel {channel.code!r} ({channel.kind.value}) takes no webhooks")
    return reader


def stale(delivery: Delivery, *, now: datetime, max_age: timedelta, skew: timedelta) -> str | None:
    """Why a delivery is too old (or dated in the future) to act upon, or None.

    Platforms retry for up to 72 hours (TikTok Shop; BigCommerce and Shopify for less), so a
    delivery older than ``max_age`` is a replay, not a retry; ``skew`` allows for clocks.
    """
    if delivery.sent_at is None:
        return None
    if delivery.sent_at < now - max_age:
        return f"sent at {delivery.sent_at.isoformat()}, older than {max_age}"
    if delivery.sent_at > now + skew:
        return f"sent at {delivery.sent_at.isoformat()}, in the future"
    return None


def read_webhook(
    channel: Channel,
    body: bytes,
    headers: Mapping[str, str],
    *,
    transport: httpx.BaseTransport | None = None,
    save_tokens: Callable[[dict[str, str]], None] | None = None,
) -> list[ChannelOrder]:
    """The orders a verified delivery reports (fetching them first for thin webhooks);
    ``save_tokens`` stores a TikTok seller token refreshed on the way."""
    return _reader(channel).read(channel, body, headers, Calls(transport, save_tokens))


def accepts_sync(channel: Channel) -> bool:
    return channel.kind == ChannelKind.MAGENTO


def pull_orders(
    channel: Channel, since: datetime | None, *, transport: httpx.BaseTransport | None = None
) -> Iterator[ChannelOrder]:
    """Orders changed on a pull-style channel since ``since`` (oldest first)."""
    if channel.kind != ChannelKind.MAGENTO:
        raise NotFound(f"channel {channel.code!r} ({channel.kind.value}) cannot be pulled")
    page_size = int(channel.settings.get("sync_page_size", magento.PAGE_SIZE))
    with channel_client(channel, transport=transport) as client:
        for raw in magento.fetch_updated(client, since, page_size=page_size):
            yield magento.read_order(channel.code, raw)


def updated_at(item: ChannelOrder) -> datetime | None:
    return magento.updated_at(item)
