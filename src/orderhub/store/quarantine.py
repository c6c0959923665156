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

from sqlalchemy import Connection, Row, bindparam, literal_column, select, union_all, update

from orderhub.clock import utc_now
from orderhub.domain.errors import FieldError, NormalizationProblem, NotFound
from orderhub.domain.ids import new_id
from orderhub.domain.redaction import redact
from orderhub.store.repositories import (
    ORDERS_BY_EXTERNAL,
    by_external_params,
    insert_ignoring_duplicates,
)
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


_q = quarantine.c
# Every new order asks this: the statement built once, not per call.
_OPEN_FOR_KEYS = select(_q.id, _q.channel_code, _q.external_id).where(
    _q.status == QuarantineStatus.OPEN.value,
    _q.channel_code.in_(bindparam("channels", expanding=True)),
    _q.external_id.in_(bindparam("external_ids", expanding=True)),
)
# Ingest: the existing orders and the open entries of the same keys, in one statement.
_ORDERS_AND_OPEN = union_all(
    ORDERS_BY_EXTERNAL.add_columns(literal_column("0").label("held")),
    _OPEN_FOR_KEYS.add_columns(literal_column("1").label("held")),
)

Key = tuple[str, str]  # (channel, external id)
OpenEntries = list[Row[Any]]
"""Open entries read ahead (id, channel_code, external_id), for :meth:`close_arrived`."""


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
        """Keep the payload; a repeat of an entry updates it instead of adding a twin.

        Insert-or-nothing first, so concurrent first posts of one order meet at the unique
        index (channel, external id) and all answer with the one entry; a repeat then counts
        an attempt on the open entry (a replayed one is left as it is)."""
        now = utc_now()
        values = {
            "payload": redact(payload),
            "reason": problem.reason,
            "errors": errors_json(problem.fields),
            "updated_at": now,
        }
        entry_id = new_id()
        row = {
            "id": entry_id,
            "channel_code": channel,
            "external_id": external_id,
            "source": source,
            "status": QuarantineStatus.OPEN.value,
            "attempts": 1,
            "created_at": now,
            **values,
        }
        if insert_ignoring_duplicates(self._conn, quarantine, row):
            return entry_id
        q = quarantine.c
        existing = str(
            self._conn.execute(
                select(q.id).where(q.channel_code == channel, q.external_id == external_id)
            ).scalar_one()
        )
        self._conn.execute(
            update(quarantine)
            .where(q.id == existing, q.status == QuarantineStatus.OPEN.value)
            .values(attempts=q.attempts + 1, **values)
        )
        return existing

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

    def discard(self, entry_id: str) -> bool:
        """Mark an open entry discarded (it will never become an order); False if not open."""
        done = self._conn.execute(
            update(quarantine)
            .where(quarantine.c.id == entry_id, quarantine.c.status == QuarantineStatus.OPEN.value)
            .values(status=QuarantineStatus.DISCARDED.value, updated_at=utc_now())
        )
        return bool(done.rowcount)

    def edit_payload(self, entry_id: str, payload: str) -> bool:
        """Replace an open entry's payload (an operator's fix before a replay)."""
        done = self._conn.execute(
            update(quarantine)
            .where(quarantine.c.id == entry_id, quarantine.c.status == QuarantineStatus.OPEN.value)
            .values(payload=redact(payload), updated_at=utc_now())
        )
        return bool(done.rowcount)

    def orders_and_open(self, keys: set[Key]) -> tuple[dict[Key, str], OpenEntries]:
        """The ids of the orders that exist among ``keys`` (as
        :meth:`OrderRepository.ids_by_external`) and the open entries of those keys, in one
        statement: ingest reads both at its start and closes the entries of the orders it
        creates from this read (:meth:`close_arrived`). Within the transaction nothing opens an
        entry of a key that becomes an order (a key quarantined is not created). Another
        process's entry committed meanwhile stays open, as one committed after a later read
        would (SQLite's writer excludes both; on PostgreSQL no lock orders the two, before or
        after): replaying it answers the order that exists and closes it."""
        if not keys:
            return {}, []
        existing: dict[Key, str] = {}
        entries: OpenEntries = []
        for row in self._conn.execute(_ORDERS_AND_OPEN, by_external_params(keys)):
            if row.held:
                entries.append(row)
            elif (row.channel_code, row.external_id) in keys:  # the IN lists cross: keep asked
                existing[(row.channel_code, row.external_id)] = row.id
        return existing, entries

    def close_arrived(self, orders: dict[Key, str], entries: OpenEntries | None = None) -> int:
        """Open entries whose (channel, external id) has now become an order — it arrived again,
        fixed at the source — are closed as replayed and linked to it; returns how many.
        ``entries``: the open entries of these keys read in this transaction by
        :meth:`orders_and_open` (none opened since), else read here."""
        if not orders:
            return 0
        if entries is None:
            entries = list(self._conn.execute(_OPEN_FOR_KEYS, by_external_params(orders)))
        closed = 0
        for row in entries:
            order_id = orders.get((row.channel_code, row.external_id))
            if order_id is not None:
                self.resolve(row.id, order_id=order_id)
                closed += 1
        return closed

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
