"""Stock levels, the append-only stock ledger and allocations, over the unit of work's connection.

Every write goes through :meth:`StockRepository.apply` or :meth:`StockRepository.reserve`, which
change the level and append the movement in the same transaction: the level is always the sum
of the ledger. Reservations are a guarded conditional UPDATE, so available never goes below
zero whatever runs concurrently; callers take rows in (sku, location) order to avoid deadlocks.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, literal_column, select, union_all, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from orderhub.clock import utc_now
from orderhub.domain.allocation import AllocationPlan, Pick
from orderhub.domain.ids import new_id
from orderhub.domain.inventory import Movement, MovementKind, StockLevel
from orderhub.store import bulk
from orderhub.store import tables as t
from orderhub.store.availability import Touched
from orderhub.store.one_of import one_of
from orderhub.store.queries import allocation_status, keyset_page
from orderhub.store.repositories import insert_ignoring_duplicates

L = t.stock_levels.c
D = t.location_daily_orders.c

# The reservation's hot path, built once (building a Core statement costs more than running it).
_LEVELS = (
    select(L.sku, L.location, L.on_hand, L.reserved)
    .where(L.sku.in_(bindparam("skus", expanding=True)))
    .order_by(L.sku, L.location)
)
_RESERVE = (
    update(t.stock_levels)
    .where(
        L.sku == bindparam("b_sku"),
        L.location == bindparam("b_location"),
        # the guard: never below zero, nor into what a store keeps back (b_needed = q + keep)
        L.on_hand - L.reserved >= bindparam("b_needed"),
    )
    .values(reserved=L.reserved + bindparam("b_quantity"), updated_at=bindparam("updated_at"))
)
_UNRESERVE = (
    update(t.stock_levels)
    .where(L.sku == bindparam("b_sku"), L.location == bindparam("b_location"))
    .values(reserved=L.reserved - bindparam("b_quantity"))
)
_ADD_MOVEMENT = t.stock_movements.insert()
_ORDERS_TODAY = select(D.location, D.day, D.orders).where(
    D.location.in_(bindparam("locations", expanding=True))
)
# The two in one statement (an allocation group's first read), told apart by ``kind``: each
# level (SKU, location, on hand, reserved) and each day count (day, location, orders, 0).
_LEVELS_AND_DAYS = union_all(
    select(
        literal_column("0").label("kind"),
        L.sku.label("key"),
        L.location,
        L.on_hand.label("units"),
        L.reserved,
    ).where(L.sku.in_(bindparam("skus", expanding=True))),
    select(
        literal_column("1").label("kind"),
        D.day.label("key"),
        D.location,
        D.orders.label("units"),
        literal_column("0").label("reserved"),
    ).where(D.location.in_(bindparam("locations", expanding=True))),
).order_by("kind", "key", "location")
_COUNT_ORDERS = {  # one upsert: +n on the location's day, the row created at n if new
    name: insert(t.location_daily_orders)
    .values(location=bindparam("location"), day=bindparam("day"), orders=bindparam("n"))
    .on_conflict_do_update(
        index_elements=[D.location, D.day],
        set_={"orders": t.location_daily_orders.c.orders + bindparam("n")},
    )
    for name, insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}

# Taking rows ahead (PostgreSQL): a no-op upsert locks a day's count, creating it at 0.
_LOCK_DAY = (
    pg_insert(t.location_daily_orders)
    .values(location=bindparam("location"), day=bindparam("day"), orders=0)
    .on_conflict_do_update(
        index_elements=[D.location, D.day], set_={"orders": t.location_daily_orders.c.orders}
    )
)
_LOCK_LEVELS = (
    select(L.sku, L.location)
    .where(one_of(L.sku, "skus"))
    .order_by(L.sku, L.location)
    .with_for_update()
)


@dataclass(frozen=True)
class Allocation:
    id: str
    order_id: str
    line_id: str
    plan_id: str
    sku: str
    location: str
    quantity: int
    open_quantity: int
    shipped_quantity: int


class StockRepository:
    def __init__(self, conn: Connection, *, actor: str, touched: Touched) -> None:
        self._conn = conn
        self._actor = actor
        self.touched = touched  # (SKU, location) levels changed in this transaction

    # --- levels -------------------------------------------------------------------------

    def levels(self, skus: Iterable[str]) -> list[StockLevel]:
        wanted = sorted(set(skus))
        if not wanted:
            return []
        rows = self._conn.execute(_LEVELS, {"skus": wanted})
        return [StockLevel(r.sku, r.location, r.on_hand, r.reserved) for r in rows]

    def all_levels(self) -> list[StockLevel]:
        rows = self._conn.execute(
            select(L.sku, L.location, L.on_hand, L.reserved).order_by(L.sku, L.location)
        )
        return [StockLevel(r.sku, r.location, r.on_hand, r.reserved) for r in rows]

    def lock_level(self, sku: str, location: str) -> tuple[StockLevel, datetime | None]:
        """The level (created at zero if new), locked until commit; and its last count time."""
        self._ensure(sku, location)
        stmt = select(L.on_hand, L.reserved, L.last_count_at).where(
            L.sku == sku, L.location == location
        )
        if self._conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        row = self._conn.execute(stmt).one()
        return StockLevel(sku, location, row.on_hand, row.reserved), row.last_count_at

    def _ensure(self, sku: str, location: str) -> None:
        insert_ignoring_duplicates(
            self._conn,
            t.stock_levels,
            {
                "sku": sku,
                "location": location,
                "on_hand": 0,
                "reserved": 0,
                "updated_at": utc_now(),
            },
        )

    # --- movements ----------------------------------------------------------------------

    def apply(self, movement: Movement) -> None:
        """Change the level by the movement's deltas and append it to the ledger."""
        self._ensure(movement.sku, movement.location)
        values: dict[str, Any] = {"updated_at": utc_now()}
        if movement.on_hand_delta:
            values["on_hand"] = L.on_hand + movement.on_hand_delta
        if movement.reserved_delta:
            values["reserved"] = L.reserved + movement.reserved_delta
        if movement.kind == MovementKind.COUNT and not movement.stale:
            values["last_count_at"] = movement.as_of
        if len(values) > 1:
            self._conn.execute(
                update(t.stock_levels)
                .where(L.sku == movement.sku, L.location == movement.location)
                .values(values)
            )
        self._append(movement)

    def reserve(self, sku: str, location: str, quantity: int, *, keep: int = 0) -> bool:
        """Hold ``quantity`` units if that many are available now beyond ``keep`` (a store's
        safety stock); False when they are not.

        The guard is in the UPDATE itself (``on_hand - reserved >= quantity + keep``): the
        database evaluates it on the latest committed row under the row lock, so no
        interleaving of clients can reserve what is not there.
        """
        params = {
            "b_sku": sku,
            "b_location": location,
            "b_quantity": quantity,
            "b_needed": quantity + keep,
        }
        result = self._conn.execute(_RESERVE, params | {"updated_at": utc_now()})
        return result.rowcount == 1

    def reserve_many(self, wanted: Sequence[tuple[str, str, int, int]]) -> bool:
        """:meth:`reserve` of each (sku, location, quantity, keep), in that order, with one
        executemany; True when every guard held. False leaves the reservations that held in
        place: the caller undoes them with its savepoint (it cannot tell which they were)."""
        now = utc_now()
        params = [
            {
                "b_sku": sku,
                "b_location": location,
                "b_quantity": quantity,
                "b_needed": quantity + keep,
                "updated_at": now,
            }
            for sku, location, quantity, keep in wanted
        ]
        return self._conn.execute(_RESERVE, params).rowcount == len(params)

    def unreserve(self, sku: str, location: str, quantity: int) -> None:
        """Give back units :meth:`reserve` has just held in this transaction (its plan failed
        further on): the level is as before but for its ``updated_at``."""
        params = {"b_sku": sku, "b_location": location, "b_quantity": quantity}
        self._conn.execute(_UNRESERVE, params)

    def reservation_rows(self, picks: Sequence[Pick], order_id: str) -> list[dict[str, Any]]:
        """The ledger rows of reservations already made with :meth:`reserve`, for
        :meth:`write_allocations`."""
        return self._movement_rows(
            *(
                Movement(
                    pick.sku,
                    pick.location,
                    MovementKind.RESERVATION,
                    reserved_delta=pick.quantity,
                    reference=order_id,
                    order_line_id=pick.line_id,
                )
                for pick in picks
            )
        )

    def _append(self, *movements: Movement) -> None:
        rows = self._movement_rows(*movements)
        if rows:
            self._conn.execute(_ADD_MOVEMENT, rows)

    def _movement_rows(self, *movements: Movement) -> list[dict[str, Any]]:
        now = utc_now()
        rows = []
        self.touched.moves += len(movements)
        for movement in movements:
            self.touched.levels.add((movement.sku, movement.location))
            rows.append(
                {
                    "sku": movement.sku,
                    "location": movement.location,
                    "kind": movement.kind.value,
                    "on_hand_delta": movement.on_hand_delta,
                    "reserved_delta": movement.reserved_delta,
                    "reason": movement.reason,
                    "reference": movement.reference,
                    "order_line_id": movement.order_line_id,
                    "counted": movement.counted,
                    "as_of": movement.as_of,
                    "stale": movement.stale,
                    "actor": self._actor,
                    "occurred_at": now,
                }
            )
        return rows

    def movements(self, sku: str, location: str | None = None) -> list[dict[str, Any]]:
        m = t.stock_movements.c
        stmt = select(t.stock_movements).where(m.sku == sku).order_by(m.seq)
        if location:
            stmt = stmt.where(m.location == location)
        return [dict(r._mapping) for r in self._conn.execute(stmt)]

    def movements_page(
        self, sku: str, *, location: str | None, kind: str | None, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of a SKU's stock ledger, oldest first."""
        m = t.stock_movements.c
        stmt = select(t.stock_movements).where(m.sku == sku)
        if location:
            stmt = stmt.where(m.location == location)
        if kind:
            stmt = stmt.where(m.kind == kind)
        rows, next_cursor = keyset_page(self._conn, stmt, m.seq, limit=limit, cursor=cursor)
        return [dict(r._mapping) for r in rows], next_cursor

    # --- allocations --------------------------------------------------------------------

    def add_plan(self, order_id: str, plan: AllocationPlan) -> str:
        row = self.plan_row(order_id, plan)
        self.write_allocations(plans=[row])
        return str(row["id"])

    @staticmethod
    def plan_row(order_id: str, plan: AllocationPlan) -> dict[str, Any]:
        """The plan's row, its id drawn, for :meth:`write_allocations`: the explanation as
        its JSON column's bind processor encodes it (``json.dumps``), encoded once here for
        the row and for :func:`written_views`."""
        return {
            "id": new_id(),
            "order_id": order_id,
            "strategy": plan.strategy,
            "explanation": json.dumps(dict(plan.explanation)),
            "created_at": utc_now(),
        }

    def write_allocations(
        self,
        *,
        plans: Sequence[dict[str, Any]] = (),
        days: Mapping[tuple[str, str], int] | None = None,
        movements: Sequence[dict[str, Any]] = (),
        allocations: Sequence[dict[str, Any]] = (),
    ) -> None:
        """What allocating writes once the guarded UPDATEs have held: plans, orders counted on
        their locations' days ((location, day) → how many more), ledger rows and allocations,
        one statement each, in that order — for one order, or for a whole group of them. The
        INSERTs go through :func:`bulk.insert_rows` (the rows of each have the same keys; the
        plans as :meth:`plan_row` gives them, their explanation encoded already)."""
        bulk.insert_rows(self._conn, t.allocation_plans, plans, encoded=("explanation",))
        if days:
            rows = [{"location": loc, "day": day, "n": n} for (loc, day), n in sorted(days.items())]
            self._conn.execute(_COUNT_ORDERS[self._conn.dialect.name], rows)
        bulk.insert_rows(self._conn, t.stock_movements, movements)
        bulk.insert_rows(self._conn, t.allocations, allocations)

    @staticmethod
    def allocation_rows(
        picks: Sequence[Pick], *, order_id: str, plan_id: str
    ) -> tuple[list[Allocation], list[dict[str, Any]]]:
        """One allocation per pick, and their rows for :meth:`write_allocations`."""
        now = utc_now()
        written = [
            Allocation(
                new_id(), order_id, pick.line_id, plan_id, pick.sku, pick.location,
                pick.quantity, pick.quantity, 0,
            )
            for pick in picks
        ]  # fmt: skip
        rows = [
            {
                "id": a.id,
                "order_id": order_id,
                "line_id": a.line_id,
                "plan_id": plan_id,
                "sku": a.sku,
                "location": a.location,
                "quantity": a.quantity,
                "open_quantity": a.open_quantity,
                "shipped_quantity": a.shipped_quantity,
                "created_at": now,
                "updated_at": now,
            }
            for a in written
        ]
        return written, rows

    def allocations(self, order_id: str, *, open_only: bool = False) -> list[Allocation]:
        a = t.allocations.c
        stmt = select(t.allocations).where(a.order_id == order_id)
        if open_only:
            stmt = stmt.where(a.open_quantity > 0)
        rows = self._conn.execute(stmt.order_by(a.sku, a.location, a.id))
        return [
            Allocation(
                r.id,
                r.order_id,
                r.line_id,
                r.plan_id,
                r.sku,
                r.location,
                r.quantity,
                r.open_quantity,
                r.shipped_quantity,
            )
            for r in rows
        ]

    def close_allocation(self, allocation: Allocation, *, released: int, shipped: int) -> None:
        """Take ``released + shipped`` units off an allocation's open quantity."""
        a = t.allocations.c
        self._conn.execute(
            update(t.allocations)
            .where(a.id == allocation.id)
            .values(
                open_quantity=a.open_quantity - released - shipped,
                shipped_quantity=a.shipped_quantity + shipped,
                updated_at=utc_now(),
            )
        )

    def plans(self, order_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        ids = list(order_ids)
        if not ids:
            return {}
        p = t.allocation_plans.c
        rows = self._conn.execute(select(t.allocation_plans).where(p.order_id.in_(ids)))
        return {r.id: {"strategy": r.strategy, "explanation": r.explanation} for r in rows}

    def views(self, order_id: str) -> list[dict[str, Any]]:
        """The order's allocations as the API shows them, each with its plan's explanation."""
        return self.views_many([order_id])[order_id]

    def views_many(self, order_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """:meth:`views` of several orders in two queries (a list page)."""
        views: dict[str, list[dict[str, Any]]] = {order_id: [] for order_id in order_ids}
        if not order_ids:
            return views
        a = t.allocations.c
        rows = self._conn.execute(
            select(t.allocations)
            .where(a.order_id.in_(list(order_ids)))
            .order_by(a.order_id, a.sku, a.location, a.id)
        )
        held = [
            Allocation(
                r.id, r.order_id, r.line_id, r.plan_id, r.sku, r.location, r.quantity,
                r.open_quantity, r.shipped_quantity,
            )
            for r in rows
        ]  # fmt: skip
        plans = self.plans(order_ids) if held else {}
        for a_ in held:
            views[a_.order_id].append(_view(a_, plans))
        return views

    def levels_and_day_counts(
        self, skus: Iterable[str], locations: Iterable[str]
    ) -> tuple[list[StockLevel], dict[str, dict[str, int]]]:
        """:meth:`levels` and :meth:`day_counts` read with one statement."""
        wanted = sorted(set(skus))
        counts: dict[str, dict[str, int]] = {loc: {} for loc in locations}
        if not wanted or not counts:
            return self.levels(wanted), self.day_counts(counts)
        levels = []
        params = {"skus": wanted, "locations": sorted(counts)}
        for r in self._conn.execute(_LEVELS_AND_DAYS, params):
            if r.kind:
                counts[r.location][r.key] = r.units
            else:
                levels.append(StockLevel(r.key, r.location, r.units, r.reserved))
        return levels, counts

    def orders_today(self, days: dict[str, str]) -> dict[str, int]:
        """Location → orders allocated there on its local day (``days``: location → day)."""
        counts = self.day_counts(days)
        return {loc: counts[loc][day] for loc, day in days.items() if day in counts[loc]}

    def day_counts(self, locations: Iterable[str]) -> dict[str, dict[str, int]]:
        """Location → day → orders allocated there that day, for each of ``locations``."""
        counts: dict[str, dict[str, int]] = {loc: {} for loc in locations}
        if counts:
            for r in self._conn.execute(_ORDERS_TODAY, {"locations": sorted(counts)}):
                counts[r.location][r.day] = r.orders
        return counts

    def lock_ahead(self, skus: Iterable[str], days: dict[str, str]) -> None:
        """PostgreSQL: lock the stock levels of ``skus`` and the day counts ``days`` (location
        → day), each in key order, before a transaction of several allocations takes them
        one order at a time (see ``services.allocation.lock_ahead``)."""
        wanted = sorted(set(skus))
        if self._conn.dialect.name != "postgresql" or not wanted:
            return
        self._conn.execute(_LOCK_LEVELS, {"skus": wanted}).all()
        rows = [{"location": loc, "day": day} for loc, day in sorted(days.items())]
        if rows:
            self._conn.execute(_LOCK_DAY, rows)

    def open_reserved_totals(self) -> dict[tuple[str, str], int]:
        a = t.allocations.c
        rows = self._conn.execute(
            select(a.sku, a.location, func.sum(a.open_quantity).label("q")).group_by(
                a.sku, a.location
            )
        )
        return {(r.sku, r.location): int(r.q or 0) for r in rows}

    def ledger_totals(self) -> dict[tuple[str, str], tuple[int, int]]:
        m = t.stock_movements.c
        rows = self._conn.execute(
            select(
                m.sku,
                m.location,
                func.sum(m.on_hand_delta).label("on_hand"),
                func.sum(m.reserved_delta).label("reserved"),
            ).group_by(m.sku, m.location)
        )
        return {(r.sku, r.location): (int(r.on_hand or 0), int(r.reserved or 0)) for r in rows}


def written_views(
    allocations: Sequence[Allocation], plan_row: dict[str, Any]
) -> list[dict[str, Any]]:
    """:meth:`StockRepository.views` of allocations this transaction has just written with
    their plan's row (:meth:`StockRepository.plan_row`), without reading them back: the same
    dictionaries in the same order, the explanation as its JSON column gives it back."""
    stored = json.loads(plan_row["explanation"])
    plans = {plan_row["id"]: {"strategy": plan_row["strategy"], "explanation": stored}}
    ordered = sorted(allocations, key=lambda a: (a.sku, a.location, a.id))
    return [_view(a, plans) for a in ordered]


def _view(a: Allocation, plans: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """An allocation as the API shows it, with its plan's strategy and explanation."""
    return {
        "id": a.id,
        "line_id": a.line_id,
        "sku": a.sku,
        "location": a.location,
        "quantity": a.quantity,
        "open_quantity": a.open_quantity,
        "shipped_quantity": a.shipped_quantity,
        "status": allocation_status(a.open_quantity, a.shipped_quantity, a.quantity),
        **plans.get(a.plan_id, {}),
    }
