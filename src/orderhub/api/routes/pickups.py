"""Pick-up in store: the store's list, ready, hand-over on the customer's code, and the code."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from orderhub.api.deps import ContainerDep, require, require_order_visible
from orderhub.api.schemas.pages import Cursor, Limit, Page
from orderhub.domain.access import Permission
from orderhub.domain.pickups import MAX_CODE_FAILURES, Pickup, PickupStatus
from orderhub.services import stores
from orderhub.store.access import Principal
from orderhub.store.unit_of_work import UnitOfWork

router = APIRouter(prefix="/pickups", tags=["stores"])

Reader = Annotated[Principal, Depends(require(Permission.ORDERS_READ))]
Staff = Annotated[Principal, Depends(require(Permission.FULFILMENT_WRITE))]
Channel = Annotated[Principal, Depends(require(Permission.ORDERS_WRITE))]


class PickupOut(BaseModel):
    id: str = Field(description="the pick-up's fulfilment order id")
    order_id: str
    location: str
    status: PickupStatus
    code_issued: bool
    code_locked: bool = Field(
        description=f"{MAX_CODE_FAILURES} wrong codes were shown: no code is taken until a"
        " fresh one is issued"
    )
    ready_at: datetime | None
    expires_at: datetime | None
    overdue: bool = Field(description="ready and past expires_at: the worker will expire it")
    picked_up_at: datetime | None
    closed_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, pickup: Pickup, now: datetime) -> PickupOut:
        return cls(
            id=pickup.fulfilment_id,
            order_id=pickup.order_id,
            location=pickup.location,
            status=pickup.status,
            code_issued=pickup.code_hash is not None,
            code_locked=pickup.code_locked,
            ready_at=pickup.ready_at,
            expires_at=pickup.expires_at,
            overdue=pickup.overdue(now),
            picked_up_at=pickup.picked_up_at,
            closed_at=pickup.closed_at,
            created_at=pickup.created_at,
        )


class HandOverIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    code: str = Field(min_length=1, max_length=32, description="the code the customer shows")


class CodeOut(BaseModel):
    id: str
    pickup_code: str = Field(description="shown once: only a hash is kept")


def _visible(uow: UnitOfWork, principal: Principal, pickup_id: str) -> Pickup:
    pickup = uow.pickups.get(pickup_id)
    require_order_visible(uow, principal, pickup.order_id, f"pick-up {pickup_id}")
    return pickup


@router.get("", response_model=Page[PickupOut])
def list_pickups(
    principal: Reader,
    container: ContainerDep,
    location: str | None = None,
    status: PickupStatus | None = None,
    open: bool = False,
    order_id: str | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[PickupOut]:
    """Pick-ups of a store or an order; ``open=true``: still picking or ready."""
    with container.uow(read_only=True) as uow:
        found, next_cursor = uow.pickups.page(
            location=location,
            status="open" if open else (status.value if status else None),
            order_id=order_id,
            channel=principal.channel,
            limit=limit,
            cursor=cursor,
        )
        now = uow.now()
    return Page(items=[PickupOut.of(p, now) for p in found], next_cursor=next_cursor)


@router.get("/{pickup_id}", response_model=PickupOut)
def get_pickup(pickup_id: str, principal: Reader, container: ContainerDep) -> PickupOut:
    with container.uow(read_only=True) as uow:
        return PickupOut.of(_visible(uow, principal, pickup_id), uow.now())


@router.post("/{pickup_id}/ready", response_model=PickupOut)
def mark_ready(pickup_id: str, principal: Staff, container: ContainerDep) -> PickupOut:
    """Picked and at the counter: ``order.ready_for_pickup`` goes to the channel."""
    with container.uow(actor=principal.actor) as uow:
        _visible(uow, principal, pickup_id)
        return PickupOut.of(stores.mark_ready(uow, fulfilment_id=pickup_id), uow.now())


@router.post("/{pickup_id}/picked_up", response_model=PickupOut)
def picked_up(
    pickup_id: str, body: HandOverIn, principal: Staff, container: ContainerDep
) -> PickupOut:
    """Hand over on the customer's code; a wrong code is a 422 problem at ``code``."""
    with container.uow(actor=principal.actor) as uow:
        _visible(uow, principal, pickup_id)
        pickup = stores.hand_over(uow, fulfilment_id=pickup_id, code=body.code)
        return PickupOut.of(pickup, uow.now())


@router.post("/{pickup_id}/code", response_model=CodeOut)
def issue_code(pickup_id: str, principal: Channel, container: ContainerDep) -> CodeOut:
    """A fresh code for the customer, shown once (the previous one stops working)."""
    with container.uow(actor=principal.actor) as uow:
        _visible(uow, principal, pickup_id)
        return CodeOut(id=pickup_id, pickup_code=stores.issue_code(uow, fulfilment_id=pickup_id))
