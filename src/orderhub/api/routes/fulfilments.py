"""Fulfilment orders: list and read them; staff ship, pick and pack at own locations."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from orderhub.api.deps import ContainerDep, require, require_order_visible
from orderhub.api.schemas.bounded import Quantity, Timestamp
from orderhub.api.schemas.orders import ShipmentOut, shipments_out
from orderhub.api.schemas.pages import Cursor, Limit, Page
from orderhub.domain.access import Permission
from orderhub.domain.fulfilment import FulfilmentOrder, FulfilmentStatus
from orderhub.fulfilment.warehouse import packing_slip, pick_list
from orderhub.services import fulfilment as service
from orderhub.services.fulfilment_wiring import default_dependencies
from orderhub.store.access import Principal
from orderhub.store.unit_of_work import UnitOfWork

router = APIRouter(prefix="/fulfillments", tags=["fulfilment"])

Reader = Annotated[Principal, Depends(require(Permission.ORDERS_READ))]
Shipper = Annotated[Principal, Depends(require(Permission.FULFILMENT_WRITE))]


class FulfilmentLineOut(BaseModel):
    line_id: str
    sku: str
    quantity: int
    shipped: int


class FulfilmentOut(BaseModel):
    id: str
    order_id: str
    location: str
    provider: str
    status: FulfilmentStatus
    external_ref: str | None
    reason: str | None
    created_at: datetime
    lines: list[FulfilmentLineOut]
    shipments: list[ShipmentOut]

    @classmethod
    def of(cls, f: FulfilmentOrder) -> FulfilmentOut:
        shipped = f.shipped_units()
        return cls(
            id=f.id,
            order_id=f.order_id,
            location=f.location,
            provider=f.provider,
            status=f.status,
            external_ref=f.external_ref,
            reason=f.reason,
            created_at=f.created_at,
            lines=[
                FulfilmentLineOut(
                    line_id=x.line_id, sku=x.sku, quantity=x.quantity, shipped=shipped[x.line_id]
                )
                for x in f.lines
            ],
            shipments=shipments_out([f]),
        )


class ShipLine(BaseModel):
    model_config = ConfigDict(extra="forbid")
    line_id: str
    quantity: Quantity


class ShipIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lines: list[ShipLine] = Field(min_length=1)
    carrier: str = Field(min_length=1, max_length=100, examples=["ups"])
    service: str | None = Field(default=None, max_length=100)
    tracking_number: str | None = Field(default=None, max_length=200)
    shipped_at: Timestamp | None = None


def _visible(uow: UnitOfWork, principal: Principal, fulfilment_id: str) -> FulfilmentOrder:
    fulfilment = uow.fulfilment.get(fulfilment_id)
    require_order_visible(uow, principal, fulfilment.order_id, f"fulfilment {fulfilment_id}")
    return fulfilment


@router.get("", response_model=Page[FulfilmentOut])
def list_fulfilments(
    principal: Reader,
    container: ContainerDep,
    status: FulfilmentStatus | None = None,
    location: str | None = None,
    order_id: str | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[FulfilmentOut]:
    """Newest first; a channel-scoped key sees only its channel's."""
    with container.uow(read_only=True) as uow:
        found, next_cursor = uow.fulfilment.page(
            status=status.value if status else None,
            location=location,
            order_id=order_id,
            channel=principal.channel,
            limit=limit,
            cursor=cursor,
        )
    return Page(items=[FulfilmentOut.of(f) for f in found], next_cursor=next_cursor)


@router.get("/pick-list")
def location_pick_list(
    location: str, principal: Shipper, container: ContainerDep
) -> list[dict[str, Any]]:
    """Units to pick at ``location`` for every accepted or started fulfilment order, per SKU."""
    with container.uow(read_only=True) as uow:
        work = [
            f
            for status in (FulfilmentStatus.ACCEPTED, FulfilmentStatus.IN_PROGRESS)
            for f in uow.fulfilment.search(status=status.value, location=location, limit=1000)
        ]
        return pick_list(work)


@router.get("/{fulfilment_id}", response_model=FulfilmentOut)
def get_fulfilment(fulfilment_id: str, principal: Reader, container: ContainerDep) -> FulfilmentOut:
    with container.uow(read_only=True) as uow:
        return FulfilmentOut.of(_visible(uow, principal, fulfilment_id))


@router.get("/{fulfilment_id}/packing-slip")
def get_packing_slip(
    fulfilment_id: str, principal: Shipper, container: ContainerDep
) -> dict[str, Any]:
    with container.uow(read_only=True) as uow:
        fulfilment = _visible(uow, principal, fulfilment_id)
        return packing_slip(fulfilment, uow.orders.get(fulfilment.order_id))


@router.post("/{fulfilment_id}/ship", status_code=201, response_model=FulfilmentOut)
def ship(
    fulfilment_id: str, body: ShipIn, principal: Shipper, container: ContainerDep
) -> FulfilmentOut:
    """Staff report a parcel (partial shipments welcome); the order follows."""
    lines: dict[str, int] = {}
    for line in body.lines:
        lines[line.line_id] = lines.get(line.line_id, 0) + line.quantity
    with container.uow(actor=principal.actor) as uow:
        _visible(uow, principal, fulfilment_id)
        with default_dependencies(uow) as deps:
            service.ship_from_warehouse(
                uow,
                fulfilment_id=fulfilment_id,
                lines=lines,
                carrier=body.carrier,
                service=body.service,
                tracking_number=body.tracking_number,
                shipped_at=body.shipped_at,
                deps=deps,
            )
        return FulfilmentOut.of(uow.fulfilment.get(fulfilment_id))
