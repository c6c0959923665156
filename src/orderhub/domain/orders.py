"""The order aggregate: lines, customer, addresses, totals and the status state machine.

An order is created by :func:`receive_order` from an already-normalized draft (every channel
adapter produces the same :class:`OrderDraft`), so the rules below hold whatever the source.
Status moves only along :data:`ORDER_TRANSITIONS`; anything else raises
:class:`~orderhub.domain.errors.IllegalTransition`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from typing import Any

from orderhub.domain import events, limits
from orderhub.domain.errors import FieldError, IllegalTransition, ValidationFailed
from orderhub.domain.ids import new_ids
from orderhub.domain.money import Money, exact_sum


class OrderStatus(StrEnum):
    RECEIVED = "received"  # accepted into the hub, not yet reserved
    ON_HOLD = "on_hold"  # waiting for a person (fraud check, insufficient stock policy, manual)
    BACKORDERED = "backordered"  # waiting for stock, allocated first-come-first-served
    ALLOCATED = "allocated"  # stock reserved at chosen location(s)
    IN_FULFILMENT = "in_fulfilment"  # handed to warehouse or 3PL
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


_S = OrderStatus
ORDER_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    _S.RECEIVED: frozenset({_S.ALLOCATED, _S.BACKORDERED, _S.ON_HOLD, _S.CANCELLED}),
    _S.ON_HOLD: frozenset({_S.RECEIVED, _S.ALLOCATED, _S.BACKORDERED, _S.CANCELLED}),
    _S.BACKORDERED: frozenset({_S.ALLOCATED, _S.ON_HOLD, _S.CANCELLED}),
    _S.ALLOCATED: frozenset(
        {
            _S.RECEIVED,
            _S.BACKORDERED,
            _S.ON_HOLD,
            _S.IN_FULFILMENT,
            _S.PARTIALLY_SHIPPED,
            _S.SHIPPED,
            _S.CANCELLED,
        }
    ),
    _S.IN_FULFILMENT: frozenset(
        {_S.ALLOCATED, _S.RECEIVED, _S.BACKORDERED, _S.PARTIALLY_SHIPPED, _S.SHIPPED, _S.CANCELLED}
    ),
    _S.PARTIALLY_SHIPPED: frozenset({_S.SHIPPED, _S.DELIVERED, _S.COMPLETED}),
    _S.SHIPPED: frozenset({_S.DELIVERED, _S.COMPLETED}),
    _S.DELIVERED: frozenset({_S.COMPLETED}),
    _S.COMPLETED: frozenset(),
    _S.CANCELLED: frozenset(),
}
OPEN_STATUSES = frozenset({_S.RECEIVED, _S.ON_HOLD, _S.BACKORDERED, _S.ALLOCATED, _S.IN_FULFILMENT})


class LineStatus(StrEnum):
    OPEN = "open"
    BACKORDERED = "backordered"
    ALLOCATED = "allocated"
    IN_FULFILMENT = "in_fulfilment"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


_L = LineStatus
LINE_TRANSITIONS: dict[LineStatus, frozenset[LineStatus]] = {
    _L.OPEN: frozenset({_L.ALLOCATED, _L.BACKORDERED, _L.CANCELLED}),
    _L.BACKORDERED: frozenset({_L.ALLOCATED, _L.OPEN, _L.CANCELLED}),
    _L.ALLOCATED: frozenset({_L.OPEN, _L.BACKORDERED, _L.IN_FULFILMENT, _L.SHIPPED, _L.CANCELLED}),
    _L.IN_FULFILMENT: frozenset({_L.ALLOCATED, _L.OPEN, _L.SHIPPED, _L.CANCELLED}),
    _L.SHIPPED: frozenset({_L.DELIVERED}),
    _L.DELIVERED: frozenset(),
    _L.CANCELLED: frozenset(),
}


def normalize_email(email: str | None) -> str | None:
    """Trim and lower-case: the same person on two channels is one customer."""
    if email is None:
        return None
    cleaned = email.strip().lower()
    return cleaned or None


@dataclass(frozen=True)
class Address:
    country: str  # ISO 3166-1 alpha-2
    name: str | None = None
    company: str | None = None
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    region: str | None = None  # ISO 3166-2 subdivision code or the channel's text
    postal_code: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class Customer:
    email: str | None
    name: str | None = None
    phone: str | None = None
    id: str | None = None  # the hub's customer id, set once identity is resolved

    def __post_init__(self) -> None:
        object.__setattr__(self, "email", normalize_email(self.email))


@dataclass(frozen=True)
class Contact:
    """A person at the buying organisation (EDI PER, cXML Contact)."""

    role: str  # e.g. "buyer", "receiving", the EDI PER01 code as given
    name: str | None = None
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class PaymentTerms:
    """Payment terms as the buyer states them (EDI ITD, cXML PaymentTerm)."""

    net_days: int | None = None
    discount_percent: Decimal | None = None
    discount_days: int | None = None
    description: str | None = None


@dataclass(frozen=True)
class PurchaseOrder:
    """The B2B side of an order: what a procurement buyer's purchase order adds."""

    number: str
    order_date: date | None = None
    payment_terms: PaymentTerms | None = None
    requested_ship_date: date | None = None
    requested_delivery_date: date | None = None
    contacts: tuple[Contact, ...] = ()
    buyer_name: str | None = None


@dataclass(frozen=True)
class LineDraft:
    """A normalized line before it becomes part of an order (amounts are line totals)."""

    sku: str | None  # None until resolved through the channel SKU map
    quantity: int
    unit_price: Money
    discount: Money
    tax: Money
    channel_sku: str | None = None
    channel_line_id: str | None = None
    name: str | None = None
    # Barcodes (GTIN/UPC/EAN/ISBN) and the MPN the channel gave for the line: SKU resolution
    # falls back on them when the channel SKU map does not know the line (domain/catalog.py).
    identifiers: tuple[str, ...] = ()
    mpn: str | None = None


@dataclass(frozen=True)
class Shipping:
    price: Money
    tax: Money
    discount: Money
    method: str | None = None


class DeliveryType(StrEnum):
    SHIP = "ship"  # sent to the shipping address (the default)
    PICKUP = "pickup"  # collected by the customer at a store (BOPIS)


@dataclass(frozen=True)
class Delivery:
    """How the customer gets the goods; a pick-up names the store that must hold them."""

    type: DeliveryType = DeliveryType.SHIP
    location: str | None = None  # pick-up: the store's location code

    @property
    def pickup_location(self) -> str | None:
        return self.location if self.type == DeliveryType.PICKUP else None


HUB_METADATA_KEYS = frozenset(
    {"skip_allocation", "channel_total_matches", "channel_total", "channel_cancel_refused", "hub"}
)
"""Metadata keys the hub's adapters write and its services act on (``skip_allocation`` keeps an
order out of allocation): a client's own metadata may not set them (``channels/native.py``)."""


@dataclass(frozen=True)
class OrderDraft:
    """What every channel adapter produces: the unified order, not yet in the hub."""

    channel: str
    external_id: str
    currency: str
    placed_at: datetime
    customer: Customer
    shipping_address: Address | None
    billing_address: Address | None
    lines: tuple[LineDraft, ...]
    shipping: Shipping
    prices_include_tax: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)
    purchase_order: PurchaseOrder | None = None
    delivery: Delivery | None = None  # None: shipped


@dataclass
class OrderLine:
    id: str
    sku: str
    quantity: int
    unit_price: Money
    discount: Money
    tax: Money
    status: LineStatus = LineStatus.OPEN
    channel_sku: str | None = None
    channel_line_id: str | None = None
    name: str | None = None
    cancelled_quantity: int = 0

    @property
    def open_quantity(self) -> int:
        """Units still to be fulfilled (the rest were cancelled)."""
        return self.quantity - self.cancelled_quantity

    @property
    def gross(self) -> Money:
        """Unit price times quantity, before discount."""
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class Totals:
    subtotal: Money
    discount: Money
    shipping: Money
    tax: Money
    total: Money


@dataclass
class Order:
    id: str
    channel: str
    external_id: str
    currency: str
    placed_at: datetime
    customer: Customer
    shipping_address: Address | None
    billing_address: Address | None
    lines: list[OrderLine]
    shipping: Shipping
    status: OrderStatus = OrderStatus.RECEIVED
    prices_include_tax: bool = False
    hold_reason: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    purchase_order: PurchaseOrder | None = None
    delivery: Delivery | None = None  # None: shipped
    version: int = 0
    events: list[events.DomainEvent] = field(default_factory=list, repr=False, compare=False)

    @property
    def pickup_location(self) -> str | None:
        """The store the customer collects from, or None for a shipped order."""
        return self.delivery.pickup_location if self.delivery else None

    @property
    def totals(self) -> Totals:
        """What the order is worth now: subtotal − discount + shipping (+ tax if extra), over
        the units not cancelled. A line's discount and tax go with its units as a refund splits
        them (:meth:`Money.share`), so these figures plus a refund of the cancelled units add up
        to :attr:`ordered_totals`; once every unit is cancelled nothing is left, shipping too."""
        if all(line.open_quantity == 0 for line in self.lines):
            zero = Money.zero(self.currency)
            return Totals(zero, zero, zero, zero, zero)
        return self._totals(cancelled=True)

    @property
    def ordered_totals(self) -> Totals:
        """The order as placed, cancelled units included: what the buyer was charged."""
        return self._totals(cancelled=False)

    def _totals(self, *, cancelled: bool) -> Totals:
        """One pass in Decimal, a Money per figure: the same sums as adding the lines' Money
        one by one (exact arithmetic at the minor unit), without dozens of Money in between;
        every new order is totalled on receipt and again when stored."""
        c = self.currency
        shipping = self.shipping
        for amount in (shipping.discount, shipping.price, shipping.tax):
            if amount.currency != c:
                raise ValueError(f"currency mismatch: {c} vs {amount.currency}")
        zero = Money.zero(c).amount  # at the minor unit: each sum's start, a share's quantum
        subtotal = discount = tax = zero
        for line in self.lines:
            price, line_discount, line_tax = line.unit_price, line.discount, line.tax
            if price.currency != c or line_discount.currency != c or line_tax.currency != c:
                odd = next(m for m in (price, line_discount, line_tax) if m.currency != c)
                raise ValueError(f"currency mismatch: {c} vs {odd.currency}")
            if cancelled and line.cancelled_quantity:
                # What stays with the open units: the cancelled units' share goes with a refund.
                units, of = line.cancelled_quantity, line.quantity
                subtotal += price.amount * (of - units)
                discount += line_discount.amount - _share(line_discount.amount, units, of, zero)
                tax += line_tax.amount - _share(line_tax.amount, units, of, zero)
            else:
                subtotal += price.amount * line.quantity
                discount += line_discount.amount
                tax += line_tax.amount
        discount += shipping.discount.amount
        tax += shipping.tax.amount
        grand = subtotal - discount + shipping.price.amount
        if not self.prices_include_tax:
            grand += tax
        # Sums of amounts at the minor unit stay at it: ``exact_sum`` skips re-quantizing them
        # (and checks, as the constructor, any too long to be exact).
        return Totals(
            exact_sum(subtotal, c),
            exact_sum(discount, c),
            shipping.price,
            exact_sum(tax, c),
            exact_sum(grand, c),
        )

    @property
    def bill_to_differs(self) -> bool:
        """B2B invoices go elsewhere than the goods: worth showing to whoever ships."""
        return self.billing_address is not None and self.billing_address != self.shipping_address

    def line(self, line_id: str) -> OrderLine:
        for line in self.lines:
            if line.id == line_id:
                return line
        raise KeyError(line_id)

    def transition_to(self, target: OrderStatus, *, reason: str | None = None) -> None:
        if target == self.status:
            return
        if target not in ORDER_TRANSITIONS[self.status]:
            raise IllegalTransition("order", self.status.value, target.value)
        previous = self.status
        self.status = target
        self.hold_reason = reason if target == OrderStatus.ON_HOLD else None
        self.events.append(events.OrderStatusChanged(self.id, previous.value, target.value, reason))

    def set_line_status(self, line_id: str, target: LineStatus) -> None:
        line = self.line(line_id)
        if target == line.status:
            return
        if target not in LINE_TRANSITIONS[line.status]:
            raise IllegalTransition("order line", line.status.value, target.value)
        previous = line.status
        line.status = target
        self.events.append(
            events.OrderLineStatusChanged(self.id, line.id, previous.value, target.value)
        )

    def annotate(self, *, notes: str, tags: list[str]) -> bool:
        """Set the hub's own notes and tags (kept in ``metadata["hub"]``, never sent to the
        channel); False when nothing changed, so a re-submitted form records no event."""
        hub = dict(self.metadata.get("hub") or {})
        clean = sorted({tag.strip().lower() for tag in tags if tag.strip()})
        if hub.get("notes", "") == notes and hub.get("tags", []) == clean:
            return False
        hub.update(notes=notes, tags=clean)
        self.metadata = {**self.metadata, "hub": hub}
        self.events.append(events.OrderNotesChanged(self.id, notes, tuple(clean)))
        return True

    def cancel(self, *, reason: str) -> None:
        """Cancel every open unit of the order; lines already shipped make this illegal."""
        if self.status not in OPEN_STATUSES:
            raise IllegalTransition("order", self.status.value, OrderStatus.CANCELLED.value)
        self.cancel_units(
            {line.id: line.open_quantity for line in self.lines if line.open_quantity},
            reason=reason,
        )

    def cancel_units(self, units: dict[str, int], *, reason: str) -> None:
        """Cancel some units of some lines; the order is cancelled when nothing is left.

        Only units not yet handed to fulfilment may be cancelled here; cancelling after dispatch
        is the fulfilment provider's decision first (see services/after_sale).
        """
        if self.status not in OPEN_STATUSES:
            raise IllegalTransition("order", self.status.value, OrderStatus.CANCELLED.value)
        problems = []
        for index, (line_id, count) in enumerate(units.items()):
            loc: tuple[str | int, ...] = ("lines", index)
            try:
                line = self.line(line_id)
            except KeyError:
                problems.append(FieldError((*loc, "line_id"), "not a line of this order"))
                continue
            if line.status in (LineStatus.SHIPPED, LineStatus.DELIVERED):
                problems.append(FieldError((*loc, "line_id"), "the line has shipped"))
            elif not 0 < count <= line.open_quantity:
                problems.append(
                    FieldError((*loc, "quantity"), f"between 1 and {line.open_quantity}")
                )
        if problems:
            raise ValidationFailed("these units cannot be cancelled", problems)
        for line_id, count in units.items():
            line = self.line(line_id)
            line.cancelled_quantity += count
            if line.open_quantity == 0:
                self.set_line_status(line_id, LineStatus.CANCELLED)
        everything = all(line.status == LineStatus.CANCELLED for line in self.lines)
        if everything:
            self.transition_to(OrderStatus.CANCELLED, reason=reason)
        self.events.append(
            events.OrderCancelled(
                self.id, reason, tuple(units), units=dict(units), whole_order=everything
            )
        )


def _share(amount: Decimal, units: int, of: int, quantum: Decimal) -> Decimal:
    """:meth:`Money.share` on a bare amount: the part of ``units`` of ``of``, half-even."""
    return (amount * units / of).quantize(quantum, rounding=ROUND_HALF_EVEN)


def receive_order(draft: OrderDraft, *, customer_id: str | None = None) -> Order:
    """Turn a normalized draft into a new order, checking the invariants every source shares."""
    _check_draft(draft)
    order_id, *line_ids = new_ids(1 + len(draft.lines))
    customer = draft.customer  # frozen: it serves as it is when it carries the id already
    if customer.id != customer_id:
        customer = Customer(customer.email, customer.name, customer.phone, id=customer_id)
    order = Order(
        id=order_id,
        channel=draft.channel,
        external_id=draft.external_id,
        currency=draft.currency,
        placed_at=draft.placed_at,
        customer=customer,
        shipping_address=draft.shipping_address,
        billing_address=draft.billing_address,
        lines=[
            OrderLine(
                id=line_id,
                sku=line.sku or "",  # _check_draft refused lines without one
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount=line.discount,
                tax=line.tax,
                channel_sku=line.channel_sku,
                channel_line_id=line.channel_line_id,
                name=line.name,
            )
            for line, line_id in zip(draft.lines, line_ids, strict=True)
        ],
        shipping=draft.shipping,
        prices_include_tax=draft.prices_include_tax,
        metadata=dict(draft.metadata),
        purchase_order=draft.purchase_order,
        delivery=draft.delivery,
    )
    order.events.append(
        events.OrderReceived(
            order.id,
            order.channel,
            order.external_id,
            order.currency,
            str(order.totals.total),
            len(order.lines),
        )
    )
    return order


def _check_draft(draft: OrderDraft) -> None:
    problems: list[FieldError] = []
    if draft.placed_at.tzinfo is None:
        problems.append(FieldError(("placed_at",), "must carry a timezone"))
    elif not limits.within_calendar(draft.placed_at):
        problems.append(
            FieldError(
                ("placed_at",),
                f"must lie between {limits.EARLIEST:%Y-%m-%d} and {limits.LATEST:%Y-%m-%d}",
                "out_of_range",
            )
        )
    if len(draft.lines) > limits.MAX_DOCUMENT_LINES:
        problems.append(
            FieldError(("lines",), f"at most {limits.MAX_DOCUMENT_LINES} lines", "too_long")
        )
    if not draft.lines:
        problems.append(FieldError(("lines",), "an order needs at least one line"))
    currency = draft.currency
    for index, line in enumerate(draft.lines):
        loc: tuple[str | int, ...] = ("lines", index)
        if not line.sku:
            problems.append(FieldError((*loc, "sku"), "unresolved SKU"))
        quantity, price, discount = line.quantity, line.unit_price, line.discount
        if quantity <= 0:
            problems.append(FieldError((*loc, "quantity"), "must be positive"))
        elif quantity > limits.MAX_QUANTITY:
            problems.append(
                FieldError((*loc, "quantity"), f"at most {limits.MAX_QUANTITY:,}", "too_large")
            )
        elif price.amount * quantity > limits.MAX_ORDER_TOTAL:
            problems.append(
                FieldError(
                    (*loc, "quantity"),
                    f"quantity × unit_price exceeds {limits.MAX_ORDER_TOTAL:,}",
                    "too_large",
                )
            )
        _check_amounts(
            (("unit_price", price), ("discount", discount), ("tax", line.tax)),
            loc,
            currency,
            problems,
        )
        if (
            price.currency == discount.currency == currency
            and discount.amount > (price * quantity).amount
        ):
            problems.append(FieldError((*loc, "discount"), "exceeds the line's gross amount"))
    shipping = draft.shipping
    _check_amounts(
        (("price", shipping.price), ("tax", shipping.tax), ("discount", shipping.discount)),
        ("shipping",),
        currency,
        problems,
    )
    if not problems and _gross(draft) > limits.MAX_ORDER_TOTAL:
        problems.append(
            FieldError(
                ("lines",), f"the order's total exceeds {limits.MAX_ORDER_TOTAL:,}", "too_large"
            )
        )
    if problems:
        raise ValidationFailed("the order breaks the hub's rules", problems)


def _check_amounts(
    amounts: tuple[tuple[str, Money], ...],
    loc: tuple[str | int, ...],
    currency: str,
    problems: list[FieldError],
) -> None:
    """Each named amount of a line or of shipping: in the order's currency, not negative, at
    most ``MAX_AMOUNT``; the first it breaks is its problem."""
    for name, amount in amounts:
        if amount.currency != currency:
            problems.append(FieldError((*loc, name), f"currency must be {currency}"))
        elif amount.amount < 0:
            problems.append(FieldError((*loc, name), "must not be negative"))
        elif amount.amount > limits.MAX_AMOUNT:
            problems.append(_too_large((*loc, name)))


def _too_large(loc: tuple[str | int, ...]) -> FieldError:
    return FieldError(loc, f"at most {limits.MAX_AMOUNT:,}", "too_large")


def _gross(draft: OrderDraft) -> Decimal:
    """Everything the order's totals add up, whatever is later subtracted: the widest total."""
    lines = sum(
        (line.unit_price.amount * line.quantity + line.tax.amount for line in draft.lines),
        Decimal(0),
    )
    return lines + draft.shipping.price.amount + draft.shipping.tax.amount
