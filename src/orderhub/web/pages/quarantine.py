"""Quarantine: payloads that could not become orders yet, and fixing them in place.

From an entry: map the channel SKU to a catalogue SKU, or create the missing product, and the
payload is replayed at once; edit the payload and replay it; or discard it. An entry closes by
itself when the same order arrives later (``services/ingest.py``), linked to that order.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from starlette.responses import Response

from orderhub.api.deps import ContainerDep
from orderhub.channels.registry import PAYLOAD_PARSERS
from orderhub.domain.access import Permission
from orderhub.domain.catalog import Product
from orderhub.domain.errors import NotFound, OrderHubError
from orderhub.services.ingest import replay_quarantined
from orderhub.store import reports
from orderhub.store.quarantine import QuarantinedPayload, QuarantineStatus
from orderhub.store.tables import quarantine
from orderhub.web.auth import Viewer, page
from orderhub.web.templating import render

router = APIRouter()
Reader = Annotated[Viewer, Depends(page(Permission.QUARANTINE_READ))]
Replayer = Annotated[Viewer, Depends(page(Permission.QUARANTINE_REPLAY))]
Mapper = Annotated[Viewer, Depends(page(Permission.CHANNELS_WRITE))]
Cataloguer = Annotated[Viewer, Depends(page(Permission.CATALOG_WRITE))]
LIMIT = 100
MAX_PAYLOAD = 1_000_000
NOTICES = {
    "created": "Replayed: the payload became an order.",
    "existing": "Replayed: the order existed already and is now linked.",
    "quarantined": "Replayed, but it still cannot be normalized; the reason below is updated.",
    "discarded": "Discarded: it will not become an order.",
    "saved": "The payload was saved.",
}
_UNKNOWN = re.compile(r"unknown SKU '(.+)'$")


@router.get("/quarantine")
def list_quarantine(
    request: Request,
    viewer: Reader,
    container: ContainerDep,
    status: QuarantineStatus = QuarantineStatus.OPEN,
    channel: Annotated[str, Query(max_length=64)] = "",
    notice: str | None = None,
) -> Response:
    q = quarantine.c
    if viewer.principal.channel:
        channel = viewer.principal.channel
    stmt = select(q.id).where(q.status == status.value).order_by(q.created_at.desc()).limit(LIMIT)
    if channel:
        stmt = stmt.where(q.channel_code == channel)
    with container.uow(read_only=True) as uow:
        entries = [uow.quarantine.get(i) for i in uow.conn.execute(stmt).scalars()]
        refs = reports.order_refs(uow.conn, {e.order_id for e in entries if e.order_id})
        channels = [c.code for c in uow.channels.list()]
    context = {
        "entries": entries,
        "refs": refs,
        "status": status.value,
        "statuses": [s.value for s in QuarantineStatus],
        "channel": channel,
        "channels": channels,
        "notice": NOTICES.get(notice or ""),
        "can_replay": viewer.can(Permission.QUARANTINE_REPLAY),
        "limit": LIMIT,
    }
    return render(request, "quarantine.html", context, viewer=viewer)


def unknown_skus(entry: QuarantinedPayload) -> list[dict[str, Any]]:
    """The entry's unknown SKUs, each with whether it came as a channel SKU (mappable)."""
    found: dict[str, dict[str, Any]] = {}
    for error in entry.errors:
        match = _UNKNOWN.search(str(error.get("message", "")))
        if match:
            sku = match.group(1)
            mappable = str(error.get("field", "")).endswith("channel_sku")
            found.setdefault(sku, {"sku": sku, "mappable": mappable})
    return list(found.values())


def readable(payload: str) -> str:
    """A JSON payload indented for reading and editing; any other format as received."""
    try:
        return json.dumps(json.loads(payload), indent=2, ensure_ascii=False)
    except ValueError:
        return payload


def _entry(container: ContainerDep, viewer: Viewer, entry_id: str) -> QuarantinedPayload:
    with container.uow(read_only=True) as uow:
        entry = uow.quarantine.get(entry_id)
    if viewer.principal.channel not in (None, entry.channel):
        raise NotFound(entry_id)
    return entry


def _not_found(request: Request, viewer: Viewer) -> Response:
    context = {"title": "Not found", "message": "No such quarantine entry is visible to you."}
    return render(request, "error.html", context, viewer=viewer, status_code=404)


def _entry_page(
    request: Request,
    container: ContainerDep,
    viewer: Viewer,
    entry_id: str,
    *,
    notice: str | None = None,
    error: str | None = None,
    payload: str | None = None,
    status_code: int = 200,
) -> Response:
    try:
        entry = _entry(container, viewer, entry_id)
    except NotFound:
        return _not_found(request, viewer)
    with container.uow(read_only=True) as uow:
        refs = reports.order_refs(uow.conn, {entry.order_id} if entry.order_id else set())
    context = {
        "entry": entry,
        "ref": refs.get(entry.order_id or ""),
        "unknown": unknown_skus(entry),
        "payload": readable(entry.payload) if payload is None else payload,
        "notice": notice,
        "error": error,
        "open": entry.status == QuarantineStatus.OPEN,
        "can_replay": viewer.can(Permission.QUARANTINE_REPLAY),
        "can_map": viewer.can(Permission.CHANNELS_WRITE),
        "can_create": viewer.can(Permission.CATALOG_WRITE),
    }
    return render(request, "quarantine_entry.html", context, viewer=viewer,
                  status_code=status_code)  # fmt: skip


@router.get("/quarantine/{entry_id}")
def entry_page(
    request: Request,
    entry_id: str,
    viewer: Reader,
    container: ContainerDep,
    notice: str | None = None,
) -> Response:
    return _entry_page(request, container, viewer, entry_id, notice=NOTICES.get(notice or ""))


def _replay(
    request: Request, container: ContainerDep, viewer: Viewer, entry_id: str, *, back: str
) -> Response:
    """Run the kept payload through ingest again, as ``POST /v1/quarantine/{id}/replay`` does."""
    try:
        _entry(container, viewer, entry_id)
        with container.uow(actor=viewer.actor) as uow:
            result = replay_quarantined(uow, entry_id=entry_id, parsers=PAYLOAD_PARSERS)
    except NotFound:
        return _not_found(request, viewer)
    except OrderHubError as error:
        return _entry_page(request, container, viewer, entry_id, error=error.detail,
                           status_code=409)  # fmt: skip
    target = f"/quarantine/{entry_id}" if back == "entry" else "/quarantine"
    return RedirectResponse(f"{target}?notice={result.outcome.value}", status_code=303)


@router.post("/quarantine/{entry_id}/replay")
def replay(
    request: Request,
    entry_id: str,
    viewer: Replayer,
    container: ContainerDep,
    back: Annotated[str, Form(max_length=10)] = "list",
) -> Response:
    return _replay(request, container, viewer, entry_id, back=back)


@router.post("/quarantine/{entry_id}/discard")
def discard(request: Request, entry_id: str, viewer: Replayer, container: ContainerDep) -> Response:
    """Mark the entry discarded: it stays for the record but leaves the open queue."""
    try:
        _entry(container, viewer, entry_id)
    except NotFound:
        return _not_found(request, viewer)
    with container.uow(actor=viewer.actor) as uow:
        done = uow.quarantine.discard(entry_id)
        uow.commit()
    if not done:
        return _entry_page(request, container, viewer, entry_id, status_code=409,
                           error="Only an open entry can be discarded.")  # fmt: skip
    return RedirectResponse(f"/quarantine/{entry_id}?notice=discarded", status_code=303)


@router.post("/quarantine/{entry_id}/payload")
def edit_payload(
    request: Request,
    entry_id: str,
    viewer: Replayer,
    container: ContainerDep,
    payload: Annotated[str, Form(min_length=1, max_length=MAX_PAYLOAD)],
) -> Response:
    """Save a corrected payload (it must still parse as the channel's format), then replay."""
    try:
        entry = _entry(container, viewer, entry_id)
    except NotFound:
        return _not_found(request, viewer)
    try:
        PAYLOAD_PARSERS[entry.source](payload)
    except (ValueError, OrderHubError) as error:
        message = getattr(error, "detail", None) or str(error).splitlines()[0]
        return _entry_page(request, container, viewer, entry_id, payload=payload,
                           error=f"The payload does not parse: {message}",
                           status_code=422)  # fmt: skip
    with container.uow(actor=viewer.actor) as uow:
        saved = uow.quarantine.edit_payload(entry_id, payload)
        uow.commit()
    if not saved:
        return _entry_page(request, container, viewer, entry_id, status_code=409,
                           error="Only an open entry can be edited.")  # fmt: skip
    return _replay(request, container, viewer, entry_id, back="entry")


@router.post("/quarantine/{entry_id}/map-sku")
def map_sku(
    request: Request,
    entry_id: str,
    viewer: Mapper,
    container: ContainerDep,
    channel_sku: Annotated[str, Form(min_length=1, max_length=200)],
    sku: Annotated[str, Form(min_length=1, max_length=128)],
) -> Response:
    """Map the entry's channel SKU to a catalogue SKU (as ``POST /v1/channels/{code}/sku-map``),
    then replay the entry."""
    try:
        entry = _entry(container, viewer, entry_id)
    except NotFound:
        return _not_found(request, viewer)
    sku = sku.strip()
    with container.uow(actor=viewer.actor) as uow:
        if not uow.catalog.known_skus({sku}):
            uow.rollback()
            problem = f"There is no product {sku!r}; create it instead."
            return _entry_page(request, container, viewer, entry_id, status_code=422, error=problem)
        uow.catalog.map_sku(entry.channel, channel_sku, sku)
        uow.commit()
    return _replay(request, container, viewer, entry_id, back="entry")


@router.post("/quarantine/{entry_id}/product")
def create_product(
    request: Request,
    entry_id: str,
    viewer: Cataloguer,
    container: ContainerDep,
    sku: Annotated[str, Form(min_length=1, max_length=128)],
    name: Annotated[str, Form(min_length=1, max_length=300)],
) -> Response:
    """Create the missing product (as ``POST /v1/products``, name only), then replay."""
    try:
        _entry(container, viewer, entry_id)
    except NotFound:
        return _not_found(request, viewer)
    sku, name = sku.strip(), name.strip()
    if not sku or not name or any(c.isspace() for c in sku):
        return _entry_page(request, container, viewer, entry_id, status_code=422,
                           error="A SKU has no spaces, and a product needs a name.")  # fmt: skip
    with container.uow(actor=viewer.actor) as uow:
        if uow.catalog.known_skus({sku}):
            uow.rollback()
            return _entry_page(request, container, viewer, entry_id, status_code=409,
                               error=f"Product {sku!r} exists already.")  # fmt: skip
        uow.catalog.upsert(Product(sku, name))
        uow.commit()
    return _replay(request, container, viewer, entry_id, back="entry")
