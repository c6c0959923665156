"""Quarantine: payloads that could not become orders yet, and their replay."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from sqlalchemy import select

from orderhub.api.deps import ContainerDep, require, visible_to
from orderhub.api.schemas.pages import Cursor, Limit, Page
from orderhub.channels.registry import PAYLOAD_PARSERS
from orderhub.domain.access import Permission
from orderhub.domain.errors import NotFound
from orderhub.services.ingest import replay_quarantined
from orderhub.store.access import Principal
from orderhub.store.quarantine import QuarantinedPayload, QuarantineStatus
from orderhub.store.queries import keyset_page
from orderhub.store.tables import quarantine

router = APIRouter(prefix="/quarantine", tags=["quarantine"])

Reader = Annotated[Principal, Depends(require(Permission.QUARANTINE_READ))]
Replayer = Annotated[Principal, Depends(require(Permission.QUARANTINE_REPLAY))]


class QuarantineOut(BaseModel):
    id: str
    channel: str
    external_id: str | None
    source: str
    reason: str
    errors: list[dict[str, Any]]
    status: QuarantineStatus
    attempts: int
    order_id: str | None
    created_at: datetime
    updated_at: datetime
    payload: str

    @classmethod
    def of(cls, entry: QuarantinedPayload) -> QuarantineOut:
        return cls(**{name: getattr(entry, name) for name in cls.model_fields})


class ReplayOut(BaseModel):
    outcome: str
    order_id: str | None
    quarantine: QuarantineOut


@router.get("", response_model=Page[QuarantineOut])
def list_quarantine(
    principal: Reader,
    container: ContainerDep,
    status: QuarantineStatus = QuarantineStatus.OPEN,
    channel: str | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[QuarantineOut]:
    """Oldest first: the queue to work through."""
    q = quarantine.c
    stmt = select(q.id).where(q.status == status.value)
    if channel:
        stmt = stmt.where(q.channel_code == channel)
    if principal.channel:
        stmt = stmt.where(q.channel_code == principal.channel)
    with container.uow(read_only=True) as uow:
        rows, next_cursor = keyset_page(uow.conn, stmt, q.id, limit=limit, cursor=cursor)
        items = [QuarantineOut.of(uow.quarantine.get(row.id)) for row in rows]
    return Page(items=items, next_cursor=next_cursor)


@router.get("/{entry_id}", response_model=QuarantineOut)
def get_entry(entry_id: str, principal: Reader, container: ContainerDep) -> QuarantineOut:
    with container.uow(read_only=True) as uow:
        entry = uow.quarantine.get(entry_id)
    if not visible_to(principal, entry.channel):
        raise NotFound(f"quarantine entry {entry_id} not found")
    return QuarantineOut.of(entry)


@router.post("/{entry_id}/replay", response_model=ReplayOut)
def replay(entry_id: str, principal: Replayer, container: ContainerDep) -> ReplayOut:
    """Run the kept payload through ingest again (after mapping the SKU or adding the product)."""
    with container.uow(actor=principal.actor) as uow:
        if not visible_to(principal, uow.quarantine.get(entry_id).channel):
            raise NotFound(f"quarantine entry {entry_id} not found")
        result = replay_quarantined(uow, entry_id=entry_id, parsers=PAYLOAD_PARSERS)
        entry = uow.quarantine.get(entry_id)
    return ReplayOut(
        outcome=result.outcome.value, order_id=result.order_id, quarantine=QuarantineOut.of(entry)
    )
