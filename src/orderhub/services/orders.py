"""Order actions taken in the hub (cancel, hold, release)."""

from __future__ import annotations

from orderhub.services.allocation import allocate_waiting
from orderhub.services.inventory import release_order
from orderhub.store.unit_of_work import UnitOfWork


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
