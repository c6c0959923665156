"""The pull-style marketplaces by channel kind: how to build a client and pull a window."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, Protocol

import httpx

from orderhub.channels import amazon, ebay, etsy, tiktok, walmart
from orderhub.channels._shared import ChannelOrder
from orderhub.channels.api_client import ApiClient
from orderhub.domain.channels import Channel, ChannelKind


class Marketplace(Protocol):
    """What a marketplace module offers the polling service (module-level functions)."""

    SOURCE: str

    def client(
        self,
        channel: Channel,
        *,
        transport: httpx.BaseTransport | None = None,
        environ: dict[str, str] | None = None,
        **options: Any,
    ) -> ApiClient: ...

    def pull(
        self, api: ApiClient, channel: Channel, since: datetime, until: datetime
    ) -> Iterator[ChannelOrder]: ...


MODULES: dict[ChannelKind, Any] = {
    ChannelKind.AMAZON: amazon,
    ChannelKind.EBAY: ebay,
    ChannelKind.WALMART: walmart,
    ChannelKind.ETSY: etsy,
    ChannelKind.TIKTOK: tiktok,
}
KINDS = frozenset(MODULES)


def client(
    channel: Channel,
    *,
    save_tokens: Callable[[dict[str, str]], None] | None = None,
    **options: Any,
) -> ApiClient:
    """The channel's API client; ``save_tokens`` stores tokens the marketplace rotates
    (TikTok Shop's seller tokens; the others' access tokens are bought per process)."""
    if channel.kind == ChannelKind.TIKTOK:
        return tiktok.client(channel, save_tokens=save_tokens, **options)
    return module_for(channel).client(channel, **options)


def is_marketplace(channel: Channel) -> bool:
    return channel.kind in MODULES


def module_for(channel: Channel) -> Marketplace:
    module: Marketplace = MODULES[channel.kind]
    return module
