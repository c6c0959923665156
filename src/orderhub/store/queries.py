"""Reads for the API and the dashboard (CQRS-lite): filters and keyset pagination."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, Connection, and_, or_, select

from orderhub.clock import utc_now
from orderhub.domain.errors import FieldError, ValidationFailed
from orderhub.domain.orders import OPEN_STATUSES, normalize_email
from orderhub.store import tables as t


@dataclass(frozen=True)
class OrderFilter:
    channel: str | None = None
    status: str | None = None
    placed_from: datetime | None = None
    placed_to: datetime | None = None
    email: str | None = None
    external_id: str | None = None
    po_number: str | None = None
    reference: str | None = None  # the channel's order id or the B2B PO number
    ship_by: date | None = None  # requested ship date on or before
    sla: str | None = None  # "at_risk" | "breached": open orders near or past ship_by
    now: datetime | None = None  # the SLA filter's "now" (tests pin it)


DEFAULT_AT_RISK = timedelta(hours=4)


def sla_condition(sla: str, now: datetime) -> ColumnElement[bool]:
    """Breached: still open after ``ship_by``. At risk: open, due within the default window,
    or flagged by ``check_sla`` under the channel's own window."""
    o = t.orders.c
    still_open = o.status.in_([s.value for s in OPEN_STATUSES])
    if sla == "breached":
        return and_(still_open, o.ship_by <= now)
    return and_(
        still_open,
        o.ship_by > now,
        or_(o.sla_at_risk_at.is_not(None), o.ship_by <= now + DEFAULT_AT_RISK),
    )


def encode_cursor(last_id: str) -> str:
    return base64.urlsafe_b64encode(last_id.encode()).decode().rstrip("=")


_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def decode_cursor(cursor: str) -> str:
    """The id a cursor of ``encode_cursor`` carries; anything else is the client's 422 (a
    cursor is handed back to the database, so it must decode to an id and nothing more)."""
    invalid = ValidationFailed(
        "invalid cursor", [FieldError(("query", "cursor"), "not a cursor from this API")]
    )
    if len(cursor) > 64:
        raise invalid
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        decoded = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
    except (ValueError, UnicodeError):
        raise invalid from None
    if not _ID.fullmatch(decoded):
        raise invalid
    return decoded


def order_ids(
    conn: Connection, filters: OrderFilter, *, limit: int, cursor: str | None
) -> tuple[list[str], str | None]:
    """One page of order ids, newest first, and the cursor of the next page (or None)."""
    o = t.orders.c
    stmt = select(o.id).order_by(o.id.desc()).limit(limit + 1)
    if filters.channel:
        stmt = stmt.where(o.channel_code == filters.channel)
    if filters.status:
        stmt = stmt.where(o.status == filters.status)
    if filters.placed_from:
        stmt = stmt.where(o.placed_at >= filters.placed_from)
    if filters.placed_to:
        stmt = stmt.where(o.placed_at < filters.placed_to)
    if filters.email:
        stmt = stmt.where(o.customer_email == normalize_email(filters.email))
    if filters.external_id:
        stmt = stmt.where(o.external_id == filters.external_id)
    if filters.po_number:
        stmt = stmt.where(o.po_number == filters.po_number)
    if filters.reference:
        stmt = stmt.where(or_(o.external_id == filters.reference, o.po_number == filters.reference))
    if filters.ship_by:
        stmt = stmt.where(o.requested_ship_date <= filters.ship_by)
    if filters.sla:
        stmt = stmt.where(sla_condition(filters.sla, filters.now or utc_now()))
    if cursor:
        stmt = stmt.where(o.id < decode_cursor(cursor))
    ids = list(conn.execute(stmt).scalars())
    if len(ids) > limit:
        return ids[:limit], encode_cursor(ids[limit - 1])
    return ids, None


def order_channel(conn: Connection, order_id: str) -> str | None:
    return conn.execute(select(t.orders.c.channel_code).where(t.orders.c.id == order_id)).scalar()
