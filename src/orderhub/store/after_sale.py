"""Returns, refunds and the per-order financial ledger, on the unit of work's connection."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, func, insert, not_, or_, select, update

from orderhub.domain.errors import NotFound
from orderhub.domain.returns import Disposition, Return, ReturnLine, ReturnStatus
from orderhub.store.queries import keyset_page
from orderhub.store.tables import order_financial_entries, refunds, return_lines, returns


@dataclass(frozen=True)
class StoredRefund:
    id: str
    order_id: str
    return_id: str | None
    reason: str
    currency: str
    amount_minor: int
    shipping_minor: int
    fees_minor: int
    lines: list[dict[str, Any]]
    created_at: datetime


@dataclass(frozen=True)
class LedgerEntry:
    kind: str  # charge | refund | fee | credit (an order edit's refund owed)
    amount_minor: int
    currency: str
    reference: str | None
    note: str | None
    created_at: datetime


@dataclass(frozen=True)
class ReturnRecord:
    """A return with what the state machine does not hold: channel, location, times."""

    rma: Return
    channel: str
    location: str | None
    created_at: datetime
    updated_at: datetime


class AfterSaleRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # -- returns -----------------------------------------------------------------------------
    def add_return(self, rma: Return, *, channel: str, now: datetime) -> None:
        self.conn.execute(
            insert(returns).values(
                id=rma.id,
                order_id=rma.order_id,
                channel=channel,
                status=rma.status.value,
                reason=rma.reason,
                exchange_order_id=rma.exchange_order_id,
                created_at=now,
                updated_at=now,
            )
        )
        self.conn.execute(
            insert(return_lines),
            [
                {
                    "return_id": rma.id,
                    "order_line_id": line.order_line_id,
                    "sku": line.sku,
                    "quantity": line.quantity,
                    "disposition": None,
                }
                for line in rma.lines
            ],
        )

    def save_return(self, rma: Return, *, now: datetime, location: str | None = None) -> None:
        values: dict[str, Any] = {
            "status": rma.status.value,
            "exchange_order_id": rma.exchange_order_id,
            "updated_at": now,
        }
        if location is not None:
            values["location"] = location
        self.conn.execute(update(returns).where(returns.c.id == rma.id).values(**values))
        for line in rma.lines:
            self.conn.execute(
                update(return_lines)
                .where(
                    return_lines.c.return_id == rma.id,
                    return_lines.c.order_line_id == line.order_line_id,
                )
                .values(disposition=line.disposition.value if line.disposition else None)
            )

    def get_return(self, return_id: str) -> ReturnRecord:
        row = self.conn.execute(select(returns).where(returns.c.id == return_id)).first()
        if row is None:
            raise NotFound(f"return {return_id} not found")
        return self._load([row])[0]

    def search_returns(
        self,
        *,
        status: str | None = None,
        order_id: str | None = None,
        channel: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> tuple[list[ReturnRecord], str | None]:
        """One page of returns, oldest first, and the next page's cursor (or None)."""
        query = select(returns)
        if status:
            query = query.where(returns.c.status == status)
        if order_id:
            query = query.where(returns.c.order_id == order_id)
        if channel:
            query = query.where(returns.c.channel == channel)
        rows, next_cursor = keyset_page(self.conn, query, returns.c.id, limit=limit, cursor=cursor)
        return self._load(rows), next_cursor

    def returned_units(self, order_id: str) -> dict[str, int]:
        """Order line id → units in returns still going or inspected; a rejected return, or
        one closed before inspection, gives its units back to be returned again."""
        dropped = or_(
            returns.c.status == ReturnStatus.REJECTED.value,
            and_(
                returns.c.status == ReturnStatus.CLOSED.value,
                return_lines.c.disposition.is_(None),
            ),
        )
        query = (
            select(return_lines.c.order_line_id, func.sum(return_lines.c.quantity))
            .join(returns, returns.c.id == return_lines.c.return_id)
            .where(returns.c.order_id == order_id, not_(dropped))
            .group_by(return_lines.c.order_line_id)
        )
        return {str(line_id): int(units) for line_id, units in self.conn.execute(query)}

    def _load(self, rows: list[Row[Any]]) -> list[ReturnRecord]:
        if not rows:
            return []
        ids = [row.id for row in rows]
        lines: dict[str, list[ReturnLine]] = {i: [] for i in ids}
        query = (
            select(return_lines)
            .where(return_lines.c.return_id.in_(ids))
            .order_by(return_lines.c.return_id, return_lines.c.order_line_id)
        )
        for line in self.conn.execute(query):
            lines[line.return_id].append(
                ReturnLine(
                    line.order_line_id,
                    line.sku,
                    line.quantity,
                    Disposition(line.disposition) if line.disposition else None,
                )
            )
        return [
            ReturnRecord(
                rma=Return(
                    id=row.id,
                    order_id=row.order_id,
                    status=ReturnStatus(row.status),
                    reason=row.reason,
                    lines=lines[row.id],
                    exchange_order_id=row.exchange_order_id,
                ),
                channel=row.channel,
                location=row.location,
                created_at=row.created_at,
                updated_at=row.updated_at,
            )
            for row in rows
        ]

    # -- refunds -----------------------------------------------------------------------------
    def add_refund(self, refund: StoredRefund) -> None:
        self.conn.execute(insert(refunds).values(**refund.__dict__))

    def refunds_of(self, order_id: str) -> list[StoredRefund]:
        query = (
            select(refunds)
            .where(refunds.c.order_id == order_id)
            .order_by(refunds.c.created_at, refunds.c.id)
        )
        return [StoredRefund(**row._asdict()) for row in self.conn.execute(query)]

    # -- ledger --------------------------------------------------------------------------------
    def add_entry(self, order_id: str, entry: LedgerEntry) -> None:
        self.conn.execute(
            insert(order_financial_entries).values(order_id=order_id, **entry.__dict__)
        )

    def entries(self, order_id: str) -> list[LedgerEntry]:
        query = (
            select(order_financial_entries)
            .where(order_financial_entries.c.order_id == order_id)
            .order_by(order_financial_entries.c.id)
        )
        return [
            LedgerEntry(
                kind=row.kind,
                amount_minor=row.amount_minor,
                currency=row.currency,
                reference=row.reference,
                note=row.note,
                created_at=row.created_at,
            )
            for row in self.conn.execute(query)
        ]
