"""Exchanges: an inspected return settled with a replacement order instead of money.

The returned units are refunded as a credit (a ``refund`` entry on the original order's
ledger, with the channel's return fees), the replacement is ingested as a native order on the
same channel with ``metadata.exchange_for``, and its ledger opens with a ``charge`` of its
total. The buyer pays the difference when it is positive and is refunded it when negative.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from orderhub.clock import utc_now
from orderhub.domain.errors import IllegalTransition, ValidationFailed
from orderhub.domain.money import Money
from orderhub.domain.orders import LineDraft, Order, OrderDraft, Shipping
from orderhub.domain.returns import ReturnStatus
from orderhub.services.ingest import Outcome, ingest_order
from orderhub.services.refunds import issue_refund
from orderhub.store.after_sale import LedgerEntry
from orderhub.store.unit_of_work import UnitOfWork

SOURCE = "exchange"


@dataclass(frozen=True)
class ExchangeResult:
    order_id: str
    credit: Money
    difference: Money  # > 0 charged to the buyer, < 0 refunded to them


def _draft(order: Order, return_id: str, lines: Sequence[tuple[str, int, str, str]]) -> OrderDraft:
    c = order.currency
    zero = Money.zero(c)
    return OrderDraft(
        channel=order.channel,
        external_id=f"{order.external_id}-X-{return_id}",
        currency=c,
        placed_at=utc_now(),
        customer=order.customer,
        shipping_address=order.shipping_address,
        billing_address=order.billing_address,
        lines=tuple(
            LineDraft(sku, quantity, Money.of(Decimal(price), c), zero, Money.of(Decimal(tax), c))
            for sku, quantity, price, tax in lines
        ),
        shipping=Shipping(zero, zero, zero, order.shipping.method),
        prices_include_tax=order.prices_include_tax,
        metadata={"exchange_for": order.id, "return_id": return_id},
    )


def exchange(
    uow: UnitOfWork, *, return_id: str, lines: Sequence[tuple[str, int, str, str]]
) -> ExchangeResult:
    """Replacement order for the inspected return ``return_id``; commits. ``lines`` are
    (sku, quantity, unit price, tax) of what the buyer gets instead."""
    order_id = uow.after_sale.get_return(return_id).rma.order_id
    order = uow.orders.get(order_id, for_update=True)
    rma = uow.after_sale.get_return(return_id).rma
    if rma.status != ReturnStatus.INSPECTED:
        raise IllegalTransition("return", rma.status.value, "exchanged")
    draft = _draft(order, rma.id, lines)
    uow.rollback()
    result = ingest_order(uow, draft=draft, source=SOURCE, payload=json.dumps({"return": rma.id}))
    if result.outcome == Outcome.QUARANTINED or result.order_id is None:
        uow.rollback()
        raise ValidationFailed("the replacement order cannot be created")
    replacement = uow.orders.get(result.order_id)
    order = uow.orders.get(order_id, for_update=True)
    record = uow.after_sale.get_return(return_id)  # again, under the lock
    rma = record.rma
    if rma.status != ReturnStatus.INSPECTED:
        raise IllegalTransition("return", rma.status.value, "exchanged")
    now = utc_now()
    credit = issue_refund(
        uow,
        order=order,
        units={line.order_line_id: line.quantity for line in rma.lines},
        reason=f"exchange: credited to order {replacement.id}",
        is_return=True,
        return_id=rma.id,
        now=now,
    ).amount
    rma.exchange_order_id = replacement.id
    rma.mark_refunded(amount=credit)
    uow.after_sale.save_return(rma, now=now)
    order.events.extend(rma.events)
    rma.events.clear()
    difference = replacement.totals.total - credit
    settled = "charged" if not difference.is_negative() else "refunded"
    if not uow.after_sale.entries(replacement.id):
        uow.after_sale.add_entry(
            replacement.id,
            LedgerEntry(
                "charge",
                replacement.totals.total.minor,
                replacement.currency,
                order.id,
                f"exchange for {order.id}: {credit} credited, difference {difference} {settled}",
                now,
            ),
        )
    uow.commit()
    return ExchangeResult(replacement.id, credit, difference)
