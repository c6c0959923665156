"""Order actions taken in the hub (cancel, hold, release).

Cancelling units already handed to a fulfilment provider asks the provider first: its
fulfilment orders holding those lines are taken back (the provider may refuse), the lines
reopen, the units are cancelled and whatever is left of them is allocated again.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from orderhub.domain.cancellation import CancellationRefused
from orderhub.domain.errors import Conflict, IllegalTransition
from orderhub.domain.orders import LineStatus, Order, OrderStatus
from orderhub.fulfilment.base import ProviderError
from orderhub.services import fulfilment as fulfilment_service
from orderhub.services.allocation import allocate_order, allocate_waiting
from orderhub.services.fulfilment import FulfilmentDeps
from orderhub.services.inventory import release_order
from orderhub.store.unit_of_work import UnitOfWork

HOLDABLE = frozenset({OrderStatus.RECEIVED, OrderStatus.BACKORDERED})
REROUTABLE = frozenset({OrderStatus.ALLOCATED, OrderStatus.RECEIVED, OrderStatus.BACKORDERED})
_SHIPPED = (LineStatus.SHIPPED, LineStatus.DELIVERED)


def cancel_order(
    uow: UnitOfWork,
    *,
    order_id: str,
    reason: str,
    units: dict[str, int] | None = None,
    deps: FulfilmentDeps | None = None,
) -> None:
    """Cancel the order, or ``units`` per line id, and give back their reservations; waiting
    orders may then take them. Raises CancellationRefused (409) when a line has shipped or the
    fulfilment provider will not take its work back."""
    order = uow.orders.get(order_id, for_update=True)
    wanted = _wanted(order, units)
    dispatched = _dispatched_lines(uow, order, set(wanted))
    if dispatched:
        _dry_run(order, units, reason)  # refuse bad units before the provider is asked
        uow.rollback()
        _take_back(uow, order_id=order_id, reason=reason, line_ids=dispatched, deps=deps)
        order = uow.orders.get(order_id, for_update=True)
        _reopen(order, dispatched)
    if units is None:
        order.cancel(reason=reason)
    else:
        order.cancel_units(wanted, reason=reason)
    release_order(uow, order_id=order.id, reason=f"cancelled: {reason}", units=units)
    uow.commit()
    if dispatched and order.status != OrderStatus.CANCELLED:
        allocate_order(uow, order_id=order_id)  # what is left of the reopened lines
    woken = _skus(order, wanted)
    if order.status == OrderStatus.BACKORDERED:  # its short units gone, the rest may fit now
        woken |= {line.sku for line in order.lines if line.status == LineStatus.BACKORDERED}
    allocate_waiting(uow, skus=woken)


def _skus(order: Order, line_ids: Iterable[str]) -> set[str]:
    """The SKUs of these lines: what a cancellation may have freed — released here, taken back
    from a provider, or no longer claimed by a waiting order — so waiting orders are woken
    whichever way the units came free."""
    wanted = set(line_ids)
    return {line.sku for line in order.lines if line.id in wanted}


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
    released = release_order(uow, order_id=order.id, reason="re-route requested")
    for line in order.lines:
        if line.status == LineStatus.ALLOCATED:
            order.set_line_status(line.id, LineStatus.OPEN)
    if order.status == OrderStatus.ALLOCATED:
        order.transition_to(OrderStatus.RECEIVED, reason="re-route requested")
    uow.commit()
    allocate_order(uow, order_id=order_id)
    if released:  # what the new route did not take back goes to the waiting orders
        allocate_waiting(uow, skus=released)


def _dry_run(order: Order, units: dict[str, int] | None, reason: str) -> None:
    trial = copy.deepcopy(order)
    if units is None:
        trial.cancel(reason=reason)
    else:
        trial.cancel_units(units, reason=reason)


def _wanted(order: Order, units: dict[str, int] | None) -> dict[str, int]:
    """The units to cancel per line; refuses shipped lines by name."""
    shipped = [
        line
        for line in order.lines
        if line.status in _SHIPPED and (units is None or line.id in units)
    ]
    if shipped:
        names = ", ".join(f"{line.id} ({line.sku})" for line in shipped)
        raise CancellationRefused(f"these lines have shipped and cannot be cancelled: {names}")
    if units is None:
        return {line.id: line.open_quantity for line in order.lines if line.open_quantity}
    return dict(units)


def _dispatched_lines(uow: UnitOfWork, order: Order, line_ids: set[str]) -> set[str]:
    """Lines among ``line_ids`` held by an open fulfilment order; refuses shipped parcels."""
    held: set[str] = set()
    for fulfilment in uow.fulfilment.for_order(order.id):
        if not fulfilment.is_open:
            continue
        mine = {x.line_id for x in fulfilment.lines} & line_ids
        if not mine:
            continue
        if fulfilment.shipments:
            raise CancellationRefused(
                f"fulfilment {fulfilment.id} at {fulfilment.location} has shipped a parcel "
                f"with line(s) {', '.join(sorted(mine))}"
            )
        held |= {x.line_id for x in fulfilment.lines}
    return held


def _take_back(
    uow: UnitOfWork,
    *,
    order_id: str,
    reason: str,
    line_ids: set[str],
    deps: FulfilmentDeps | None,
) -> None:
    with _deps(uow, deps) as ready:
        try:
            fulfilment_service.cancel_fulfilments(
                uow, order_id=order_id, reason=reason, deps=ready, line_ids=line_ids
            )
        except ProviderError as error:
            uow.rollback()
            raise CancellationRefused(f"the fulfilment provider did not cancel: {error}") from error


@contextmanager
def _deps(uow: UnitOfWork, deps: FulfilmentDeps | None) -> Iterator[FulfilmentDeps]:
    if deps is not None:
        yield deps
        return
    from orderhub.services.fulfilment_wiring import default_dependencies  # wiring imports us

    with default_dependencies(uow) as ready:
        yield ready


def _reopen(order: Order, line_ids: set[str]) -> None:
    """Lines whose fulfilment was taken back are open again (their reservation is gone)."""
    for line_id in line_ids:
        if order.line(line_id).status in (LineStatus.ALLOCATED, LineStatus.IN_FULFILMENT):
            order.set_line_status(line_id, LineStatus.OPEN)
    if order.status in (OrderStatus.ALLOCATED, OrderStatus.IN_FULFILMENT) and not any(
        line.status in (LineStatus.ALLOCATED, LineStatus.IN_FULFILMENT) for line in order.lines
    ):
        order.transition_to(OrderStatus.RECEIVED, reason="fulfilment cancelled")
