"""Shared helpers for channel tests: fixture files, signatures, a seeded set of channels."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from orderhub.bootstrap import Container
from orderhub.clock import utc_now
from orderhub.domain.catalog import Product
from orderhub.domain.channels import Channel, ChannelKind
from orderhub.domain.orders import OrderDraft, Totals, receive_order

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "channels"
SECRET = "shpss_test_secret_0123456789"


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


PRODUCTS = [
    "SHIRT-RED", "MUG-1", "SAMPLE-1", "GIFTCARD-50", "TEE-BLK", "CAP-1", "IPOD-NANO", "BAR-3",
    "WOO-SINGLE", "S-ORAN", "ABS", "WS12-M-Orange", "24-MB01", "FREE-STICKER", "TSHIRT-BLK-M",
    "MUG-LOGO", "CAP-NAVY",
]  # fmt: skip

CHANNELS = [
    Channel("shop", "Shopify store", ChannelKind.SHOPIFY, webhook_secret=SECRET,
            api_base_url="https://shop.example.test", credentials={"access_token": "shpat_x"}),
    Channel("woo", "WooCommerce store", ChannelKind.WOOCOMMERCE, webhook_secret=SECRET,
            api_base_url="https://woo.example.test"),
    Channel("bc", "BigCommerce store", ChannelKind.BIGCOMMERCE, webhook_secret=SECRET,
            api_base_url="https://api.bigcommerce.test/stores/abc123",
            credentials={"access_token": "bc-token"}),
    Channel("mage", "Adobe Commerce", ChannelKind.MAGENTO,
            api_base_url="https://mage.example.test/rest/default",
            credentials={"access_token": "mage-token"}),
    Channel("partner", "Distributor CSV", ChannelKind.CSV),
]  # fmt: skip

SKU_MAPS = {
    "shop": {"variant:40003": "GIFTCARD-50", "IPOD2008PINK": "IPOD-NANO"},
    "woo": {"product:93": "WOO-SINGLE", "Bar3": "BAR-3"},
    "partner": {"DIST-0001": "TSHIRT-BLK-M"},
}


def seed_channels(container: Container, *, skip_maps: bool = False) -> None:
    with container.uow(actor="test") as uow:
        for channel in CHANNELS:
            uow.channels.add(channel)
        for sku in PRODUCTS:
            uow.catalog.upsert(Product(sku, sku.title(), 100))
        if not skip_maps:
            for code, mapping in SKU_MAPS.items():
                for channel_sku, sku in mapping.items():
                    uow.catalog.map_sku(code, channel_sku, sku)
        uow.commit()


def totals_of(draft: OrderDraft) -> Totals:
    """The hub's totals for a draft, as if every channel SKU were a master SKU."""
    lines = tuple(replace(line, sku=line.channel_sku) for line in draft.lines)
    return receive_order(replace(draft, lines=lines)).totals


def sent_now(body: str, *, delivery_id: str | None = None, age: timedelta = timedelta()) -> str:
    """A fixture webhook body dated now (minus ``age``): TikTok's ``timestamp`` and
    BigCommerce's ``created_at``, which the hub checks; ``delivery_id`` replaces the platform's
    id for the delivery (``tts_notification_id``, BigCommerce's ``hash``)."""
    stamp = int((utc_now() - age).timestamp())
    body = re.sub(r'"(timestamp|created_at)": \d+', rf'"\1": {stamp}', body)
    if delivery_id is not None:
        body = re.sub(r'"(tts_notification_id|hash)": "[^"]*"', rf'"\1": "{delivery_id}"', body)
    return body
