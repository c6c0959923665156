"""``POST /v1/channels/{code}/sync`` for the pull-style marketplaces (Amazon, eBay, Walmart,
Etsy, TikTok Shop): read what changed since the last complete window, now.

Merge note: the ``channels`` branch has the same path for Adobe Commerce in
``channel_webhooks.py``; the merged handler dispatches on the channel's kind and calls
:func:`orderhub.services.marketplace_sync.sync_marketplace` for these kinds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import httpx
from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel

from orderhub.api.deps import ContainerDep, require, visible_to
from orderhub.channels.api_client import ChannelApiError
from orderhub.domain.access import Permission
from orderhub.domain.errors import NotFound
from orderhub.services.marketplace_sync import sync_marketplace
from orderhub.store.access import Principal

router = APIRouter(prefix="/channels", tags=["channels"])

Syncer = Annotated[Principal, Depends(require(Permission.CHANNELS_WRITE))]


class SyncOut(BaseModel):
    since: datetime
    until: datetime
    counts: dict[str, int]


@router.post(
    "/{code}/sync",
    response_model=SyncOut,
    responses={502: {"description": "the marketplace's API failed; the window was kept"}},
)
def sync(code: str, principal: Syncer, container: ContainerDep) -> SyncOut:
    """Pull orders changed on the marketplace since the last complete window."""
    if not visible_to(principal, code):
        raise NotFound(f"channel {code!r} not found")
    transport: httpx.BaseTransport | None = getattr(container, "http_transport", None)
    try:
        report = sync_marketplace(
            lambda: container.uow(actor=principal.actor), channel=code, transport=transport
        )
    except (httpx.HTTPError, ChannelApiError) as error:
        raise HTTPException(502, f"the marketplace's API failed: {error}") from None
    return SyncOut(since=report.since, until=report.until, counts=report.counts)
