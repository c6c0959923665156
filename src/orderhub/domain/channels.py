"""A sales channel as the hub sees it: its kind, its secrets and its promises."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class ChannelKind(StrEnum):
    NATIVE = "native"
    SHOPIFY = "shopify"
    WOOCOMMERCE = "woocommerce"
    BIGCOMMERCE = "bigcommerce"
    MAGENTO = "magento"
    AMAZON = "amazon"
    EBAY = "ebay"
    WALMART = "walmart"
    ETSY = "etsy"
    TIKTOK = "tiktok"
    EDI_X12 = "edi_x12"
    CXML = "cxml"
    CSV = "csv"


@dataclass
class Channel:
    code: str
    name: str
    kind: ChannelKind
    webhook_secret: str | None = None
    api_base_url: str | None = None
    credentials: dict[str, Any] = field(default_factory=dict)
    safety_stock: int = 0
    sla: dict[str, Any] = field(default_factory=dict)
    locations_allowed: list[str] | None = None  # None: every location may serve it
    settings: dict[str, Any] = field(default_factory=dict)
    active: bool = True
