"""Refunds and the per-order financial ledger.

Every refund is computed by :class:`~orderhub.domain.refunds.RefundLedger` from the order's
lines and the refunds already stored, so the cents reconcile across any sequence of
cancellations, returns and refunds. The ledger (``order_financial_entries``) holds the charge
(the order's total, written the first time after-sale money moves), every refund and every
fee kept; its balance is charges − refunds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from orderhub.clock import utc_now
from orderhub.domain import events
from orderhub.domain.channels import Channel
from orderhub.domain.errors import FieldError, ValidationFailed
from orderhub.domain.ids import new_id
from orderhub.domain.money import Money, total
from orderhub.domain.orders import Order
from orderhub.domain.refunds import (
    PaidLine,
    RefundCalculation,
    RefundLedger,
    RefundPolicy,
    ShippingRefund,
)
from orderhub.domain.returns import ReturnPolicy
from orderhub.store.after_sale import LedgerEntry, StoredRefund
from orderhub.store.unit_of_work import UnitOfWork


def _decimal(value: object, default: Decimal) -> Decimal:
    try:
        return Decimal(str(value)) if value is not None else default
    except InvalidOperation:
        return default


def return_policy(channel: Channel) -> ReturnPolicy:
    """The channel's ``settings["returns"]``, defaults for what it leaves out."""
    raw = channel.settings.get("returns") or {}
    return ReturnPolicy(
        window_days=int(raw.get("window_days", 30)),
        non_returnable_skus=frozenset(str(s) for s in raw.get("non_returnable_skus", [])),
        restocking_fee_percent=_decimal(raw.get("restocking_fee_percent"), Decimal(0)),
        customer_pays_return_shipping=bool(raw.get("customer_pays_return_shipping", False)),
        return_shipping_fee=_decimal(raw.get("return_shipping_fee"), Decimal(0)),
    )


def refund_policy(channel: Channel, currency: str) -> RefundPolicy:
    raw = channel.settings.get("returns") or {}
    returns = return_policy(channel)
    try:
        shipping = ShippingRefund(raw.get("shipping_refund", ShippingRefund.WHEN_ALL_REFUNDED))
    except ValueError:
        shipping = ShippingRefund.WHEN_ALL_REFUNDED
    return RefundPolicy(
        shipping=shipping,
        restocking_fee_percent=returns.restocking_fee_percent,
        return_shipping_fee=returns.return_shipping_charge(currency),
    )


def refund_ledger(uow: UnitOfWork, order: Order) -> RefundLedger:
    """What was paid for the order and what of it has been refunded already."""
    c = order.currency
    ledger = RefundLedger(
        currency=c,
        lines={
            line.id: PaidLine(line.id, line.quantity, line.unit_price, line.discount, line.tax)
            for line in order.lines
        },
        shipping=order.shipping.price - order.shipping.discount,
        shipping_tax=order.shipping.tax,
        prices_include_tax=order.prices_include_tax,
    )
    for refund in uow.after_sale.refunds_of(order.id):
        for line in refund.lines:
            line_id = str(line["line_id"])
            ledger.refunded_units[line_id] = ledger.refunded_units.get(line_id, 0) + int(
                line["quantity"]
            )
        if refund.shipping_minor:
            ledger.shipping_refunded = True
    return ledger


def _ensure_charge(uow: UnitOfWork, order: Order, now: datetime) -> None:
    if not uow.after_sale.entries(order.id):
        uow.after_sale.add_entry(
            order.id,
            LedgerEntry(
                "charge", order.ordered_totals.total.minor, order.currency, order.id, "order", now
            ),
        )


def open_ledger(uow: UnitOfWork, order: Order, now: datetime) -> None:
    """Book the order's charge as placed if its ledger is still empty: call it before an
    order edit changes what the order is worth. Does not commit."""
    _ensure_charge(uow, order, now)


def issue_refund(
    uow: UnitOfWork,
    *,
    order: Order,
    units: Mapping[str, int],
    reason: str,
    is_return: bool = False,
    return_id: str | None = None,
    now: datetime | None = None,
) -> RefundCalculation:
    """Compute, store and book the refund of ``units``; records ``order.refunded`` on the
    order (load it for update). Does not commit."""
    now = now or utc_now()
    channel = uow.channels.get(order.channel)
    ledger = refund_ledger(uow, order)
    problems = [
        FieldError(("lines", index, "quantity"), f"between 1 and {left} can be refunded")
        for index, (line_id, count) in enumerate(units.items())
        if not 0 < count <= (left := ledger.remaining_units.get(line_id, 0))
    ]
    problems += [
        FieldError(("lines", index, "line_id"), "not a line of this order", "unknown_line")
        for index, line_id in enumerate(units)
        if line_id not in ledger.lines
    ]
    if problems or not units:
        raise ValidationFailed("these units cannot be refunded", problems)
    calc = ledger.calculate(
        dict(units), policy=refund_policy(channel, order.currency), is_return=is_return
    )
    _store(uow, order, calc, reason=reason, return_id=return_id, now=now)
    return calc


def _store(
    uow: UnitOfWork,
    order: Order,
    calc: RefundCalculation,
    *,
    reason: str,
    return_id: str | None,
    now: datetime,
) -> None:
    refund_id = new_id()
    gross = total([line.amount for line in calc.lines], calc.currency)
    gross = gross + calc.shipping + calc.shipping_tax
    kept = min(calc.fees.minor, gross.minor)
    uow.after_sale.add_refund(
        StoredRefund(
            id=refund_id,
            order_id=order.id,
            return_id=return_id,
            reason=reason,
            currency=calc.currency,
            amount_minor=calc.amount.minor,
            shipping_minor=(calc.shipping + calc.shipping_tax).minor,
            fees_minor=kept,
            lines=[
                {
                    "line_id": line.line_id,
                    "quantity": line.quantity,
                    "merchandise": str(line.merchandise.amount),
                    "discount": str(line.discount.amount),
                    "tax": str(line.tax.amount),
                    "amount": str(line.amount.amount),
                }
                for line in calc.lines
            ],
            created_at=now,
        )
    )
    _ensure_charge(uow, order, now)
    book = uow.after_sale.add_entry
    book(order.id, LedgerEntry("refund", calc.amount.minor, calc.currency, refund_id, reason, now))
    if kept:
        book(order.id, LedgerEntry("fee", kept, calc.currency, refund_id, "kept from refund", now))
    order.events.append(
        events.RefundIssued(
            order.id,
            refund_id,
            str(calc.amount.amount),
            calc.currency,
            reason,
            return_id,
            {line.line_id: line.quantity for line in calc.lines},
        )
    )


def refund_units(uow: UnitOfWork, *, order_id: str, units: Mapping[str, int], reason: str) -> str:
    """A refund the hub decides (after a partial cancellation, a goodwill gesture); commits.
    Returns the refund id."""
    order = uow.orders.get(order_id, for_update=True)
    issue_refund(uow, order=order, units=units, reason=reason)
    refund_id = uow.after_sale.refunds_of(order_id)[-1].id
    uow.commit()
    return refund_id


def book_charge(uow: UnitOfWork, *, order: Order, amount: Money, reference: str, note: str) -> None:
    """An extra charge on the order (an exchange's price difference). Does not commit."""
    now = utc_now()
    _ensure_charge(uow, order, now)
    uow.after_sale.add_entry(
        order.id, LedgerEntry("charge", amount.minor, amount.currency, reference, note, now)
    )


@dataclass(frozen=True)
class LedgerView:
    currency: str
    order_total: Money  # what the order is worth now (cancelled units not counted)
    entries: list[LedgerEntry]
    charged: Money
    refunded: Money
    fees_kept: Money
    credited: Money  # what order edits lowered the order by (owed, part of ``to_refund``)

    @property
    def balance(self) -> Money:
        """What the merchant keeps: charges − refunds (fees are part of it)."""
        return self.charged - self.refunded

    @property
    def to_refund(self) -> Money:
        """Kept for units that were cancelled and not yet refunded: balance − order total."""
        owed = self.balance - self.order_total
        return Money.zero(self.currency) if owed.is_negative() else owed


def ledger(uow: UnitOfWork, *, order_id: str) -> LedgerView:
    order = uow.orders.get(order_id)
    c = order.currency
    entries = uow.after_sale.entries(order_id)
    if not entries:  # nothing after-sale yet: the charge is the order's total
        entries = [
            LedgerEntry(
                "charge", order.ordered_totals.total.minor, c, order.id, "order", order.placed_at
            )
        ]

    def summed(kind: str) -> Money:
        return Money.from_minor(sum(e.amount_minor for e in entries if e.kind == kind), c)

    return LedgerView(
        c,
        order.totals.total,
        entries,
        summed("charge"),
        summed("refund"),
        summed("fee"),
        summed("credit"),
    )
