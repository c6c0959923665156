"""Quarantine: payloads that validated but could not become orders, kept for replay.

Kept whole but for credentials (a cXML SharedSecret, an EDI ISA password…), which
:func:`~orderhub.domain.redaction.redact` replaces before the payload is stored: a replay needs
the order, not the sender's password, and the payload is shown in the API and the dashboard.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, select, update

from orderhub.clock import utc_now
from orderhub.domain.errors import FieldError, NormalizationProblem, NotFound
from orderhub.domain.ids import new_id
from orderhub.domain.redaction import redact
from orderhub.store.tables import quarantine


class QuarantineStatus(StrEnum):
    OPEN = "open"
    REPLAYED = "replayed"
    DISCARDED = "discarded"


@dataclass(frozen=True)
class QuarantinedPayload:
    id: str
    channel: str
    external_id: str | None
    source: str
    payload: str
    reason: str
    errors: list[dict[str, Any]]
    status: QuarantineStatus
    attempts: int
    order_id: str | None
    created_at: datetime
    updated_at: datetime


def errors_json(fields: list[FieldError]) -> list[dict[str, Any]]:
    return [f.as_json() for f in fields]


class QuarantineRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def hold(
        self,
        *,
        channel: str,
        external_id: str | None,
        source: str,
        payload: str,
        problem: NormalizationProblem,
    ) -> str:
        """Keep the payload; a repeat of an open entry updates it instead of adding a twin."""
        now = utc_now()
        values = {
            "payload": redact(payload),
            "reason": problem.reason,
            "errors": errors_json(problem.fields),
            "updated_at": now,
        }
        if external_id is not None:
            existing = self._conn.execute(
                select(quarantine.c.id).where(
                    quarantine.c.channel_code == channel,
                    quarantine.c.external_id == external_id,
                    quarantine.c.status == QuarantineStatus.OPEN.value,
                )
            ).scalar_one_or_none()
            if existing:
                self._conn.execute(
                    update(quarantine)
                    .where(quarantine.c.id == existing)
                    .values(attempts=quarantine.c.attempts + 1, **values)
                )
                return str(existing)
        entry_id = new_id()
        self._conn.execute(
            quarantine.insert().values(
                id=entry_id,
                channel_code=channel,
                external_id=external_id,
                source=source,
                status=QuarantineStatus.OPEN.value,
                attempts=1,
                created_at=now,
                **values,
            )
        )
        return entry_id

    def redact_stored(self) -> int:
        """Redact payloads stored before redaction existed (``db upgrade``); returns how many."""
        changed = 0
        for row in self._conn.execute(select(quarantine.c.id, quarantine.c.payload)).all():
            text = redact(row.payload)
            if text != row.payload:
                self._conn.execute(
                    update(quarantine).where(quarantine.c.id == row.id).values(payload=text)
                )
                changed += 1
        return changed

    def get(self, entry_id: str) -> QuarantinedPayload:
        row = self._conn.execute(select(quarantine).where(quarantine.c.id == entry_id)).first()
        if row is None:
            raise NotFound(f"quarantine entry {entry_id} not found")
        return QuarantinedPayload(
            id=row.id,
            channel=row.channel_code,
            external_id=row.external_id,
            source=row.source,
            payload=row.payload,
            reason=row.reason,
            errors=row.errors,
            status=QuarantineStatus(row.status),
            attempts=row.attempts,
            order_id=row.order_id,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    def resolve(self, entry_id: str, *, order_id: str) -> None:
        self._conn.execute(
            update(quarantine)
            .where(quarantine.c.id == entry_id)
            .values(status=QuarantineStatus.REPLAYED.value, order_id=order_id, updated_at=utc_now())
        )

    def record_failed_replay(self, entry_id: str, problem: NormalizationProblem) -> None:
        self._conn.execute(
            update(quarantine)
            .where(quarantine.c.id == entry_id)
            .values(
                attempts=quarantine.c.attempts + 1,
                reason=problem.reason,
                errors=errors_json(problem.fields),
                updated_at=utc_now(),
            )
        )
