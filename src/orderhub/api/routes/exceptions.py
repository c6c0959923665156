"""The exception queue: rejections, stock-outs, failed dispatches, delivery problems."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from orderhub.api.deps import ContainerDep, require, require_order_visible
from orderhub.api.schemas.pages import Cursor, Limit, Page
from orderhub.clock import utc_now
from orderhub.domain.access import Permission
from orderhub.services.fulfilment import resolve_exception
from orderhub.store.access import Principal
from orderhub.store.fulfilment import FulfilmentException

router = APIRouter(prefix="/exceptions", tags=["fulfilment"])

Reader = Annotated[Principal, Depends(require(Permission.ORDERS_READ))]
Resolver = Annotated[Principal, Depends(require(Permission.FULFILMENT_WRITE))]


class ExceptionOut(BaseModel):
    id: str
    type: str
    order_id: str
    fulfilment_id: str | None
    detail: str
    suggested_action: str
    status: str
    created_at: datetime
    age_seconds: int
    resolution: str | None
    resolved_by: str | None
    resolved_at: datetime | None

    @classmethod
    def of(cls, e: FulfilmentException, now: datetime) -> ExceptionOut:
        return cls(
            id=e.id,
            type=e.kind,
            order_id=e.order_id,
            fulfilment_id=e.fulfilment_id,
            detail=e.detail,
            suggested_action=e.suggested_action,
            status=e.status,
            created_at=e.created_at,
            age_seconds=int((now - e.created_at).total_seconds()),
            resolution=e.resolution,
            resolved_by=e.resolved_by,
            resolved_at=e.resolved_at,
        )


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    resolution: str = Field(min_length=1, max_length=500, examples=["stock recounted"])


@router.get("", response_model=Page[ExceptionOut])
def list_exceptions(
    principal: Reader,
    container: ContainerDep,
    status: Literal["open", "resolved"] = "open",
    type: str | None = None,
    order_id: str | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[ExceptionOut]:
    """Oldest first: the queue to work through; a channel key sees only its channel's."""
    now = utc_now()
    with container.uow(read_only=True) as uow:
        found, next_cursor = uow.fulfilment.exceptions_page(
            status=status,
            kind=type,
            order_id=order_id,
            channel=principal.channel,
            limit=limit,
            cursor=cursor,
        )
    return Page(items=[ExceptionOut.of(e, now) for e in found], next_cursor=next_cursor)


@router.post("/{exception_id}/resolve", response_model=ExceptionOut)
def resolve(
    exception_id: str, body: ResolveIn, principal: Resolver, container: ContainerDep
) -> ExceptionOut:
    with container.uow(actor=principal.actor) as uow:
        found = uow.fulfilment.exception(exception_id)
        require_order_visible(uow, principal, found.order_id, f"exception {exception_id}")
        resolve_exception(
            uow, exception_id=exception_id, resolution=body.resolution, actor=principal.actor
        )
        return ExceptionOut.of(uow.fulfilment.exception(exception_id), utc_now())
