"""An order's SLA clock: when it must ship and arrive, and where it stands now."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from orderhub.api.deps import ContainerDep, require, require_order_visible
from orderhub.clock import utc_now
from orderhub.domain.access import Permission
from orderhub.domain.orders import OPEN_STATUSES
from orderhub.domain.sla import SlaState
from orderhub.services.sla import policy_of
from orderhub.store.access import Principal

router = APIRouter(prefix="/orders", tags=["orders"])

Reader = Annotated[Principal, Depends(require(Permission.ORDERS_READ))]


class SlaOut(BaseModel):
    ship_by: datetime | None
    deliver_by: datetime | None
    state: SlaState | None  # None: the channel promises nothing, or the order is no longer open


@router.get("/{order_id}/sla", response_model=SlaOut)
def order_sla(order_id: str, principal: Reader, container: ContainerDep) -> SlaOut:
    with container.uow(read_only=True) as uow:
        channel = require_order_visible(uow, principal, order_id, f"order {order_id}")
        ship_by, deliver_by = uow.fulfilment.sla_dates(order_id)
        policy = policy_of(uow, channel)
        status = uow.orders.get(order_id).status
    state = None
    if policy is not None and ship_by is not None and status in OPEN_STATUSES:
        state = policy.state(ship_by, utc_now())
    return SlaOut(ship_by=ship_by, deliver_by=deliver_by, state=state)
