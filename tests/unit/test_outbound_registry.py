"""The outbound adapter registry: every kind that had calls back keeps each of them, the
consumers subscribe to exactly those kinds, and a kind without an adapter is sent nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from orderhub.channels import marketplaces
from orderhub.domain.channels import Channel, ChannelKind
from orderhub.services import after_sale_sync, outbound
from orderhub.services.messagebus import Message
from orderhub.services.outbound import inventory, shipments
from orderhub.services.outbound.base import MarketplaceAdapter, StoreAdapter
from orderhub.services.outbound.registry import ADAPTERS, adapter_for
from tests.unit.test_outbound_calls import Fake, order_of, shipped

K = ChannelKind
STORES = {K.SHOPIFY, K.WOOCOMMERCE, K.BIGCOMMERCE, K.MAGENTO}
MARKETPLACES = {K.AMAZON, K.EBAY, K.WALMART, K.ETSY, K.TIKTOK}
WITHOUT = set(ChannelKind) - STORES - MARKETPLACES  # native, CSV, EDI X12, cXML

# Each kind's capabilities as the per-kind branches had them before the registry.
CAPABILITIES: dict[ChannelKind, set[str]] = {
    K.SHOPIFY: {"ship", "stock", "cancel", "refund", "edit"},
    K.WOOCOMMERCE: {"ship", "stock", "cancel", "refund", "edit", "return_note"},
    K.BIGCOMMERCE: {"ship", "stock", "cancel", "refund"},
    K.MAGENTO: {"ship", "stock", "cancel", "refund", "edit"},
    K.AMAZON: {"ship", "stock"},
    K.EBAY: {"ship", "stock"},
    K.WALMART: {"ship", "stock", "acknowledge"},
    K.ETSY: {"ship", "stock"},
    K.TIKTOK: {"ship", "stock"},
}
STOCK_NEEDS: dict[ChannelKind, tuple[str, ...]] = {
    K.SHOPIFY: ("inventory_item_id", "location_id"),
    K.WOOCOMMERCE: ("product_id",),
    K.BIGCOMMERCE: ("location_id",),
    K.MAGENTO: (),
    K.AMAZON: (),
    K.EBAY: (),
    K.WALMART: (),
    K.ETSY: ("listing_id",),
    K.TIKTOK: ("product_id", "sku_id"),
}
OPTIONAL = ("cancel", "refund", "edit", "return_note", "acknowledge")


def capabilities(kind: ChannelKind) -> set[str]:
    adapter = adapter_for(kind)
    assert adapter is not None
    return {"ship", "stock"} | {name for name in OPTIONAL if getattr(adapter, name, None)}


@pytest.mark.parametrize("kind", sorted(CAPABILITIES))
def test_every_kind_that_had_calls_back_has_an_adapter_for_each_of_them(kind: ChannelKind) -> None:
    assert capabilities(kind) == CAPABILITIES[kind]
    family = StoreAdapter if kind in STORES else MarketplaceAdapter
    assert isinstance(adapter_for(kind), family)
    assert inventory.REQUIRED[kind] == STOCK_NEEDS[kind]


def test_the_registry_lists_those_kinds_and_no_other() -> None:
    assert set(ADAPTERS) == set(CAPABILITIES)
    assert all(adapter_for(kind) is None for kind in WITHOUT)


def test_each_marketplace_adapter_has_a_marketplace_client_to_call_through() -> None:
    assert MARKETPLACES <= marketplaces.KINDS


def test_the_consumers_subscribe_to_the_kinds_they_did_before() -> None:
    kinds = {
        c.name: c.channel_kinds
        for c in [*outbound.consumers(lambda: None), *after_sale_sync.consumers()]
    }
    assert kinds == {
        "channels.b2b": {K.EDI_X12, K.CXML},
        "channels.ship": STORES | MARKETPLACES,
        "channels.stock": STORES | MARKETPLACES,
        "channels.acknowledge": {K.WALMART},
        "channels.edit": {K.SHOPIFY, K.WOOCOMMERCE, K.MAGENTO},
        "channels.cancel": STORES,
        "channels.refund": STORES,
        "channels.return_status": STORES,
    }


@pytest.mark.parametrize("kind", sorted(WITHOUT))
def test_a_kind_without_an_adapter_is_sent_nothing(kind: ChannelKind) -> None:
    channel = Channel("c", "C", kind, api_base_url="https://c.example.com")
    order = order_of("c", "EXT-1", [("101", 1)])
    fake = Fake()
    assert not shipments.mark_shipped(channel, order, shipped(order), fake.transport)
    everything = {"sku": "S", **{name: 1 for needs in STOCK_NEEDS.values() for name in needs}}
    assert not inventory.push_available(
        channel, sku="S", available=3, item=everything, transport=fake.transport
    )
    assert fake.requests == []

    uow: Any = SimpleNamespace(
        orders=SimpleNamespace(get=lambda _id: order),
        channels=SimpleNamespace(get=lambda _code: channel),
    )
    events = {
        "channels.acknowledge": {"channel": "c", "external_id": "EXT-1"},
        "channels.cancel": {"order_id": order.id, "reason": "fraud"},
        "channels.refund": {"order_id": order.id, "refund_id": "r1"},
        "channels.return_status": {"order_id": order.id, "return_id": "R1"},
        "channels.edit": {"order_id": order.id, "changes": {}},
    }
    for consumer in [*outbound.consumers(fake.transport), *after_sale_sync.consumers()]:
        if consumer.name in events:
            data = events[consumer.name]
            message = Message("e1", "any", "s", data, "user:x", datetime.now(UTC))
            assert consumer.prepare(uow, message) is None, consumer.name
