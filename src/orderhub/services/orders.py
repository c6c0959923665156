"""Order actions taken in the hub (cancel, hold, release)."""

from __future__ import annotations

from orderhub.domain.errors import Conflict, IllegalTransition
from orderhub.domain.orders import LineStatus, OrderStatus
from orderhub.services.allocation import allocate_order, allocate_waiting
from orderhub.services.inventory import release_order
from orderhub.store.unit_of_work import UnitOfWork

HOLDABLE = frozenset({OrderStatus.RECEIVED, OrderStatus.BACKORDERED})
REROUTABLE = frozenset({OrderStatus.ALLOCATED, OrderStatus.RECEIVED, OrderStatus.BACKORDERED})


def cancel_order(
    uow: UnitOfWork, *, order_id: str, reason: str, units: dict[str, int] | None = None
) -> None:
    """Cancel the order, or ``units`` per line id, and give back their reservations; waiting
    orders may then take them."""
    order = uow.orders.get(order_id, for_update=True)
    if units is None:
        order.cancel(reason=reason)
    else:
        order.cancel_units(units, reason=reason)
    released = release_order(uow, order=order, reason=f"cancelled: {reason}", units=units)
    uow.commit()
    if released:
        allocate_waiting(uow, skus=released)


def hold_order(uow: UnitOfWork, *, order_id: str, reason: str) -> None:
    """Put an order that is not yet allocated (received or backordered) on hold; commits."""
    order = uow.orders.get(order_id, for_update=True)
    if order.status not in HOLDABLE:
        raise IllegalTransition("order", order.status.value, OrderStatus.ON_HOLD.value)
    order.transition_to(OrderStatus.ON_HOLD, reason=reason)
    uow.commit()


def release_hold(uow: UnitOfWork, *, order_id: str) -> None:
    """Take an order off hold (back to received) and route it; commits."""
    order = uow.orders.get(order_id, for_update=True)
    if order.status != OrderStatus.ON_HOLD:  # received is also reachable from allocated
        raise IllegalTransition("order", order.status.value, "released from hold")
    order.transition_to(OrderStatus.RECEIVED, reason="released")
    uow.commit()
    allocate_order(uow, order_id=order_id)


def reroute_order(uow: UnitOfWork, *, order_id: str) -> None:
    """Give back an allocated order's reservations and route it again under today's rules and
    stock. Refused once a fulfilment order is open: the location may already be picking."""
    order = uow.orders.get(order_id, for_update=True)
    if order.status not in REROUTABLE:
        raise IllegalTransition("order", order.status.value, "re-routed")
    if any(f.is_open for f in uow.fulfilment.for_order(order_id)):
        raise Conflict("a fulfilment order is open; cancel it at the location first")
    release_order(uow, order=order, reason="re-route requested")
    for line in order.lines:
        if line.status == LineStatus.ALLOCATED:
            order.set_line_status(line.id, LineStatus.OPEN)
    if order.status == OrderStatus.ALLOCATED:
        order.transition_to(OrderStatus.RECEIVED, reason="re-route requested")
    uow.commit()
    allocate_order(uow, order_id=order_id)
