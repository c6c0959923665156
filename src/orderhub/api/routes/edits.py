"""Order edits: ``POST /v1/orders/{id}/edits`` (see docs/editing.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from orderhub.api.deps import ContainerDep, require
from orderhub.api.routes.orders import load_visible, order_out
from orderhub.api.schemas.bounded import Amount, Flag, Quantity
from orderhub.api.schemas.orders import OrderOut
from orderhub.channels.native import AddressIn
from orderhub.domain import limits
from orderhub.domain.access import Permission, allows
from orderhub.domain.editing import AddLine, ChangeLine, OrderEdit, ShippingChange, totals_json
from orderhub.services.editing import EditOutcome, edit_order
from orderhub.store.access import Principal

router = APIRouter(prefix="/orders", tags=["orders"])
Editor = Annotated[Principal, Depends(require(Permission.ORDERS_EDIT))]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AddLineIn(_Strict):
    sku: str = Field(min_length=1, max_length=128, description="master SKU")
    quantity: Quantity
    unit_price: Amount | None = Field(
        default=None,
        description="price it by hand (returns:override_price); otherwise the order's line of "
        "the same SKU gives the price with its per-unit share of discount and tax",
    )
    tax: Amount | None = Field(default=None, description="the line's tax (an override)")
    discount: Amount | None = Field(default=None, description="the line's discount (an override)")


class ChangeLineIn(_Strict):
    line_id: str = Field(min_length=1, max_length=64)
    quantity: Annotated[StrictInt, Field(ge=0, le=limits.MAX_QUANTITY)] = Field(
        description="the units wanted from now on; 0 removes the line"
    )


class ShippingIn(_Strict):
    method: str | None = Field(default=None, min_length=1, max_length=200)
    price: Amount | None = None
    tax: Amount | None = None
    discount: Amount | None = None


class EditIn(_Strict):
    shipping_address: AddressIn | None = None
    add_lines: list[AddLineIn] = Field(default_factory=list, max_length=limits.MAX_DOCUMENT_LINES)
    change_lines: list[ChangeLineIn] = Field(
        default_factory=list, max_length=limits.MAX_DOCUMENT_LINES
    )
    shipping: ShippingIn | None = None
    reason: str | None = Field(default=None, max_length=500)
    preview: Flag = Field(
        default=False, description="answer what the edit would do, write nothing, call no one"
    )

    def to_edit(self) -> OrderEdit:
        s = self.shipping
        return OrderEdit(
            shipping_address=self.shipping_address.to_domain() if self.shipping_address else None,
            add_lines=tuple(
                AddLine(x.sku, x.quantity, x.unit_price, x.tax, x.discount) for x in self.add_lines
            ),
            change_lines=tuple(ChangeLine(x.line_id, x.quantity) for x in self.change_lines),
            shipping=ShippingChange(s.method, s.price, s.tax, s.discount) if s else None,
            reason=self.reason,
        )


class EditOut(BaseModel):
    edit_id: str
    preview: bool
    difference: str = Field(description="new total − old total: > 0 due, < 0 owed to the buyer")
    balance: str = Field(description="due | owed | none")
    totals: dict[str, dict[str, str]] = Field(description="before and after")
    changes: dict[str, Any] = Field(description="each part changed, before and after")
    routing: dict[str, Any] = Field(description="lines routed again, where before and after, why")
    fulfilments: list[dict[str, Any]] = Field(
        description="each fulfilment order touched: updated, or cancelled (and recreated)"
    )
    order: OrderOut


def edit_out(outcome: EditOutcome, order: OrderOut) -> EditOut:
    difference = outcome.difference
    balance = "none" if not difference.amount else "owed" if difference.is_negative() else "due"
    return EditOut(
        edit_id=outcome.edit_id,
        preview=outcome.preview,
        difference=str(difference.amount),
        balance=balance,
        totals={"before": totals_json(outcome.before), "after": totals_json(outcome.after)},
        changes=outcome.changes,
        routing=outcome.routing,
        fulfilments=list(outcome.fulfilments),
        order=order,
    )


@router.post("/{order_id}/edits", response_model=EditOut)
def edit(order_id: str, body: EditIn, principal: Editor, container: ContainerDep) -> EditOut:
    """Change an open order: a new shipping address, lines added, quantities changed (0
    removes), shipping changed. All or nothing; 409 with a cancel-and-replace hint once a
    line has shipped or its fulfilment can no longer change. ``preview``: writes nothing."""
    wanted = body.to_edit()
    override = Permission.RETURNS_OVERRIDE_PRICE
    if wanted.overrides_price and not allows(principal.role, override):
        raise HTTPException(403, f"role {principal.role.value!r} lacks {override.value!r}")
    with container.uow(actor=principal.actor) as uow:
        load_visible(uow, principal, order_id)
        uow.rollback()
        outcome = edit_order(uow, order_id=order_id, edit=wanted, preview=body.preview)
        return edit_out(outcome, order_out(uow, order_id))
