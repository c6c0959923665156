"""Orders reported by a channel (webhook, pull, file): create, update or cancel, exactly once.

The natural key (channel, external id) makes every path idempotent: a repeated delivery of a
new order finds it; a repeated update changes nothing; a repeated cancellation finds the order
cancelled already. What cannot be normalized waits whole in quarantine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from orderhub.channels.base import ChannelOrder
from orderhub.domain.channel_updates import record_channel_update
from orderhub.domain.errors import IllegalTransition, NormalizationProblem, ValidationFailed
from orderhub.domain.orders import OrderDraft, OrderStatus
from orderhub.services.ingest import Incoming, IngestResult, Outcome, ingest_batch
from orderhub.services.orders import cancel_order
from orderhub.store.unit_of_work import UnitOfWork


class ChannelOutcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    CANCELLED = "cancelled"
    QUARANTINED = "quarantined"


@dataclass(frozen=True)
class ChannelResult:
    external_id: str | None
    outcome: ChannelOutcome
    order_id: str | None = None
    quarantine_id: str | None = None


def receive_channel_order(uow: UnitOfWork, *, item: ChannelOrder) -> ChannelResult:
    """Apply one order as the channel reports it; commits."""
    return receive_batch(uow, [item])[0]


def _update(uow: UnitOfWork, order_id: str, item: ChannelOrder) -> ChannelResult:
    assert item.draft is not None
    external_id = item.draft.external_id
    metadata = dict(item.draft.metadata)
    order = uow.orders.get(order_id, for_update=True)
    if item.cancelled and order.status != OrderStatus.CANCELLED:
        try:
            order.cancel(reason=item.cancel_reason)
        except IllegalTransition as error:
            metadata["channel_cancel_refused"] = error.detail
        else:
            record_channel_update(order, metadata)
            uow.commit()
            return ChannelResult(external_id, ChannelOutcome.CANCELLED, order_id)
    if record_channel_update(order, metadata):
        uow.commit()
        return ChannelResult(external_id, ChannelOutcome.UPDATED, order_id)
    return ChannelResult(external_id, ChannelOutcome.UNCHANGED, order_id)


def _hold(uow: UnitOfWork, item: ChannelOrder, problem: NormalizationProblem) -> ChannelResult:
    entry_id = uow.quarantine.hold(
        channel=item.channel,
        external_id=item.external_id,
        source=item.source,
        payload=item.payload,
        problem=problem,
    )
    uow.commit()
    return ChannelResult(item.external_id, ChannelOutcome.QUARANTINED, quarantine_id=entry_id)


def receive_all(
    uow_factory: Callable[[], UnitOfWork], items: Iterable[ChannelOrder]
) -> list[ChannelResult]:
    """Every order of a delivery or a file, through :func:`receive_batch`."""
    with uow_factory() as uow:
        return receive_batch(uow, list(items))


def receive_batch(uow: UnitOfWork, items: Sequence[ChannelOrder]) -> list[ChannelResult]:
    """Apply many orders as the channel reports them, each as :func:`receive_channel_order`
    would; commits.

    The new ones are created by one batch ingest (one transaction; one bad order does not hold
    back the others); then each that existed already, or that the channel has cancelled, is
    updated or cancelled on its own.
    """
    results: list[ChannelResult | None] = [None] * len(items)
    drafted: list[tuple[int, ChannelOrder, OrderDraft]] = []
    for index, item in enumerate(items):
        if item.draft is None:
            problem = item.problem or NormalizationProblem("not normalizable")
            results[index] = _hold(uow, item, problem)
        else:
            drafted.append((index, item, item.draft))
    ingested = ingest_batch(
        uow, [Incoming(draft, item.source, item.payload) for _, item, draft in drafted]
    )
    for (index, item, draft), result in zip(drafted, ingested, strict=True):
        results[index] = _after_ingest(uow, item, draft, result)
    return [result for result in results if result is not None]


def _after_ingest(
    uow: UnitOfWork, item: ChannelOrder, draft: OrderDraft, result: IngestResult
) -> ChannelResult:
    if isinstance(result.error, ValidationFailed):  # the hub's rules: wait in quarantine
        return _hold(uow, item, NormalizationProblem(result.error.detail, result.error.fields))
    if result.error is not None:
        raise result.error
    if result.outcome == Outcome.QUARANTINED:
        return ChannelResult(
            draft.external_id, ChannelOutcome.QUARANTINED, quarantine_id=result.quarantine_id
        )
    assert result.order_id is not None
    if result.outcome == Outcome.CREATED:
        if item.cancelled:
            cancel_order(uow, order_id=result.order_id, reason=item.cancel_reason)
        return ChannelResult(draft.external_id, ChannelOutcome.CREATED, result.order_id)
    return _update(uow, result.order_id, item)
