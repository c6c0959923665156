"""Deliveries: what the worker has done with each event per consumer; dead letters re-driven."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from orderhub.api.deps import ContainerDep, require
from orderhub.api.schemas.pages import Cursor, Limit
from orderhub.domain.access import Permission
from orderhub.services.deliveries import retry_delivery
from orderhub.store import deliveries
from orderhub.store.access import Principal
from orderhub.store.deliveries import Delivery, DeliveryFilter, DeliveryStatus

router = APIRouter(prefix="/deliveries", tags=["deliveries"])

Reader = Annotated[Principal, Depends(require(Permission.DELIVERIES_READ))]
Retrier = Annotated[Principal, Depends(require(Permission.DELIVERIES_RETRY))]


class DeliveryOut(BaseModel):
    id: str
    event_id: str
    event_type: str
    stream: str
    consumer: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    lease_owner: str | None
    lease_expires_at: datetime | None
    delivered_at: datetime | None
    delivered_by: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, delivery: Delivery) -> DeliveryOut:
        return cls(**delivery.__dict__)


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None


@router.get("", response_model=DeliveryPage)
def list_deliveries(
    _principal: Reader,
    container: ContainerDep,
    status: DeliveryStatus | None = None,
    consumer: str | None = None,
    event_type: str | None = None,
    event_id: str | None = None,
    stream: str | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> DeliveryPage:
    """Newest first; ``?status=dead`` lists the dead letters. Pass ``next_cursor`` back."""
    filters = DeliveryFilter(
        status=status, consumer=consumer, event_type=event_type, event_id=event_id, stream=stream
    )
    with container.uow(read_only=True) as uow:
        items, next_cursor = deliveries.page(uow.conn, filters, limit=limit, cursor=cursor)
    return DeliveryPage(items=[DeliveryOut.of(d) for d in items], next_cursor=next_cursor)


@router.get("/{delivery_id}", response_model=DeliveryOut)
def get_delivery(delivery_id: str, _principal: Reader, container: ContainerDep) -> DeliveryOut:
    with container.uow(read_only=True) as uow:
        return DeliveryOut.of(deliveries.get(uow.conn, delivery_id))


@router.post("/{delivery_id}/retry", response_model=DeliveryOut)
def retry(delivery_id: str, principal: Retrier, container: ContainerDep) -> DeliveryOut:
    """Re-drive a dead delivery now, with a fresh attempt budget (409 if it is not dead/pending)."""
    with container.uow(actor=principal.actor) as uow:
        return DeliveryOut.of(retry_delivery(uow, delivery_id=delivery_id))
