"""The dashboard's order search: case-insensitive prefix matches on indexed columns, newest
placed first, with keyset cursors both ways.

A search box entry is matched as a prefix of the channel's order number (``1042`` or ``#1042``),
the external id, the customer's name or email, the PO number, the hub id, a line's SKU or a
parcel's tracking number. Each is ``lower(column)`` compared as a range ``[prefix, next)`` on
an index of that expression (migration 0024), so a search reads index entries, never the whole
table; the matching ids are then ordered by ``(placed_at, id)``, also indexed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Connection,
    and_,
    exists,
    func,
    or_,
    select,
    union_all,
)

from orderhub.domain.errors import FieldError, ValidationFailed
from orderhub.domain.order_numbers import prefix_bounds, search_prefixes
from orderhub.store import tables as t
from orderhub.store.queries import OrderFilter, decode_cursor, encode_cursor, order_conditions

COUNT_CAP = 1000  # counting beyond this reads too much for a number nobody pages through
CANDIDATES = 2000  # matches collected by id; beyond, the search walks the orders instead
MIN_ID_PREFIX = 8  # hub ids are time-ordered: a shorter prefix matches every recent order
_HEX = frozenset("0123456789abcdef-")


@dataclass(frozen=True)
class OrderPage:
    ids: list[str]
    next_cursor: str | None  # older orders
    prev_cursor: str | None  # newer orders
    total: int  # matching orders, at most COUNT_CAP
    capped: bool  # more than COUNT_CAP match


def prefix_match(conn: Connection, column: Any, prefix: str) -> ColumnElement[bool]:
    """``lower(column)`` starts with the lower-case ``prefix``, as an index range."""
    low, high = prefix_bounds(prefix)
    expr: ColumnElement[Any] = func.lower(column)
    if conn.dialect.name == "postgresql":
        expr = expr.collate("C")  # the index's collation (migration 0024): code-point order
    return and_(expr >= low, expr < high)


def _conditions(conn: Connection, text: str) -> list[tuple[Any, ColumnElement[bool]]] | None:
    """Each single-index condition of a search with the order id column it yields, or None
    for an empty search."""
    prefixes = search_prefixes(text)
    if not prefixes:
        return None
    query = prefixes[0]
    o, lines, parcels = t.orders.c, t.order_lines.c, t.shipments.c
    found: list[tuple[Any, ColumnElement[bool]]] = [
        (o.id, prefix_match(conn, o.order_number, p)) for p in prefixes
    ]
    found += [
        (o.id, prefix_match(conn, column, query))
        for column in (o.external_id, o.customer_name, o.customer_email, o.po_number)
    ]
    if len(query) >= MIN_ID_PREFIX and set(query) <= _HEX:  # hub ids are lower-case already
        low, high = prefix_bounds(query)
        found.append((o.id, and_(o.id >= low, o.id < high)))
    found.append((lines.order_id, prefix_match(conn, lines.sku, query)))
    found.append((parcels.order_id, prefix_match(conn, parcels.tracking_number, query)))
    return found


def matching_ids(conn: Connection, text: str) -> CompoundSelect[Any] | None:
    """The ids of orders matching the search ``text``: one index range read per field, each
    its own branch of a ``UNION ALL`` so a ``LIMIT`` stops them early; or None for an empty
    search."""
    found = _conditions(conn, text)
    if found is None:
        return None
    return union_all(*(select(column.label("order_id")).where(cond) for column, cond in found))


def _broad(conn: Connection, text: str) -> ColumnElement[bool]:
    """The same match as a per-order condition, for prefixes so common (``web-``) that walking
    the orders newest first and testing each finds a page sooner than collecting every match."""
    found = _conditions(conn, text)
    assert found is not None
    o = t.orders.c
    terms: list[ColumnElement[bool]] = []
    for column, cond in found:
        if column.table is t.orders:
            terms.append(cond)
        else:
            terms.append(exists().where(column == o.id, cond))
    return or_(*terms)


def _bad_cursor() -> ValidationFailed:
    return ValidationFailed(
        "invalid cursor", [FieldError(("query", "cursor"), "not a cursor from this page")]
    )


def _cursor(direction: str, placed_at: datetime, order_id: str) -> str:
    return encode_cursor(f"{direction}{placed_at.isoformat()}|{order_id}")


def _parse(cursor: str) -> tuple[str, datetime, str]:
    key = decode_cursor(cursor)
    direction, rest = key[:1], key[1:]
    placed, sep, order_id = rest.partition("|")
    if direction not in ("n", "p") or not sep or not order_id:
        raise _bad_cursor()
    try:
        when = datetime.fromisoformat(placed)
    except ValueError:
        raise _bad_cursor() from None
    if when.tzinfo is None:
        raise _bad_cursor()
    return direction, when, order_id


def search_orders(
    conn: Connection,
    filters: OrderFilter,
    text: str,
    *,
    limit: int,
    cursor: str | None = None,
) -> OrderPage:
    """One page of matching order ids, newest placed first (ties by id), with the cursors of
    the older (next) and newer (previous) pages and the count of matches."""
    o = t.orders.c
    terms = order_conditions(filters)
    found = matching_ids(conn, text)
    broad = False
    if found is not None:
        # Collect the matching ids when they are few (the usual case: a number, a name); when
        # a prefix matches more than CANDIDATES, walk the orders newest first instead.
        candidates = select(found.subquery().c.order_id).limit(CANDIDATES + 1)
        ids = list(conn.execute(candidates).scalars())
        broad = len(ids) > CANDIDATES
        terms.append(_broad(conn, text) if broad else o.id.in_(sorted(set(ids))))
    if broad:
        total = COUNT_CAP + 1  # more than CANDIDATES match: not worth counting them all
    else:
        total = conn.execute(
            select(func.count()).select_from(
                select(o.id).where(*terms).limit(COUNT_CAP + 1).subquery()
            )
        ).scalar_one()
    stmt = select(o.id, o.placed_at).where(*terms)
    direction = "n"
    if cursor:
        direction, placed, order_id = _parse(cursor)
        if direction == "n":
            stmt = stmt.where(
                or_(o.placed_at < placed, and_(o.placed_at == placed, o.id < order_id))
            )
        else:
            stmt = stmt.where(
                or_(o.placed_at > placed, and_(o.placed_at == placed, o.id > order_id))
            )
    if direction == "n":
        stmt = stmt.order_by(o.placed_at.desc(), o.id.desc())
    else:
        stmt = stmt.order_by(o.placed_at.asc(), o.id.asc())
    rows = list(conn.execute(stmt.limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    if direction == "p":
        rows.reverse()
    next_cursor = prev_cursor = None
    if rows:
        first, last = rows[0], rows[-1]
        older = more if direction == "n" else True
        newer = (cursor is not None) if direction == "n" else more
        if older:
            next_cursor = _cursor("n", last.placed_at, last.id)
        if newer:
            prev_cursor = _cursor("p", first.placed_at, first.id)
    return OrderPage(
        [row.id for row in rows], next_cursor, prev_cursor, min(total, COUNT_CAP),
        total > COUNT_CAP,
    )  # fmt: skip
