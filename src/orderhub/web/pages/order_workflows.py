"""Order page, operator workflows: cancel some units of some lines (with a confirmation step),
the hub's own notes and tags, and a printable packing slip.

Kept apart from ``orders.py`` (the page itself) and its template block ``order_workflows`` so
other changes to the order page merge without touching these.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from orderhub.api.deps import ContainerDep
from orderhub.domain.access import Permission
from orderhub.domain.cancellation import CancelReason
from orderhub.domain.errors import Conflict, NotFound, ValidationFailed
from orderhub.domain.order_numbers import order_number
from orderhub.domain.orders import OPEN_STATUSES, Order
from orderhub.services.orders import cancel_order
from orderhub.store import queries
from orderhub.web.auth import Viewer, page
from orderhub.web.templating import render

router = APIRouter()
Reader = Annotated[Viewer, Depends(page(Permission.ORDERS_READ))]
Manager = Annotated[Viewer, Depends(page(Permission.ORDERS_MANAGE))]
CANCEL_REASONS = [(reason.value, reason.label) for reason in CancelReason]
MAX_NOTES = 2000
MAX_TAGS = 20
NOTICES = {
    "lines_cancelled": "The units were cancelled; totals and the ledger show what is left.",
    "notes_saved": "Notes and tags saved.",
    "notes_unchanged": "Nothing changed.",
}


def workflow_extras(order: Order, viewer: Viewer) -> dict[str, Any]:
    """What the ``order_workflows`` block of the order page needs."""
    hub = order.metadata.get("hub") or {}
    manage = viewer.can(Permission.ORDERS_MANAGE)
    return {
        "order_number": order_number(order.external_id, order.metadata),
        "cancellable_lines": [line for line in order.lines if line.open_quantity > 0]
        if manage and order.status in OPEN_STATUSES
        else [],
        "hub_notes": hub.get("notes", ""),
        "hub_tags": hub.get("tags", []),
        "can_annotate": manage,
    }


def _order(container: ContainerDep, viewer: Viewer, order_id: str) -> Order:
    with container.uow(read_only=True) as uow:
        channel = queries.order_channel(uow.conn, order_id)
        if channel is None or viewer.principal.channel not in (None, channel):
            raise NotFound(f"order {order_id} not found")
        return uow.orders.get(order_id)


def _not_found(request: Request, viewer: Viewer) -> Response:
    context = {"title": "Order not found", "message": "No order with that id is visible to you."}
    return render(request, "error.html", context, viewer=viewer, status_code=404)


@router.post("/orders/{order_id}/cancel-lines")
async def cancel_lines(
    request: Request, order_id: str, viewer: Manager, container: ContainerDep
) -> Response:
    """Cancel ``units-<line id>`` units of each line: first a confirmation page naming the
    lines, units and the total after; then (``confirm=yes``) the same service as
    ``POST /v1/orders/{id}/cancel`` with ``lines``."""
    from orderhub.web.pages.orders import detail_page  # the page that re-renders on error

    form = await request.form()
    try:
        order = _order(container, viewer, order_id)
    except NotFound:
        return _not_found(request, viewer)
    units: dict[str, int] = {}
    for line in order.lines:
        raw = str(form.get(f"units-{line.id}", "") or "0").strip()
        if not raw.isdigit() or int(raw) > line.open_quantity:
            return detail_page(request, container, viewer, order_id, status=422,
                               error=f"{line.sku}: cancel between 0 and {line.open_quantity} "
                                     "unit(s).")  # fmt: skip
        if int(raw):
            units[line.id] = int(raw)
    reason = str(form.get("reason", ""))
    if not units:
        return detail_page(request, container, viewer, order_id, status=422,
                           error="Enter how many units of which line to cancel.")  # fmt: skip
    if reason not in {value for value, _ in CANCEL_REASONS}:
        return detail_page(request, container, viewer, order_id, status=422,
                           error="Choose one of the listed cancel reasons.")  # fmt: skip
    if form.get("confirm") != "yes":
        preview = _preview(order, units)
        context = {
            "order": order, "units": units, "reason": reason, "preview": preview,
            "reason_label": dict(CANCEL_REASONS)[reason],
        }  # fmt: skip
        return render(request, "order_cancel_lines.html", context, viewer=viewer)
    try:
        with container.uow(actor=viewer.actor) as uow:
            cancel_order(uow, order_id=order_id, reason=reason, units=units)
    except (Conflict, ValidationFailed) as error:
        return detail_page(request, container, viewer, order_id, status=409,
                           error=f"Could not cancel: {error.detail}")  # fmt: skip
    return RedirectResponse(f"/orders/{order_id}?notice=lines_cancelled", status_code=303)


def _preview(order: Order, units: dict[str, int]) -> dict[str, Any]:
    """The order's total now and after cancelling ``units`` (computed on a copy)."""
    import copy

    after = copy.deepcopy(order)
    after.events = []
    after.cancel_units(units, reason="preview")
    return {
        "lines": [(line, units[line.id]) for line in order.lines if line.id in units],
        "total_now": order.totals.total,
        "total_after": after.totals.total,
        "whole": all(line.open_quantity == 0 for line in after.lines),
    }


@router.post("/orders/{order_id}/notes")
def save_notes(
    request: Request,
    order_id: str,
    viewer: Manager,
    container: ContainerDep,
    notes: Annotated[str, Form(max_length=MAX_NOTES)] = "",
    tags: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """The hub's internal notes and comma-separated tags; recorded in the order's history."""
    from orderhub.web.pages.orders import detail_page

    try:
        _order(container, viewer, order_id)
    except NotFound:
        return _not_found(request, viewer)
    wanted = [tag for tag in tags.split(",") if tag.strip()]
    if len(wanted) > MAX_TAGS or any(len(tag.strip()) > 40 for tag in wanted):
        return detail_page(request, container, viewer, order_id, status=422,
                           error=f"At most {MAX_TAGS} tags of up to 40 characters.")  # fmt: skip
    with container.uow(actor=viewer.actor) as uow:
        changed = uow.orders.get(order_id, for_update=True).annotate(
            notes=notes.strip(), tags=wanted
        )
        uow.commit()
    notice = "notes_saved" if changed else "notes_unchanged"
    return RedirectResponse(f"/orders/{order_id}?notice={notice}", status_code=303)


@router.get("/orders/{order_id}/packing-slip")
def packing_slip(
    request: Request, order_id: str, viewer: Reader, container: ContainerDep
) -> Response:
    """A print-styled page: ship-to, the units still to ship per line, and the hub's notes."""
    try:
        order = _order(container, viewer, order_id)
    except NotFound:
        return _not_found(request, viewer)
    with container.uow(read_only=True) as uow:
        fulfilments = uow.fulfilment.for_order(order_id)
        products = uow.catalog.products({line.sku for line in order.lines}, identifiers=False)
    shipped: dict[str, int] = {}
    for f in fulfilments:
        for line_id, count in f.shipped_units().items():
            shipped[line_id] = shipped.get(line_id, 0) + count
    rows = [
        {
            "line": line,
            "name": line.name or (products[line.sku].name if line.sku in products else ""),
            "shipped": shipped.get(line.id, 0),
        }
        for line in order.lines
        if line.open_quantity > 0
    ]
    context = {
        "order": order,
        "rows": rows,
        "number": order_number(order.external_id, order.metadata),
        "hub_notes": (order.metadata.get("hub") or {}).get("notes", ""),
    }
    return render(request, "packing_slip.html", context, viewer=viewer)
