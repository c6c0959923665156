"""Deliveries: the outbox worker's dead letters (and what is waiting), with a retry button that
re-drives through the same service as ``POST /v1/deliveries/{id}/retry``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from orderhub.api.deps import ContainerDep
from orderhub.domain.access import Permission
from orderhub.domain.errors import Conflict, NotFound
from orderhub.services.deliveries import retry_delivery
from orderhub.store import deliveries, reports
from orderhub.store.deliveries import DeliveryFilter, DeliveryStatus
from orderhub.web.auth import Viewer, page
from orderhub.web.templating import render

router = APIRouter()
Reader = Annotated[Viewer, Depends(page(Permission.DELIVERIES_READ))]
Retrier = Annotated[Viewer, Depends(page(Permission.DELIVERIES_RETRY))]
PAGE_SIZE = 50
NOTICES = {
    "retried": "The delivery is queued again, due now.",
    "gone": "That delivery could not be retried (it is no longer dead).",
}


@router.get("/deliveries")
def list_deliveries(
    request: Request,
    viewer: Reader,
    container: ContainerDep,
    status: str = "dead",
    cursor: str | None = None,
    notice: str | None = None,
) -> Response:
    chosen = (
        DeliveryStatus(status)
        if status in {s.value for s in DeliveryStatus}
        else DeliveryStatus.DEAD
    )
    with container.uow(read_only=True) as uow:
        counts = deliveries.counts(uow.conn)
        items, next_cursor = deliveries.page(
            uow.conn, DeliveryFilter(status=chosen), limit=PAGE_SIZE, cursor=cursor
        )
        streams = {d.stream for d in items if d.stream.startswith("order:")}
        refs = reports.order_refs(uow.conn, {s.split(":", 1)[1] for s in streams})
    context = {
        "items": items,
        "refs": refs,
        "counts": counts,
        "statuses": [s.value for s in DeliveryStatus],
        "status": chosen.value,
        "next_cursor": next_cursor,
        "can_retry": viewer.can(Permission.DELIVERIES_RETRY),
        "notice": NOTICES.get(notice or ""),
    }
    return render(request, "deliveries.html", context, viewer=viewer)


@router.post("/deliveries/{delivery_id}/retry")
def retry(delivery_id: str, viewer: Retrier, container: ContainerDep) -> Response:
    try:
        with container.uow(actor=viewer.actor) as uow:
            retry_delivery(uow, delivery_id=delivery_id)
    except (Conflict, NotFound):
        return RedirectResponse("/deliveries?notice=gone", status_code=303)
    return RedirectResponse("/deliveries?notice=retried", status_code=303)
