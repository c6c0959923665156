"""Order actions taken in the hub (cancel, hold, release)."""

from __future__ import annotations

from orderhub.store.unit_of_work import UnitOfWork


def cancel_order(
    uow: UnitOfWork, *, order_id: str, reason: str, units: dict[str, int] | None = None
) -> None:
    """Cancel the whole order, or ``units`` per line id."""
    order = uow.orders.get(order_id, for_update=True)
    if units is None:
        order.cancel(reason=reason)
    else:
        order.cancel_units(units, reason=reason)
    uow.commit()
