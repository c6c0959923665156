"""The worker's transaction of database-only deliveries, on SQLite and PostgreSQL: what a
batch of fulfilment dispatches costs in statements, and the receipts it takes together —
dropped again for a delivery that failed or was left to the next transaction, kept for one
whose handler committed before failing."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from orderhub.bootstrap import Container
from orderhub.services.messagebus import Consumer, Message
from orderhub.store import tables
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
    # one statement for the ten receipts (was ten); one savepoint per delivery (was two: the
    # handler's commit ended the delivery's savepoint and opened another).
    assert statements["SELECT orders.id, orders.channel_code,"] == 1
    assert statements["SELECT order_lines.id, order_lines.order_id,"] == 1
    assert statements["SELECT fulfilment_orders.id, fulfilment_orders.order_id,"] == 1
    assert statements["INSERT INTO processed_events"] == 1
    assert statements["SAVEPOINT sa_savepoint_"] == ORDERS
    assert statements["DELETE FROM processed_events"] == 0
    assert statements["INSERT INTO fulfilment_orders"] == ORDERS


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
