"""Order actions taken in the hub (cancel, hold, release)."""

from __future__ import annotations

from orderhub.store.unit_of_work import UnitOfWork


def cancel_order(uow: UnitOfWork, *, order_id: str, reason: str) -> None:
    order = uow.orders.get(order_id, for_update=True)
    order.cancel(reason=reason)
    uow.commit()
