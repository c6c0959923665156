"""Fulfilment orders and shipments: what one location must send, and what it did send.

A routed order yields one :class:`FulfilmentOrder` per location. Its status moves only along
:data:`FULFILMENT_TRANSITIONS`::

    created → dispatched → accepted → in_progress → shipped → delivered
                  ↘ rejected      (cancelled from any state before shipped)

Shipments may be partial; each moves through the tracking states of :class:`TrackingStatus`.
:func:`follow_shipments` derives the order's line and order statuses from its fulfilments, so the
order state machine in :mod:`orderhub.domain.orders` stays the one authority on orders.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from urllib.parse import quote

from orderhub.domain import events
from orderhub.domain.errors import FieldError, IllegalTransition, ValidationFailed
from orderhub.domain.ids import new_id
from orderhub.domain.orders import LineStatus, Order, OrderLine, OrderStatus


class FulfilmentStatus(StrEnum):
    CREATED = "created"
    DISPATCHED = "dispatched"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    IN_PROGRESS = "in_progress"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


_F = FulfilmentStatus
FULFILMENT_TRANSITIONS: dict[FulfilmentStatus, frozenset[FulfilmentStatus]] = {
    _F.CREATED: frozenset({_F.DISPATCHED, _F.CANCELLED}),
    _F.DISPATCHED: frozenset({_F.ACCEPTED, _F.REJECTED, _F.CANCELLED}),
    _F.ACCEPTED: frozenset({_F.IN_PROGRESS, _F.REJECTED, _F.CANCELLED}),
    _F.IN_PROGRESS: frozenset({_F.SHIPPED, _F.REJECTED, _F.CANCELLED}),
    _F.SHIPPED: frozenset({_F.DELIVERED}),
    _F.DELIVERED: frozenset(),
    _F.REJECTED: frozenset(),
    _F.CANCELLED: frozenset(),
}
# A location may reject (or report a stock-out) only while nothing has left it.
CLOSED = frozenset({_F.REJECTED, _F.CANCELLED, _F.DELIVERED})


class TrackingStatus(StrEnum):
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    EXCEPTION = "exception"


_T = TrackingStatus
TRACKING_TRANSITIONS: dict[TrackingStatus, frozenset[TrackingStatus]] = {
    _T.IN_TRANSIT: frozenset({_T.OUT_FOR_DELIVERY, _T.DELIVERED, _T.EXCEPTION}),
    _T.OUT_FOR_DELIVERY: frozenset({_T.IN_TRANSIT, _T.DELIVERED, _T.EXCEPTION}),
    _T.EXCEPTION: frozenset({_T.IN_TRANSIT, _T.OUT_FOR_DELIVERY, _T.DELIVERED}),
    _T.DELIVERED: frozenset(),
}


@dataclass
class FulfilmentLine:
    line_id: str
    sku: str
    quantity: int


# The public tracking pages of the carriers providers report (``carrier`` lower-cased); a
# parcel of any other carrier has no link rather than a guessed one.
TRACKING_PAGES = {
    "ups": "https://www.ups.com/track?tracknum={}",
    "usps": "https://tools.usps.com/go/TrackConfirmAction?tLabels={}",
    "fedex": "https://www.fedex.com/fedextrack/?trknbr={}",
    "dhl": "https://www.dhl.com/global-en/home/tracking/tracking-express.html?tracking-id={}",
    "royal_mail": "https://www.royalmail.com/track-your-item#/tracking-results/{}",
}


def tracking_url(carrier: str, tracking_number: str | None) -> str | None:
    """The carrier's tracking page for the parcel, so a buyer or agent can follow it in one
    click; None when the number or the carrier's page is unknown."""
    page = TRACKING_PAGES.get(carrier.strip().lower().replace(" ", "_"))
    if page is None or not tracking_number:
        return None
    return page.format(quote(tracking_number, safe=""))


@dataclass
class Shipment:
    id: str
    fulfilment_id: str
    carrier: str
    service: str | None
    tracking_number: str | None
    lines: dict[str, int]  # order line id → units in this parcel
    shipped_at: datetime
    status: TrackingStatus = TrackingStatus.IN_TRANSIT
    status_at: datetime | None = None

    @property
    def tracking_url(self) -> str | None:
        return tracking_url(self.carrier, self.tracking_number)


@dataclass
class FulfilmentOrder:
    id: str
    order_id: str
    location: str
    provider: str
    lines: list[FulfilmentLine]
    created_at: datetime
    status: FulfilmentStatus = FulfilmentStatus.CREATED
    external_ref: str | None = None  # the provider's id for it
    reason: str | None = None  # why it was rejected or cancelled
    shipments: list[Shipment] = field(default_factory=list)
    version: int = 0
    events: list[events.DomainEvent] = field(default_factory=list, repr=False, compare=False)

    # -- reading -------------------------------------------------------------------------------
    def shipped_units(self) -> dict[str, int]:
        shipped = {line.line_id: 0 for line in self.lines}
        for shipment in self.shipments:
            for line_id, quantity in shipment.lines.items():
                shipped[line_id] = shipped.get(line_id, 0) + quantity
        return shipped

    def remaining_units(self) -> dict[str, int]:
        shipped = self.shipped_units()
        return {line.line_id: line.quantity - shipped[line.line_id] for line in self.lines}

    def delivered_units(self) -> dict[str, int]:
        delivered = {line.line_id: 0 for line in self.lines}
        for shipment in self.shipments:
            if shipment.status == TrackingStatus.DELIVERED:
                for line_id, quantity in shipment.lines.items():
                    delivered[line_id] += quantity
        return delivered

    @property
    def is_open(self) -> bool:
        return self.status not in CLOSED

    @property
    def holds_its_lines(self) -> bool:
        """Not refused or called off: its lines are its own, open, shipped or delivered."""
        return self.status not in (FulfilmentStatus.REJECTED, FulfilmentStatus.CANCELLED)

    def shipment(self, shipment_id: str) -> Shipment:
        for shipment in self.shipments:
            if shipment.id == shipment_id:
                return shipment
        raise KeyError(shipment_id)

    # -- moving ----------------------------------------------------------------------------------
    def _move(self, target: FulfilmentStatus) -> None:
        if target not in FULFILMENT_TRANSITIONS[self.status]:
            raise IllegalTransition("fulfilment", self.status.value, target.value)
        self.status = target

    def mark_dispatched(self, *, external_ref: str | None) -> None:
        self._move(FulfilmentStatus.DISPATCHED)
        self.external_ref = external_ref
        self.events.append(
            events.FulfilmentDispatched(self.order_id, self.id, self.provider, external_ref)
        )

    def accept(self) -> None:
        if self.status in (FulfilmentStatus.ACCEPTED, FulfilmentStatus.IN_PROGRESS):
            return  # providers repeat themselves; acceptance is a fact, not a toggle
        self._move(FulfilmentStatus.ACCEPTED)
        self.events.append(events.FulfilmentAccepted(self.order_id, self.id))

    def start(self) -> None:
        if self.status == FulfilmentStatus.IN_PROGRESS:
            return
        if self.status == FulfilmentStatus.DISPATCHED:
            self.accept()
        self._move(FulfilmentStatus.IN_PROGRESS)
        self.events.append(events.FulfilmentStarted(self.order_id, self.id))

    def reject(self, *, reason: str) -> None:
        """The location refused or ran out: nothing of it may have shipped yet."""
        if self.shipments:
            raise IllegalTransition("fulfilment", "partly shipped", FulfilmentStatus.REJECTED)
        self._move(FulfilmentStatus.REJECTED)
        self.reason = reason
        self.events.append(events.FulfilmentRejected(self.order_id, self.id, self.location, reason))

    def cancel(self, *, reason: str) -> None:
        if self.shipments:
            raise IllegalTransition("fulfilment", "partly shipped", FulfilmentStatus.CANCELLED)
        self._move(FulfilmentStatus.CANCELLED)
        self.reason = reason
        self.events.append(events.FulfilmentCancelled(self.order_id, self.id, reason))

    def ship(
        self,
        *,
        lines: Mapping[str, int],
        carrier: str,
        tracking_number: str | None,
        shipped_at: datetime,
        service: str | None = None,
        shipment_id: str | None = None,
    ) -> Shipment:
        """Record one parcel; refuses units this fulfilment does not still owe."""
        self._check_shipment(lines, carrier)
        self.start()
        shipment = Shipment(
            id=shipment_id or new_id(),
            fulfilment_id=self.id,
            carrier=carrier,
            service=service,
            tracking_number=tracking_number,
            lines={k: v for k, v in lines.items() if v},
            shipped_at=shipped_at,
            status_at=shipped_at,
        )
        self.shipments.append(shipment)
        self.events.append(
            events.ShipmentCreated(
                self.order_id,
                shipment.id,
                self.id,
                self.location,
                carrier,
                service,
                tracking_number,
                tuple({"line_id": k, "quantity": v} for k, v in sorted(shipment.lines.items())),
                shipped_at,
            )
        )
        if not any(self.remaining_units().values()):
            self._move(FulfilmentStatus.SHIPPED)
            self.events.append(events.FulfilmentShipped(self.order_id, self.id))
        return shipment

    def _check_shipment(self, lines: Mapping[str, int], carrier: str) -> None:
        remaining = self.remaining_units()
        problems: list[FieldError] = []
        if not carrier.strip():
            problems.append(FieldError(("carrier",), "a shipment needs a carrier"))
        if not any(lines.values()):
            problems.append(FieldError(("lines",), "a shipment carries at least one unit"))
        for line_id, quantity in lines.items():
            loc = ("lines", line_id)
            if line_id not in remaining:
                problems.append(FieldError(loc, "not part of this fulfilment", "unknown_line"))
            elif quantity < 0 or quantity > remaining[line_id]:
                problems.append(
                    FieldError(loc, f"{remaining[line_id]} unit(s) left to ship", "too_many")
                )
        if problems:
            raise ValidationFailed("the shipment does not match the fulfilment", problems)
        if not self.is_open or self.status == FulfilmentStatus.SHIPPED:
            raise IllegalTransition("fulfilment", self.status.value, "shipped")

    def track(
        self, shipment_id: str, status: TrackingStatus, *, at: datetime, detail: str | None = None
    ) -> bool:
        """Move a parcel's tracking state; False when it is already there (a repeated callback)."""
        shipment = self.shipment(shipment_id)
        if shipment.status == status:
            return False
        if status not in TRACKING_TRANSITIONS[shipment.status]:
            raise IllegalTransition("shipment", shipment.status.value, status.value)
        previous = shipment.status
        shipment.status = status
        shipment.status_at = at
        self.events.append(
            events.ShipmentStatusChanged(
                self.order_id, shipment.id, self.id, previous.value, status.value, detail
            )
        )
        all_delivered = all(s.status == TrackingStatus.DELIVERED for s in self.shipments)
        if self.status == FulfilmentStatus.SHIPPED and all_delivered:
            self._move(FulfilmentStatus.DELIVERED)
            self.events.append(events.FulfilmentDelivered(self.order_id, self.id))
        return True


def create_fulfilment(
    *,
    order_id: str,
    location: str,
    provider: str,
    lines: Iterable[FulfilmentLine],
    now: datetime,
) -> FulfilmentOrder:
    merged: dict[str, FulfilmentLine] = {}
    for line in lines:
        if line.line_id in merged:
            merged[line.line_id].quantity += line.quantity
        else:
            merged[line.line_id] = FulfilmentLine(line.line_id, line.sku, line.quantity)
    fulfilment = FulfilmentOrder(
        id=new_id(),
        order_id=order_id,
        location=location,
        provider=provider,
        lines=list(merged.values()),
        created_at=now,
    )
    fulfilment.events.append(
        events.FulfilmentCreated(
            order_id,
            fulfilment.id,
            location,
            provider,
            tuple(
                {"line_id": x.line_id, "sku": x.sku, "quantity": x.quantity}
                for x in fulfilment.lines
            ),
        )
    )
    return fulfilment


def follow_shipments(order: Order, fulfilments: Iterable[FulfilmentOrder]) -> None:
    """Bring the order's line and order statuses in line with its live fulfilments.

    A line is shipped when every unit has left, delivered when every unit arrived; the order is
    partially shipped, shipped, then completed when every (non-cancelled) line is delivered.
    """
    live = [f for f in fulfilments if f.holds_its_lines]
    shipped: dict[str, int] = {}
    delivered: dict[str, int] = {}
    handed_over: set[str] = set()
    for fulfilment in live:
        if fulfilment.status != _F.CREATED:
            handed_over.update(line.line_id for line in fulfilment.lines)
        for line_id, units in fulfilment.shipped_units().items():
            shipped[line_id] = shipped.get(line_id, 0) + units
        for line_id, units in fulfilment.delivered_units().items():
            delivered[line_id] = delivered.get(line_id, 0) + units
    lines = [line for line in order.lines if line.status != LineStatus.CANCELLED]
    for line in lines:
        if delivered.get(line.id, 0) >= line.quantity:
            if line.status != LineStatus.DELIVERED:  # followed again: nothing to move
                order.set_line_status(line.id, LineStatus.SHIPPED)
                order.set_line_status(line.id, LineStatus.DELIVERED)
        elif shipped.get(line.id, 0) >= line.quantity:
            order.set_line_status(line.id, LineStatus.SHIPPED)
        elif line.id in handed_over and line.status == LineStatus.ALLOCATED:
            order.set_line_status(line.id, LineStatus.IN_FULFILMENT)
    _follow_order(order, lines, any_shipped=any(shipped.values()))


def _follow_order(order: Order, lines: list[OrderLine], *, any_shipped: bool) -> None:
    done = {LineStatus.SHIPPED, LineStatus.DELIVERED}
    if lines and all(line.status == LineStatus.DELIVERED for line in lines):
        if order.status not in (OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.COMPLETED):
            order.transition_to(OrderStatus.SHIPPED)
        if order.status != OrderStatus.COMPLETED:
            order.transition_to(OrderStatus.DELIVERED)
        order.transition_to(OrderStatus.COMPLETED)
    elif lines and all(line.status in done for line in lines):
        if order.status not in (OrderStatus.DELIVERED, OrderStatus.COMPLETED):
            order.transition_to(OrderStatus.SHIPPED)
    elif any_shipped and order.status in (OrderStatus.ALLOCATED, OrderStatus.IN_FULFILMENT):
        order.transition_to(OrderStatus.PARTIALLY_SHIPPED)
    elif order.status == OrderStatus.ALLOCATED and any(
        line.status == LineStatus.IN_FULFILMENT for line in lines
    ):
        order.transition_to(OrderStatus.IN_FULFILMENT)
