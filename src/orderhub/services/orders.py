"""Order actions taken in the hub (cancel, hold, release)."""

from __future__ import annotations

from orderhub.services.allocation import allocate_waiting
from orderhub.services.inventory import release_order
from orderhub.store.unit_of_work import UnitOfWork


def cancel_order(uow: UnitOfWork, *, order_id: str, reason: str) -> None:
    """Cancel the order and give back its reservations; waiting orders may then take them."""
    order = uow.orders.get(order_id, for_update=True)
    order.cancel(reason=reason)
    released = release_order(uow, order=order, reason=f"cancelled: {reason}")
    uow.commit()
    if released:
        allocate_waiting(uow, skus=released)
