"""Channel kinds → their outbound adapters: the one place a channel's calls back are registered.

The consumers (ship, stock, acknowledge, and the after-sale ones in
:mod:`orderhub.services.after_sale_sync`) look a channel's adapter up here, and the kinds each
consumer subscribes to follow from it. A kind not listed (native, CSV; EDI and cXML, which get
documents from :mod:`orderhub.services.outbound.b2b`) has nothing sent back.
"""

from __future__ import annotations

from orderhub.domain.channels import ChannelKind
from orderhub.services.outbound import marketplace_adapters as marketplace
from orderhub.services.outbound import store_adapters as store
from orderhub.services.outbound.base import Adapter, MarketplaceAdapter, StoreAdapter

ADAPTERS: dict[ChannelKind, Adapter] = {
    ChannelKind.SHOPIFY: store.SHOPIFY,
    ChannelKind.WOOCOMMERCE: store.WOOCOMMERCE,
    ChannelKind.BIGCOMMERCE: store.BIGCOMMERCE,
    ChannelKind.MAGENTO: store.MAGENTO,
    ChannelKind.AMAZON: marketplace.AMAZON,
    ChannelKind.EBAY: marketplace.EBAY,
    ChannelKind.WALMART: marketplace.WALMART,
    ChannelKind.ETSY: marketplace.ETSY,
    ChannelKind.TIKTOK: marketplace.TIKTOK,
}

STORE_ADAPTERS: dict[ChannelKind, StoreAdapter] = {
    kind: adapter for kind, adapter in ADAPTERS.items() if isinstance(adapter, StoreAdapter)
}
MARKETPLACE_ADAPTERS: dict[ChannelKind, MarketplaceAdapter] = {
    kind: adapter for kind, adapter in ADAPTERS.items() if isinstance(adapter, MarketplaceAdapter)
}


def adapter_for(kind: ChannelKind) -> Adapter | None:
    """The kind's adapter; None: nothing is sent back to channels of this kind."""
    return ADAPTERS.get(kind)
