"""Orders: native ingest, reads with filters and keyset pagination, history, cancel."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from pydantic_core import to_json
from starlette.concurrency import run_in_threadpool

from orderhub.api.deps import ContainerDep, require, visible_to
from orderhub.api.schemas.bounded import Day, Quantity, Timestamp
from orderhub.api.schemas.orders import EventOut, OrderOut, OrderPage, QuarantinedOut
from orderhub.api.schemas.pages import Cursor, Limit
from orderhub.bootstrap import Container
from orderhub.channels import native
from orderhub.domain.access import Permission
from orderhub.domain.cancellation import CancelReason
from orderhub.domain.errors import NotFound
from orderhub.domain.orders import Order, OrderStatus
from orderhub.services import ingest, stores
from orderhub.services.orders import cancel_order
from orderhub.store import history, queries
from orderhub.store.access import Principal
from orderhub.store.quarantine import errors_json
from orderhub.store.unit_of_work import UnitOfWork

router = APIRouter(prefix="/orders", tags=["orders"])

Reader = Annotated[Principal, Depends(require(Permission.ORDERS_READ))]
Writer = Annotated[Principal, Depends(require(Permission.ORDERS_WRITE))]
Manager = Annotated[Principal, Depends(require(Permission.ORDERS_MANAGE))]


def load_visible(uow: UnitOfWork, principal: Principal, order_id: str) -> OrderOut:
    """The order, or 404 — also when a channel key asks for another channel's order."""
    found = order_outs(uow, [order_id])  # 6 queries, however many parcels it has
    if not found or not visible_to(principal, found[0].channel):
        raise NotFound(f"order {order_id} not found")
    return found[0]


def order_out(uow: UnitOfWork, order_id: str) -> OrderOut:
    """The order with its allocations and shipments."""
    return OrderOut.of(
        uow.orders.get(order_id),
        allocations=uow.stock.views(order_id),
        fulfilments=uow.fulfilment.for_order(order_id),
    )


def order_outs(uow: UnitOfWork, order_ids: list[str]) -> list[OrderOut]:
    """A page of orders as :func:`order_out` gives each, in a handful of queries for the whole
    page instead of several per order (at 50 per page, those round trips were the page's cost)."""
    orders = uow.orders.read_many(order_ids)
    allocations = uow.stock.views_many(order_ids)
    fulfilments = uow.fulfilment.for_orders(order_ids)
    return [
        OrderOut.of(
            orders[order_id],
            allocations=allocations[order_id],
            fulfilments=fulfilments[order_id],
        )
        for order_id in order_ids
        if order_id in orders
    ]


@router.post(
    "",
    status_code=201,
    response_model=OrderOut,
    responses={
        200: {
            "model": OrderOut,
            "description": "the order existed already (same channel and external_id)",
        },
        202: {
            "model": QuarantinedOut,
            "description": "kept in quarantine: it cannot be normalized yet",
        },
    },
)
async def create_order(body: native.NativeOrder, principal: Writer, request: Request) -> Response:
    """Ingest one order in the native schema; idempotent on (channel, external_id)."""
    # Async: the order waits for its group's transaction (services/group_ingest.py) on the
    # event loop, not in a thread of the pool; only the database work goes to a thread.
    # The container from the request, not ``ContainerDep``: FastAPI solves every dependency
    # again on every request (~10 µs each), and this is the route of every single order.
    container: Container = request.app.state.container
    if not visible_to(principal, body.channel):
        raise HTTPException(403, f"this key may only create orders for {principal.channel!r}")
    item = ingest.Incoming(body.to_draft(), native.SOURCE, body.model_dump_json)
    if body.delivery is not None and body.delivery.location is not None:
        location = body.delivery.location
        result = await run_in_threadpool(_ingest_pickup, container, principal, item, location)
    else:  # in a transaction shared with the requests that came meanwhile
        result = await container.order_intake.submit(principal.actor, item)
    if result.outcome == ingest.Outcome.QUARANTINED:
        return JSONResponse(quarantined_out(result).model_dump(), status_code=202)
    order_id = result.order_id
    assert order_id
    if result.outcome == ingest.Outcome.CREATED and result.order is not None:
        document = created_document(result.order, result.allocations)  # as committed: no read
    else:
        document = await run_in_threadpool(_read_order, container, order_id)
    # Serialized here, once, from plain values: returned as a model, FastAPI would validate
    # it again first; built as one (``OrderOut.of``), it is validated field by field.
    return Response(
        to_json(document),
        status_code=201 if result.outcome == ingest.Outcome.CREATED else 200,
        media_type="application/json",
        headers={"Location": f"/v1/orders/{order_id}"},
    )


def _ingest_pickup(
    container: Container, principal: Principal, item: ingest.Incoming, location: str
) -> ingest.IngestResult:
    """A pick-up order in a transaction of its own: its store is checked first."""
    with container.uow(actor=principal.actor) as uow:
        stores.check_pickup_store(uow, location)
        return ingest.ingest_order(
            uow,
            draft=item.draft,
            source=item.source,
            payload=item.payload,
            allocate=container.settings.allocate_on_ingest,
        )


def _read_order(container: Container, order_id: str) -> dict[str, Any]:
    """An order that existed already, as ``GET /v1/orders/{id}`` shows it (no write lock to
    answer)."""
    with container.uow(read_only=True) as reader:
        return queries.order_documents(reader.conn, [order_id])[0]


def created_document(order: Order, allocations: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """A new order's answer from what its transaction wrote, as plain values — what
    :func:`order_out` reads back (``OrderOut.of(...).model_dump()``, the document of the read
    routes): times as stored (UTC), no fulfilment yet (one is made after the commit)."""
    # The document the read routes give (held to ``OrderOut`` by test_order_documents.py).
    document = queries.order_document(order, list(allocations), [])
    document["placed_at"] = order.placed_at.astimezone(UTC)
    return document


def quarantined_out(result: ingest.IngestResult) -> QuarantinedOut:
    """What a client is told about a payload kept in quarantine."""
    assert result.quarantine_id
    assert result.problem
    return QuarantinedOut(
        quarantine_id=result.quarantine_id,
        reason=result.problem.reason,
        errors=errors_json(result.problem.fields),
    )


@router.get("", response_model=OrderPage)
def list_orders(
    principal: Reader,
    container: ContainerDep,
    channel: str | None = None,
    status: OrderStatus | None = None,
    placed_from: Timestamp | None = None,
    placed_to: Timestamp | None = None,
    email: str | None = None,
    external_id: str | None = None,
    po_number: Annotated[str | None, Query(description="B2B purchase order number")] = None,
    ship_by: Annotated[Day | None, Query(description="requested ship date on or before")] = None,
    sla: Literal["at_risk", "breached"] | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Response:
    """Newest first; pass ``next_cursor`` back as ``cursor`` for the next page."""
    if principal.channel:
        if channel and channel != principal.channel:
            return _json({"items": [], "next_cursor": None})
        channel = principal.channel
    filters = queries.OrderFilter(
        channel=channel,
        status=status.value if status else None,
        placed_from=placed_from,
        placed_to=placed_to,
        email=email,
        external_id=external_id,
        po_number=po_number,
        ship_by=ship_by,
        sla=sla,
    )
    with container.uow(read_only=True) as uow:
        ids, next_cursor = queries.order_ids(uow.conn, filters, limit=limit, cursor=cursor)
        items = queries.order_documents(uow.conn, ids)
    return _json({"items": items, "next_cursor": next_cursor})


@router.get("/{order_id}", response_model=OrderOut)
def get_order(order_id: str, principal: Reader, container: ContainerDep) -> Response:
    with container.uow(read_only=True) as uow:
        found = queries.order_documents(uow.conn, [order_id])  # 3 queries
    if not found or not visible_to(principal, found[0]["channel"]):
        raise NotFound(f"order {order_id} not found")
    return _json(found[0])


def _json(document: dict[str, Any]) -> Response:
    """The read routes' answer: ``queries.order_documents`` gives each order as ``OrderOut``
    serializes it, as plain values, so the page is serialized once, straight to bytes — not
    built as models, validated, dumped and validated again against ``response_model``, which
    stays declared for the OpenAPI document (the contract)."""
    return Response(to_json(document), media_type="application/json")


@router.get("/{order_id}/events", response_model=list[EventOut])
def order_events(order_id: str, principal: Reader, container: ContainerDep) -> list[EventOut]:
    """The order's history, oldest first, each event with its chain hash."""
    with container.uow(read_only=True) as uow:
        channel = queries.order_channel(uow.conn, order_id)  # not the whole order: 1 query
        if channel is None or not visible_to(principal, channel):
            raise NotFound(f"order {order_id} not found")
        return [
            EventOut(
                id=e.id,
                seq=e.order_seq,
                type=e.type,
                data=e.data,
                actor=e.actor,
                occurred_at=e.occurred_at,
                hash=e.hash,
            )
            for e in history.events_of(uow.conn, order_id)
        ]


class CancelLine(BaseModel):
    line_id: str
    quantity: Quantity


class CancelIn(BaseModel):
    reason: CancelReason = Field(examples=["customer_request"])
    lines: list[CancelLine] | None = Field(
        default=None, description="cancel only these units; omit to cancel the whole order"
    )


@router.post("/{order_id}/cancel", response_model=OrderOut)
def cancel(order_id: str, body: CancelIn, principal: Manager, container: ContainerDep) -> OrderOut:
    """Cancel the order, or some units of some lines, before they ship (409 once shipped, or
    when the fulfilment provider refuses to take back what it was sent)."""
    units = {line.line_id: line.quantity for line in body.lines} if body.lines else None
    with container.uow(actor=principal.actor) as uow:
        load_visible(uow, principal, order_id)
        cancel_order(uow, order_id=order_id, reason=body.reason.value, units=units)
        return order_out(uow, order_id)
