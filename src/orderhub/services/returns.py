"""Returns (RMA): open one against the channel's policy, move it along, restock, refund.

Every action loads the order for update first, so actions on the same order queue behind each
other, and appends the return's events to the order: they land in its history and outbox.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from orderhub.clock import utc_now
from orderhub.domain.errors import FieldError, ValidationFailed
from orderhub.domain.fulfilment import TrackingStatus
from orderhub.domain.money import Money
from orderhub.domain.orders import Order
from orderhub.domain.returns import Disposition, Return, request_return
from orderhub.services import inventory
from orderhub.services.allocation import allocate_waiting
from orderhub.services.refunds import issue_refund, return_policy
from orderhub.store.after_sale import ReturnRecord
from orderhub.store.unit_of_work import UnitOfWork


def _shipped_and_delivered(
    uow: UnitOfWork, order_id: str
) -> tuple[dict[str, int], datetime | None]:
    """Units shipped per line, and when the last delivered parcel arrived (None if none has)."""
    shipped: dict[str, int] = {}
    delivered: datetime | None = None
    for fulfilment in uow.fulfilment.for_order(order_id):
        for line_id, count in fulfilment.shipped_units().items():
            shipped[line_id] = shipped.get(line_id, 0) + count
        for shipment in fulfilment.shipments:
            if shipment.status == TrackingStatus.DELIVERED and shipment.status_at is not None:
                delivered = max(delivered or shipment.status_at, shipment.status_at)
    return shipped, delivered


def open_return(
    uow: UnitOfWork,
    *,
    order_id: str,
    units: Mapping[str, int],
    reason: str,
    now: datetime | None = None,
) -> str:
    """Request a return of ``units`` per order line; commits and returns the RMA id."""
    now = now or utc_now()
    order = uow.orders.get(order_id, for_update=True)
    shipped, delivered_at = _shipped_and_delivered(uow, order_id)
    rma = request_return(
        order,
        units,
        reason=reason,
        policy=return_policy(uow.channels.get(order.channel)),
        delivered_at=delivered_at,
        now=now,
        shipped=shipped,
        already_returned=uow.after_sale.returned_units(order_id),
    )
    uow.after_sale.add_return(rma, channel=order.channel, now=now)
    _chain(order, rma)
    uow.commit()
    return rma.id


def _chain(order: Order, rma: Return) -> None:
    order.events.extend(rma.events)
    rma.events.clear()


@dataclass(frozen=True)
class Action:
    """One step of the lifecycle with what it needs."""

    name: str  # authorize | reject | in-transit | receive | inspect | refund | close
    note: str | None = None  # rejection reason, tracking number
    location: str | None = None  # receive
    dispositions: Mapping[str, Disposition] | None = None  # inspect


def act(uow: UnitOfWork, *, return_id: str, action: Action, now: datetime | None = None) -> None:
    """Apply ``action`` to the return; commits."""
    now = now or utc_now()
    order_id = uow.after_sale.get_return(return_id).rma.order_id
    order = uow.orders.get(order_id, for_update=True)
    record = uow.after_sale.get_return(return_id)  # read again under the order's lock
    rma = record.rma
    location: str | None = None
    restocked: set[str] = set()
    if action.name == "authorize":
        rma.authorize()
    elif action.name == "reject":
        rma.reject(reason=action.note or "rejected")
    elif action.name == "in-transit":
        rma.ship_back(tracking=action.note)
    elif action.name == "receive":
        location = _location(uow, action.location)
        rma.receive()
    elif action.name == "inspect":
        rma.inspect(action.dispositions or {})
        restocked = _restock(uow, record)
    elif action.name == "refund":
        calc = issue_refund(
            uow,
            order=order,
            units={line.order_line_id: line.quantity for line in rma.lines},
            reason=f"return: {rma.reason}",
            is_return=True,
            return_id=rma.id,
            now=now,
        )
        rma.mark_refunded(amount=calc.amount)
    elif action.name == "close":
        rma.close()
    else:
        raise ValidationFailed("unknown action", [FieldError(("action",), action.name)])
    uow.after_sale.save_return(rma, now=now, location=location)
    _chain(order, rma)
    uow.commit()
    if restocked:  # back on the shelf: like a receipt, it serves the waiting orders
        allocate_waiting(uow, skus=restocked)


def _location(uow: UnitOfWork, code: str | None) -> str:
    if not code or not uow.locations.existing({code}):
        raise ValidationFailed(
            "receive at a known location", [FieldError(("location",), "unknown location")]
        )
    return code


def _restock(uow: UnitOfWork, record: ReturnRecord) -> set[str]:
    """Units marked ``restock`` go back on the shelf where the return was received; returns
    the SKUs restocked."""
    restock = record.rma.restock
    if restock and record.location is None:
        raise ValidationFailed(
            "restocking needs the location the return was received at",
            [FieldError(("location",), "receive the return at a location first")],
        )
    for sku, quantity in sorted(restock.items()):
        assert record.location is not None
        inventory.restock_return(
            uow, sku=sku, location=record.location, quantity=quantity, reference=record.rma.id
        )
    return set(restock)


def refund_amount(uow: UnitOfWork, return_id: str) -> Money | None:
    """What the return's refund gave back, if it has been refunded."""
    for refund in uow.after_sale.refunds_of(uow.after_sale.get_return(return_id).rma.order_id):
        if refund.return_id == return_id:
            return Money.from_minor(refund.amount_minor, refund.currency)
    return None
