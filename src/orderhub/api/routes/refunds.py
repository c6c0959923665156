"""Refunds the hub decides, the refunds of an order, and its financial ledger."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from orderhub.api.deps import ContainerDep, require
from orderhub.api.routes.orders import load_visible
from orderhub.api.schemas.bounded import Quantity
from orderhub.domain.access import Permission
from orderhub.domain.money import Money
from orderhub.services import refunds
from orderhub.store.access import Principal
from orderhub.store.after_sale import StoredRefund

router = APIRouter(prefix="/orders", tags=["refunds"])

Reader = Annotated[Principal, Depends(require(Permission.ORDERS_READ))]
Manager = Annotated[Principal, Depends(require(Permission.ORDERS_MANAGE))]


class RefundLineIn(BaseModel):
    line_id: str
    quantity: Quantity


class RefundIn(BaseModel):
    lines: list[RefundLineIn] = Field(min_length=1)
    reason: str = Field(min_length=1, max_length=200, examples=["partial cancellation"])


class RefundOut(BaseModel):
    id: str
    order_id: str
    return_id: str | None
    reason: str
    currency: str
    amount: str
    shipping: str
    fees: str
    lines: list[dict[str, Any]]
    created_at: datetime

    @classmethod
    def of(cls, refund: StoredRefund) -> RefundOut:
        def money(minor: int) -> str:
            return str(Money.from_minor(minor, refund.currency).amount)

        return cls(
            id=refund.id,
            order_id=refund.order_id,
            return_id=refund.return_id,
            reason=refund.reason,
            currency=refund.currency,
            amount=money(refund.amount_minor),
            shipping=money(refund.shipping_minor),
            fees=money(refund.fees_minor),
            lines=refund.lines,
            created_at=refund.created_at,
        )


@router.post("/{order_id}/refunds", status_code=201, response_model=RefundOut)
def refund(order_id: str, body: RefundIn, principal: Manager, container: ContainerDep) -> RefundOut:
    """Refund units of some lines, each with its exact share of discount and tax."""
    units: dict[str, int] = {}
    for line in body.lines:
        units[line.line_id] = units.get(line.line_id, 0) + line.quantity
    with container.uow(actor=principal.actor) as uow:
        load_visible(uow, principal, order_id)
        refund_id = refunds.refund_units(uow, order_id=order_id, units=units, reason=body.reason)
        stored = next(r for r in uow.after_sale.refunds_of(order_id) if r.id == refund_id)
        return RefundOut.of(stored)


@router.get("/{order_id}/refunds", response_model=list[RefundOut])
def list_refunds(order_id: str, principal: Reader, container: ContainerDep) -> list[RefundOut]:
    with container.uow(read_only=True) as uow:
        load_visible(uow, principal, order_id)
        return [RefundOut.of(r) for r in uow.after_sale.refunds_of(order_id)]


class EntryOut(BaseModel):
    kind: str
    amount: str
    reference: str | None
    note: str | None
    created_at: datetime


class LedgerOut(BaseModel):
    currency: str
    order_total: str = Field(description="what the order is worth now: cancelled units not counted")
    charged: str
    refunded: str
    fees_kept: str
    credited: str = Field(
        description="what order edits lowered the order by: owed to the buyer (in to_refund)"
    )
    balance: str = Field(description="charged − refunded: what the merchant keeps")
    to_refund: str = Field(
        description="balance − order_total: kept for cancelled units not refunded yet"
    )
    entries: list[EntryOut]


@router.get("/{order_id}/ledger", response_model=LedgerOut)
def ledger(order_id: str, principal: Reader, container: ContainerDep) -> LedgerOut:
    """The order's money: the charge, every refund and the fees kept."""
    with container.uow(read_only=True) as uow:
        load_visible(uow, principal, order_id)
        view = refunds.ledger(uow, order_id=order_id)
    c = view.currency
    return LedgerOut(
        currency=c,
        order_total=str(view.order_total.amount),
        charged=str(view.charged.amount),
        refunded=str(view.refunded.amount),
        fees_kept=str(view.fees_kept.amount),
        credited=str(view.credited.amount),
        balance=str(view.balance.amount),
        to_refund=str(view.to_refund.amount),
        entries=[
            EntryOut(
                kind=e.kind,
                amount=str(Money.from_minor(e.amount_minor, c).amount),
                reference=e.reference,
                note=e.note,
                created_at=e.created_at,
            )
            for e in view.entries
        ],
    )
