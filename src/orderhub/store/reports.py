"""Aggregate reads for reports and the dashboard (CQRS-lite): plain data, no domain objects.

Days are UTC calendar days. Revenue is the sum of order totals *excluding cancelled orders*,
per currency — amounts in different currencies are never added together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, case, func, select

from orderhub.domain.money import Money
from orderhub.domain.orders import OPEN_STATUSES, OrderStatus
from orderhub.store import tables as t
from orderhub.store.quarantine import QuarantineStatus

CANCELLED = OrderStatus.CANCELLED.value


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _utc_day(conn: Connection, column: Any) -> ColumnElement[str]:
    """The UTC calendar day of a timestamp column as ``YYYY-MM-DD`` on either database."""
    if conn.dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")
    return func.substr(column, 1, 10)  # SQLite stores naive UTC as ISO text


def _revenue() -> ColumnElement[Any]:
    o = t.orders.c
    return func.coalesce(func.sum(case((o.status != CANCELLED, o.total_minor), else_=0)), 0)


@dataclass(frozen=True)
class ChannelDay:
    day: date
    channel: str
    currency: str
    orders: int
    cancelled: int
    revenue: Money


def orders_by_channel_day(
    conn: Connection, *, start: date, end: date, channel: str | None = None
) -> list[ChannelDay]:
    """Orders placed and revenue per (UTC day, channel, currency), ``start``…``end`` inclusive."""
    o = t.orders.c
    day = _utc_day(conn, o.placed_at).label("day")
    stmt = (
        select(
            day,
            o.channel_code,
            o.currency,
            func.count().label("orders"),
            func.coalesce(func.sum(case((o.status == CANCELLED, 1), else_=0)), 0).label(
                "cancelled"
            ),
            _revenue().label("revenue"),
        )
        .where(o.placed_at >= day_start(start), o.placed_at < day_start(end + timedelta(days=1)))
        .group_by(day, o.channel_code, o.currency)
        .order_by(day, o.channel_code, o.currency)
    )
    if channel:
        stmt = stmt.where(o.channel_code == channel)
    return [
        ChannelDay(
            day=date.fromisoformat(r.day),
            channel=r.channel_code,
            currency=r.currency,
            orders=int(r.orders),
            cancelled=int(r.cancelled),
            revenue=Money.from_minor(int(r.revenue), r.currency),
        )
        for r in conn.execute(stmt)
    ]


@dataclass(frozen=True)
class Overview:
    today: date
    orders_today: dict[str, int]  # channel → orders placed today (every channel listed)
    revenue_today: list[Money]  # one per currency
    backlog: dict[str, int]  # open status → orders
    open_quarantine: int


def overview(conn: Connection, *, today: date, channel: str | None = None) -> Overview:
    """The numbers at the top of the dashboard."""
    o = t.orders.c
    window = (o.placed_at >= day_start(today), o.placed_at < day_start(today + timedelta(days=1)))
    channels = select(t.channels.c.code).order_by(t.channels.c.code)
    per_channel = select(o.channel_code, func.count()).where(*window).group_by(o.channel_code)
    revenue = (
        select(o.currency, _revenue()).where(*window).group_by(o.currency).order_by(o.currency)
    )
    open_values = [s.value for s in OrderStatus if s in OPEN_STATUSES]
    backlog = select(o.status, func.count()).where(o.status.in_(open_values)).group_by(o.status)
    quarantined = select(func.count()).where(t.quarantine.c.status == QuarantineStatus.OPEN.value)
    if channel:
        channels = channels.where(t.channels.c.code == channel)
        per_channel = per_channel.where(o.channel_code == channel)
        revenue = revenue.where(o.channel_code == channel)
        backlog = backlog.where(o.channel_code == channel)
        quarantined = quarantined.where(t.quarantine.c.channel_code == channel)
    counts = dict.fromkeys(conn.execute(channels).scalars(), 0)
    counts.update({row[0]: int(row[1]) for row in conn.execute(per_channel)})
    by_status = {row[0]: int(row[1]) for row in conn.execute(backlog)}
    return Overview(
        today=today,
        orders_today=counts,
        revenue_today=[Money.from_minor(int(m), cur) for cur, m in conn.execute(revenue)],
        backlog={status: by_status.get(status, 0) for status in open_values},
        open_quarantine=int(conn.execute(quarantined).scalar_one()),
    )


@dataclass(frozen=True)
class OrderSummary:
    id: str
    channel: str
    external_id: str
    status: str
    placed_at: datetime
    customer_name: str | None
    customer_email: str | None
    total: Money
    order_number: str | None = None  # the channel's own number (orders.order_number)


def order_summaries(conn: Connection, ids: Sequence[str]) -> list[OrderSummary]:
    """One row per order id, in the order of ``ids`` (a page from ``queries.order_ids``)."""
    if not ids:
        return []
    o = t.orders.c
    rows = conn.execute(
        select(
            o.id, o.channel_code, o.external_id, o.status, o.placed_at, o.customer_name,
            o.customer_email, o.total_minor, o.currency, o.order_number,
        ).where(o.id.in_(list(ids)))
    )  # fmt: skip
    by_id = {
        r.id: OrderSummary(
            id=r.id,
            channel=r.channel_code,
            external_id=r.external_id,
            status=r.status,
            placed_at=r.placed_at,
            customer_name=r.customer_name,
            customer_email=r.customer_email,
            total=Money.from_minor(r.total_minor, r.currency),
            order_number=r.order_number,
        )
        for r in rows
    }
    return [by_id[i] for i in ids if i in by_id]


@dataclass(frozen=True)
class ChannelActivity:
    orders: int
    open_orders: int
    orders_today: int
    open_quarantine: int
    last_order_at: datetime | None


def channel_activity(conn: Connection, *, today: date) -> dict[str, ChannelActivity]:
    """Per channel code: order counts, open quarantine and the newest order's time."""
    o = t.orders.c
    q = t.quarantine.c
    open_values = [s.value for s in OPEN_STATUSES]
    rows = conn.execute(
        select(
            o.channel_code,
            func.count(),
            func.sum(case((o.status.in_(open_values), 1), else_=0)),
            func.sum(case((o.placed_at >= day_start(today), 1), else_=0)),
            func.max(o.placed_at),
        ).group_by(o.channel_code)
    ).all()
    quarantined: dict[str, int] = dict(
        conn.execute(
            select(q.channel_code, func.count())
            .where(q.status == QuarantineStatus.OPEN.value)
            .group_by(q.channel_code)
        ).all()
    )
    result: dict[str, ChannelActivity] = {}
    for code, total, open_, today_, last in rows:
        result[code] = ChannelActivity(
            orders=int(total),
            open_orders=int(open_ or 0),
            orders_today=int(today_ or 0),
            open_quarantine=int(quarantined.get(code, 0)),
            last_order_at=_aware(last),
        )
    for code, count in quarantined.items():
        result.setdefault(code, ChannelActivity(0, 0, 0, int(count), None))
    return result


def _aware(value: datetime | str | None) -> datetime | None:
    """``max()`` over a SQLite column loses the column type: parse and mark UTC again."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    order_id: str
    order_seq: int
    type: str
    actor: str
    occurred_at: datetime
    hash: str
    channel: str | None
    external_id: str | None


def recent_events(
    conn: Connection, *, limit: int, before_seq: int | None = None
) -> tuple[list[AuditEntry], int | None]:
    """Newest history entries across all orders; keyset on the global sequence."""
    e = t.order_events.c
    o = t.orders.c
    stmt = (
        select(
            e.seq, e.order_id, e.order_seq, e.type, e.actor, e.occurred_at, e.hash,
            o.channel_code, o.external_id,
        )
        .select_from(t.order_events.outerjoin(t.orders, o.id == e.order_id))
        .order_by(e.seq.desc())
        .limit(limit + 1)
    )  # fmt: skip
    if before_seq is not None:
        stmt = stmt.where(e.seq < before_seq)
    rows = conn.execute(stmt).all()
    entries = [AuditEntry(*row) for row in rows[:limit]]
    return entries, (entries[-1].seq if len(rows) > limit else None)


@dataclass(frozen=True)
class OrderRef:
    """How a page names an order: the channel's number, never a bare hub id."""

    id: str
    channel: str
    number: str


def order_refs(conn: Connection, ids: set[str] | Sequence[str]) -> dict[str, OrderRef]:
    """Order id → its channel and channel order number, for the ids that exist."""
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    o = t.orders.c
    found: dict[str, OrderRef] = {}
    ordered = sorted(wanted)
    for start in range(0, len(ordered), 500):  # bounded IN lists
        chunk = ordered[start : start + 500]
        rows = conn.execute(
            select(o.id, o.channel_code, o.external_id, o.order_number).where(o.id.in_(chunk))
        )
        for r in rows:
            found[r.id] = OrderRef(r.id, r.channel_code, r.order_number or r.external_id)
    return found


def user_names(conn: Connection, actors: set[str]) -> dict[str, str]:
    """``user:<id>`` actors → ``user:<username>`` so timelines name people, not ids."""
    ids = {a.split(":", 1)[1] for a in actors if a.startswith("user:")}
    if not ids:
        return {}
    rows = conn.execute(select(t.users.c.id, t.users.c.username).where(t.users.c.id.in_(ids)))
    return {f"user:{r.id}": f"user:{r.username}" for r in rows}
