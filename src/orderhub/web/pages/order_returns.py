"""Order detail, after-sale part: the order's returns, refunds and financial ledger; the actions
start a return and move a return along (authorize, receive, inspect, refund, close).

Reads and writes go through the same repository and service functions as the API
(``uow.after_sale``, :mod:`orderhub.services.returns`, :func:`orderhub.services.refunds.ledger`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from orderhub.api.deps import ContainerDep
from orderhub.domain.access import Permission
from orderhub.domain.errors import Conflict, FieldError, NotFound, ValidationFailed
from orderhub.domain.money import Money
from orderhub.domain.orders import Order
from orderhub.domain.returns import Disposition, ReturnStatus
from orderhub.services import refunds, returns
from orderhub.store import queries
from orderhub.store.unit_of_work import UnitOfWork
from orderhub.web.auth import Viewer, page
from orderhub.web.templating import render

router = APIRouter()
Manager = Annotated[Viewer, Depends(page(Permission.ORDERS_MANAGE))]
NOTICES = {
    "return_started": "The return was requested.",
    "return_moved": "The return was moved to its next step.",
}
# The next step offered for a return in each status, with its button's text.
NEXT_STEP: dict[ReturnStatus, tuple[str, str]] = {
    ReturnStatus.REQUESTED: ("authorize", "Authorize"),
    ReturnStatus.AUTHORIZED: ("receive", "Mark received"),
    ReturnStatus.IN_TRANSIT: ("receive", "Mark received"),
    ReturnStatus.RECEIVED: ("inspect", "Inspect and restock"),
    ReturnStatus.INSPECTED: ("refund", "Refund"),
    ReturnStatus.REFUNDED: ("close", "Close"),
}
ACTIONS = {name for name, _ in NEXT_STEP.values()}


def returnable_lines(uow: UnitOfWork, order: Order) -> list[dict[str, Any]]:
    """Lines with shipped units not yet returned: what the "start a return" form offers."""
    shipped: dict[str, int] = {}
    for fulfilment in uow.fulfilment.for_order(order.id):
        for line_id, count in fulfilment.shipped_units().items():
            shipped[line_id] = shipped.get(line_id, 0) + count
    returned = uow.after_sale.returned_units(order.id)
    rows = []
    for line in order.lines:
        left = shipped.get(line.id, 0) - returned.get(line.id, 0)
        if left > 0:
            rows.append({"id": line.id, "sku": line.sku, "left": left})
    return rows


def _shipped_from(lines: Any, shipped_from: dict[str, str]) -> str | None:
    """The location the first of these return lines shipped from, if any did."""
    return next(
        (shipped_from[x.order_line_id] for x in lines if x.order_line_id in shipped_from), None
    )


def after_sale_of(uow: UnitOfWork, order: Order, viewer: Viewer) -> dict[str, Any]:
    """Returns, refunds and ledger of the order; read in the caller's unit of work."""
    records, _ = uow.after_sale.search_returns(order_id=order.id, limit=500)
    view = refunds.ledger(uow, order_id=order.id)
    manage = viewer.can(Permission.ORDERS_MANAGE)

    def money(minor: int) -> Money:
        return Money.from_minor(minor, view.currency)

    shipped_from = {  # order line → where its units shipped from: a return's default
        line_id: f.location
        for f in uow.fulfilment.for_order(order.id)
        for shipment in f.shipments
        for line_id in shipment.lines
    }
    return {
        "returns": [
            {
                "record": r,
                "refunded": returns.refund_amount(uow, r.rma.id),
                "next": NEXT_STEP.get(r.rma.status) if manage else None,
                "shipped_from": _shipped_from(r.rma.lines, shipped_from),
            }
            for r in records
        ],
        "refunds": [
            {"refund": x, "amount": money(x.amount_minor), "fees": money(x.fees_minor)}
            for x in uow.after_sale.refunds_of(order.id)
        ],
        "ledger": view,
        "ledger_entries": [(e, money(e.amount_minor)) for e in view.entries],
        "returnable": returnable_lines(uow, order) if manage else [],
        "locations": [loc.code for loc in uow.locations.list()] if manage else [],
        "return_errors": {},
        "return_form": {},
    }


def _rerender(
    request: Request,
    container: ContainerDep,
    viewer: Viewer,
    order_id: str,
    error: ValidationFailed | Conflict | NotFound,
    form: dict[str, str],
) -> Response:
    from orderhub.web.pages.orders import detail_page  # the page these actions re-render

    if isinstance(error, ValidationFailed):
        fields = {f.field: f.message for f in error.fields}
        return detail_page(request, container, viewer, order_id, error=str(error), status=422,
                           extra={"return_errors": fields, "return_form": form})  # fmt: skip
    return detail_page(request, container, viewer, order_id, error=str(error), status=409)


async def _form(request: Request) -> dict[str, str]:
    """The posted fields by name (the form's line fields are named after the order's lines)."""
    return {k: v for k, v in (await request.form()).items() if isinstance(v, str)}


FormFields = Annotated[dict[str, str], Depends(_form)]


def _visible(container: ContainerDep, viewer: Viewer, order_id: str) -> bool:
    with container.uow(read_only=True) as uow:
        channel = queries.order_channel(uow.conn, order_id)
    return channel is not None and viewer.principal.channel in (None, channel)


def _run(
    request: Request,
    container: ContainerDep,
    viewer: Viewer,
    order_id: str,
    step: Callable[[UnitOfWork], None],
    notice: str,
    form: dict[str, str],
) -> Response:
    if not _visible(container, viewer, order_id):
        context = {
            "title": "Order not found",
            "message": "No order with that id is visible to you.",
        }
        return render(request, "error.html", context, viewer=viewer, status_code=404)
    try:
        with container.uow(actor=viewer.actor) as uow:
            step(uow)
    except (ValidationFailed, Conflict, NotFound) as error:
        return _rerender(request, container, viewer, order_id, error, form)
    return RedirectResponse(f"/orders/{order_id}?notice={notice}", status_code=303)


def requested_units(form: dict[str, str]) -> tuple[dict[str, int], list[FieldError]]:
    """``qty-<line id>`` fields as units per line; blanks and zeros are left out."""
    units: dict[str, int] = {}
    problems = []
    for key, value in form.items():
        if not key.startswith("qty-") or not value.strip():
            continue
        count = int(value) if value.strip().isdigit() else -1
        if count < 0:
            problems.append(FieldError((key,), "a whole number of units, 0 or more"))
        elif count:
            units[key.removeprefix("qty-")] = count
    if not units and not problems:
        problems.append(FieldError(("lines",), "choose at least one unit to return"))
    if not form.get("reason", "").strip():
        problems.append(FieldError(("reason",), "say why the items come back"))
    return units, problems


def on_form(fields: list[FieldError], line_ids: list[str]) -> list[FieldError]:
    """The service's ``lines.<index>.*`` paths as the form's ``qty-<line id>`` fields."""
    mapped = []
    for f in fields:
        at = f.loc[1] if len(f.loc) > 1 and f.loc[0] == "lines" else None
        if isinstance(at, int) and at < len(line_ids):
            f = FieldError((f"qty-{line_ids[at]}",), f.message, f.code)
        mapped.append(f)
    return mapped


@router.post("/orders/{order_id}/returns")
def start_return(
    request: Request, order_id: str, viewer: Manager, container: ContainerDep, form: FormFields
) -> Response:
    """Open a return through the same service as ``POST /v1/orders/{id}/returns``: one
    ``qty-<line id>`` field per shipped line, and a reason; the policy's refusals show inline."""
    units, problems = requested_units(form)
    reason = form.get("reason", "").strip()[:200]

    def step(uow: UnitOfWork) -> None:
        if problems:
            raise ValidationFailed("the return request is incomplete", problems)
        try:
            returns.open_return(uow, order_id=order_id, units=units, reason=reason)
        except ValidationFailed as error:
            raise ValidationFailed(error.detail, on_form(error.fields, list(units))) from error

    return _run(request, container, viewer, order_id, step, "return_started", form)


@router.post("/orders/{order_id}/returns/{return_id}/{action}")
def move_return(
    request: Request,
    order_id: str,
    return_id: str,
    action: str,
    viewer: Manager,
    container: ContainerDep,
    location: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """The next step of a return through :func:`orderhub.services.returns.act`, as the API's
    ``POST /v1/returns/{id}/{action}``; inspecting restocks every returned unit."""

    def step(uow: UnitOfWork) -> None:
        record = uow.after_sale.get_return(return_id)
        if record.rma.order_id != order_id or action not in ACTIONS:
            raise NotFound(f"return {return_id} not found on this order")
        dispositions = (
            {line.order_line_id: Disposition.RESTOCK for line in record.rma.lines}
            if action == "inspect"
            else None
        )
        uow.rollback()
        step_of = returns.Action(action, None, location or None, dispositions)
        returns.act(uow, return_id=return_id, action=step_of)

    return _run(request, container, viewer, order_id, step, "return_moved", {})
