"""The store view: a counter tablet's page for one store's pick-ups — to pick, ready, overdue,
and today's hand-overs — with "mark ready" and "hand over" (on the customer's code)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from orderhub.api.deps import ContainerDep
from orderhub.domain.access import Permission
from orderhub.domain.errors import Conflict, NotFound, ValidationFailed
from orderhub.domain.locations import Location, LocationKind
from orderhub.domain.pickups import (
    MAX_CODE_FAILURES,
    PickupCodeLocked,
    PickupStatus,
    WrongPickupCode,
)
from orderhub.services import stores
from orderhub.web.auth import Viewer, page
from orderhub.web.templating import render

router = APIRouter()
Reader = Annotated[Viewer, Depends(page(Permission.ORDERS_READ))]
Staff = Annotated[Viewer, Depends(page(Permission.FULFILMENT_WRITE))]

NOTICES = {
    "ready": "Marked ready: the customer is told.",
    "picked_up": "Handed over.",
    "wrong_code": "That code does not match this order. Nothing was handed over.",
    "code_locked": f"{MAX_CODE_FAILURES} wrong codes were shown for this order: no code is "
    "taken until the customer gets a fresh one from the shop. Nothing was handed over.",
    "moved": "Someone else changed this pick-up meanwhile; here is how it stands now.",
}


def start_of_day(location: Location, now: datetime) -> datetime:
    """Midnight today in the store's own time zone, as UTC."""
    zone = ZoneInfo(location.timezone)
    local = now.astimezone(zone).date()
    return datetime.combine(local, time(0), tzinfo=zone).astimezone(UTC)


@router.get("/stores")
def store_list(request: Request, viewer: Reader, container: ContainerDep) -> Response:
    with container.uow(read_only=True) as uow:
        found = [loc for loc in uow.locations.list() if loc.kind == LocationKind.STORE]
        now = uow.now()
    rows = [
        {"store": s, "open": s.store is not None and s.store.is_open(now, s.timezone)}
        for s in found
    ]
    return render(request, "stores.html", {"rows": rows}, viewer=viewer)


@router.get("/stores/{code}")
def store_view(
    request: Request,
    code: str,
    viewer: Reader,
    container: ContainerDep,
    notice: str | None = None,
) -> Response:
    with container.uow(read_only=True) as uow:
        try:
            store = uow.locations.get(code)
        except NotFound:
            store = None
        if store is None or store.kind != LocationKind.STORE:
            missing = {"title": "Store not found", "message": f"No store {code!r}."}
            return render(request, "error.html", missing, viewer=viewer, status_code=404)
        now = uow.now()
        rows = [
            row
            for row in uow.pickups.store_view(location=code, since=start_of_day(store, now))
            if viewer.principal.channel in (None, row["channel"])
        ]
    picking = [r for r in rows if r["pickup"].status == PickupStatus.PICKING]
    ready = [
        r for r in rows if r["pickup"].status == PickupStatus.READY and not r["pickup"].overdue(now)
    ]
    overdue = [r for r in rows if r["pickup"].overdue(now)]
    done = [r for r in rows if not r["pickup"].is_open]
    context: dict[str, Any] = {
        "store": store,
        "is_open": store.store is not None and store.store.is_open(now, store.timezone),
        "picking": picking,
        "ready": ready,
        "overdue": overdue,
        "done": done,
        "can_act": viewer.can(Permission.FULFILMENT_WRITE),
        "notice": NOTICES.get(notice or ""),
        "error": notice in ("wrong_code", "code_locked"),
    }
    return render(request, "store.html", context, viewer=viewer)


def _back(code: str, notice: str) -> Response:
    return RedirectResponse(f"/stores/{code}?notice={notice}", status_code=303)


def _mine(uow: Any, viewer: Viewer, code: str, pickup_id: str) -> None:
    """The pick-up is this store's and the viewer's channel's, or it is not found."""
    pickup = uow.pickups.get(pickup_id)
    order = uow.orders.get(pickup.order_id)
    if pickup.location != code or viewer.principal.channel not in (None, order.channel):
        raise NotFound(f"pick-up {pickup_id} not found")
    uow.rollback()


@router.post("/stores/{code}/pickups/{pickup_id}/ready")
def ready(
    request: Request, code: str, pickup_id: str, viewer: Staff, container: ContainerDep
) -> Response:
    """The same service as ``POST /v1/pickups/{id}/ready``, as this user."""
    try:
        with container.uow(actor=viewer.actor) as uow:
            _mine(uow, viewer, code, pickup_id)
            stores.mark_ready(uow, fulfilment_id=pickup_id)
    except NotFound:
        context = {"title": "Pick-up not found", "message": "No such pick-up at this store."}
        return render(request, "error.html", context, viewer=viewer, status_code=404)
    except Conflict:  # a second tap, or a colleague was quicker
        return _back(code, "moved")
    return _back(code, "ready")


@router.post("/stores/{code}/pickups/{pickup_id}/picked_up")
def picked_up(
    request: Request,
    code: str,
    pickup_id: str,
    viewer: Staff,
    container: ContainerDep,
    pickup_code: Annotated[str, Form(min_length=1, max_length=32)],
) -> Response:
    """Hand over on the customer's code (``POST /v1/pickups/{id}/picked_up``)."""
    try:
        with container.uow(actor=viewer.actor) as uow:
            _mine(uow, viewer, code, pickup_id)
            stores.hand_over(uow, fulfilment_id=pickup_id, code=pickup_code)
    except NotFound:
        context = {"title": "Pick-up not found", "message": "No such pick-up at this store."}
        return render(request, "error.html", context, viewer=viewer, status_code=404)
    except WrongPickupCode:
        return _back(code, "wrong_code")
    except PickupCodeLocked:
        return _back(code, "code_locked")
    except (Conflict, ValidationFailed):
        return _back(code, "moved")
    return _back(code, "picked_up")
