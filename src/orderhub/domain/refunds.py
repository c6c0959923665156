"""Refund arithmetic: per line, per unit, with the line's own share of discount and tax.

The rounding rule: every component of a line (discount, tax) is refunded *cumulatively* — after
``r`` of ``q`` units have been refunded, exactly ``round_half_even(component × r / q)`` of it has
gone back. A refund of ``k`` more units returns the difference between two such cumulative
amounts. So the cents reconcile whatever the sequence of partial cancellations, returns and
refunds: the refunds of a line never exceed what was paid for it, and the refund that reaches the
last unit takes exactly the remainder. Shipping follows the channel's policy and, when refunded,
is refunded whole, once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from orderhub.domain.money import Money, total


class ShippingRefund(StrEnum):
    ALWAYS = "always"  # refunded with the first refund
    WHEN_ALL_REFUNDED = "when_all_refunded"  # refunded when the last unit is refunded
    NEVER = "never"


@dataclass(frozen=True)
class PaidLine:
    """What the buyer paid for one order line (amounts are line totals)."""

    line_id: str
    quantity: int
    unit_price: Money
    discount: Money
    tax: Money


@dataclass(frozen=True)
class RefundPolicy:
    shipping: ShippingRefund = ShippingRefund.WHEN_ALL_REFUNDED
    restocking_fee_percent: Decimal = Decimal(0)  # of returned merchandise, returns only
    return_shipping_fee: Money | None = None  # charged when the customer pays return shipping


@dataclass(frozen=True)
class LineRefund:
    line_id: str
    quantity: int
    merchandise: Money  # unit price × quantity, before discount
    discount: Money  # the line's share of discount given back (reduces the refund)
    tax: Money

    @property
    def amount(self) -> Money:
        return self.merchandise - self.discount + self.tax


@dataclass(frozen=True)
class RefundCalculation:
    lines: tuple[LineRefund, ...]
    shipping: Money
    shipping_tax: Money
    fees: Money  # restocking and return shipping kept by the merchant
    currency: str

    @property
    def amount(self) -> Money:
        """What goes back to the buyer: lines + shipping − fees, never below zero."""
        gross = total([line.amount for line in self.lines], self.currency)
        gross = gross + self.shipping + self.shipping_tax - self.fees
        return gross if not gross.is_negative() else Money.zero(self.currency)


@dataclass
class RefundLedger:
    """What has been refunded of one order so far; computes the next refund exactly."""

    currency: str
    lines: dict[str, PaidLine]
    shipping: Money
    shipping_tax: Money
    prices_include_tax: bool = False
    refunded_units: dict[str, int] = field(default_factory=dict)
    shipping_refunded: bool = False

    @property
    def remaining_units(self) -> dict[str, int]:
        return {
            line_id: line.quantity - self.refunded_units.get(line_id, 0)
            for line_id, line in self.lines.items()
        }

    def calculate(
        self,
        units: dict[str, int],
        *,
        policy: RefundPolicy,
        is_return: bool = False,
    ) -> RefundCalculation:
        """The refund for ``units`` more units per line; raises if more than remain."""
        line_refunds = []
        for line_id, count in units.items():
            if count <= 0:
                continue
            line = self.lines[line_id]
            done = self.refunded_units.get(line_id, 0)
            if done + count > line.quantity:
                raise ValueError(
                    f"line {line_id}: {count} more units would exceed the {line.quantity} paid"
                )
            tax = line.tax.share(done + count, line.quantity) - line.tax.share(done, line.quantity)
            line_refunds.append(
                LineRefund(
                    line_id=line_id,
                    quantity=count,
                    merchandise=line.unit_price * count,
                    discount=line.discount.share(done + count, line.quantity)
                    - line.discount.share(done, line.quantity),
                    tax=Money.zero(self.currency) if self.prices_include_tax else tax,
                )
            )
        zero = Money.zero(self.currency)
        after = dict(self.refunded_units)
        for refund in line_refunds:
            after[refund.line_id] = after.get(refund.line_id, 0) + refund.quantity
        everything = all(after.get(i, 0) == line.quantity for i, line in self.lines.items())
        ship = not self.shipping_refunded and (
            policy.shipping == ShippingRefund.ALWAYS
            or (policy.shipping == ShippingRefund.WHEN_ALL_REFUNDED and everything)
        )
        fees = zero
        if is_return:
            merchandise = total([r.merchandise - r.discount for r in line_refunds], self.currency)
            fees = Money.rounded(
                merchandise.amount * policy.restocking_fee_percent / 100, self.currency
            )
            if policy.return_shipping_fee is not None:
                fees = fees + policy.return_shipping_fee
        return RefundCalculation(
            lines=tuple(line_refunds),
            shipping=self.shipping if ship else zero,
            shipping_tax=self.shipping_tax if ship and not self.prices_include_tax else zero,
            fees=fees,
            currency=self.currency,
        )

    def apply(self, calculation: RefundCalculation) -> None:
        for refund in calculation.lines:
            self.refunded_units[refund.line_id] = (
                self.refunded_units.get(refund.line_id, 0) + refund.quantity
            )
        if calculation.shipping.amount or calculation.shipping_tax.amount:
            self.shipping_refunded = True

    @property
    def paid(self) -> Money:
        """What the buyer paid in all: the order's total."""
        lines = total(
            [
                line.unit_price * line.quantity
                - line.discount
                + (Money.zero(self.currency) if self.prices_include_tax else line.tax)
                for line in self.lines.values()
            ],
            self.currency,
        )
        shipping_tax = Money.zero(self.currency) if self.prices_include_tax else self.shipping_tax
        return lines + self.shipping + shipping_tax
