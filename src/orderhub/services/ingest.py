"""Ingest: a channel payload becomes an order exactly once, or waits whole in quarantine."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from orderhub.domain.catalog import resolve_skus
from orderhub.domain.errors import (
    FieldError,
    NormalizationProblem,
    NotNormalizable,
    ValidationFailed,
)
from orderhub.domain.orders import Order, OrderDraft, receive_order
from orderhub.services import sla
from orderhub.store.quarantine import QuarantineStatus
from orderhub.store.repositories import DuplicateOrder
from orderhub.store.unit_of_work import UnitOfWork

PayloadParser = Callable[[str], OrderDraft]


class Outcome(StrEnum):
    CREATED = "created"
    EXISTING = "existing"
    QUARANTINED = "quarantined"


@dataclass(frozen=True)
class IngestResult:
    outcome: Outcome
    order_id: str | None = None
    quarantine_id: str | None = None
    problem: NormalizationProblem | None = None


def ingest_order(uow: UnitOfWork, *, draft: OrderDraft, source: str, payload: str) -> IngestResult:
    """Create the order from ``draft``; idempotent on (channel, external id).

    ``payload`` is the channel's raw text, kept in quarantine if the draft cannot be normalized
    so that a replay after the fix starts from exactly what the channel sent.
    """
    if not uow.channels.exists(draft.channel):
        raise ValidationFailed(
            "unknown channel", [FieldError(("channel",), f"no channel {draft.channel!r}")]
        )

    def hold(problem: NormalizationProblem) -> str:
        return uow.quarantine.hold(
            channel=draft.channel,
            external_id=draft.external_id,
            source=source,
            payload=payload,
            problem=problem,
        )

    return _ingest(uow, draft, hold=hold)


def replay_quarantined(
    uow: UnitOfWork, *, entry_id: str, parsers: dict[str, PayloadParser]
) -> IngestResult:
    """Run a quarantined payload through ingest again, after the cause has been fixed."""
    entry = uow.quarantine.get(entry_id)
    if entry.status != QuarantineStatus.OPEN:
        if entry.order_id:
            return IngestResult(Outcome.EXISTING, order_id=entry.order_id)
        raise ValidationFailed(f"quarantine entry {entry_id} is {entry.status.value}")

    def still_failing(problem: NormalizationProblem) -> str:
        uow.quarantine.record_failed_replay(entry_id, problem)
        return entry_id

    return _ingest(
        uow,
        parsers[entry.source](entry.payload),
        hold=still_failing,
        created=lambda order_id: uow.quarantine.resolve(entry_id, order_id=order_id),
    )


def _ingest(
    uow: UnitOfWork,
    draft: OrderDraft,
    *,
    hold: Callable[[NormalizationProblem], str],
    created: Callable[[str], None] = lambda _order_id: None,
) -> IngestResult:
    existing = uow.orders.id_by_external(draft.channel, draft.external_id)
    if existing:
        created(existing)
        uow.commit()
        return IngestResult(Outcome.EXISTING, order_id=existing)
    try:
        order = add_order(uow, draft)
        created(order.id)
        uow.commit()
    except NotNormalizable as error:
        entry_id = hold(error.problem)
        uow.commit()
        return IngestResult(Outcome.QUARANTINED, quarantine_id=entry_id, problem=error.problem)
    except DuplicateOrder:
        # A concurrent request with the same natural key won: answer with its order.
        uow.rollback()
        winner = uow.orders.id_by_external(draft.channel, draft.external_id)
        if winner:
            created(winner)
            uow.commit()
        return IngestResult(Outcome.EXISTING, order_id=winner)
    return IngestResult(Outcome.CREATED, order_id=order.id)


def add_order(uow: UnitOfWork, draft: OrderDraft) -> Order:
    """Add ``draft`` as a received order in the caller's transaction, without committing, so a
    handler that must write more (an exchange's refund) writes all of it or nothing.

    Raises NotNormalizable (unknown SKU) before anything is written, and DuplicateOrder."""
    resolved = resolve_skus(draft, uow.catalog)
    order = receive_order(resolved, customer_id=uow.customers.resolve(resolved.customer))
    uow.orders.add(order)
    sla.stamp_order(uow, order=order)  # fulfilment: ship_by/deliver_by from the channel
    return order
