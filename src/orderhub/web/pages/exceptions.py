"""The exceptions queue: fulfilment rejections, stock-outs, failed dispatches, delivery problems,
oldest first, each with its suggested action and a resolve form."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from orderhub.api.deps import ContainerDep
from orderhub.clock import utc_now
from orderhub.domain.access import Permission
from orderhub.domain.errors import NotFound, ValidationFailed
from orderhub.services.fulfilment import resolve_exception
from orderhub.store import queries, reports
from orderhub.web.auth import Viewer, page
from orderhub.web.templating import render

router = APIRouter()
Reader = Annotated[Viewer, Depends(page(Permission.ORDERS_READ))]
Resolver = Annotated[Viewer, Depends(page(Permission.FULFILMENT_WRITE))]


def age(seconds: float) -> str:
    """``93784`` → ``1d 2h``: the two largest units, enough to sort by eye."""
    minutes = int(seconds // 60)
    days, hours, mins = minutes // 1440, minutes // 60 % 24, minutes % 60
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {mins}m" if hours else f"{mins}m"


@router.get("/exceptions")
def exceptions(
    request: Request,
    viewer: Reader,
    container: ContainerDep,
    status: str = "open",
    notice: str | None = None,
) -> Response:
    status = status if status in ("open", "resolved") else "open"
    now = utc_now()
    rows: list[dict[str, Any]] = []
    with container.uow(read_only=True) as uow:
        for e in uow.fulfilment.exceptions(status=status):
            channel = queries.order_channel(uow.conn, e.order_id)
            if channel is None or viewer.principal.channel not in (None, channel):
                continue
            rows.append(
                {"e": e, "channel": channel, "age": age((now - e.created_at).total_seconds())}
            )
        names = reports.user_names(uow.conn, {row["e"].resolved_by for row in rows} - {None})
        refs = reports.order_refs(uow.conn, {row["e"].order_id for row in rows})
    context = {
        "rows": rows,
        "names": names,
        "refs": refs,
        "status": status,
        "can_resolve": viewer.can(Permission.FULFILMENT_WRITE),
        "notice": "The exception was resolved." if notice == "resolved" else None,
    }
    return render(request, "exceptions.html", context, viewer=viewer)


@router.post("/exceptions/{exception_id}/resolve")
def resolve(
    request: Request,
    exception_id: str,
    viewer: Resolver,
    container: ContainerDep,
    resolution: Annotated[str, Form(min_length=1, max_length=500)],
) -> Response:
    """Resolve through the same service as ``POST /v1/exceptions/{id}/resolve``, as this user."""
    try:
        with container.uow(actor=viewer.actor) as uow:
            found = uow.fulfilment.exception(exception_id)
            channel = queries.order_channel(uow.conn, found.order_id)
            if viewer.principal.channel not in (None, channel):
                raise NotFound(f"exception {exception_id} not found")
            resolve_exception(
                uow, exception_id=exception_id, resolution=resolution, actor=viewer.actor
            )
    except NotFound:
        context = {
            "title": "Exception not found",
            "message": "No such exception is visible to you.",
        }
        return render(request, "error.html", context, viewer=viewer, status_code=404)
    except ValidationFailed:  # a second click, or two people at once
        return RedirectResponse("/exceptions?notice=resolved", status_code=303)
    return RedirectResponse("/exceptions?notice=resolved", status_code=303)
