"""Pull-style sync: read what changed on the channel since the cursor, apply it, move on.

The cursor is the newest channel-side ``updated_at`` seen. Each run asks from the cursor minus
an overlap window (clocks and transactions on the channel are not perfectly ordered), so orders
read twice are expected: :func:`receive_channel_order` makes them no-ops. The cursor moves only
after the whole run went through; a failed fetch leaves it where it was.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx

from orderhub.channels import inbound
from orderhub.channels.base import ChannelOrder
from orderhub.channels.marketplaces import is_marketplace
from orderhub.domain.channels import Channel
from orderhub.domain.errors import FieldError, ValidationFailed
from orderhub.services.channel_orders import receive_channel_order
from orderhub.services.marketplace_sync import sync_marketplace
from orderhub.store.unit_of_work import UnitOfWork

DEFAULT_OVERLAP = timedelta(minutes=10)


@dataclass(frozen=True)
class SyncReport:
    since: datetime | None
    cursor: datetime | None
    counts: dict[str, int]


def sync_channel(
    uow_factory: Callable[[], UnitOfWork],
    *,
    channel: str,
    fetch: Callable[[datetime | None], Iterable[ChannelOrder]],
    updated_at: Callable[[ChannelOrder], datetime | None],
    overlap: timedelta = DEFAULT_OVERLAP,
) -> SyncReport:
    """One sync run of ``channel``; each order in its own transaction, the cursor last."""
    with uow_factory() as uow:
        cursor = uow.sync_cursors.get(channel)
    since = cursor - overlap if cursor else None
    counts: Counter[str] = Counter()
    newest = cursor
    try:
        for item in fetch(since):
            with uow_factory() as uow:
                result = receive_channel_order(uow, item=item)
            counts[result.outcome.value] += 1
            seen = updated_at(item)
            if seen is not None and (newest is None or seen > newest):
                newest = seen
    except Exception as error:  # kept for the channel page's error history, then raised
        with uow_factory() as uow:
            uow.sync_cursors.record_error(channel, repr(error))
            uow.commit()
        raise
    with uow_factory() as uow:
        uow.sync_cursors.advance(channel, newest, dict(counts))
        uow.commit()
    return SyncReport(since, newest, dict(counts))


@dataclass(frozen=True)
class SyncRun:
    """One sync run on request: ``cursor`` for Adobe Commerce (the newest channel-side
    ``updated_at`` seen), ``until`` for the marketplaces (the end of the window read whole)."""

    since: datetime | None
    counts: dict[str, int]
    cursor: datetime | None = None
    until: datetime | None = None


def sync_now(
    uow_factory: Callable[[], UnitOfWork],
    channel: Channel,
    *,
    transport: httpx.BaseTransport | None,
) -> SyncRun:
    """One sync run of a pull channel now, as the API and the dashboard ask for it.

    A channel that pushes its orders, or one with no API address to pull from, is refused
    before anything is called or recorded (the marketplaces have their public hosts).
    """
    if is_marketplace(channel):
        window = sync_marketplace(uow_factory, channel=channel.code, transport=transport)
        return SyncRun(since=window.since, until=window.until, counts=window.counts)
    if not inbound.accepts_sync(channel):
        raise ValidationFailed(
            "this channel is not pull-style",
            [FieldError(("kind",), f"{channel.kind.value} channels push their orders")],
        )
    if not channel.api_base_url:
        raise ValidationFailed(
            f"channel {channel.code!r} has no API address to pull from",
            [FieldError(("api_base_url",), f"set it (PATCH /v1/channels/{channel.code}) first")],
        )
    overlap = channel.settings.get("sync_overlap_seconds")
    report = sync_channel(
        uow_factory,
        channel=channel.code,
        fetch=lambda since: inbound.pull_orders(channel, since, transport=transport),
        updated_at=inbound.updated_at,
        overlap=timedelta(seconds=int(overlap)) if overlap is not None else DEFAULT_OVERLAP,
    )
    return SyncRun(since=report.since, cursor=report.cursor, counts=report.counts)
