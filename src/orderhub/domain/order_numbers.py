"""The channel's own order number, the one customers and operators quote.

Shopify shows ``#1042`` while its API id is ``5123456789``; WooCommerce and Adobe Commerce have
their own ``number``/``increment_id``. The hub keeps each in ``orders.order_number`` so the
dashboard can show and search it (prefix, any case) instead of the hub's time-ordered ids.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Metadata keys the channel adapters store their order number under, most specific first.
NUMBER_KEYS = ("name", "number", "increment_id")


def order_number(external_id: str, metadata: Mapping[str, Any] | None) -> str:
    """The number the channel shows for an order: its metadata's ``name`` (Shopify's ``#1042``),
    ``number`` (WooCommerce) or ``increment_id`` (Adobe Commerce), else the external id."""
    for key in NUMBER_KEYS:
        value = (metadata or {}).get(key)
        if key == "name" and not (isinstance(value, str) and value.startswith("#")):
            continue  # only Shopify's "#1042" style; other adapters' names are not numbers
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            return str(value).strip()[:200]
    return external_id


def search_prefixes(query: str) -> list[str]:
    """The lower-case prefixes a search box entry is tried as: ``#1042`` and ``1042`` each also
    as the other, so either spelling finds Shopify's ``#1042`` and WooCommerce's ``1042``."""
    text = query.strip().lower()
    if not text:
        return []
    bare = text.lstrip("#").strip()
    found = [text]
    if bare and bare != text:
        found.append(bare)
    elif bare:
        found.append(f"#{bare}")
    return found


def prefix_bounds(prefix: str) -> tuple[str, str]:
    """``[low, high)`` holding exactly the strings that start with ``prefix`` in code-point
    (byte) order, the order of a binary or ``COLLATE "C"`` index: a range the index answers."""
    last = prefix[-1]
    if ord(last) >= 0x10FFFF:  # cannot be incremented; such a search is absurd anyway
        return prefix, prefix + "\U0010ffff"
    following = ord(last) + 1
    if 0xD800 <= following <= 0xDFFF:  # surrogates are not characters: skip to U+E000
        following = 0xE000
    return prefix, prefix[:-1] + chr(following)
