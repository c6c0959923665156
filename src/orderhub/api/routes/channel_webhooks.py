"""Channel inbound: signed webhooks pushed by the channel, and pull-style sync on request.

Webhooks are authenticated by the channel's own signature with the channel's
``webhook_secret``, not by an API key: a bad signature is a 401 problem and nothing is stored.
An unknown channel code, an inactive channel and one that takes no webhooks answer the very same
401, so that the endpoint does not tell which codes exist; the reason is logged.
Deliveries repeat; every repeat answers 200 without creating anything twice. A delivery whose
platform id (``X-Shopify-Event-Id``/``X-Shopify-Webhook-Id``, ``X-WC-Webhook-Delivery-ID``,
BigCommerce's ``hash`` and ``created_at``, TikTok's ``tts_notification_id``) was acted upon
before answers 200 with ``duplicate: true`` and no results; one whose platform time
(``X-Shopify-Triggered-At``, BigCommerce's ``created_at``, TikTok's ``timestamp``) is older than
``Settings.webhook_max_age_hours`` (or ahead by more than the clock skew) is refused with the
same 401 as a bad signature.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Annotated, NoReturn

import httpx
from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from orderhub.api.deps import ContainerDep, require, visible_to
from orderhub.bootstrap import Container
from orderhub.channels import inbound
from orderhub.channels.api_client import ChannelApiError
from orderhub.channels.base import WebhookRejected
from orderhub.domain.access import Permission
from orderhub.domain.channels import Channel
from orderhub.domain.errors import NotFound
from orderhub.http.outbound import failure_text
from orderhub.services.channel_orders import ChannelResult, receive_all
from orderhub.services.channel_sync import sync_now
from orderhub.services.marketplace_sync import credential_saver
from orderhub.store.access import Principal

router = APIRouter(prefix="/channels", tags=["channels"])
log = logging.getLogger("orderhub.api.webhooks")

Syncer = Annotated[Principal, Depends(require(Permission.CHANNELS_WRITE))]


class ChannelResultOut(BaseModel):
    external_id: str | None
    outcome: str
    order_id: str | None = None
    quarantine_id: str | None = None

    @classmethod
    def of(cls, result: ChannelResult) -> ChannelResultOut:
        return cls(
            external_id=result.external_id,
            outcome=result.outcome.value,
            order_id=result.order_id,
            quarantine_id=result.quarantine_id,
        )


class WebhookOut(BaseModel):
    results: list[ChannelResultOut]
    duplicate: bool = False  # this delivery id was acted upon before: nothing was done now


class SyncOut(BaseModel):
    since: datetime | None
    cursor: datetime | None = None  # Adobe Commerce: the newest channel-side updated_at seen
    until: datetime | None = None  # marketplaces: the end of the window read completely
    counts: dict[str, int]


@router.post(
    "/{code}/webhooks",
    response_model=WebhookOut,
    responses={
        401: {"description": "the signature does not match, or no such channel takes webhooks"},
        503: {"description": "fetching the order from the channel failed: deliver again"},
    },
)
async def receive_webhook(code: str, request: Request, container: ContainerDep) -> WebhookOut:
    """A channel's own webhook payload (Shopify, WooCommerce, BigCommerce, TikTok Shop),
    signed by it."""
    body = await request.body()
    return await run_in_threadpool(_receive, container, code, body, request.headers)


def _receive(
    container: Container, code: str, body: bytes, headers: Mapping[str, str]
) -> WebhookOut:
    with container.uow(read_only=True) as uow:
        channel = uow.channels.get(code) if uow.channels.exists(code) else None
    if channel is None or not channel.active or not inbound.accepts_webhooks(channel):
        _reject(code, "no active channel with this code takes webhooks")
    try:
        inbound.verify(channel, body, headers)
    except WebhookRejected as error:
        _reject(code, str(error))
    delivery = inbound.delivery_of(channel, body, headers)
    settings, now = container.settings, container.clock()
    too_old = inbound.stale(
        delivery,
        now=now,
        max_age=timedelta(hours=settings.webhook_max_age_hours),
        skew=timedelta(seconds=settings.webhook_clock_skew_seconds),
    )
    if too_old:
        _reject(code, f"delivery {delivery.id or '(no id)'} {too_old}")
    if delivery.id is not None and not _claim(container, code, delivery.id, now):
        log.info("webhook for channel %r: delivery %s seen before", code, delivery.id)
        return WebhookOut(results=[], duplicate=True)
    try:
        return _act(container, code, channel, body, headers)
    except BaseException:
        if delivery.id is not None:  # the platform's retry must not look like a repeat
            with container.uow(actor=f"channel:{code}") as uow:
                uow.webhook_receipts.release(code, delivery.id)
                uow.commit()
        raise


def _claim(container: Container, code: str, delivery_id: str, now: datetime) -> bool:
    """Record the delivery id; False when it was recorded before (a repeat)."""
    keep = timedelta(hours=container.settings.webhook_max_age_hours + 24)
    with container.uow(actor=f"channel:{code}") as uow:
        fresh = uow.webhook_receipts.claim(code, delivery_id, now=now, keep=keep)
        uow.commit()
    return fresh


def _act(
    container: Container, code: str, channel: Channel, body: bytes, headers: Mapping[str, str]
) -> WebhookOut:
    try:
        items = inbound.read_webhook(
            channel,
            body,
            headers,
            transport=container.outbound_transport(),
            save_tokens=credential_saver(lambda: container.uow(actor=f"channel:{code}"), code),
        )
    except (httpx.HTTPError, ChannelApiError) as error:
        # The channel will deliver again; a 503 tells it to.
        log.warning("webhook for channel %r: fetching the order failed: %s", code, error)
        raise HTTPException(
            503, f"could not fetch the order from the channel: {failure_text(error)}"
        ) from None
    results = receive_all(lambda: container.uow(actor=f"channel:{code}"), items)
    return WebhookOut(results=[ChannelResultOut.of(r) for r in results])


def _reject(code: str, reason: str) -> NoReturn:
    """One answer for every refusal: it names no reason, so it reveals no channel."""
    log.warning("webhook for channel %r rejected: %s", code, reason)
    raise HTTPException(401, "webhook signature rejected")


@router.post(
    "/{code}/sync",
    response_model=SyncOut,
    responses={502: {"description": "the channel's API failed; the cursor was kept"}},
)
def sync(code: str, principal: Syncer, container: ContainerDep) -> SyncOut:
    """Pull orders changed since the last sync from a pull-style channel (Adobe Commerce and
    the marketplaces: Amazon, eBay, Walmart, Etsy, TikTok Shop)."""
    if not visible_to(principal, code):
        raise NotFound(f"channel {code!r} not found")
    with container.uow(read_only=True) as uow:
        channel = uow.channels.get(code)
    try:
        run = sync_now(
            lambda: container.uow(actor=principal.actor),
            channel,
            transport=container.outbound_transport(),
        )
    except (httpx.HTTPError, ChannelApiError) as error:
        log.warning("sync of channel %r failed: %s", code, error)
        raise HTTPException(502, f"the channel's API failed: {failure_text(error)}") from None
    return SyncOut(since=run.since, cursor=run.cursor, until=run.until, counts=run.counts)
