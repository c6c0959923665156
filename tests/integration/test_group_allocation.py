"""Allocating a group of new orders from reads made once (``allocation.AllocationGroup``).

Ingest allocates the orders of a group one after the other in one transaction; the stock
levels, the day counts and the queue of waiting orders are read once for the group and kept
as each allocation changes them. The outcome must be exactly that of fresh reads per order:
the same plans, statuses, reservations, ledger, day counts and events, with contention inside
the group, backorders, holds, and earlier waiting orders holding their units back (first come,
first served, also behind a waiting order of the group itself). Both paths here run on the
same database state in a transaction that is rolled back, so the orders' ids and receipt
times are the same for both.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, select

from orderhub.bootstrap import Container
from orderhub.channels import native
from orderhub.domain.channels import Channel, ChannelKind
from orderhub.domain.ids import new_id
from orderhub.services import allocation, ingest
from orderhub.services.allocation import (
    AllocationGroup,
    StaleGroupReads,
    allocate_order,
    default_planner,
)
from orderhub.services.ingest import Incoming, Outcome, ingest_batch
from orderhub.services.inventory_check import find_drift
from orderhub.store import tables as t
from orderhub.store.repositories import OrderRepository
from orderhub.store.stock import StockRepository
from orderhub.store.unit_of_work import UnitOfWork
from tests.conftest import native_order
from tests.integration.inventory_helpers import add_locations, levels, receive

SKUS = ("SKU-1", "SKU-2", "SKU-3")


@pytest.fixture
def hub(seeded: Container) -> Container:
    """Locations a and b; web backorders short orders, app may only use b (so an app order
    can wait while what is free over every location would fill it: it holds that back),
    hold puts short orders on hold."""
    add_locations(seeded, ("a", 1), ("b", 2))
    with seeded.uow(actor="test") as uow:
        uow.channels.save(
            Channel(code="app", name="App", kind=ChannelKind.NATIVE, locations_allowed=["b"])
        )
        uow.channels.add(
            Channel(
                code="hold",
                name="Hold",
                kind=ChannelKind.NATIVE,
                settings={"insufficient_stock": "hold"},
            )
        )
        uow.commit()
    return seeded


Lines = list[tuple[str, int]]


def incoming(number: int, channel: str, lines: Lines) -> Incoming:
    body = native_order(
        f"G-{number}",
        channel=channel,
        lines=[{"sku": sku, "quantity": q, "unit_price": "1.00"} for sku, q in lines],
    )
    order = native.NativeOrder.model_validate(body)
    return Incoming(order.to_draft(), native.SOURCE, order.model_dump_json())


def received(hub: Container, orders: list[tuple[str, Lines]], start: int) -> list[str]:
    """The orders ingested together (one receipt time), not allocated; their ids in order."""
    items = [incoming(start + i, channel, lines) for i, (channel, lines) in enumerate(orders)]
    with hub.uow(actor="test") as uow:
        results = ingest_batch(uow, items)
    assert all(r.outcome == Outcome.CREATED for r in results)
    return [r.order_id for r in results if r.order_id]


def snapshot(uow: UnitOfWork, order_ids: list[str]) -> dict[str, Any]:
    """What the allocations wrote and queued, without the ids and times they drew."""
    c = uow.conn

    def rows(stmt: Any) -> list[tuple[Any, ...]]:
        return sorted(tuple(r) for r in c.execute(stmt))

    o, ol, a = t.orders.c, t.order_lines.c, t.allocations.c
    p, m, lv, d = (
        t.allocation_plans.c,
        t.stock_movements.c,
        t.stock_levels.c,
        t.location_daily_orders.c,
    )
    mine = o.id.in_(order_ids)
    return {
        "orders": rows(select(o.id, o.status, o.hold_reason).where(mine)),
        "lines": rows(select(ol.id, ol.status).where(ol.order_id.in_(order_ids))),
        "allocations": rows(
            select(a.order_id, a.line_id, a.sku, a.location, a.quantity).where(
                a.order_id.in_(order_ids)
            )
        ),
        "plans": sorted(
            (r.order_id, r.strategy, repr(r.explanation))
            for r in c.execute(select(p.order_id, p.strategy, p.explanation))
        ),
        "movements": rows(
            select(m.sku, m.location, m.kind, m.reserved_delta, m.reference, m.order_line_id)
        ),
        "levels": rows(select(lv.sku, lv.location, lv.on_hand, lv.reserved)),
        # A day's count of 0 is what locking it leaves (lock_ahead on PostgreSQL), not a count.
        "days": rows(select(d.location, d.day, d.orders).where(d.orders > 0)),
        "events": [(type(e).__name__, data) for e, _id, data, _at in uow._outbox],
    }


def allocate_all(hub: Container, order_ids: list[str], *, grouped: bool) -> dict[str, Any]:
    """Allocate the orders in turn, each in an item as ingest does, with the group's reads or
    fresh ones; what that wrote, then rolled back."""
    with hub.uow(actor="test") as uow:
        planner = default_planner(uow)
        group = AllocationGroup(order_ids, SKUS) if grouped else None
        for order_id in order_ids:
            with uow.item():
                allocate_order(uow, order_id=order_id, planner=planner, group=group)
            if group is not None:
                group.done()
        if group is not None:
            group.flush(uow)
        return snapshot(uow, order_ids)  # never committed


order_lines = st.lists(st.tuples(st.sampled_from(SKUS), st.integers(1, 3)), min_size=1, max_size=3)
an_order = st.tuples(st.sampled_from(("web", "app", "hold")), order_lines)


@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    stock=st.lists(st.integers(0, 4), min_size=6, max_size=6),
    earlier=st.lists(an_order, max_size=3),
    group=st.lists(an_order, min_size=1, max_size=7),
)
def test_a_group_allocates_exactly_as_fresh_reads_per_order_would(
    hub: Container, stock: list[int], earlier: list[tuple[str, Lines]], group: list[Any]
) -> None:
    # The examples share the hub: each starts from what the last one left, which is more.
    with hub.uow(read_only=True) as uow:
        start = 1 + len(uow.conn.execute(select(t.orders.c.id)).all())
    for (sku, location), quantity in zip(
        [(s, loc) for s in SKUS for loc in ("a", "b")], stock, strict=True
    ):
        if quantity:
            receive(hub, sku, location, quantity)
    for order_id in received(hub, earlier, start) if earlier else []:
        with hub.uow(actor="test") as uow:  # committed: some wait, and hold their units back
            allocate_order(uow, order_id=order_id)
    ids = received(hub, group, start + len(earlier))

    grouped = allocate_all(hub, ids, grouped=True)
    fresh = allocate_all(hub, ids, grouped=False)

    assert grouped == fresh


def test_a_waiting_order_of_the_group_holds_its_units_back_from_later_ones(hub: Container) -> None:
    """The app order cannot be filled at b, so it waits; what is free over a and b would fill
    it, so the later web order (received after it: the ids rank a group) leaves it those
    units: it waits too. The earlier web order takes its units first."""
    receive(hub, "SKU-1", "a", 3)
    ids = received(hub, [("web", [("SKU-1", 1)]), ("app", [("SKU-1", 2)])], 1)
    ids += received(hub, [("web", [("SKU-1", 1)])], 3)

    grouped = allocate_all(hub, ids, grouped=True)

    assert grouped == allocate_all(hub, ids, grouped=False)
    statuses = {row[0]: row[1] for row in grouped["orders"]}
    assert [statuses[i] for i in ids] == ["allocated", "backordered", "backordered"]
    assert ("SKU-1", "a", 3, 1) in grouped["levels"]


@contextmanager
def counting(hub: Container) -> Iterator[list[tuple[str, bool]]]:
    sent: list[tuple[str, bool]] = []

    def count(*args: Any) -> None:
        sent.append((" ".join(args[2].split()), bool(args[5])))

    event.listen(hub.engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(hub.engine, "before_cursor_execute", count)


def test_a_group_reads_stock_day_counts_and_the_queue_once(hub: Container) -> None:
    """Four new three-line orders allocated on ingest: the levels, the day counts and the
    waiting orders are read once for the group, not once per order; each order in an item
    with no savepoint (it was one, and two before) and inserted once, allocated; the guarded
    UPDATEs (one executemany of their sums per (SKU, location)), plans, day counts, ledger and
    allocations written once for the group."""
    for sku in SKUS:
        receive(hub, sku, "a", 10)
        receive(hub, sku, "b", 10)
    items = [incoming(i, "web", [(sku, 1) for sku in SKUS]) for i in range(4)]
    with hub.uow(actor="test") as uow:  # warm: today's count rows, the caches of the engine
        ingest_batch(uow, [incoming(90, "web", [("SKU-1", 1)])], allocate=True)

    with counting(hub) as sent, hub.uow(actor="test") as uow:
        results = ingest_batch(uow, items, allocate=True)

    assert [r.outcome for r in results] == [Outcome.CREATED] * 4
    assert all(len(r.allocations) == 3 for r in results)

    def times(start: str, end: str = "") -> int:
        return sum(1 for s, _ in sent if s.startswith(start) and s.endswith(end))

    # The levels and the day counts in one statement (the other read of the levels is the
    # available-to-sell figures', at the commit).
    [read] = [s for s, _ in sent if s.startswith("SELECT") and "location_daily_orders" in s]
    assert read.startswith("SELECT 0 AS kind, stock_levels.sku")
    assert times("SELECT stock_levels.sku", "ORDER BY stock_levels.sku, stock_levels.location") == 0
    # The group's queue (its SKUs have units free): the waiting orders with their lines.
    assert times("SELECT order_lines.order_id, orders.created_at, order_lines.sku") == 1
    assert times("UPDATE stock_levels SET reserved") == 1  # for the group: 3 (SKU, location)s
    assert all(many for s, many in sent if s.startswith("UPDATE stock_levels SET reserved"))
    assert times("SAVEPOINT") == 0  # each order's item writes nothing: no savepoint
    assert times("UPDATE orders ") == 0  # each order inserted once, allocated
    for written in ("allocation_plans", "stock_movements", "allocations"):
        assert times(f"INSERT INTO {written} ") == 1, written  # once for the group
    assert sum(1 for s, _ in sent if "location_daily_orders.orders +" in s) == 1
    # 26 on both (28 on PostgreSQL while its groups locked ahead): no savepoint, no UPDATE of
    # the new orders, the day counts read with the levels; 43 and 46 with them, 83 and 94
    # before the group.
    assert len(sent) <= 29, "\n".join(s for s, _ in sent)
    assert levels(hub)[("SKU-1", "a")] == (10, 5)


def test_a_guard_that_fails_under_stale_group_reads_reserves_nothing(hub: Container) -> None:
    """Should the group's reads be wrong (someone reserved behind them), the guard still
    refuses at the group's end: StaleGroupReads, no unit reserved twice."""
    receive(hub, "SKU-1", "a", 2)
    [order_id] = received(hub, [("web", [("SKU-1", 2)])], 1)
    with hub.uow(actor="test") as uow:
        group = AllocationGroup([order_id], ["SKU-1"])
        group.levels(uow, ["SKU-1"])  # read: 2 free
        assert uow.stock.reserve("SKU-1", "a", 1)  # behind the group's back
        with uow.item():
            allocate_order(uow, order_id=order_id, group=group)
        group.done()
        with pytest.raises(StaleGroupReads):
            group.flush(uow)
        assert [(lv.on_hand, lv.reserved) for lv in uow.stock.levels(["SKU-1"])] == [(2, 1)]


def test_an_allocation_undone_after_its_writes_were_deferred_writes_nothing(
    hub: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The middle order of a group fails after its reservation and its deferred writes (plan,
    day count, ledger, allocations): they go with its item, the others' are written once, the
    ledger still sums to the levels, and the failed one is left ``received``."""
    receive(hub, "SKU-1", "a", 5)
    real = allocation.routed_event
    routed: list[str] = []

    def failing(order_id: str, plan: Any) -> Any:
        routed.append(order_id)
        if len(routed) == 2:
            raise RuntimeError("down after the writes")
        return real(order_id, plan)

    monkeypatch.setattr(allocation, "routed_event", failing)
    with hub.uow(actor="test") as uow:
        results = ingest_batch(
            uow, [incoming(i, "web", [("SKU-1", 1)]) for i in range(3)], allocate=True
        )

    assert [len(r.allocations) for r in results] == [1, 0, 1]
    ids = [r.order_id or "" for r in results]
    assert routed == ids
    with hub.uow(read_only=True) as uow:
        statuses = [uow.orders.get(i).status.value for i in ids]
        a, p = t.allocations.c, t.allocation_plans.c
        assert uow.conn.execute(select(a.id).where(a.order_id == ids[1])).all() == []
        assert uow.conn.execute(select(p.id).where(p.order_id == ids[1])).all() == []
        assert find_drift(uow)[1] == []
        d = t.location_daily_orders.c
        days = uow.conn.execute(select(d.orders).where(d.location == "a")).scalars().all()
    assert statuses == ["allocated", "received", "allocated"]
    assert days == [2]
    assert levels(hub)[("SKU-1", "a")] == (5, 2)


def test_an_order_whose_group_reads_prove_stale_is_allocated_again_from_fresh_ones(
    hub: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ingest: the group's guarded UPDATE reports a failure under its reads (as if they were
    stale): the transaction is undone — the reservation it did make with it — and done again,
    each order allocated from reads of its own. Nothing is reserved twice, and the ledger
    sums to the levels."""
    receive(hub, "SKU-1", "a", 3)
    real = StockRepository.reserve_many
    calls: list[int] = []

    def flaky(self: StockRepository, wanted: Any) -> bool:
        calls.append(len(wanted))
        held = real(self, wanted)
        return held and len(calls) > 1

    monkeypatch.setattr(StockRepository, "reserve_many", flaky)
    with hub.uow(actor="test") as uow:
        results = ingest_batch(
            uow, [incoming(i, "web", [("SKU-1", 2 - i)]) for i in range(2)], allocate=True
        )

    assert [len(r.allocations) for r in results] == [1, 1]
    assert calls == [1]  # the group's (SKU-1, a), 3 units; done again with plain guards
    assert levels(hub)[("SKU-1", "a")] == (3, 3)
    with hub.uow(read_only=True) as uow:
        assert find_drift(uow)[1] == []
        assert [uow.orders.get(r.order_id or "").status.value for r in results] == [
            "allocated",
            "allocated",
        ]


class _Stop(Exception):
    """Raised after the commit's writes, so that the transaction is rolled back."""


def ingested(hub: Container, items: list[Incoming], *, grouped: bool) -> dict[str, Any]:
    """Ingest and allocate ``items`` — with a group, each new order inserted once after its
    allocation, or (``grouped`` off) as before the group: inserted first, allocated from
    fresh reads and updated — and what that wrote up to the commit, rolled back. The orders'
    ids are the same on both paths (a counter), so the rows can be compared whole."""
    count = iter(range(1, 1_000_000))

    def ids(n: int) -> list[str]:
        return [f"00000000-0000-7000-8000-{next(count):012d}" for _ in range(n)]

    seen: dict[str, Any] = {}

    def written(uow: UnitOfWork) -> None:
        real_write(uow)
        c, o, ol, e, ob = uow.conn, t.orders.c, t.order_lines.c, t.order_events.c, t.outbox.c
        mine = [r.id for r in c.execute(select(o.id).where(o.external_id.like("G-%")))]
        seen.update(snapshot(uow, mine))
        seen["orders"] = sorted(
            tuple(r)
            for r in c.execute(
                select(o.id, o.status, o.hold_reason, o.version, o.metadata, o.total_minor).where(
                    o.id.in_(mine)
                )
            )
        )
        seen["lines"] = sorted(
            tuple(r)
            for r in c.execute(
                select(ol.id, ol.status, ol.cancelled_quantity).where(ol.order_id.in_(mine))
            )
        )
        seen["history"] = sorted(
            tuple(r)
            for r in c.execute(
                select(e.order_id, e.order_seq, e.type, e.data, e.actor).where(e.order_id.in_(mine))
            )
        )
        seen["outbox"] = [
            tuple(r) for r in c.execute(select(ob.stream, ob.type, ob.data).order_by(ob.seq))
        ]
        raise _Stop

    real_write = UnitOfWork._write_outbox
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("orderhub.domain.orders.new_ids", ids)
        patch.setattr(UnitOfWork, "_write_outbox", written)
        with hub.uow(actor="test") as uow, pytest.raises(_Stop):
            ingest._ingest_committed(uow, items, allocate=True, grouped=grouped)
    return seen


@settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    stock=st.lists(st.integers(0, 4), min_size=6, max_size=6),
    earlier=st.lists(an_order, max_size=3),
    group=st.lists(an_order, min_size=1, max_size=6),
)
def test_new_orders_inserted_once_after_their_allocation_write_the_rows_of_insert_and_update(
    hub: Container, stock: list[int], earlier: list[tuple[str, Lines]], group: list[Any]
) -> None:
    """A group's new orders are inserted as their allocation left them, not inserted and then
    updated: the orders, lines, allocations, ledger, history rows and events are those the
    insert-then-update path writes, backorders and holds within the group included."""
    with hub.uow(read_only=True) as uow:
        start = 1 + len(uow.conn.execute(select(t.orders.c.id)).all())
    for (sku, location), quantity in zip(
        [(s, loc) for s in SKUS for loc in ("a", "b")], stock, strict=True
    ):
        if quantity:
            receive(hub, sku, location, quantity)
    for order_id in received(hub, earlier, start) if earlier else []:
        with hub.uow(actor="test") as uow:  # committed: some wait, and hold their units back
            allocate_order(uow, order_id=order_id)
    first = start + len(earlier) + 100
    items = [incoming(first + i, channel, lines) for i, (channel, lines) in enumerate(group)]

    once = ingested(hub, items, grouped=True)

    assert once == ingested(hub, items, grouped=False)
    assert len(once["history"]) >= 2 * len(items)


def test_a_group_sends_no_update_of_its_new_orders(hub: Container) -> None:
    """Allocated on ingest, a new order is written by its INSERT alone."""
    receive(hub, "SKU-1", "a", 1)
    items = [incoming(i, "web", [("SKU-1", 1)]) for i in range(3)]  # one allocated, two wait
    with counting(hub) as sent, hub.uow(actor="test") as uow:
        results = ingest_batch(uow, items, allocate=True)

    assert [r.order.status.value for r in results if r.order] == ["allocated"] + ["backordered"] * 2
    assert not [s for s, _ in sent if s.startswith(("UPDATE orders ", "UPDATE order_lines "))]
    with hub.uow(read_only=True) as uow:
        assert [uow.orders.get(r.order_id or "").version for r in results] == [2, 2, 2]


def test_a_new_order_that_loses_its_race_at_the_insert_is_ingested_again_alone(
    hub: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The group's orders are inserted after their allocation: should one's (channel,
    external id) be taken by then (here: inserted in the same transaction), the transaction
    is undone and done again, each order inserted first; nothing is reserved twice."""
    receive(hub, "SKU-1", "a", 3)
    items = [incoming(i, "web", [("SKU-1", 1)]) for i in range(2)]
    real = OrderRepository.insert_held
    rivals: list[str] = []

    def racing(self: OrderRepository, orders: Any, **kwargs: Any) -> set[str]:
        rival = dataclasses.replace(orders[0], id=new_id(), lines=[])
        self.add_new([rival])
        rivals.append(rival.id)
        return real(self, orders, **kwargs)

    monkeypatch.setattr(OrderRepository, "insert_held", racing)
    with hub.uow(actor="test") as uow:
        results = ingest_batch(uow, items, allocate=True)

    assert len(rivals) == 1
    assert [r.outcome for r in results] == [Outcome.CREATED] * 2
    assert [len(r.allocations) for r in results] == [1, 1]
    assert levels(hub)[("SKU-1", "a")] == (3, 2)
    with hub.uow(read_only=True) as uow:
        assert find_drift(uow)[1] == []
        o = t.orders.c
        assert uow.conn.execute(select(o.id).where(o.id == rivals[0])).all() == []


def test_a_waiting_order_of_the_group_still_holds_back_after_a_later_item_is_undone(
    hub: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The group's first order waits (the app may use b only) and holds its 2 units back; the
    second fails and is undone, so the group reads afresh — its own waiting order is not in
    the database yet, and must still hold back: the third, wanting 2 of the 3 units, waits
    behind it, as with fresh reads per order."""
    receive(hub, "SKU-1", "a", 3)
    items = [
        incoming(1, "app", [("SKU-1", 2)]),
        incoming(2, "web", [("SKU-1", 1)]),
        incoming(3, "web", [("SKU-1", 2)]),
    ]
    real = allocation.routed_event
    calls: list[str] = []

    def failing_first(order_id: str, plan: Any) -> Any:
        calls.append(order_id)
        if len(calls) == 1:
            raise RuntimeError("down")
        return real(order_id, plan)

    monkeypatch.setattr(allocation, "routed_event", failing_first)
    once = ingested(hub, items, grouped=True)
    calls.clear()
    fresh = ingested(hub, items, grouped=False)

    assert once == fresh
    statuses = [status for _id, status, *_ in once["orders"]]
    assert statuses == ["backordered", "received", "backordered"]
