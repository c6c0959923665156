"""Order detail, second part: allocations with the routing explanation, fulfilment orders and
shipments, the SLA clock; and the actions hold, release and re-route."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from orderhub.api.deps import ContainerDep
from orderhub.clock import utc_now
from orderhub.domain.access import Permission
from orderhub.domain.errors import Conflict, NotFound
from orderhub.domain.orders import OPEN_STATUSES, Order, OrderStatus
from orderhub.services.orders import (
    HOLDABLE,
    REROUTABLE,
    hold_order,
    release_hold,
    reroute_order,
)
from orderhub.services.sla import policy_of
from orderhub.store import queries
from orderhub.store.unit_of_work import UnitOfWork
from orderhub.web.auth import Viewer, page
from orderhub.web.templating import render

router = APIRouter()
Manager = Annotated[Viewer, Depends(page(Permission.ORDERS_MANAGE))]
NOTICES = {
    "held": "The order is on hold.",
    "released": "The hold was released and the order routed again.",
    "rerouted": "The order's reservations were released and it was routed again.",
}


def plans_of(views: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Allocations grouped by the routing decision (plan) that made them, newest last."""
    grouped: dict[str, dict[str, Any]] = {}
    for view in views:
        explanation = view.get("explanation") or {}
        key = repr(sorted(explanation.items())) if explanation else view["id"]
        plan = grouped.setdefault(
            key,
            {"strategy": view.get("strategy"), "explanation": explanation, "allocations": []},
        )
        plan["allocations"].append(view)
    return list(grouped.values())


def sla_of(uow: UnitOfWork, order: Order, now: datetime) -> dict[str, Any]:
    ship_by, deliver_by = uow.fulfilment.sla_dates(order.id)
    policy = policy_of(uow, order.channel)
    state = None
    if policy is not None and ship_by is not None and order.status in OPEN_STATUSES:
        state = policy.state(ship_by, now).value
    return {"ship_by": ship_by, "deliver_by": deliver_by, "state": state}


def detail_extras(uow: UnitOfWork, order: Order, viewer: Viewer) -> dict[str, Any]:
    """What the order page shows beyond the order itself; read in the caller's unit of work."""
    fulfilments = uow.fulfilment.for_order(order.id)
    manage = viewer.can(Permission.ORDERS_MANAGE)
    return {
        "plans": plans_of(uow.stock.views(order.id)),
        "fulfilments": fulfilments,
        "sla": sla_of(uow, order, utc_now()),
        "can_hold": manage and order.status in HOLDABLE,
        "can_release": manage and order.status == OrderStatus.ON_HOLD,
        "can_reroute": manage
        and order.status in REROUTABLE
        and not any(f.is_open for f in fulfilments),
    }


def _visible(container: ContainerDep, viewer: Viewer, order_id: str) -> bool:
    with container.uow(read_only=True) as uow:
        channel = queries.order_channel(uow.conn, order_id)
    return channel is not None and viewer.principal.channel in (None, channel)


def _act(
    request: Request,
    container: ContainerDep,
    viewer: Viewer,
    order_id: str,
    notice: str,
    action: Any,
) -> Response:
    from orderhub.web.pages.orders import detail_page  # the page this action re-renders on error

    if not _visible(container, viewer, order_id):
        context = {
            "title": "Order not found",
            "message": "No order with that id is visible to you.",
        }
        return render(request, "error.html", context, viewer=viewer, status_code=404)
    try:
        with container.uow(actor=viewer.actor) as uow:
            action(uow)
    except (Conflict, NotFound) as error:
        return detail_page(request, container, viewer, order_id, error=str(error), status=409)
    return RedirectResponse(f"/orders/{order_id}?notice={notice}", status_code=303)


@router.post("/orders/{order_id}/hold")
def hold(
    request: Request,
    order_id: str,
    viewer: Manager,
    container: ContainerDep,
    reason: Annotated[str, Form(min_length=1, max_length=200)],
) -> Response:
    return _act(request, container, viewer, order_id, "held",
                lambda uow: hold_order(uow, order_id=order_id, reason=reason))  # fmt: skip


@router.post("/orders/{order_id}/release")
def release(request: Request, order_id: str, viewer: Manager, container: ContainerDep) -> Response:
    return _act(request, container, viewer, order_id, "released",
                lambda uow: release_hold(uow, order_id=order_id))  # fmt: skip


@router.post("/orders/{order_id}/reroute")
def reroute(request: Request, order_id: str, viewer: Manager, container: ContainerDep) -> Response:
    return _act(request, container, viewer, order_id, "rerouted",
                lambda uow: reroute_order(uow, order_id=order_id))  # fmt: skip
