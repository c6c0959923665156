"""Operator actions on deliveries."""

from __future__ import annotations

from orderhub.store import deliveries
from orderhub.store.deliveries import Delivery
from orderhub.store.unit_of_work import UnitOfWork


def retry_delivery(uow: UnitOfWork, *, delivery_id: str) -> Delivery:
    """Put a dead delivery back in line, due now, with a fresh attempt budget."""
    delivery = deliveries.retry(uow.conn, delivery_id, now=uow.now())
    uow.commit()
    return delivery
