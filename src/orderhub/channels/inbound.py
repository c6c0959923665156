"""Which connector reads a channel's webhooks, by the channel's kind."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta

import httpx

from orderhub.channels import bigcommerce, magento, shopify, tiktok, woocommerce
from orderhub.channels.api_client import resolve_credentials
from orderhub.channels.base import ChannelOrder, Delivery, WebhookRejected
from orderhub.channels.http import channel_client
from orderhub.domain.channels import Channel, ChannelKind
from orderhub.domain.errors import NotFound, ValidationFailed

_VERIFIERS = {
    ChannelKind.SHOPIFY: shopify.verify,
    ChannelKind.WOOCOMMERCE: woocommerce.verify,
    ChannelKind.BIGCOMMERCE: bigcommerce.verify,
}


def accepts_webhooks(channel: Channel) -> bool:
    return channel.kind in _VERIFIERS or channel.kind == ChannelKind.TIKTOK


def verify(channel: Channel, body: bytes, headers: Mapping[str, str]) -> None:
    """Raise ``WebhookRejected`` unless signed with the channel's ``webhook_secret``."""
    if channel.kind == ChannelKind.TIKTOK:
        _verify_tiktok(channel, body, headers)
        return
    if not channel.webhook_secret:
        raise WebhookRejected(f"channel {channel.code!r} has no webhook secret")
    _VERIFIERS[channel.kind](secret=channel.webhook_secret, body=body, headers=headers)


def delivery_of(channel: Channel, body: bytes, headers: Mapping[str, str]) -> Delivery:
    """The platform's id and time of a verified delivery, from where each platform puts them."""
    if channel.kind == ChannelKind.SHOPIFY:
        return shopify.delivery(headers)
    if channel.kind == ChannelKind.WOOCOMMERCE:
        return woocommerce.delivery(headers)
    if channel.kind == ChannelKind.BIGCOMMERCE:
        return bigcommerce.delivery(body)
    if channel.kind == ChannelKind.TIKTOK:
        return tiktok.delivery(body)
    return Delivery()


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
    if channel.kind == ChannelKind.SHOPIFY:
        return shopify.read_webhook(channel.code, body, headers)
    if channel.kind == ChannelKind.WOOCOMMERCE:
        return woocommerce.read_webhook(channel.code, body, headers)
    if channel.kind == ChannelKind.BIGCOMMERCE:
        with channel_client(channel, transport=transport) as client:
            return bigcommerce.read_webhook(channel.code, body, headers, client=client)
    if channel.kind == ChannelKind.TIKTOK:
        # One attempt: a failed fetch is a 503 and TikTok delivers the notification again.
        api = tiktok.client(channel, transport=transport, attempts=1, save_tokens=save_tokens)
        try:
            return tiktok.read_webhook(api, channel.code, body)
        finally:
            api.http.close()
    raise NotFound(f"channel {channel.code!r} ({channel.kind.value}) takes no webhooks")


def _verify_tiktok(channel: Channel, body: bytes, headers: Mapping[str, str]) -> None:
    """TikTok signs ``app_key + body`` with the app secret: ``webhook_secret`` when set (the
    same app secret), else the ``app_secret`` credential; ``app_key`` is a credential."""
    try:
        creds = resolve_credentials(channel.credentials)
    except ValidationFailed:
        raise WebhookRejected(f"channel {channel.code!r} has incomplete credentials") from None
    app_key = creds.get("app_key")
    secret = channel.webhook_secret or creds.get("app_secret")
    if not app_key or not secret:
        raise WebhookRejected(f"channel {channel.code!r} has no app_key or app secret")
    tiktok.verify(app_key=app_key, secret=secret, body=body, headers=headers)


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
