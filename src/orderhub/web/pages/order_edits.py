"""Order detail, edit part: the form that changes an open order, its preview (the cost and
where it would ship from, nothing written) and the edit itself — the same service as
``POST /v1/orders/{id}/edits`` (:func:`orderhub.services.editing.edit_order`)."""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from orderhub.api.deps import ContainerDep
from orderhub.domain.access import Permission
from orderhub.domain.editing import AddLine, ChangeLine, OrderEdit, ShippingChange
from orderhub.domain.errors import Conflict, FieldError, NotFound, ValidationFailed
from orderhub.domain.orders import OPEN_STATUSES, Address, LineStatus, Order
from orderhub.services.editing import EditOutcome, edit_order
from orderhub.store import queries
from orderhub.web.auth import Viewer, page
from orderhub.web.templating import render

router = APIRouter()
Editor = Annotated[Viewer, Depends(page(Permission.ORDERS_EDIT))]
NOTICES = {"edited": "The order was edited."}
ADDRESS_FIELDS = ("name", "line1", "city", "region", "postal_code", "country")


def edit_form_of(order: Order, viewer: Viewer) -> dict[str, Any]:
    """What the order page needs for its edit form."""
    return {
        "can_edit": viewer.can(Permission.ORDERS_EDIT) and order.status in OPEN_STATUSES,
        "can_price": viewer.can(Permission.RETURNS_OVERRIDE_PRICE),
        "edit_lines": [
            {"id": line.id, "sku": line.sku, "open": line.open_quantity}
            for line in order.lines
            if line.status != LineStatus.CANCELLED
        ],
        "edit_address": asdict(order.shipping_address) if order.shipping_address else {},
    }


class _Form:
    """The edit form's fields, read into an :class:`OrderEdit`; bad input becomes messages."""

    def __init__(self, order: Order, fields: dict[str, Any]) -> None:
        self.order = order
        self.fields = fields
        self.problems: list[str] = []

    def _number(self, name: str, label: str) -> Decimal | None:
        raw = str(self.fields.get(name) or "").strip()
        if not raw:
            return None
        try:
            return Decimal(raw)
        except InvalidOperation:
            self.problems.append(f"{label}: not a number")
            return None

    def _count(self, raw: str, label: str) -> int | None:
        try:
            value = int(raw.strip())
        except ValueError:
            self.problems.append(f"{label}: a whole number")
            return None
        if value < 0:
            self.problems.append(f"{label}: not below 0")
            return None
        return value

    def edit(self) -> OrderEdit:
        order, f = self.order, self.fields
        changes = []
        for line_id, raw in zip(f["line_id"], f["quantity"], strict=False):
            try:
                line = order.line(line_id)
            except KeyError:
                self.problems.append("a line of the form is not on the order")
                continue
            wanted = self._count(raw, f"{line.sku} quantity")
            if wanted is not None and wanted != line.open_quantity:
                changes.append(ChangeLine(line_id, wanted))
        added = []
        sku = str(f.get("add_sku") or "").strip()
        if sku:
            quantity = self._count(str(f.get("add_quantity") or "1"), "quantity to add") or 0
            price = self._number("add_unit_price", "unit price")
            if quantity:
                added.append(AddLine(sku, quantity, unit_price=price))
        address = None
        given = {k: str(f.get(k) or "").strip() or None for k in ADDRESS_FIELDS}
        current = asdict(order.shipping_address) if order.shipping_address else {}
        if any(given[k] != current.get(k) for k in ADDRESS_FIELDS) and given["country"]:
            address = Address(**{**current, **given})
        method = str(f.get("method") or "").strip() or None
        price = self._number("shipping_price", "shipping price")
        shipping = None
        if (method and method != order.shipping.method) or (
            price is not None and price != order.shipping.price.amount
        ):
            shipping = ShippingChange(method=method, price=price)
        reason = str(f.get("reason") or "").strip() or None
        return OrderEdit(address, tuple(added), tuple(changes), shipping, reason)


Text = Annotated[str | None, Form(max_length=300)]


def _edit_form(
    line_id: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies defaults)
    quantity: Annotated[list[str], Form()] = [],  # noqa: B006
    add_sku: Text = None,
    add_quantity: Text = None,
    add_unit_price: Text = None,
    name: Text = None,
    line1: Text = None,
    city: Text = None,
    region: Text = None,
    postal_code: Text = None,
    country: Text = None,
    method: Text = None,
    shipping_price: Text = None,
    reason: Text = None,
) -> dict[str, Any]:
    """The edit form as posted: preview and save read the same fields."""
    return dict(locals())


EditForm = Annotated[dict[str, Any], Depends(_edit_form)]


def _run(
    request: Request,
    container: ContainerDep,
    viewer: Viewer,
    order_id: str,
    fields: dict[str, Any],
    *,
    preview: bool,
) -> Response:
    from orderhub.web.pages.orders import detail_page  # the page this form belongs to

    fragment = request.headers.get("hx-request") == "true"
    with container.uow(read_only=True) as uow:
        channel = queries.order_channel(uow.conn, order_id)
        if channel is None or viewer.principal.channel not in (None, channel):
            context = {
                "title": "Order not found",
                "message": "No order with that id is visible to you.",
            }
            return render(request, "error.html", context, viewer=viewer, status_code=404)
        order = uow.orders.get(order_id)
    form = _Form(order, fields)
    wanted = form.edit()
    outcome: EditOutcome | None = None
    problems, status = list(form.problems), 200
    if wanted.overrides_price and not viewer.can(Permission.RETURNS_OVERRIDE_PRICE):
        problems.append("unit price: only a role with returns:override_price may set a price")
        status = 403
    if not problems:
        try:
            with container.uow(actor=viewer.actor) as uow:
                outcome = edit_order(uow, order_id=order_id, edit=wanted, preview=preview)
        except ValidationFailed as error:
            problems, status = [_said(f) for f in error.fields] or [error.detail], 422
        except (Conflict, NotFound) as error:
            problems, status = [error.detail], 409
    elif status == 200:
        status = 422
    if outcome is not None and not preview:
        return RedirectResponse(f"/orders/{order_id}?notice=edited", status_code=303)
    skus = {line.id: line.sku for line in order.lines}
    if outcome is not None:
        skus |= {x["line_id"]: x["sku"] for x in outcome.changes.get("added_lines", [])}
    preview_context = {"edit_preview": outcome, "edit_problems": problems, "line_skus": skus}
    if fragment:  # htmx swaps only 2xx answers: the fragment itself says what is wrong
        return render(request, "_edit_preview.html", preview_context, viewer=viewer)
    said = "Could not edit: " + "; ".join(problems) if problems else None
    return detail_page(
        request, container, viewer, order_id, error=said, status=status, extra=preview_context
    )


def _said(error: FieldError) -> str:
    return f"{error.field}: {error.message}" if error.field else error.message


@router.post("/orders/{order_id}/edit/preview")
def preview(
    request: Request,
    order_id: str,
    viewer: Editor,
    container: ContainerDep,
    fields: EditForm,
) -> Response:
    """What the edit would cost and where the order would ship from; writes nothing."""
    return _run(request, container, viewer, order_id, fields, preview=True)


@router.post("/orders/{order_id}/edit")
def save(
    request: Request,
    order_id: str,
    viewer: Editor,
    container: ContainerDep,
    fields: EditForm,
) -> Response:
    """Apply the edit (as this user); back to the order page with a notice, or the reasons."""
    return _run(request, container, viewer, order_id, fields, preview=False)
