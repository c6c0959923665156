"""Quarantine: payloads that could not become orders yet, with their reasons and a replay action."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from starlette.responses import Response

from orderhub.api.deps import ContainerDep
from orderhub.channels.registry import PAYLOAD_PARSERS
from orderhub.domain.access import Permission
from orderhub.domain.errors import NotFound, ValidationFailed
from orderhub.services.ingest import replay_quarantined
from orderhub.store.quarantine import QuarantineStatus
from orderhub.store.tables import quarantine
from orderhub.web.auth import Viewer, page
from orderhub.web.templating import render

router = APIRouter()
Reader = Annotated[Viewer, Depends(page(Permission.QUARANTINE_READ))]
Replayer = Annotated[Viewer, Depends(page(Permission.QUARANTINE_REPLAY))]
LIMIT = 100
NOTICES = {
    "created": "Replayed: the payload became an order.",
    "existing": "Replayed: the order existed already and is now linked.",
    "quarantined": "Replayed, but it still cannot be normalized; the reason below is updated.",
}


@router.get("/quarantine")
def list_quarantine(
    request: Request,
    viewer: Reader,
    container: ContainerDep,
    status: QuarantineStatus = QuarantineStatus.OPEN,
    notice: str | None = None,
) -> Response:
    q = quarantine.c
    stmt = select(q.id).where(q.status == status.value).order_by(q.created_at.desc()).limit(LIMIT)
    if viewer.principal.channel:
        stmt = stmt.where(q.channel_code == viewer.principal.channel)
    with container.uow(read_only=True) as uow:
        entries = [uow.quarantine.get(i) for i in uow.conn.execute(stmt).scalars()]
    context = {
        "entries": entries,
        "status": status.value,
        "statuses": [s.value for s in QuarantineStatus],
        "notice": NOTICES.get(notice or ""),
        "can_replay": viewer.can(Permission.QUARANTINE_REPLAY),
        "limit": LIMIT,
    }
    return render(request, "quarantine.html", context, viewer=viewer)


@router.post("/quarantine/{entry_id}/replay")
def replay(request: Request, entry_id: str, viewer: Replayer, container: ContainerDep) -> Response:
    """Run the kept payload through ingest again, as ``POST /v1/quarantine/{id}/replay`` does."""
    try:
        with container.uow(actor=viewer.actor) as uow:
            entry = uow.quarantine.get(entry_id)
            if viewer.principal.channel not in (None, entry.channel):
                raise NotFound(entry_id)
            result = replay_quarantined(uow, entry_id=entry_id, parsers=PAYLOAD_PARSERS)
    except (NotFound, ValidationFailed) as error:
        context = {"title": "Cannot replay", "message": error.detail}
        return render(request, "error.html", context, viewer=viewer, status_code=409)
    return RedirectResponse(f"/quarantine?notice={result.outcome.value}", status_code=303)
