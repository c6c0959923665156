"""The worker's transaction of database-only deliveries, on SQLite and PostgreSQL: what a
batch of fulfilment dispatches costs in statements, and the receipts it takes together —
dropped again for a delivery that failed or was left to the next transaction, kept for one
whose handler committed before failing."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from orderhub.bootstrap import Container
from orderhub.services import fulfilment_wiring
from orderhub.services.messagebus import Consumer, Message
from orderhub.store import history, tables
from orderhub.store.db import _WriterGate, writer_waiting
from orderhub.store.fulfilment import ProviderConfig
from orderhub.store.unit_of_work import UnitOfWork
from orderhub.workers import relay as relay_module
from orderhub.workers.relay import Worker
from tests.conftest import native_order
from tests.integration.delivery_support import Pinged, Recorder, emit
from tests.support.clock import FakeClock

ORDERS = 10
NYC = {"code": "nyc", "name": "NYC DC", "kind": "warehouse", "address": {"country": "US"}}


def stocked(client: TestClient, admin: dict[str, str]) -> None:
    assert client.post("/v1/locations", json=NYC, headers=admin).status_code == 201
    for sku in ("SKU-1", "SKU-2"):
        stock = {"sku": sku, "location": "nyc", "delta": 1000, "reason": "po", "kind": "receipt"}
        assert client.post("/v1/inventory/adjustments", json=stock, headers=admin).is_success


def drain(relay: Worker) -> None:
    while relay.run_once():
        pass


def receipts(container: Container, consumer: str) -> int:
    p = tables.processed_events.c
    with container.engine.connect() as conn:
        return int(conn.execute(select(func.count()).where(p.consumer == consumer)).scalar_one())


def test_a_batch_of_dispatches_reads_its_orders_and_takes_its_receipts_together(
    seeded: Container,
    client: TestClient,
    admin: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    statements: Counter[str],
) -> None:
    monkeypatch.setattr(relay_module, "TOGETHER_SECONDS", 60.0)  # one transaction, however slow
    stocked(client, admin)
    relay = Worker(seeded, clock=FakeClock())
    drain(relay)
    for n in range(ORDERS):
        assert client.post("/v1/orders", json=native_order(f"C-{n}"), headers=admin).is_success
    relay.run_once()  # the allocations; their order.allocated events fan out next cycle
    statements.clear()
    assert relay.run_once() == ORDERS  # the ten dispatches, in one transaction

    with seeded.engine.connect() as conn:
        o = tables.orders.c
        status = Counter(conn.execute(select(o.status)).scalars())
    assert status == Counter({"in_fulfilment": ORDERS})
    assert receipts(seeded, "fulfilment.dispatch") == ORDERS
    # One read of the ten orders, their lines and fulfilment orders (was one each per order);
    # one statement for the ten receipts (was ten); no savepoint (was one per delivery, two
    # before that): each dispatch to the built-in warehouse keeps its writes for the commit,
    # where the ten fulfilment orders are inserted, and the ten orders saved, together.
    assert statements["SELECT orders.id, orders.channel_code,"] == 1
    assert statements["SELECT order_lines.id, order_lines.order_id,"] == 1
    assert statements["SELECT fulfilment_orders.id, fulfilment_orders.order_id,"] == 1
    assert statements["INSERT INTO processed_events"] == 1
    assert statements["SAVEPOINT sa_savepoint_"] == 0
    assert statements["DELETE FROM processed_events"] == 0
    assert statements["INSERT INTO fulfilment_orders"] == 1
    assert statements["UPDATE orders SET"] == 1
    assert statements["UPDATE order_lines SET"] == 1


def dispatched(container: Container, prefix: str) -> dict[str, Any]:
    """What the dispatches of the orders numbered ``prefix``… left, their numbers and ids
    taken out: orders, lines, fulfilment orders, histories (which must still chain)."""
    o, ol, f = tables.orders.c, tables.order_lines.c, tables.fulfilment_orders.c
    e = tables.order_events.c
    with container.engine.connect() as conn:
        number = {
            i: x.removeprefix(prefix)
            for i, x in conn.execute(select(o.id, o.external_id))
            if x.startswith(prefix)
        }
        orders = {
            number[i]: (st, v, total)
            for i, st, v, total in conn.execute(select(o.id, o.status, o.version, o.total_minor))
            if i in number
        }
        lines = Counter(
            (number[i], sku, st, c)
            for i, sku, st, c in conn.execute(
                select(ol.order_id, ol.sku, ol.status, ol.cancelled_quantity)
            )
            if i in number
        )
        fulfilments = Counter(
            (number[i], loc, prov, st, v, tuple((x["sku"], x["quantity"]) for x in lines_))
            for i, loc, prov, st, v, lines_ in conn.execute(
                select(f.order_id, f.location, f.provider, f.status, f.version, f.lines)
            )
            if i in number
        )
        events = Counter(
            (number[i], seq, kind)
            for i, seq, kind in conn.execute(select(e.order_id, e.order_seq, e.type))
            if i in number
        )
        breaks = [b for b in history.verify(conn) if isinstance(b, history.ChainBreak)]
    assert breaks == [], "every order's history still chains"
    return {"orders": orders, "fulfilments": fulfilments, "events": events, "lines": lines}


def test_dispatches_keeping_their_writes_for_the_commit_leave_what_each_in_a_savepoint_does(
    seeded: Container,
    client: TestClient,
    admin: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    statements: Counter[str],
) -> None:
    monkeypatch.setattr(relay_module, "TOGETHER_SECONDS", 60.0)
    stocked(client, admin)
    for writes_at_commit, prefix in ((True, "K-"), (False, "S-")):
        if not writes_at_commit:  # every dispatch in a savepoint of its own, as before
            monkeypatch.setattr(fulfilment_wiring, "writes_at_commit", lambda _uow, _m: False)
        relay = Worker(seeded, clock=FakeClock())
        drain(relay)
        for n in range(ORDERS):
            lines = [
                {"sku": "SKU-1", "quantity": 1 + n % 3, "unit_price": "10.00"},
                {"sku": "SKU-2", "quantity": 1, "unit_price": "5.50"},
            ]
            order = native_order(f"{prefix}{n}", lines=lines[: 1 + n % 2])
            assert client.post("/v1/orders", json=order, headers=admin).is_success
        relay.run_once()
        statements.clear()
        assert relay.run_once() == ORDERS
        assert statements["SAVEPOINT sa_savepoint_"] == (0 if writes_at_commit else ORDERS)
    kept, each = dispatched(seeded, "K-"), dispatched(seeded, "S-")
    assert kept == each
    assert {st for st, _v, _t in kept["orders"].values()} == {"in_fulfilment"}


def test_dispatches_to_a_configured_provider_run_alone_after_the_batch(
    seeded: Container,
    client: TestClient,
    admin: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    statements: Counter[str],
) -> None:
    """A provider configured for the location (one that may call out, or refuse) is not the
    built-in warehouse: its dispatches are set aside from the batch's transaction (none runs
    in one of its savepoints) and each runs alone, its call with no transaction open
    (test_dispatch_outside_transactions.py)."""
    monkeypatch.setattr(relay_module, "TOGETHER_SECONDS", 60.0)
    stocked(client, admin)
    with seeded.uow(actor="test") as uow:
        sim = ProviderConfig(
            "sim", "Simulated", "simulated", {"reject_rate": 0.0}, locations=["nyc"]
        )
        uow.fulfilment.add_provider(sim)
        uow.commit()
    relay = Worker(seeded, clock=FakeClock())
    drain(relay)
    for n in range(ORDERS):
        assert client.post("/v1/orders", json=native_order(f"P-{n}"), headers=admin).is_success
    relay.run_once()
    statements.clear()
    assert relay.run_once() == ORDERS
    assert statements["SAVEPOINT sa_savepoint_"] == 0
    found = dispatched(seeded, "P-")
    assert {st for st, _v, _t in found["orders"].values()} == {"in_fulfilment"}
    assert {(loc, prov, st) for _n, loc, prov, st, _v, _l in found["fulfilments"]} == {
        ("nyc", "sim", "accepted")
    }


def test_a_dispatch_undone_after_keeping_its_writes_leaves_nothing_and_runs_again(
    seeded: Container,
    client: TestClient,
    admin: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    statements: Counter[str],
) -> None:
    monkeypatch.setattr(relay_module, "TOGETHER_SECONDS", 60.0)
    stocked(client, admin)
    clock = FakeClock()
    relay = Worker(seeded, clock=clock, rng=random.Random(4))
    drain(relay)
    for n in range(ORDERS):
        assert client.post("/v1/orders", json=native_order(f"C-{n}"), headers=admin).is_success
    relay.run_once()
    with seeded.engine.connect() as conn:
        o = tables.orders.c
        failing = conn.execute(select(o.id).where(o.external_id == "C-3")).scalar_one()
        version = conn.execute(select(o.version).where(o.id == failing)).scalar_one()
    chain = history.chain

    def chain_failing(conn: Any, order_id: str, *args: Any, **kwargs: Any) -> Any:
        if order_id == failing and not failed:  # its save and fulfilment order were kept
            failed.append(order_id)
            raise RuntimeError("fails after keeping its writes")
        return chain(conn, order_id, *args, **kwargs)

    failed: list[str] = []
    monkeypatch.setattr(history, "chain", chain_failing)
    statements.clear()
    assert relay.run_once() == ORDERS
    assert failed == [failing]
    assert statements["SAVEPOINT sa_savepoint_"] == 0
    with seeded.engine.connect() as conn:
        f = tables.fulfilment_orders.c
        status = dict(conn.execute(select(o.id, o.status)).all())
        assert conn.execute(select(o.version).where(o.id == failing)).scalar_one() == version
        assert not conn.execute(select(f.id).where(f.order_id == failing)).all()
    assert status.pop(failing) == "allocated", "nothing of the failed dispatch was written"
    assert set(status.values()) == {"in_fulfilment"}
    assert receipts(seeded, "fulfilment.dispatch") == ORDERS - 1, "its receipt went with it"
    clock.advance(3600)
    drain(relay)
    assert dispatched(seeded, "C-")["orders"][str(3)][0] == "in_fulfilment"
    assert receipts(seeded, "fulfilment.dispatch") == ORDERS
    with seeded.engine.connect() as conn:
        per_order = Counter(conn.execute(select(f.order_id)).scalars())
    assert set(per_order.values()) == {1}, "one fulfilment order each, none twice"


def test_receipts_taken_for_deliveries_left_to_the_next_transaction_are_dropped(
    seeded: Container, monkeypatch: pytest.MonkeyPatch, statements: Counter[str]
) -> None:
    monkeypatch.setattr(relay_module, "TOGETHER_SECONDS", 0.0)  # one delivery per transaction
    recorder = Recorder("recorder")
    relay = Worker(seeded, consumers=[recorder.consumer()], clock=FakeClock())
    monkeypatch.setattr(relay, "_fitting", lambda _left: 64)  # receipts for the whole batch
    emit(seeded, *(Pinged(key=f"k{n}", n=1) for n in range(5)))
    drain(relay)
    assert sorted(recorder.handled) == [(f"k{n}", 1) for n in range(5)], "each ran, once"
    assert receipts(seeded, "recorder") == 5
    assert statements["DELETE FROM processed_events"] == 4  # 4, 3, 2, 1 left over, then none


def test_a_delivery_that_fails_in_a_batch_loses_its_receipt_and_runs_again(
    seeded: Container, statements: Counter[str]
) -> None:
    clock = FakeClock()
    failures = {"left": 1}

    def fail_once(message: Message) -> bool:
        if message.data["key"] == "b" and failures["left"]:
            failures["left"] -= 1
            return True
        return False

    recorder = Recorder("recorder", fail=fail_once)
    relay = Worker(seeded, consumers=[recorder.consumer()], clock=clock, rng=random.Random(4))
    emit(seeded, Pinged(key="a", n=1), Pinged(key="b", n=1), Pinged(key="c", n=1))
    assert relay.run_once() == 3
    assert recorder.handled == [("a", 1), ("c", 1)]
    assert receipts(seeded, "recorder") == 2, "the failed one's receipt went with its work"
    clock.advance(3600)
    drain(relay)
    assert recorder.handled == [("a", 1), ("c", 1), ("b", 1)]
    assert receipts(seeded, "recorder") == 3


def test_a_handler_that_committed_in_a_batch_before_failing_keeps_its_receipt(
    seeded: Container,
) -> None:
    clock = FakeClock()
    calls: list[str] = []
    recorder = Recorder("committer")

    def commit_then_fail(uow: UnitOfWork, message: Message) -> None:
        calls.append(message.data["key"])
        recorder.handle(uow, message)
        uow.commit()
        if message.data["key"] == "b" and calls.count("b") == 1:
            raise RuntimeError("fails after its work committed")

    consumer = Consumer("committer", frozenset({"order.pinged"}), commit_then_fail)
    relay = Worker(seeded, consumers=[consumer], clock=clock, rng=random.Random(4))
    emit(seeded, Pinged(key="a", n=1), Pinged(key="b", n=1), Pinged(key="c", n=1))
    assert relay.run_once() == 3
    clock.advance(3600)
    drain(relay)
    assert calls == ["a", "b", "c"], "b's receipt landed with its committed work: not run again"
    assert recorder.handled == [("a", 1), ("b", 1), ("c", 1)]


def test_a_cycle_fans_out_and_claims_in_one_write_transaction(
    seeded: Container, statements: Counter[str]
) -> None:
    recorder = Recorder("recorder")
    relay = Worker(seeded, consumers=[recorder.consumer()], clock=FakeClock())
    emit(seeded, Pinged(key="a", n=1), Pinged(key="b", n=1))
    statements.clear()
    assert relay.run_once() == 2
    assert recorder.handled == [("a", 1), ("b", 1)]
    if seeded.engine.dialect.name == "sqlite":  # its write lock, taken once for both (was 2)
        assert statements["BEGIN IMMEDIATE"] == 2, "fan-out and claim, then the deliveries"


def test_the_transaction_commits_early_for_a_writer_waiting_at_the_gate(
    seeded: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite: a writer of another process in line at the gate (the API's) gets in after the
    delivery running when it arrived, not after the whole batch, however large the budget."""
    if seeded.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's writers do not queue for one write lock")
    monkeypatch.setattr(relay_module, "TOGETHER_SECONDS", 60.0)  # the budget alone: one
    database = str(Path(str(seeded.engine.url.database)).resolve())
    api = _WriterGate(database)  # its own open files: another process's gate
    order: list[str] = []

    def api_writes() -> None:
        assert api.enter(timeout=10)
        order.append("api")
        api.leave()

    api_writer = threading.Thread(target=api_writes)

    def handle(uow: UnitOfWork, message: Message) -> None:
        order.append(message.data["key"])
        if message.data["key"] == "a":  # the API's writer arrives while the first one runs
            api_writer.start()
            deadline = time.monotonic() + 10
            while not writer_waiting(uow.conn) and time.monotonic() < deadline:
                time.sleep(0.001)
            assert writer_waiting(uow.conn)

    consumer = Consumer("recorder", frozenset({"order.pinged"}), handle)
    relay = Worker(seeded, consumers=[consumer], clock=FakeClock())
    emit(seeded, *(Pinged(key=key, n=1) for key in "abc"))
    assert relay.run_once() == 3
    api_writer.join()
    assert order == ["a", "api", "b", "c"], "the API's writer went in after the first delivery"
    assert receipts(seeded, "recorder") == 3
