"""Operations figures the dashboard and ``/v1/reports`` share: SLA standing, open exceptions,
fulfilment lead time, channel sync state, and the fill / split / on-time / return rates and the
reconciliation of channel-stated totals. Read-only queries; aggregation in Python where the SQL
would differ between SQLite and PostgreSQL (JSON metadata)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection, distinct, func, select

from orderhub.domain.money import Money
from orderhub.domain.orders import OPEN_STATUSES
from orderhub.domain.sla import SlaPolicy, SlaState
from orderhub.store import tables as t
from orderhub.store.reports import day_start

OPEN = [s.value for s in OPEN_STATUSES]
FILLED_LINES = ("allocated", "in_fulfilment", "shipped", "delivered")
MAX_AT_RISK_HOURS = 72


def sla_counts(
    conn: Connection,
    *,
    now: datetime,
    policy_for: Callable[[str], SlaPolicy | None],
    channel: str | None = None,
) -> dict[str, int]:
    """Open orders whose ship-by is near (at risk) or past (breached), per each channel's policy."""
    o = t.orders.c
    stmt = select(o.channel_code, o.ship_by).where(
        o.ship_by.is_not(None),
        o.ship_by <= now + timedelta(hours=MAX_AT_RISK_HOURS),
        o.status.in_(OPEN),
    )
    if channel:
        stmt = stmt.where(o.channel_code == channel)
    policies: dict[str, SlaPolicy | None] = {}
    counts = {"at_risk": 0, "breached": 0}
    for row in conn.execute(stmt):
        if row.channel_code not in policies:
            policies[row.channel_code] = policy_for(row.channel_code)
        policy = policies[row.channel_code]
        state = policy.state(row.ship_by, now) if policy else SlaState.ON_TRACK
        if state != SlaState.ON_TRACK:
            counts[state.value] += 1
    return counts


def open_exceptions(conn: Connection, *, channel: str | None = None) -> int:
    e, o = t.fulfilment_exceptions.c, t.orders.c
    stmt = select(func.count()).select_from(t.fulfilment_exceptions).where(e.status == "open")
    if channel:
        stmt = stmt.join(t.orders, o.id == e.order_id).where(o.channel_code == channel)
    return int(conn.execute(stmt).scalar() or 0)


def _first_shipments(
    conn: Connection, *, since: datetime, until: datetime, channel: str | None
) -> list[Any]:
    """(id, channel, placed_at, ship_by, first shipped_at) of orders first shipped in range."""
    s, o = t.shipments.c, t.orders.c
    first = (
        select(s.order_id, func.min(s.shipped_at).label("shipped_at"))
        .group_by(s.order_id)
        .subquery()
    )
    stmt = (
        select(o.id, o.channel_code, o.placed_at, o.ship_by, first.c.shipped_at)
        .join(first, first.c.order_id == o.id)
        .where(first.c.shipped_at >= since, first.c.shipped_at < until)
    )
    if channel:
        stmt = stmt.where(o.channel_code == channel)
    return list(conn.execute(stmt))


@dataclass(frozen=True)
class LeadTimeDay:
    day: date
    shipped: int
    average_hours: float
    max_hours: float


def lead_times(
    conn: Connection, *, start: date, end: date, channel: str | None = None
) -> list[LeadTimeDay]:
    """Placed → first shipment, in hours, per UTC day of shipment (days with none left out)."""
    rows = _first_shipments(
        conn, since=day_start(start), until=day_start(end + timedelta(days=1)), channel=channel
    )
    hours: dict[date, list[float]] = defaultdict(list)
    for row in rows:
        shipped = row.shipped_at
        hours[shipped.date()].append(max((shipped - row.placed_at).total_seconds() / 3600, 0.0))
    return [
        LeadTimeDay(day, len(v), round(sum(v) / len(v), 2), round(max(v), 2))
        for day, v in sorted(hours.items())
    ]


def channel_sync(conn: Connection) -> dict[str, dict[str, Any]]:
    """Per channel: when it last synced, with what result or error (pull channels only)."""
    out: dict[str, dict[str, Any]] = {}
    for row in conn.execute(select(t.channel_sync_cursors)):
        out[row.channel_code] = {"last_run_at": row.last_run_at, "last_error": None,
                                 "failures": 0, "last_result": row.last_result or {}}  # fmt: skip
    for row in conn.execute(select(t.marketplace_sync_state)):
        out[row.channel_code] = {
            "last_run_at": row.last_run_at,
            "last_error": row.last_error,
            "failures": row.failures or 0,
            "last_result": row.last_result or {},
            "next_run_at": row.next_run_at,
        }
    return out


# -- reports ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChannelRates:
    channel: str
    orders: int
    ordered_units: int
    filled_units: int
    fill_rate: float
    routed_orders: int
    split_orders: int
    split_rate: float
    shipped_with_promise: int
    shipped_on_time: int
    on_time_ship_rate: float
    returned_orders: int
    return_rate: float


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _placed(start: date, end: date) -> tuple[datetime, datetime]:
    return day_start(start), day_start(end + timedelta(days=1))


def channel_rates(
    conn: Connection, *, start: date, end: date, channel: str | None = None
) -> list[ChannelRates]:
    """Per channel, for orders placed in the range: unit fill rate (allocated or further, of the
    units not cancelled), split rate (routed orders reserved at more than one location), on-time
    ship rate (first shipment no later than ship-by), and return rate (orders with a return that
    was not rejected, of the orders placed)."""
    since, until = _placed(start, end)
    o, li, a = t.orders.c, t.order_lines.c, t.allocations.c
    scope = [o.placed_at >= since, o.placed_at < until] + (
        [o.channel_code == channel] if channel else []
    )
    counted = select(o.channel_code, func.count()).where(*scope).group_by(o.channel_code)
    orders = {code: int(n) for code, n in conn.execute(counted).all()}
    units: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in conn.execute(
        select(o.channel_code, li.status, func.sum(li.quantity - li.cancelled_quantity))
        .join(t.orders, o.id == li.order_id)
        .where(*scope)
        .group_by(o.channel_code, li.status)
    ):
        wanted = int(row[2] or 0)
        units[row[0]][0] += wanted
        if row[1] in FILLED_LINES:
            units[row[0]][1] += wanted
    locations: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for row in conn.execute(
        select(o.channel_code, a.order_id, a.location)
        .join(t.orders, o.id == a.order_id)
        .where(*scope, (a.open_quantity + a.shipped_quantity) > 0)
        .distinct()
    ):
        locations[row[0]][row[1]].add(row[2])
    on_time: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in _first_shipments(
        conn, since=since, until=until + timedelta(days=366), channel=channel
    ):
        if row.ship_by is None or not since <= row.placed_at < until:
            continue
        on_time[row.channel_code][0] += 1
        on_time[row.channel_code][1] += int(row.shipped_at <= row.ship_by)
    r = t.returns.c
    returned = {
        code: int(n)
        for code, n in conn.execute(
            select(o.channel_code, func.count(distinct(r.order_id)))
            .join(t.orders, o.id == r.order_id)
            .where(*scope, r.status != "rejected")
            .group_by(o.channel_code)
        ).all()
    }
    out = []
    for code in sorted(orders):
        wanted, filled = units[code]
        routed = len(locations[code])
        split = sum(1 for locs in locations[code].values() if len(locs) > 1)
        promised, kept = on_time[code]
        out.append(ChannelRates(code, int(orders[code]), wanted, filled, _rate(filled, wanted),
                                routed, split, _rate(split, routed), promised, kept,
                                _rate(kept, promised), returned.get(code, 0),
                                _rate(returned.get(code, 0), orders[code])))  # fmt: skip
    return out


@dataclass(frozen=True)
class Mismatch:
    order_id: str
    channel: str
    external_id: str
    placed_at: datetime
    channel_total: str
    hub_total: Money

    @property
    def difference(self) -> str:
        try:
            return f"{self.hub_total.amount - Decimal(self.channel_total):f}"
        except InvalidOperation:
            return "?"


def reconciliation(
    conn: Connection, *, start: date, end: date, channel: str | None = None
) -> dict[str, list[Mismatch]]:
    """Per channel, orders whose channel-stated total differs from the total the hub computed
    (``channel_total_matches: false`` in the order's metadata, set at ingest)."""
    since, until = _placed(start, end)
    o = t.orders.c
    stmt = (
        select(o.id, o.channel_code, o.external_id, o.placed_at, o.metadata, o.total_minor)
        .add_columns(o.currency)
        .where(o.placed_at >= since, o.placed_at < until)
        .order_by(o.channel_code, o.placed_at, o.id)
    )  # fmt: skip
    if channel:
        stmt = stmt.where(o.channel_code == channel)
    out: dict[str, list[Mismatch]] = defaultdict(list)
    for row in conn.execute(stmt):
        meta = row.metadata or {}
        if meta.get("channel_total_matches") is not False:
            continue
        out[row.channel_code].append(
            Mismatch(
                row.id,
                row.channel_code,
                row.external_id,
                row.placed_at,
                str(meta.get("channel_total")),
                Money.from_minor(row.total_minor, row.currency),
            )
        )
    return dict(out)
