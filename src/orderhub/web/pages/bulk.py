"""Bulk actions: hold, release or cancel selected orders; resolve selected exceptions; replay or
discard selected quarantine entries.

Each is two posts: the first (from the list's checkboxes) shows what will happen to which items
and asks for confirmation; the second (``confirm=yes``) runs the same service the API uses,
once per item in its own transaction, so one refusal does not undo the others, and shows each
item's outcome.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import Response

from orderhub.api.deps import ContainerDep
from orderhub.bootstrap import Container
from orderhub.channels.registry import PAYLOAD_PARSERS
from orderhub.domain.access import Permission
from orderhub.domain.cancellation import CancelReason
from orderhub.domain.errors import NotFound, OrderHubError
from orderhub.services.fulfilment import resolve_exception
from orderhub.services.ingest import replay_quarantined
from orderhub.services.orders import cancel_order, hold_order, release_hold
from orderhub.store import queries, reports
from orderhub.store.unit_of_work import UnitOfWork
from orderhub.web.auth import Viewer, page
from orderhub.web.templating import render

router = APIRouter()
Manager = Annotated[Viewer, Depends(page(Permission.ORDERS_MANAGE))]
Resolver = Annotated[Viewer, Depends(page(Permission.FULFILMENT_WRITE))]
Replayer = Annotated[Viewer, Depends(page(Permission.QUARANTINE_REPLAY))]
Ids = Annotated[list[str], Form(max_length=100)]
MAX_ITEMS = 100
CANCEL_REASONS = [(reason.value, reason.label) for reason in CancelReason]


@dataclass
class Item:
    id: str
    label: str
    href: str | None
    detail: str
    ok: bool = True


def _page(request: Request, viewer: Viewer, **context: Any) -> Response:
    return render(request, "bulk.html", context, viewer=viewer)


def _too_many(request: Request, viewer: Viewer, ids: list[str]) -> Response | None:
    if not ids or len(ids) > MAX_ITEMS:
        context = {
            "title": "Select some items",
            "message": f"Tick between 1 and {MAX_ITEMS} rows, then choose the action.",
        }
        return render(request, "error.html", context, viewer=viewer, status_code=422)
    return None


def _run_each(
    container: Container, viewer: Viewer, items: list[Item], act: Callable[[UnitOfWork, str], str]
) -> int:
    """``act`` per item in its own unit of work; its answer (or the refusal) becomes the
    item's detail. Returns how many succeeded."""
    done = 0
    for item in items:
        try:
            with container.uow(actor=viewer.actor) as uow:
                item.detail = act(uow, item.id)
                uow.commit()
            done += 1
        except OrderHubError as error:
            item.ok, item.detail = False, getattr(error, "detail", None) or str(error)
    return done


# --- orders ----------------------------------------------------------------------------------

ORDER_ACTIONS = {"hold": "Put on hold", "release": "Release the hold of", "cancel": "Cancel"}


@router.post("/orders/bulk")
def bulk_orders(
    request: Request,
    viewer: Manager,
    container: ContainerDep,
    ids: Ids,
    action: Annotated[str, Form(pattern="^(hold|release|cancel)$")],
    reason: Annotated[str, Form(max_length=200)] = "",
    confirm: Annotated[str, Form(max_length=3)] = "",
) -> Response:
    refused = _too_many(request, viewer, ids)
    if refused:
        return refused
    items = []
    with container.uow(read_only=True) as uow:
        refs = reports.order_refs(uow.conn, ids)
        for order_id in dict.fromkeys(ids):
            ref = refs.get(order_id)
            if ref is None or viewer.principal.channel not in (None, ref.channel):
                continue
            status = queries.order_status(uow.conn, order_id) or ""
            items.append(Item(order_id, f"{ref.number} ({ref.channel})", f"/orders/{order_id}",
                              status.replace("_", " ")))  # fmt: skip
    reason = reason.strip()
    if action == "cancel" and reason not in {value for value, _ in CANCEL_REASONS}:
        reason = "" if confirm else reason
    needs_reason = action in ("hold", "cancel")
    if confirm != "yes" or (needs_reason and not reason):
        fields: list[dict[str, Any]] = []
        if action == "hold":
            fields.append({"name": "reason", "label": "Hold reason", "value": reason, "max": 200})
        elif action == "cancel":
            fields.append({"name": "reason", "label": "Cancel reason",
                           "options": CANCEL_REASONS, "value": reason})  # fmt: skip
        verb = ORDER_ACTIONS[action]
        return _page(
            request, viewer, title=f"{verb} {len(items)} order(s)?", items=items,
            item_label="Order", question=f"{verb} these orders:", action=action,
            action_url="/orders/bulk", fields=fields, confirm_label=f"{verb} {len(items)} order(s)",
            danger=action == "cancel", back="/orders", done=False,
        )  # fmt: skip

    def act(uow: UnitOfWork, order_id: str) -> str:
        if action == "hold":
            hold_order(uow, order_id=order_id, reason=reason)
            return "on hold"
        if action == "release":
            release_hold(uow, order_id=order_id)
            return "released and routed again"
        cancel_order(uow, order_id=order_id, reason=CancelReason(reason).value)
        return "cancelled"

    succeeded = _run_each(container, viewer, items, act)
    return _page(
        request, viewer, title=f"{ORDER_ACTIONS[action]}: results", items=items,
        item_label="Order", done=True, succeeded=succeeded, back="/orders",
    )  # fmt: skip


# --- exceptions ------------------------------------------------------------------------------


@router.post("/exceptions/bulk")
def bulk_exceptions(
    request: Request,
    viewer: Resolver,
    container: ContainerDep,
    ids: Ids,
    resolution: Annotated[str, Form(max_length=500)] = "",
    confirm: Annotated[str, Form(max_length=3)] = "",
) -> Response:
    refused = _too_many(request, viewer, ids)
    if refused:
        return refused
    items = []
    with container.uow(read_only=True) as uow:
        found = []
        for exception_id in dict.fromkeys(ids):
            try:
                found.append(uow.fulfilment.exception(exception_id))
            except NotFound:
                continue
        refs = reports.order_refs(uow.conn, {e.order_id for e in found})
        for e in found:
            ref = refs.get(e.order_id)
            if ref is None or viewer.principal.channel not in (None, ref.channel):
                continue
            items.append(Item(e.id, f"{e.kind.replace('_', ' ')} on {ref.number}",
                              f"/orders/{e.order_id}", e.detail))  # fmt: skip
    resolution = resolution.strip()
    if confirm != "yes" or not resolution:
        return _page(
            request, viewer, title=f"Resolve {len(items)} exception(s)?", items=items,
            item_label="Exception", question="Resolve these exceptions, with one resolution:",
            action="resolve", action_url="/exceptions/bulk", back="/exceptions", done=False,
            fields=[{"name": "resolution", "label": "What was done", "value": resolution,
                     "max": 500}],
            confirm_label=f"Resolve {len(items)} exception(s)", danger=False,
        )  # fmt: skip

    def act(uow: UnitOfWork, exception_id: str) -> str:
        resolve_exception(uow, exception_id=exception_id, resolution=resolution, actor=viewer.actor)
        return "resolved"

    succeeded = _run_each(container, viewer, items, act)
    return _page(
        request, viewer, title="Resolve exceptions: results", items=items,
        item_label="Exception", done=True, succeeded=succeeded, back="/exceptions",
    )  # fmt: skip


# --- quarantine ------------------------------------------------------------------------------

QUARANTINE_ACTIONS = {"replay": "Replay", "discard": "Discard"}


@router.post("/quarantine/bulk")
def bulk_quarantine(
    request: Request,
    viewer: Replayer,
    container: ContainerDep,
    ids: Ids,
    action: Annotated[str, Form(pattern="^(replay|discard)$")],
    confirm: Annotated[str, Form(max_length=3)] = "",
) -> Response:
    refused = _too_many(request, viewer, ids)
    if refused:
        return refused
    items = []
    with container.uow(read_only=True) as uow:
        for entry_id in dict.fromkeys(ids):
            try:
                entry = uow.quarantine.get(entry_id)
            except NotFound:
                continue
            if viewer.principal.channel not in (None, entry.channel):
                continue
            label = f"{entry.external_id or entry.id[:13]} ({entry.channel})"
            items.append(Item(entry.id, label, f"/quarantine/{entry.id}", entry.reason))
    verb = QUARANTINE_ACTIONS[action]
    if confirm != "yes":
        return _page(
            request, viewer, title=f"{verb} {len(items)} quarantined payload(s)?", items=items,
            item_label="Payload", question=f"{verb} these payloads:", action=action,
            action_url="/quarantine/bulk", fields=[], back="/quarantine", done=False,
            confirm_label=f"{verb} {len(items)} payload(s)", danger=action == "discard",
        )  # fmt: skip

    def act(uow: UnitOfWork, entry_id: str) -> str:
        if action == "discard":
            if not uow.quarantine.discard(entry_id):
                raise OrderHubError("only an open entry can be discarded")
            return "discarded"
        result = replay_quarantined(uow, entry_id=entry_id, parsers=PAYLOAD_PARSERS)
        if result.outcome.value == "quarantined":
            raise OrderHubError(f"still cannot become an order: {result.problem.reason}"
                              if result.problem else "still cannot become an order")  # fmt: skip
        return "became an order" if result.outcome.value == "created" else "order existed: linked"

    succeeded = _run_each(container, viewer, items, act)
    return _page(
        request, viewer, title=f"{verb}: results", items=items, item_label="Payload",
        done=True, succeeded=succeeded, back="/quarantine",
    )  # fmt: skip
