"""Returns (RMA): open one on an order, list and read them, move them along their lifecycle."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field

from orderhub.api.deps import ContainerDep, require, visible_to
from orderhub.api.routes.orders import load_visible
from orderhub.api.schemas.bounded import Amount, Quantity
from orderhub.api.schemas.pages import Cursor, Limit, Page
from orderhub.domain.access import Permission, allows
from orderhub.domain.errors import NotFound
from orderhub.domain.returns import Disposition, ReturnStatus
from orderhub.services import exchanges, returns
from orderhub.store.access import Principal
from orderhub.store.after_sale import ReturnRecord
from orderhub.store.unit_of_work import UnitOfWork

router = APIRouter(tags=["returns"])

Reader = Annotated[Principal, Depends(require(Permission.ORDERS_READ))]
Manager = Annotated[Principal, Depends(require(Permission.ORDERS_MANAGE))]


class UnitsIn(BaseModel):
    line_id: str
    quantity: Quantity


class ReturnIn(BaseModel):
    lines: list[UnitsIn] = Field(min_length=1)
    reason: str = Field(min_length=1, max_length=200, examples=["wrong size"])


class ReturnLineOut(BaseModel):
    line_id: str
    sku: str
    quantity: int
    disposition: Disposition | None


class ReturnOut(BaseModel):
    id: str
    order_id: str
    channel: str
    status: ReturnStatus
    reason: str
    location: str | None
    exchange_order_id: str | None
    refunded: str | None = Field(description="amount given back, once refunded")
    lines: list[ReturnLineOut]
    created_at: datetime
    updated_at: datetime


def return_out(uow: UnitOfWork, record: ReturnRecord) -> ReturnOut:
    rma = record.rma
    refunded = returns.refund_amount(uow, rma.id)
    return ReturnOut(
        id=rma.id,
        order_id=rma.order_id,
        channel=record.channel,
        status=rma.status,
        reason=rma.reason,
        location=record.location,
        exchange_order_id=rma.exchange_order_id,
        refunded=str(refunded.amount) if refunded is not None else None,
        lines=[
            ReturnLineOut(
                line_id=x.order_line_id, sku=x.sku, quantity=x.quantity, disposition=x.disposition
            )
            for x in rma.lines
        ],
        created_at=record.created_at,
        updated_at=record.updated_at,
    )


def _visible_return(uow: UnitOfWork, principal: Principal, return_id: str) -> ReturnRecord:
    record = uow.after_sale.get_return(return_id)
    if not visible_to(principal, record.channel):
        raise NotFound(f"return {return_id} not found")
    return record


@router.post("/orders/{order_id}/returns", status_code=201, response_model=ReturnOut)
def open_return(
    order_id: str, body: ReturnIn, principal: Manager, container: ContainerDep
) -> ReturnOut:
    """Request a return (RMA) of shipped units, checked against the channel's return policy."""
    with container.uow(actor=principal.actor) as uow:
        load_visible(uow, principal, order_id)
        units = {line.line_id: line.quantity for line in body.lines}
        if len(units) != len(body.lines):
            units = {}
            for line in body.lines:
                units[line.line_id] = units.get(line.line_id, 0) + line.quantity
        return_id = returns.open_return(uow, order_id=order_id, units=units, reason=body.reason)
        return return_out(uow, uow.after_sale.get_return(return_id))


@router.get("/returns", response_model=Page[ReturnOut])
def list_returns(
    principal: Reader,
    container: ContainerDep,
    status: ReturnStatus | None = None,
    order_id: str | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[ReturnOut]:
    """Returns, oldest first; a channel key sees only its channel's."""
    with container.uow(read_only=True) as uow:
        records, next_cursor = uow.after_sale.search_returns(
            status=status.value if status else None,
            order_id=order_id,
            channel=principal.channel,
            limit=limit,
            cursor=cursor,
        )
        items = [return_out(uow, r) for r in records]
    return Page(items=items, next_cursor=next_cursor)


@router.get("/returns/{return_id}", response_model=ReturnOut)
def get_return(return_id: str, principal: Reader, container: ContainerDep) -> ReturnOut:
    with container.uow(read_only=True) as uow:
        return return_out(uow, _visible_return(uow, principal, return_id))


class ExchangeLineIn(BaseModel):
    sku: str = Field(min_length=1, max_length=100)
    quantity: Quantity
    unit_price: Amount | None = Field(
        default=None,
        description="override the price the original order gives (returns:override_price)",
    )
    tax: Amount | None = Field(
        default=None, description="override the line's tax (returns:override_price)"
    )


class ExchangeIn(BaseModel):
    lines: list[ExchangeLineIn] = Field(min_length=1)


class ExchangeOut(BaseModel):
    return_: ReturnOut = Field(alias="return")
    exchange_order_id: str
    credit: str = Field(description="value of the returned units, credited to the exchange")
    difference: str = Field(description="> 0 charged to the buyer, < 0 refunded")

    model_config = {"populate_by_name": True}


@router.post("/returns/{return_id}/exchange", response_model=ExchangeOut)
def exchange(
    return_id: str, body: ExchangeIn, principal: Manager, container: ContainerDep
) -> ExchangeOut:
    """Settle an inspected return with a replacement order priced from the original order;
    the difference is charged or refunded and booked in the ledger. Nothing is written when
    it is refused."""
    lines = [
        exchanges.ExchangeLine(
            x.sku,
            x.quantity,
            x.unit_price,
            x.tax,
        )
        for x in body.lines
    ]
    override = Permission.RETURNS_OVERRIDE_PRICE
    if any(line.overrides_price for line in lines) and not allows(principal.role, override):
        raise HTTPException(403, f"role {principal.role.value!r} lacks {override.value!r}")
    with container.uow(actor=principal.actor) as uow:
        _visible_return(uow, principal, return_id)
        uow.rollback()
        result = exchanges.exchange(uow, return_id=return_id, lines=lines)
        return ExchangeOut(
            return_=return_out(uow, uow.after_sale.get_return(return_id)),
            exchange_order_id=result.order_id,
            credit=str(result.credit.amount),
            difference=str(result.difference.amount),
        )


class ActionIn(BaseModel):
    note: str | None = Field(
        default=None, max_length=500, description="rejection reason or return tracking number"
    )
    location: str | None = Field(default=None, description="receive: where it arrived")
    dispositions: dict[str, Disposition] | None = Field(
        default=None, description="inspect: order line id → restock | damaged | dispose"
    )


ActionName = Literal["authorize", "reject", "in-transit", "receive", "inspect", "refund", "close"]


@router.post("/returns/{return_id}/{action}", response_model=ReturnOut)
def act(
    return_id: str,
    action: ActionName,
    principal: Manager,
    container: ContainerDep,
    body: ActionIn | None = None,
) -> ReturnOut:
    """Move the return along its lifecycle (409 when the move is not allowed from here)."""
    body = body or ActionIn()
    with container.uow(actor=principal.actor) as uow:
        _visible_return(uow, principal, return_id)
        uow.rollback()
        returns.act(
            uow,
            return_id=return_id,
            action=returns.Action(action, body.note, body.location, body.dispositions),
        )
        return return_out(uow, uow.after_sale.get_return(return_id))
