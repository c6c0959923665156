"""A sales channel as the hub sees it: its kind, its secrets and its promises."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit, urlunsplit


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
    # False: orders only come in. Nothing is sent back to the channel — no ship, stock,
    # acknowledge, cancel, refund or return call, no B2B document (docs/channels/outbound.md).
    sync_back: bool = True


def has_userinfo(url: str) -> bool:
    """Whether ``url`` carries a ``user:password@`` part (credentials belong elsewhere)."""
    return "@" in urlsplit(url).netloc


def without_userinfo(url: str) -> str:
    """``url`` for showing: a ``user:password@`` part becomes ``***@``."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]))
