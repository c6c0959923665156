"""Reads for the API and the dashboard (CQRS-lite): filters and keyset pagination."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, Select, and_, or_, select, tuple_

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


def encode_cursor(last_key: str | int) -> str:
    """The opaque cursor of a page that ended at ``last_key`` (base64url, no padding)."""
    return base64.urlsafe_b64encode(str(last_key).encode()).decode().rstrip("=")


def _bad_cursor() -> ValidationFailed:
    return ValidationFailed(
        "invalid cursor", [FieldError(("query", "cursor"), "not a cursor from this API")]
    )


def decode_cursor(cursor: str) -> str:
    """The key a cursor carries; anything this API did not hand out is a 422 naming ``cursor``."""
    if len(cursor) > 256:  # a 128-character SKU, base64-encoded
        raise _bad_cursor()
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = base64.b64decode(padded.encode("ascii"), altchars=b"-_", validate=True).decode()
    except (ValueError, UnicodeError):
        raise _bad_cursor() from None
    if not key or not key.isprintable() or any(c.isspace() for c in key):  # no key has spaces
        raise _bad_cursor()
    return key


def keyset_page(
    conn: Connection,
    stmt: Select[Any],
    key: ColumnElement[Any],
    *,
    limit: int,
    cursor: str | None,
    newest_first: bool = False,
) -> tuple[list[Row[Any]], str | None]:
    """One page of ``stmt`` ordered by the unique ``key`` (selected under its own name), and
    the next page's cursor or None: keyset pagination, so rows inserted meanwhile never make
    a page skip or repeat one."""
    stmt = stmt.order_by(key.desc() if newest_first else key.asc()).limit(limit + 1)
    if cursor:
        after = _typed_key(key, decode_cursor(cursor))
        stmt = stmt.where(key < after if newest_first else key > after)
    rows = list(conn.execute(stmt))
    if len(rows) > limit:
        return rows[:limit], encode_cursor(rows[limit - 1]._mapping[key])
    return rows, None


def _typed_key(key: ColumnElement[Any], raw: str) -> str | int:
    """The cursor's key as the column's type: an integer key (a ledger's ``seq``) or text."""
    if key.type.python_type is int:
        if not raw.isdigit():
            raise _bad_cursor()
        return int(raw)
    return raw


def order_ids(
    conn: Connection, filters: OrderFilter, *, limit: int, cursor: str | None
) -> tuple[list[str], str | None]:
    """One page of order ids, newest first, and the cursor of the next page (or None)."""
    o = t.orders.c
    stmt = select(o.id).where(*order_conditions(filters))
    if filters.placed_from or filters.placed_to:
        return _newest_placed_first(conn, stmt, limit=limit, cursor=cursor)
    if filters.sla and conn.dialect.name == "postgresql":
        # Only open orders pass an SLA filter, a few percent of the table, in a partial index:
        # read them whole (a MATERIALIZED CTE, which the planner may not fold back into a
        # walk of the primary key past every newer order) and sort the page from them.
        if cursor:
            stmt = stmt.where(o.id < _typed_key(o.id, decode_cursor(cursor)))
        matches = stmt.cte("matches").prefix_with("MATERIALIZED")
        rows, next_cursor = keyset_page(
            conn, select(matches.c.id), matches.c.id, limit=limit, cursor=None, newest_first=True
        )
        return [row.id for row in rows], next_cursor
    rows, next_cursor = keyset_page(conn, stmt, o.id, limit=limit, cursor=cursor, newest_first=True)
    return [row.id for row in rows], next_cursor


def _newest_placed_first(
    conn: Connection, stmt: Select[Any], *, limit: int, cursor: str | None
) -> tuple[list[str], str | None]:
    """A page of a date-filtered list: newest placed first, then by id (keyset pagination
    over the (placed_at, id) index; the cursor is still the last order's id).

    By id alone, PostgreSQL answered a range weeks back by walking the primary key past every
    newer order (0.5–2 s at a million orders); by (placed_at, id) a page reads about its own
    rows wherever the range lies. The two orders differ only for orders that arrived long
    after they were placed (imports)."""
    o = t.orders.c
    stmt = stmt.order_by(o.placed_at.desc(), o.id.desc()).limit(limit + 1)
    if cursor:
        after = str(_typed_key(o.id, decode_cursor(cursor)))
        placed = select(o.placed_at).where(o.id == after).scalar_subquery()
        stmt = stmt.where(tuple_(o.placed_at, o.id) < tuple_(placed, after))
    ids = [row.id for row in conn.execute(stmt)]
    if len(ids) > limit:
        return ids[:limit], encode_cursor(ids[limit - 1])
    return ids, None


def order_conditions(filters: OrderFilter) -> list[ColumnElement[bool]]:
    """The ``WHERE`` terms of ``filters`` on ``orders`` (the API's list and the dashboard's)."""
    o = t.orders.c
    terms: list[ColumnElement[bool]] = []
    if filters.channel:
        terms.append(o.channel_code == filters.channel)
    if filters.status:
        terms.append(o.status == filters.status)
    if filters.placed_from:
        terms.append(o.placed_at >= filters.placed_from)
    if filters.placed_to:
        terms.append(o.placed_at < filters.placed_to)
    if filters.email:
        terms.append(o.customer_email == normalize_email(filters.email))
    if filters.external_id:
        terms.append(o.external_id == filters.external_id)
    if filters.po_number:
        terms.append(o.po_number == filters.po_number)
    if filters.reference:
        terms.append(or_(o.external_id == filters.reference, o.po_number == filters.reference))
    if filters.ship_by:
        terms.append(o.requested_ship_date <= filters.ship_by)
    if filters.sla:
        terms.append(sla_condition(filters.sla, filters.now or utc_now()))
    return terms


def order_channel(conn: Connection, order_id: str) -> str | None:
    return conn.execute(select(t.orders.c.channel_code).where(t.orders.c.id == order_id)).scalar()


def order_status(conn: Connection, order_id: str) -> str | None:
    return conn.execute(select(t.orders.c.status).where(t.orders.c.id == order_id)).scalar()
