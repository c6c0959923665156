"""Pick-up in store handlers: open, mark ready, issue a code, hand over, expire.

Each handler is one unit of work and commits. The pick-up moves with its fulfilment order:
ready starts the work (``in_progress``); the hand-over ships every unit as one parcel carried
by the customer (carrier ``pickup``), delivered at once, so the order completes and its stock
is consumed like any shipment; an expired pick-up cancels the order, which releases the
reservation (the units are back on sale) and wakes the orders waiting for those SKUs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from orderhub.domain import events
from orderhub.domain.errors import FieldError, IllegalTransition, NotFound, ValidationFailed
from orderhub.domain.fulfilment import FulfilmentOrder, TrackingStatus, follow_shipments
from orderhub.domain.locations import Location
from orderhub.domain.orders import Order, OrderStatus
from orderhub.domain.pickups import Pickup, PickupStatus, WrongPickupCode
from orderhub.services import inventory
from orderhub.services.allocation import PICKUP_SUGGESTED
from orderhub.services.orders import cancel_order
from orderhub.store.unit_of_work import UnitOfWork

PICKUP_CARRIER = "pickup"
EXPIRED_REASON = "pick-up not collected in time"


def check_pickup_store(uow: UnitOfWork, code: str) -> Location:
    """The store a new pick-up order names, or a problem at ``delivery.location``."""
    field = ("delivery", "location")
    try:
        location = uow.locations.get(code)
    except NotFound:
        raise ValidationFailed(
            "unknown store", [FieldError(field, f"no location {code!r}")]
        ) from None
    if not location.takes_pickups:
        raise ValidationFailed(
            "this location takes no pick-up orders",
            [FieldError(field, f"{code!r} is not an active store with pick-up enabled")],
        )
    return location


def open_pickups(uow: UnitOfWork, *, order_id: str) -> list[str]:
    """A pick-up for each live fulfilment order of a pick-up order at its store; commits.
    Idempotent: a fulfilment that has one already is skipped."""
    order = uow.orders.get(order_id)
    if order.pickup_location is None:
        uow.rollback()
        return []
    made = open_pickups_of(uow, order, uow.fulfilment.for_order(order_id))
    uow.commit()
    return made


def open_pickups_of(
    uow: UnitOfWork, order: Order, fulfilments: Sequence[FulfilmentOrder]
) -> list[str]:
    """:func:`open_pickups` for an order and its fulfilment orders the caller holds (read
    once for the whole delivery); the caller commits. An order to be shipped costs nothing."""
    store = order.pickup_location
    if store is None:
        return []
    have = {p.fulfilment_id for p in uow.pickups.for_order(order.id)}
    now = uow.now()
    made = []
    for fulfilment in fulfilments:
        if fulfilment.location == store and fulfilment.is_open and fulfilment.id not in have:
            pickup = Pickup(fulfilment.id, order.id, store, created_at=now)
            uow.pickups.add(pickup, now=now)
            made.append(fulfilment.id)
    return made


class _Handling:
    """One pick-up, its order and the order's fulfilments, loaded once and saved together."""

    def __init__(self, uow: UnitOfWork, fulfilment_id: str) -> None:
        self.uow = uow
        self.pickup = uow.pickups.get(fulfilment_id, for_update=True)
        self.order: Order = uow.orders.get(self.pickup.order_id, for_update=True)
        self.fulfilments = uow.fulfilment.for_order(self.order.id)
        self.fulfilment: FulfilmentOrder = next(
            f for f in self.fulfilments if f.id == fulfilment_id
        )

    def save(self) -> None:
        now = self.uow.now()
        follow_shipments(self.order, self.fulfilments)
        for fulfilment in self.fulfilments:
            if fulfilment.events:
                self.uow.fulfilment.save(fulfilment)
                self.order.events.extend(fulfilment.events)
                fulfilment.events.clear()
        self.uow.pickups.save(self.pickup, now=now)
        self.order.events.extend(self.pickup.events)
        self.pickup.events.clear()
        self.uow.commit()


def issue_code(uow: UnitOfWork, *, fulfilment_id: str) -> str:
    """A fresh pick-up code for the customer (the earlier one stops working); commits. The
    code is returned here once and kept only as a salted hash."""
    handling = _Handling(uow, fulfilment_id)
    code = handling.pickup.issue_code()
    handling.save()
    return code


def mark_ready(uow: UnitOfWork, *, fulfilment_id: str) -> Pickup:
    """Picked and waiting at the counter: ``order.ready_for_pickup``; the collection window
    (the store's ``pickup_hold_days``) starts now."""
    handling = _Handling(uow, fulfilment_id)
    store = uow.locations.get(handling.pickup.location).store
    hold_days = store.pickup_hold_days if store is not None else 7
    handling.fulfilment.start()
    handling.pickup.mark_ready(now=uow.now(), hold_days=hold_days)
    handling.save()
    return handling.pickup


def hand_over(uow: UnitOfWork, *, fulfilment_id: str, code: str) -> Pickup:
    """The customer collects the order: the code must match (else WrongPickupCode, and only
    the wrong code is counted, committed; PickupCodeLocked after five); every unit leaves as
    one parcel, delivered, and the stock is consumed."""
    handling = _Handling(uow, fulfilment_id)
    now = uow.now()
    try:
        handling.pickup.hand_over(code=code, now=now)
    except WrongPickupCode:
        uow.pickups.save(handling.pickup, now=now)  # the count outlives the refusal
        uow.commit()
        raise
    fulfilment = handling.fulfilment
    units = {line_id: n for line_id, n in fulfilment.remaining_units().items() if n}
    inventory.consume_for_shipment(
        uow, order_id=fulfilment.order_id, lines=units, location=fulfilment.location
    )
    parcel = fulfilment.ship(
        lines=units,
        carrier=PICKUP_CARRIER,
        service="store_pickup",
        tracking_number=None,
        shipped_at=now,
    )
    fulfilment.track(parcel.id, TrackingStatus.DELIVERED, at=now, detail="collected in store")
    handling.save()
    return handling.pickup


def expire_due(uow: UnitOfWork, *, now: datetime) -> int:
    """Ready pick-ups past their window: the order is cancelled (its reservation released and
    the waiting orders woken), then the pick-up is ``expired``. Each commits on its own; a
    crash between the two is finished by the next run. Returns how many expired."""
    due = uow.pickups.due_to_expire(now)
    uow.rollback()
    for fulfilment_id in due:
        order_id = uow.pickups.get(fulfilment_id).order_id
        if uow.orders.get(order_id).status != OrderStatus.CANCELLED:
            uow.rollback()
            cancel_order(uow, order_id=order_id, reason=EXPIRED_REASON)
        uow.rollback()
        pickup = uow.pickups.get(fulfilment_id, for_update=True)
        if pickup.status != PickupStatus.READY:
            uow.rollback()
            continue
        order = uow.orders.get(order_id, for_update=True)
        pickup.expire(now=now)
        uow.pickups.save(pickup, now=now)
        order.events.extend(pickup.events)
        pickup.events.clear()
        uow.commit()
    return len(due)


def close_cancelled(uow: UnitOfWork, *, now: datetime) -> int:
    """Open pick-ups of orders cancelled meanwhile (by a person, or a channel) are closed, so
    the store stops listing them; commits."""
    closed = 0
    for pickup in uow.pickups.open_of_cancelled_orders():
        pickup.cancel(now=now)
        uow.pickups.save(pickup, now=now)
        closed += 1
    uow.commit()
    return closed


def hold_refused_pickup(uow: UnitOfWork, *, order_id: str, location: str) -> None:
    """The store refused a pick-up order it had: it goes on hold for a person (transfer,
    substitute or cancel), never to another location; commits."""
    order = uow.orders.get(order_id, for_update=True)
    if order.status not in (OrderStatus.RECEIVED, OrderStatus.BACKORDERED):
        uow.rollback()
        raise IllegalTransition("order", order.status.value, OrderStatus.ON_HOLD.value)
    detail = f"pick-up at {location}: the store refused it"
    exception_id = uow.fulfilment.raise_exception(
        kind="pickup_refused",
        order_id=order_id,
        fulfilment_id=None,
        detail=detail,
        suggested_action=PICKUP_SUGGESTED,
        now=uow.now(),
    )
    order.events.append(
        events.FulfilmentExceptionRaised(order_id, exception_id, "pickup_refused", detail)
    )
    order.transition_to(OrderStatus.ON_HOLD, reason="pickup_refused")
    uow.commit()
