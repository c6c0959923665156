"""Orders reported by a channel (webhook, pull, file): create, update or cancel, exactly once.

The natural key (channel, external id) makes every path idempotent: a repeated delivery of a
new order finds it; a repeated update changes nothing; a repeated cancellation finds the order
cancelled already. What cannot be normalized waits whole in quarantine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from orderhub.channels.base import ChannelOrder
from orderhub.domain.channel_updates import record_channel_update
from orderhub.domain.errors import IllegalTransition, NormalizationProblem, ValidationFailed
from orderhub.domain.orders import OrderStatus
from orderhub.services.ingest import Outcome, ingest_order
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
    if item.draft is None:
        return _hold(uow, item, item.problem or NormalizationProblem("not normalizable"))
    draft = item.draft
    existing = uow.orders.id_by_external(draft.channel, draft.external_id)
    if existing is None:
        try:
            result = ingest_order(uow, draft=draft, source=item.source, payload=item.payload)
        except ValidationFailed as error:
            uow.rollback()
            return _hold(uow, item, NormalizationProblem(error.detail, error.fields))
        if result.outcome == Outcome.QUARANTINED:
            return ChannelResult(
                draft.external_id, ChannelOutcome.QUARANTINED, quarantine_id=result.quarantine_id
            )
        assert result.order_id is not None
        if result.outcome == Outcome.CREATED:
            if item.cancelled:
                cancel_order(uow, order_id=result.order_id, reason=item.cancel_reason)
            return ChannelResult(draft.external_id, ChannelOutcome.CREATED, result.order_id)
        existing = result.order_id  # a concurrent delivery created it first
    return _update(uow, existing, item)


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
    """Each order in its own transaction: one bad order does not hold back the others."""
    results = []
    for item in items:
        with uow_factory() as uow:
            results.append(receive_channel_order(uow, item=item))
    return results
