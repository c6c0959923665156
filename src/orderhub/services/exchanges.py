"""Exchanges: an inspected return settled with a replacement order instead of money.

The returned units are refunded as a credit (a ``refund`` entry on the original order's
ledger, with the channel's return fees), the replacement is created as an order on the same
channel with ``metadata.exchange_for``, and its ledger opens with a ``charge`` of its total.
The buyer pays the difference when it is positive and is refunded it when negative.

All of it is one transaction: a refused exchange writes nothing (no replacement, no stock
reserved for it, no quarantine entry). Prices come from the original order — its line of the
same SKU, or the returned line for a like-for-like swap; a price given by hand is an override
(its own permission, checked by the caller) and is recorded in the replacement's history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from orderhub.domain import events
from orderhub.domain.errors import (
    FieldError,
    IllegalTransition,
    NotNormalizable,
    ValidationFailed,
)
from orderhub.domain.money import Money
from orderhub.domain.orders import LineDraft, Order, OrderDraft, OrderLine, Shipping
from orderhub.domain.returns import Return, ReturnStatus
from orderhub.services.ingest import add_order
from orderhub.services.refunds import issue_refund
from orderhub.store.after_sale import LedgerEntry
from orderhub.store.unit_of_work import UnitOfWork

SOURCE = "exchange"


@dataclass(frozen=True)
class ExchangeLine:
    """What the buyer gets instead. ``unit_price`` and ``tax`` (the line's tax) are set only
    to override the price the original order gives."""

    sku: str
    quantity: int
    unit_price: Decimal | None = None
    tax: Decimal | None = None

    @property
    def overrides_price(self) -> bool:
        return self.unit_price is not None or self.tax is not None


@dataclass(frozen=True)
class ExchangeResult:
    order_id: str
    credit: Money
    difference: Money  # > 0 charged to the buyer, < 0 refunded to them


def price_source(order: Order, rma: Return, sku: str) -> OrderLine | None:
    """The original line whose price a replacement of ``sku`` takes: the order's line of that
    SKU, else the returned line (another size or colour) when the return holds one price."""
    same = [line for line in order.lines if line.sku == sku]
    if same:
        return same[0]
    returned = {x.order_line_id for x in rma.lines}
    candidates = [line for line in order.lines if line.id in returned]
    if len({line.unit_price for line in candidates}) == 1:
        return candidates[0]
    return None


def _share(amount: Money, units: int, of: int) -> Money:
    """Per-unit share of a line total (discount, tax), rounded half-even like refunds."""
    return Money.rounded(amount.amount * units / of, amount.currency)


def priced_line(order: Order, rma: Return, line: ExchangeLine, index: int) -> LineDraft:
    """The replacement line with its price; refuses (naming the field) a SKU the original
    order cannot price when no price is given."""
    c = order.currency
    source = price_source(order, rma, line.sku)
    if line.unit_price is not None:
        tax = Money.of(line.tax if line.tax is not None else Decimal(0), c)
        return LineDraft(line.sku, line.quantity, Money.of(line.unit_price, c), Money.zero(c), tax)
    if source is None:
        raise ValidationFailed(
            "the original order has no price for this SKU",
            [
                FieldError(
                    ("lines", index, "unit_price"),
                    f"{line.sku!r} is not on the original order: give unit_price "
                    "(needs the returns:override_price permission)",
                    "price_required",
                )
            ],
        )
    tax = (
        Money.of(line.tax, c)
        if line.tax is not None
        else _share(source.tax, line.quantity, source.quantity)
    )
    discount = _share(source.discount, line.quantity, source.quantity)
    return LineDraft(line.sku, line.quantity, source.unit_price, discount, tax)


def _draft(uow: UnitOfWork, order: Order, rma: Return, lines: Sequence[LineDraft]) -> OrderDraft:
    zero = Money.zero(order.currency)
    return OrderDraft(
        channel=order.channel,
        external_id=f"{order.external_id}-X-{rma.id}",
        currency=order.currency,
        placed_at=uow.now(),
        customer=order.customer,
        shipping_address=order.shipping_address,
        billing_address=order.billing_address,
        lines=tuple(lines),
        shipping=Shipping(zero, zero, zero, order.shipping.method),
        prices_include_tax=order.prices_include_tax,
        metadata={"exchange_for": order.id, "return_id": rma.id},
    )


def _replacement(uow: UnitOfWork, order: Order, rma: Return, lines: Sequence[LineDraft]) -> Order:
    """The replacement order, added (not committed); an unknown SKU is a field error."""
    try:
        return add_order(uow, _draft(uow, order, rma, lines))
    except NotNormalizable as error:
        raise ValidationFailed(
            "the replacement order cannot be created", error.problem.fields
        ) from None


def _record_overrides(
    replacement: Order, order: Order, rma: Return, asked: Sequence[ExchangeLine]
) -> None:
    """Every hand-set price lands in the replacement's history, with what it replaced."""
    for wanted, line in zip(asked, replacement.lines, strict=True):
        if not wanted.overrides_price:
            continue
        source = price_source(order, rma, wanted.sku)
        replacement.events.append(
            events.ExchangePriceOverridden(
                replacement.id,
                rma.id,
                order.id,
                line.sku,
                line.quantity,
                str(line.unit_price.amount),
                str(line.tax.amount),
                str(source.unit_price.amount) if source else None,
            )
        )


def exchange(uow: UnitOfWork, *, return_id: str, lines: Sequence[ExchangeLine]) -> ExchangeResult:
    """Replacement order for the inspected return ``return_id``; commits all or nothing."""
    order_id = uow.after_sale.get_return(return_id).rma.order_id
    order = uow.orders.get(order_id, for_update=True)
    rma = uow.after_sale.get_return(return_id).rma  # again, under the order's lock
    if rma.status != ReturnStatus.INSPECTED:
        raise IllegalTransition("return", rma.status.value, "exchanged")
    drafts = [priced_line(order, rma, line, index) for index, line in enumerate(lines)]
    replacement = _replacement(uow, order, rma, drafts)
    _record_overrides(replacement, order, rma, lines)
    now = uow.now()
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
