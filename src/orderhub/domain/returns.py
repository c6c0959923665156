"""Returns (RMA): a state machine per return, and the channel's policy checks.

requested → authorized | rejected → in_transit → received → inspected → refunded → closed.
A return can be authorized straight to received (dropped at a store). Inspection decides per
line whether units are restocked, written off as damaged, or disposed of.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from orderhub.domain import events
from orderhub.domain.errors import FieldError, IllegalTransition, ValidationFailed
from orderhub.domain.ids import new_id
from orderhub.domain.money import Money
from orderhub.domain.orders import Order


class ReturnStatus(StrEnum):
    REQUESTED = "requested"
    AUTHORIZED = "authorized"
    REJECTED = "rejected"
    IN_TRANSIT = "in_transit"
    RECEIVED = "received"
    INSPECTED = "inspected"
    REFUNDED = "refunded"
    CLOSED = "closed"


_R = ReturnStatus
RETURN_TRANSITIONS: dict[ReturnStatus, frozenset[ReturnStatus]] = {
    _R.REQUESTED: frozenset({_R.AUTHORIZED, _R.REJECTED}),
    _R.AUTHORIZED: frozenset({_R.IN_TRANSIT, _R.RECEIVED, _R.CLOSED}),
    _R.REJECTED: frozenset({_R.CLOSED}),
    _R.IN_TRANSIT: frozenset({_R.RECEIVED}),
    _R.RECEIVED: frozenset({_R.INSPECTED}),
    _R.INSPECTED: frozenset({_R.REFUNDED, _R.CLOSED}),
    _R.REFUNDED: frozenset({_R.CLOSED}),
    _R.CLOSED: frozenset(),
}


class Disposition(StrEnum):
    RESTOCK = "restock"
    DAMAGED = "damaged"
    DISPOSE = "dispose"


@dataclass(frozen=True)
class ReturnPolicy:
    """A channel's rules, from ``channel.settings["returns"]``."""

    window_days: int = 30
    non_returnable_skus: frozenset[str] = frozenset()
    restocking_fee_percent: Decimal = Decimal(0)
    customer_pays_return_shipping: bool = False
    return_shipping_fee: Decimal = Decimal(0)

    def return_shipping_charge(self, currency: str) -> Money | None:
        if not self.customer_pays_return_shipping:
            return None
        return Money.rounded(self.return_shipping_fee, currency)


@dataclass
class ReturnLine:
    order_line_id: str
    sku: str
    quantity: int
    disposition: Disposition | None = None


@dataclass
class Return:
    id: str
    order_id: str
    status: ReturnStatus
    reason: str
    lines: list[ReturnLine]
    exchange_order_id: str | None = None
    events: list[events.DomainEvent] = field(default_factory=list, repr=False, compare=False)

    def _move(self, target: ReturnStatus, note: str | None = None) -> None:
        if target not in RETURN_TRANSITIONS[self.status]:
            raise IllegalTransition("return", self.status.value, target.value)
        previous, self.status = self.status, target
        self.events.append(
            events.ReturnStatusChanged(self.order_id, self.id, previous.value, target.value, note)
        )

    def authorize(self) -> None:
        self._move(ReturnStatus.AUTHORIZED)

    def reject(self, *, reason: str) -> None:
        self._move(ReturnStatus.REJECTED, reason)

    def ship_back(self, *, tracking: str | None = None) -> None:
        self._move(ReturnStatus.IN_TRANSIT, tracking)

    def receive(self) -> None:
        self._move(ReturnStatus.RECEIVED)

    def inspect(self, dispositions: Mapping[str, Disposition]) -> None:
        """Decide each line's fate; every line must be named."""
        missing = [
            line.order_line_id for line in self.lines if line.order_line_id not in dispositions
        ]
        if missing:
            raise ValidationFailed(
                "every returned line needs a disposition",
                [FieldError(("dispositions", line_id), "missing") for line_id in missing],
            )
        self._move(ReturnStatus.INSPECTED)
        for line in self.lines:
            line.disposition = dispositions[line.order_line_id]

    def mark_refunded(self, *, amount: Money) -> None:
        self._move(ReturnStatus.REFUNDED, str(amount))

    def close(self) -> None:
        self._move(ReturnStatus.CLOSED)

    @property
    def restock(self) -> dict[str, int]:
        """SKU → units going back to sellable stock."""
        result: dict[str, int] = {}
        for line in self.lines:
            if line.disposition == Disposition.RESTOCK:
                result[line.sku] = result.get(line.sku, 0) + line.quantity
        return result


def request_return(
    order: Order,
    units: Mapping[str, int],
    *,
    reason: str,
    policy: ReturnPolicy,
    delivered_at: datetime | None,
    now: datetime,
    shipped: Mapping[str, int],
    already_returned: Mapping[str, int],
) -> Return:
    """Open a return for ``units`` per order line, enforcing the channel's policy."""
    problems: list[FieldError] = []
    if delivered_at is not None and now > delivered_at + timedelta(days=policy.window_days):
        problems.append(
            FieldError(
                ("lines",),
                f"the {policy.window_days}-day return window has closed",
                "window_closed",
            )
        )
    lines = []
    for index, (line_id, quantity) in enumerate(units.items()):
        loc: tuple[str | int, ...] = ("lines", index)
        try:
            line = order.line(line_id)
        except KeyError:
            problems.append(
                FieldError((*loc, "line_id"), "not a line of this order", "unknown_line")
            )
            continue
        if line.sku in policy.non_returnable_skus:
            problems.append(
                FieldError((*loc, "line_id"), f"{line.sku} is not returnable", "not_returnable")
            )
        returnable = shipped.get(line_id, 0) - already_returned.get(line_id, 0)
        if quantity <= 0 or quantity > returnable:
            problems.append(
                FieldError(
                    (*loc, "quantity"), f"between 1 and {returnable} can be returned", "quantity"
                )
            )
        lines.append(ReturnLine(line_id, line.sku, quantity))
    if not units:
        problems.append(FieldError(("lines",), "name at least one line", "missing"))
    if problems:
        raise ValidationFailed("the return breaks the channel's policy", problems)
    rma = Return(new_id(), order.id, ReturnStatus.REQUESTED, reason, lines)
    rma.events.append(
        events.ReturnRequested(
            order.id, rma.id, reason, {line.order_line_id: line.quantity for line in lines}
        )
    )
    return rma
