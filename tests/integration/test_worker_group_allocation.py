"""The worker's ``inventory.allocate`` deliveries of one transaction allocate as one
:class:`AllocationGroup` (reads once, writes once), on SQLite and PostgreSQL: the same outcome
as one by one, and a delivery that fails is undone alone."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from orderhub.bootstrap import Container
from orderhub.services import allocation, messagebus
from orderhub.store import config_cache, history, tables
from orderhub.store.stock import StockRepository
from orderhub.workers import relay as relay_module
from orderhub.workers.relay import Worker
from tests.conftest import native_order
from tests.integration.store_support import STORE
from tests.support.clock import FakeClock

ORDERS = 10
NYC = {"code": "nyc", "name": "NYC DC", "kind": "warehouse", "address": {"country": "US"}}


def stocked(client: TestClient, admin: dict[str, str], sku_1: int = 11) -> None:
    """Eleven SKU-1 (each order wants two): five orders fit, the sixth and later wait."""
    assert client.post("/v1/locations", json=NYC, headers=admin).status_code == 201
    for sku, units in (("SKU-1", sku_1), ("SKU-2", 1000)):
        stock = {"sku": sku, "location": "nyc", "delta": units, "reason": "po", "kind": "receipt"}
        assert client.post("/v1/inventory/adjustments", json=stock, headers=admin).is_success


def backlog(client: TestClient, admin: dict[str, str]) -> None:
    """Ten orders ingested in one batch: not allocated on ingest, left to the worker."""
    orders = [native_order(f"G-{n}") for n in range(ORDERS)]
    response = client.post("/v1/orders:batch", json={"orders": orders}, headers=admin)
    assert response.is_success, response.text


def outcome(container: Container) -> dict[str, Any]:
    """Everything allocating decides, by external id (ids differ between runs)."""
    o, ol, a = tables.orders.c, tables.order_lines.c, tables.allocations.c
    s = tables.stock_levels.c
    with container.engine.connect() as conn:
        external = dict(conn.execute(select(o.id, o.external_id)).all())
        orders = {external[i]: st for i, st in conn.execute(select(o.id, o.status))}
        lines = Counter(
            (external[i], sku, st)
            for i, sku, st in conn.execute(select(ol.order_id, ol.sku, ol.status))
        )
        allocations = Counter(
            (external[i], sku, loc, q)
            for i, sku, loc, q in conn.execute(select(a.order_id, a.sku, a.location, a.quantity))
        )
        levels = set(conn.execute(select(s.sku, s.location, s.on_hand, s.reserved)))
        breaks = [b for b in history.verify(conn) if isinstance(b, history.ChainBreak)]
    assert breaks == [], "every order's history still chains"
    return {"orders": orders, "lines": lines, "allocations": allocations, "levels": levels}


EXPECTED_ALLOCATED = {f"G-{n}" for n in range(5)}


def _expected(found: dict[str, Any]) -> None:
    """First come, first served: the first five allocated, the rest wait; ten SKU-1 held."""
    assert {k for k, v in found["orders"].items() if v == "allocated"} == EXPECTED_ALLOCATED
    assert {k for k, v in found["orders"].items() if v == "backordered"} == {
        f"G-{n}" for n in range(5, ORDERS)
    }
    assert ("SKU-1", "nyc", 11, 10) in found["levels"]
    assert ("SKU-2", "nyc", 1000, 5) in found["levels"]


@pytest.mark.parametrize("grouped", [True, False], ids=["grouped", "one-by-one"])
def test_a_transaction_of_allocations_reads_and_writes_once_with_the_same_outcome(
    seeded: Container,
    client: TestClient,
    admin: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    statements: Counter[str],
    grouped: bool,
) -> None:
    monkeypatch.setattr(relay_module, "TOGETHER_SECONDS", 60.0)  # one transaction
    if not grouped:  # each delivery allocates alone, as before the group
        monkeypatch.setattr(messagebus, "worker_group", lambda _uow: None)
        monkeypatch.setattr(messagebus, "keeps_writes", lambda _uow, _order_id: False)
    stocked(client, admin)
    relay = Worker(seeded, clock=FakeClock())
    while relay.run_once():
        pass
    backlog(client, admin)
    config_cache.forget(seeded.engine)
    statements.clear()
    assert relay.run_once() == ORDERS  # the ten allocations, in one transaction
    statements = Counter(statements)  # (not the reads of the outcome)
    _expected(outcome(seeded))
    levels_read = statements["SELECT stock_levels.sku, stock_levels.location,"]
    reserved = statements["UPDATE stock_levels SET"]
    if grouped:
        # The levels read once for the ten (was once per order, and once more per waiting
        # order's queue check); the reservations one guarded UPDATE per (SKU, location) of
        # the group's sums; no savepoint (was one per delivery, two before that): each
        # delivery keeps its order's save for the commit, one UPDATE of the ten orders and
        # one of their lines there.
        assert levels_read == 1, statements
        # and once for the announcement at the commit, with the overrides in one statement (on
        # SQLite with the last figures, on PostgreSQL with the stamps, after the figures' locks)
        assert statements["SELECT 2 AS"] + statements["SELECT 3 AS"] == 1, statements
        assert statements["SELECT 0 AS"] == 0, statements
        assert statements["SELECT orders.id, orders.channel_code,"] == 1  # the ten orders
        assert statements["SELECT order_lines.id, order_lines.order_id,"] == 1
        assert statements["SELECT order_chain_heads.order_id, order_chain_heads.event_count,"] == 1
        assert statements["SELECT order_chain_heads.event_count, order_chain_heads.head_hash"] == 0
        # The products, channels, locations and rules read once each (the process's cache
        # emptied first), beside their stamps; the stamps once more on PostgreSQL, where the
        # announcement reads channels and locations again after the figures' locks: with the
        # levels (``SELECT 3 AS`` above), not a statement of their own.
        assert statements["SELECT config_stamps.stamp AS"] == 4, statements
        assert statements["SELECT config_stamps.name, config_stamps.stamp"] == 1
        assert reserved == 1, statements  # one executemany
        assert statements["SAVEPOINT sa_savepoint_"] == 0
        assert statements["RELEASE SAVEPOINT sa_savepoint_"] == 0
        assert statements["UPDATE orders SET"] == 1
        assert statements["UPDATE order_lines SET"] == 1
    else:
        assert levels_read >= ORDERS
        assert reserved >= 10
        assert statements["SAVEPOINT sa_savepoint_"] >= 2 * ORDERS


def test_a_failing_delivery_of_the_group_is_undone_alone_and_retried(
    seeded: Container,
    client: TestClient,
    admin: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    statements: Counter[str],
) -> None:
    monkeypatch.setattr(relay_module, "TOGETHER_SECONDS", 60.0)
    stocked(client, admin)
    clock = FakeClock()
    relay = Worker(seeded, clock=clock)
    while relay.run_once():
        pass
    backlog(client, admin)
    with seeded.engine.connect() as conn:
        o = tables.orders.c
        failing = conn.execute(select(o.id).where(o.external_id == "G-1")).scalar_one()
    real = allocation._record
    calls = {"left": 1}

    def fail_once(uow: Any, order: Any, *args: Any, **kwargs: Any) -> Any:
        views = real(uow, order, *args, **kwargs)  # its reservation noted in the group …
        if order.id == failing and calls["left"]:
            calls["left"] -= 1
            raise RuntimeError("boom")  # … and undone with its item
        return views

    monkeypatch.setattr(allocation, "_record", fail_once)
    statements.clear()
    assert relay.run_once() == ORDERS
    # G-0 and G-1 kept their writes for the commit (G-1's forgotten when it failed); the
    # group's reads go with an undone item, so the eight after it are read alone, each in a
    # savepoint as before.
    assert statements["SAVEPOINT sa_savepoint_"] == ORDERS - 2
    found = outcome(seeded)
    assert found["orders"]["G-1"] == "received", "undone alone, left for its retry"
    allocated = {k for k, v in found["orders"].items() if v == "allocated"}
    assert allocated == {"G-0", "G-2", "G-3", "G-4", "G-5"}  # G-1's units went to G-5
    assert ("SKU-1", "nyc", 11, 10) in found["levels"], "no units held for the failed one"
    d = tables.deliveries.c
    with seeded.engine.connect() as conn:
        failed = conn.execute(
            select(d.status, d.last_error).where(d.consumer == "inventory.allocate", d.attempts > 0)
        ).all()
    assert [(status, error) for status, error in failed if error] == [
        ("pending", "RuntimeError: boom")
    ]
    clock.advance(3600)
    while relay.run_once():
        pass
    found = outcome(seeded)
    assert found["orders"]["G-1"] == "backordered", "retried: waits behind the others"
    assert ("SKU-1", "nyc", 11, 10) in found["levels"]


def test_stale_group_reads_undo_the_transaction_and_allocate_each_alone(
    seeded: Container,
    client: TestClient,
    admin: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(relay_module, "TOGETHER_SECONDS", 60.0)
    stocked(client, admin)
    relay = Worker(seeded, clock=FakeClock())
    while relay.run_once():
        pass
    backlog(client, admin)
    real = StockRepository.reserve_many
    refused = {"left": 1}

    def stale_once(self: StockRepository, wanted: Any) -> bool:
        if refused["left"]:  # as if another writer took the units after the group's reads
            refused["left"] -= 1
            return False
        return real(self, wanted)

    monkeypatch.setattr(StockRepository, "reserve_many", stale_once)
    assert relay.run_once() == ORDERS
    assert not refused["left"], "the group's guard was refused"
    _expected(outcome(seeded))  # nothing oversold, nothing lost: each allocated alone
    d = tables.deliveries.c
    with seeded.engine.connect() as conn:
        states = Counter(
            conn.execute(select(d.status).where(d.consumer == "inventory.allocate")).scalars()
        )
    assert states == Counter({"delivered": ORDERS})


def test_dispatches_between_the_groups_allocations_keep_its_reads(
    seeded: Container,
    client: TestClient,
    admin: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    statements: Counter[str],
) -> None:
    """A transaction's deliveries alternate: a dispatch (an order allocated on ingest), then
    two allocations (a batch). A dispatch moves no stock, so the group's reads stand."""
    monkeypatch.setattr(relay_module, "TOGETHER_SECONDS", 60.0)
    stocked(client, admin, sku_1=1000)
    relay = Worker(seeded, clock=FakeClock())
    while relay.run_once():
        pass
    for n in range(4):
        assert client.post("/v1/orders", json=native_order(f"S-{n}"), headers=admin).is_success
        with seeded.uow() as uow:  # allocated at once (as on ingest): its dispatch comes next
            o = tables.orders.c
            order_id = uow.conn.execute(select(o.id).where(o.external_id == f"S-{n}")).scalar()
            allocation.allocate_order(uow, order_id=str(order_id))
        pair = [native_order(f"B-{n}-{i}") for i in range(2)]
        response = client.post("/v1/orders:batch", json={"orders": pair}, headers=admin)
        assert response.is_success
    statements.clear()
    assert relay.run_once() == 12  # four dispatches and eight allocations, in one transaction
    seen = Counter(statements)
    found = outcome(seeded)
    assert {k for k, v in found["orders"].items() if v == "allocated"} == {
        f"B-{n}-{i}" for n in range(4) for i in range(2)
    }
    assert {k for k, v in found["orders"].items() if v == "in_fulfilment"} == {
        f"S-{n}" for n in range(4)
    }
    assert ("SKU-1", "nyc", 1000, 24) in found["levels"]
    # Read once for the eight, not again after each dispatch (and once for the announcement,
    # with the overrides and, on SQLite, the last figures, on PostgreSQL the stamps).
    assert seen["SELECT stock_levels.sku, stock_levels.location,"] == 1, seen
    assert seen["SELECT 2 AS"] + seen["SELECT 3 AS"] == 1, seen
    assert seen["UPDATE stock_levels SET"] == 1


def allocated_rows(container: Container, prefix: str) -> dict[str, Any]:
    """Every row allocating the orders numbered ``prefix``… left, their numbers and ids taken
    out (their SKUs are ``prefix``-named too): orders, lines, plans, allocations, movements,
    levels, day counts, histories (which must still chain) and outbox events."""
    o, ol, a = tables.orders.c, tables.order_lines.c, tables.allocations.c
    p, m, s = tables.allocation_plans.c, tables.stock_movements.c, tables.stock_levels.c
    e, x = tables.order_events.c, tables.outbox.c
    with container.engine.connect() as conn:
        number = {
            i: n.removeprefix(prefix)
            for i, n in conn.execute(select(o.id, o.external_id))
            if n.startswith(prefix)
        }
        rows: dict[str, Any] = {
            "orders": {
                number[i]: rest
                for i, *rest in conn.execute(
                    select(o.id, o.status, o.hold_reason, o.version, o.total_minor)
                )
                if i in number
            },
            "lines": Counter(
                (number[i], sku.removeprefix(prefix), st, q, c)
                for i, sku, st, q, c in conn.execute(
                    select(ol.order_id, ol.sku, ol.status, ol.quantity, ol.cancelled_quantity)
                )
                if i in number
            ),
            "plans": Counter(
                (number[i], strategy)
                for i, strategy in conn.execute(select(p.order_id, p.strategy))
                if i in number
            ),
            "allocations": Counter(
                (number[i], sku.removeprefix(prefix), loc, q, op)
                for i, sku, loc, q, op in conn.execute(
                    select(a.order_id, a.sku, a.location, a.quantity, a.open_quantity)
                )
                if i in number
            ),
            "movements": Counter(
                (sku.removeprefix(prefix), kind, on_hand, reserved)
                for sku, kind, on_hand, reserved in conn.execute(
                    select(m.sku, m.kind, m.on_hand_delta, m.reserved_delta)
                )
                if sku.startswith(prefix)
            ),
            "levels": {
                (sku.removeprefix(prefix), loc, on_hand, reserved)
                for sku, loc, on_hand, reserved in conn.execute(
                    select(s.sku, s.location, s.on_hand, s.reserved)
                )
                if sku.startswith(prefix)
            },
            "events": Counter(
                (number[i], seq, kind)
                for i, seq, kind in conn.execute(select(e.order_id, e.order_seq, e.type))
                if i in number
            ),
            "outbox": Counter(
                (number[stream.removeprefix("order:")], kind)
                for stream, kind in conn.execute(select(x.stream, x.type))
                if stream.removeprefix("order:") in number
            ),
        }
        breaks = [b for b in history.verify(conn) if isinstance(b, history.ChainBreak)]
    assert breaks == [], "every order's history still chains"
    return rows


@pytest.mark.parametrize("short", ["backordered", "on_hold"])
def test_allocations_keeping_their_writes_for_the_commit_leave_what_each_in_a_savepoint_does(
    seeded: Container,
    client: TestClient,
    admin: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    statements: Counter[str],
    short: str,
) -> None:
    """A batch of ten orders of mixed sizes, some allocated, some waiting (first come, first
    served: a small later order must not take what an earlier waiting one can use), allocated
    by one worker transaction keeping every write for the commit, then the same with every
    delivery in a savepoint of its own, as before: the same rows, row for row. ``short``:
    what the channel does with an order it cannot fill (its ``insufficient_stock``)."""
    monkeypatch.setattr(relay_module, "TOGETHER_SECONDS", 60.0)
    if short == "on_hold":
        with seeded.uow() as uow:
            channel = uow.channels.get("web")
            channel.settings = {**channel.settings, "insufficient_stock": "hold"}
            uow.channels.save(channel)
            uow.commit()
    assert client.post("/v1/locations", json=NYC, headers=admin).status_code == 201
    found: dict[bool, dict[str, Any]] = {}
    for keep, prefix in ((True, "K-"), (False, "S-")):
        if not keep:
            monkeypatch.setattr(messagebus, "keeps_writes", lambda _uow, _order_id: False)
        for sku, units in ((f"{prefix}SKU-1", 9), (f"{prefix}SKU-2", 3)):
            product = {"sku": sku, "name": sku}
            assert client.post("/v1/products", json=product, headers=admin).is_success
            stock = {
                "sku": sku,
                "location": "nyc",
                "delta": units,
                "reason": "po",
                "kind": "receipt",
            }
            assert client.post("/v1/inventory/adjustments", json=stock, headers=admin).is_success
        relay = Worker(seeded, clock=FakeClock())
        while relay.run_once():
            pass
        orders = []
        for n in range(ORDERS):
            lines = [
                {"sku": f"{prefix}SKU-1", "quantity": 1 + n % 3, "unit_price": "10.00"},
                {"sku": f"{prefix}SKU-2", "quantity": 1, "unit_price": "5.50"},
            ]
            orders.append(native_order(f"{prefix}{n}", lines=lines[: 1 + n % 2]))
        response = client.post("/v1/orders:batch", json={"orders": orders}, headers=admin)
        assert response.is_success, response.text
        statements.clear()
        assert relay.run_once() == ORDERS
        assert statements["SAVEPOINT sa_savepoint_"] == (0 if keep else ORDERS)
        assert statements["UPDATE orders SET"] == (1 if keep else ORDERS)
        found[keep] = allocated_rows(seeded, prefix)  # (before the next drain dispatches)
    kept, each = found[True], found[False]
    assert kept == each
    statuses = Counter(status for status, *_ in kept["orders"].values())
    assert statuses["allocated"], statuses
    assert statuses[short], statuses


def test_pick_ups_of_the_group_keep_their_savepoints(
    seeded: Container,
    client: TestClient,
    admin: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    statements: Counter[str],
) -> None:
    """A pick-up short at its store raises an exception at once (a write): its delivery keeps
    its savepoint; the shipped orders of the same transaction keep their writes."""
    monkeypatch.setattr(relay_module, "TOGETHER_SECONDS", 60.0)
    stocked(client, admin, sku_1=1000)
    assert client.post("/v1/locations", json=STORE, headers=admin).status_code == 201
    relay = Worker(seeded, clock=FakeClock())
    while relay.run_once():
        pass
    pickup = native_order("P-0", delivery={"type": "pickup", "location": "soho"})
    orders = [pickup, *(native_order(f"G-{n}") for n in range(3))]
    response = client.post("/v1/orders:batch", json={"orders": orders}, headers=admin)
    assert response.is_success, response.text
    statements.clear()
    assert relay.run_once() == 4
    assert statements["SAVEPOINT sa_savepoint_"] == 1
    found = outcome(seeded)
    assert found["orders"]["P-0"] == "on_hold"
    assert {k for k, v in found["orders"].items() if v == "allocated"} == {"G-0", "G-1", "G-2"}
