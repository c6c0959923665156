"""Orders: a filtered, keyset-paginated list; one order's detail and timeline; cancel."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from orderhub.api.deps import ContainerDep
from orderhub.domain.access import Permission
from orderhub.domain.cancellation import CancelReason
from orderhub.domain.errors import Conflict, NotFound, ValidationFailed
from orderhub.domain.orders import OPEN_STATUSES, OrderStatus
from orderhub.services.orders import cancel_order
from orderhub.store import history, queries, reports, search
from orderhub.web.auth import Viewer, page
from orderhub.web.pages.order_actions import NOTICES as ACTION_NOTICES
from orderhub.web.pages.order_actions import detail_extras
from orderhub.web.pages.order_edits import NOTICES as EDIT_NOTICES
from orderhub.web.pages.order_edits import edit_form_of
from orderhub.web.pages.order_returns import NOTICES as RETURN_NOTICES
from orderhub.web.pages.order_returns import after_sale_of
from orderhub.web.pages.order_workflows import NOTICES as WORKFLOW_NOTICES
from orderhub.web.pages.order_workflows import workflow_extras
from orderhub.web.templating import render

router = APIRouter()
Reader = Annotated[Viewer, Depends(page(Permission.ORDERS_READ))]
Manager = Annotated[Viewer, Depends(page(Permission.ORDERS_MANAGE))]
PAGE_SIZE = 25
CANCEL_REASONS = [(reason.value, reason.label) for reason in CancelReason]  # the API's too
NOTICES = {
    "cancelled": "The order was cancelled.",
    **ACTION_NOTICES,
    **RETURN_NOTICES,
    **EDIT_NOTICES,
    **WORKFLOW_NOTICES,
}


def order_filter(
    channel: str,
    status: str,
    placed_from: date | None,
    placed_to: date | None,
    sla: str = "",
) -> queries.OrderFilter:
    """The form's filters (the search box is matched separately, by ``store/search.py``)."""
    return queries.OrderFilter(
        channel=channel or None,
        status=status or None,
        sla=sla or None,
        placed_from=reports.day_start(placed_from) if placed_from else None,
        placed_to=reports.day_start(placed_to + timedelta(days=1)) if placed_to else None,
    )


def parse_day(text: str) -> date | None:
    """An empty field (what a form sends for "any") or a bad date is no filter."""
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


@router.get("/orders")
def list_orders(
    request: Request,
    viewer: Reader,
    container: ContainerDep,
    q: Annotated[str, Query(max_length=320)] = "",
    channel: str = "",
    status: Annotated[str, Query(pattern="^[a-z_]*$")] = "",
    sla: Annotated[str, Query(pattern="^(|at_risk|breached)$")] = "",
    from_text: Annotated[str, Query(alias="from", max_length=10)] = "",
    to_text: Annotated[str, Query(alias="to", max_length=10)] = "",
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> Response:
    if viewer.principal.channel:
        channel = viewer.principal.channel
    placed_from, placed_to = parse_day(from_text), parse_day(to_text)
    error = None
    if (from_text and placed_from is None) or (to_text and placed_to is None):
        error = "Dates are written YYYY-MM-DD; that date was ignored."
    filters = order_filter(channel, status, placed_from, placed_to, sla)
    with container.uow(read_only=True) as uow:
        try:
            found = search.search_orders(uow.conn, filters, q, limit=PAGE_SIZE, cursor=cursor)
        except ValidationFailed:
            found = search.OrderPage([], None, None, 0, False)
            error = "That page link is not valid; showing no results."
        rows = reports.order_summaries(uow.conn, found.ids)
        channels = [c.code for c in uow.channels.list()]
    form = {
        "q": q,
        "channel": channel,
        "status": status,
        "sla": sla,
        "from": placed_from.isoformat() if placed_from else "",
        "to": placed_to.isoformat() if placed_to else "",
    }
    kept = {k: v for k, v in form.items() if v}
    context: dict[str, Any] = {
        "rows": rows,
        "form": form,
        "total": found.total,
        "capped": found.capped,
        "next_query": {**kept, "cursor": found.next_cursor} if found.next_cursor else None,
        "prev_query": {**kept, "cursor": found.prev_cursor} if found.prev_cursor else None,
        "first_query": kept if cursor else None,
        "channels": channels,
        "statuses": [s.value for s in OrderStatus],
        "error": error,
        "can_manage": viewer.can(Permission.ORDERS_MANAGE),
        "cancel_reasons": CANCEL_REASONS,
    }
    return render(request, "orders.html", context, viewer=viewer)


def _detail_context(container: ContainerDep, viewer: Viewer, order_id: str) -> dict[str, Any]:
    with container.uow(read_only=True) as uow:
        channel = queries.order_channel(uow.conn, order_id)
        if channel is None or (viewer.principal.channel not in (None, channel)):
            raise NotFound(f"order {order_id} not found")
        order = uow.orders.get(order_id)
        events = history.events_of(uow.conn, order_id)
        names = reports.user_names(uow.conn, {e.actor for e in events})
        products = {sku: uow.catalog.get(sku) for sku in {line.sku for line in order.lines}}
        extras = detail_extras(uow, order, viewer)
        after_sale = after_sale_of(uow, order, viewer)
    return {
        **extras,
        **edit_form_of(order, viewer),
        **after_sale,
        **workflow_extras(order, viewer),
        "product_names": {sku: p.name for sku, p in products.items() if p},
        "line_skus": {line.id: line.sku for line in order.lines},
        "order": order,
        "totals": order.totals,
        "ordered_totals": order.ordered_totals,
        "events": events,
        "actor_names": names,
        "can_cancel": viewer.can(Permission.ORDERS_MANAGE) and order.status in OPEN_STATUSES,
        "cancel_reasons": CANCEL_REASONS,
    }


@router.get("/orders/{order_id}")
def order_detail(
    request: Request,
    order_id: str,
    viewer: Reader,
    container: ContainerDep,
    notice: str | None = None,
) -> Response:
    return detail_page(request, container, viewer, order_id, notice=NOTICES.get(notice or ""))


def detail_page(
    request: Request,
    container: ContainerDep,
    viewer: Viewer,
    order_id: str,
    *,
    notice: str | None = None,
    error: str | None = None,
    status: int = 200,
    extra: dict[str, Any] | None = None,
) -> Response:
    try:
        context = _detail_context(container, viewer, order_id)
    except NotFound:
        return _not_found(request, viewer)
    context.update(extra or {}, notice=notice, error=error)
    return render(request, "order_detail.html", context, viewer=viewer, status_code=status)


@router.post("/orders/{order_id}/cancel")
def cancel(
    request: Request,
    order_id: str,
    viewer: Manager,
    container: ContainerDep,
    reason: Annotated[str, Form(min_length=1, max_length=200)],
) -> Response:
    """Cancel through the same service as ``POST /v1/orders/{id}/cancel``, as this user, for
    one of the same reasons."""
    try:
        context = _detail_context(container, viewer, order_id)  # visibility check
    except NotFound:
        return _not_found(request, viewer)
    if reason not in {r.value for r in CancelReason}:
        context["error"] = "Choose one of the listed reasons."
        return render(request, "order_detail.html", context, viewer=viewer, status_code=422)
    try:
        with container.uow(actor=viewer.actor) as uow:
            cancel_order(uow, order_id=order_id, reason=CancelReason(reason).value)
    except Conflict as error:
        context = _detail_context(container, viewer, order_id)
        context["error"] = f"Could not cancel: {error.detail}."
        return render(request, "order_detail.html", context, viewer=viewer, status_code=409)
    return RedirectResponse(f"/orders/{order_id}?notice=cancelled", status_code=303)


def _not_found(request: Request, viewer: Viewer) -> Response:
    context = {"title": "Order not found", "message": "No order with that id is visible to you."}
    return render(request, "error.html", context, viewer=viewer, status_code=404)
