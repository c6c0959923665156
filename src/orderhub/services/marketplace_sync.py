"""Polling the marketplaces: read each channel window by window, miss nothing, repeat nothing.

A run reads orders *updated* in ``[since, until)`` where ``until`` is now minus a lag (the
marketplace's own clock and its late commits) and ``since`` is the end of the last window read
completely, minus an overlap (clock skew between us and them). Every order goes through ingest
in its own transaction, and ingest is idempotent on (channel, external id), so the overlap and
any re-run after a crash only find orders that exist already. The window end is stored only
after the whole window went through: a crash mid-window (after some pages) leaves it where it
was, and the next run reads that window again — losing nothing, duplicating nothing.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import httpx

from orderhub.channels import marketplaces
from orderhub.channels._shared import ChannelOrder
from orderhub.clock import utc_now
from orderhub.domain.errors import FieldError, NormalizationProblem, ValidationFailed
from orderhub.domain.orders import OPEN_STATUSES
from orderhub.services.ingest import Outcome, ingest_order
from orderhub.services.orders import cancel_order
from orderhub.store.unit_of_work import UnitOfWork

DEFAULT_INTERVAL = timedelta(minutes=5)
DEFAULT_OVERLAP = timedelta(minutes=15)
DEFAULT_LAG = timedelta(minutes=2)  # Amazon refuses LastUpdatedBefore later than now − 2 min
DEFAULT_LOOKBACK = timedelta(days=3)  # the first run of a new channel
MAX_BACKOFF = timedelta(hours=1)


@dataclass(frozen=True)
class SyncReport:
    channel: str
    since: datetime
    until: datetime
    counts: dict[str, int]


def _seconds(settings: dict[str, Any], name: str, default: timedelta) -> timedelta:
    value = settings.get(name)
    return timedelta(seconds=float(value)) if value is not None else default


def sync_marketplace(
    uow_factory: Callable[[], UnitOfWork],
    *,
    channel: str,
    transport: httpx.BaseTransport | None = None,
    clock: Callable[[], datetime] = utc_now,
    sleep: Callable[[float], None] = time.sleep,
    environ: dict[str, str] | None = None,
) -> SyncReport:
    """One polling run of a marketplace channel; raises after recording a failed run."""
    with uow_factory() as uow:
        record = uow.channels.get(channel)
        state = uow.marketplace_sync.get(channel)
    if not marketplaces.is_marketplace(record):
        raise ValidationFailed(
            "this channel is not a pull-style marketplace",
            [FieldError(("kind",), f"{record.kind.value} cannot be polled here")],
        )
    settings = record.settings
    now = clock()
    until = now - _seconds(settings, "sync_lag_seconds", DEFAULT_LAG)
    if state.window_end is not None:
        since = state.window_end - _seconds(settings, "sync_overlap_seconds", DEFAULT_OVERLAP)
    else:
        since = now - _seconds(settings, "initial_lookback_seconds", DEFAULT_LOOKBACK)
    interval = _seconds(settings, "poll_interval_seconds", DEFAULT_INTERVAL)
    module = marketplaces.module_for(record)
    counts: Counter[str] = Counter()
    try:
        api = marketplaces.client(
            record,
            transport=transport,
            environ=environ,
            sleep=sleep,
            save_tokens=credential_saver(uow_factory, channel),
        )
        with api.http:
            for item in module.pull(api, record, since, until):
                with uow_factory() as uow:
                    counts[receive(uow, item)] += 1
    except Exception as error:
        backoff = min(MAX_BACKOFF, interval * 2 ** min(state.failures, 5))
        with uow_factory() as uow:
            uow.marketplace_sync.failed(
                channel, error=repr(error), ran_at=now, next_run_at=now + backoff
            )
            uow.sync_cursors.record_error(channel, repr(error))
            uow.commit()
        raise
    with uow_factory() as uow:
        uow.marketplace_sync.succeeded(
            channel, window_end=until, ran_at=now, next_run_at=now + interval, result=dict(counts)
        )
        uow.commit()
    return SyncReport(channel, since, until, dict(counts))


def credential_saver(
    uow_factory: Callable[[], UnitOfWork], code: str
) -> Callable[[dict[str, str]], None]:
    """Stores tokens a marketplace refreshed (TikTok Shop rotates them) with the channel's
    credentials — sealed like every credential — in a transaction of their own."""

    def save(tokens: dict[str, str]) -> None:
        with uow_factory() as uow:
            channel = uow.channels.get(code)
            uow.channels.save(replace(channel, credentials={**channel.credentials, **tokens}))
            uow.commit()

    return save


def receive(uow: UnitOfWork, item: ChannelOrder) -> str:
    """Apply one pulled order; commits. Returns what happened (created, existing, …)."""
    if item.draft is None:
        uow.quarantine.hold(
            channel=item.channel,
            external_id=item.external_id,
            source=item.source,
            payload=item.payload,
            problem=item.problem or NormalizationProblem("not normalizable"),
        )
        uow.commit()
        return Outcome.QUARANTINED.value
    existing = uow.orders.id_by_external(item.channel, item.draft.external_id)
    if existing is None:
        try:
            result = ingest_order(uow, draft=item.draft, source=item.source, payload=item.payload)
        except ValidationFailed as error:
            uow.rollback()
            uow.quarantine.hold(
                channel=item.channel,
                external_id=item.external_id,
                source=item.source,
                payload=item.payload,
                problem=NormalizationProblem(error.detail, error.fields),
            )
            uow.commit()
            return Outcome.QUARANTINED.value
        if result.outcome != Outcome.CREATED or not item.cancelled or result.order_id is None:
            return result.outcome.value
        existing = result.order_id
    elif not item.cancelled:
        return Outcome.EXISTING.value
    order = uow.orders.get(existing)
    if item.cancelled and order.status in OPEN_STATUSES:
        cancel_order(uow, order_id=existing, reason=item.cancel_reason)
        return "cancelled"
    return Outcome.EXISTING.value


def due_channels(uow_factory: Callable[[], UnitOfWork], *, now: datetime) -> list[str]:
    with uow_factory() as uow:
        return uow.marketplace_sync.due({k.value for k in marketplaces.KINDS}, now)


def poll_due(
    uow_factory: Callable[[], UnitOfWork],
    *,
    transport: httpx.BaseTransport | None = None,
    clock: Callable[[], datetime] = utc_now,
    sleep: Callable[[float], None] = time.sleep,
    environ: dict[str, str] | None = None,
) -> dict[str, SyncReport | str]:
    """The polling schedule's tick (for a worker loop): sync every channel that is due.

    One channel's failure is recorded on its state (with backoff) and does not stop the others.
    """
    results: dict[str, SyncReport | str] = {}
    for code in due_channels(uow_factory, now=clock()):
        try:
            results[code] = sync_marketplace(
                uow_factory,
                channel=code,
                transport=transport,
                clock=clock,
                sleep=sleep,
                environ=environ,
            )
        except Exception as error:  # recorded on the channel's sync state by sync_marketplace
            results[code] = repr(error)
    return results
