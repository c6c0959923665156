"""Two PostgreSQL workers whose batches allocate the same SKUs in opposite orders.

A worker runs a batch of allocations in one transaction. Worker A's batch allocates an order of
SKU-1, then one of SKU-2; worker B's an order of SKU-2, then one of SKU-1. Taken one order at a
time, A holds SKU-1's level (and the location's day count) while it waits for SKU-2's, which B
holds while it waits for SKU-1's: a deadlock, and PostgreSQL aborts one of them (the benchmark
counted 135 in one run, each victim retried only after a backoff). The batch takes every level
and day count it may need up front, in one global order, so B waits for A's commit instead.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from orderhub.bootstrap import Container
from orderhub.config import Settings
from orderhub.services.messagebus import Consumer, Message, internal_consumers
from orderhub.store import tables as t
from orderhub.store.unit_of_work import UnitOfWork
from orderhub.workers import relay
from orderhub.workers.relay import Worker
from tests.integration.delivery_support import Pinged, Recorder, emit
from tests.integration.inventory_helpers import add_locations, levels, place, receive, status
from tests.support.clock import FakeClock


def test_batches_reserving_the_same_skus_in_opposite_orders_do_not_deadlock(
    seeded: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    if seeded.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer: its transactions never interleave")
    monkeypatch.setattr(relay, "TOGETHER_SECONDS", 60.0)  # each batch in one transaction
    add_locations(seeded, ("a", 1))
    for sku in ("SKU-1", "SKU-2"):
        receive(seeded, sku, "a", 100)
    seeded.settings = Settings(database_url=seeded.settings.database_url, delivery_batch_size=2)
    Worker(seeded, clock=FakeClock()).run_once()  # the set-up's own events out of the way
    orders = [
        place(seeded, n, [(sku, 1)]) for n, sku in enumerate(["SKU-1", "SKU-2", "SKU-2", "SKU-1"])
    ]

    met = threading.Barrier(2)  # both workers past their first allocation, locks held
    problems: list[BaseException] = []
    seen = threading.local()

    def allocate_then_meet(uow: UnitOfWork, message: Message) -> None:
        try:
            real.handle(uow, message)
        except BaseException as problem:  # e.g. DeadlockDetected: recorded, then raised on
            problems.append(problem)
            raise
        if not getattr(seen, "first", False):
            seen.first = True
            # with the locks taken ahead the other worker waits for this one's commit instead
            with contextlib.suppress(threading.BrokenBarrierError):
                met.wait(timeout=3)

    consumers = internal_consumers()
    [real] = [c for c in consumers if c.name == "inventory.allocate"]
    assert isinstance(real, Consumer)
    wrapped = dataclasses.replace(real, handle=allocate_then_meet)
    consumers = [wrapped if c.name == real.name else c for c in consumers]
    a = Worker(seeded, consumers=consumers, worker_id="a", clock=FakeClock())
    b = Worker(seeded, consumers=consumers, worker_id="b", clock=FakeClock())
    targets = a.targets()
    while a.fan_out(targets):
        pass
    batch_a, batch_b = a.claim(), b.claim()
    assert [c.data["order_id"] for c in batch_a] == orders[:2]
    assert [c.data["order_id"] for c in batch_b] == orders[2:]

    threads = [
        threading.Thread(target=w.run_together, args=(batch, targets))
        for w, batch in ((a, batch_a), (b, batch_b))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert problems == []  # no deadlock victim
    assert [status(seeded, order_id) for order_id in orders] == ["allocated"] * 4
    assert levels(seeded)[("SKU-1", "a")] == (100, 2)
    assert levels(seeded)[("SKU-2", "a")] == (100, 2)


class _Deadlocked(Exception):
    sqlstate = "40P01"  # what psycopg's DeadlockDetected carries


def test_a_deadlock_victim_is_run_again_at_once_alone_not_after_a_backoff(
    container: Container,
) -> None:
    recorder = Recorder()
    victims: list[str] = []

    def handle(uow: UnitOfWork, message: Message) -> None:
        if message.data["n"] == 1 and not victims:
            victims.append(message.id)
            raise OperationalError("UPDATE stock_levels …", {}, _Deadlocked("deadlock detected"))
        recorder.handle(uow, message)

    consumer = Consumer("recorder", frozenset({"order.pinged"}), handle)
    emit(container, *(Pinged(key=f"k{n}", n=n) for n in range(3)))
    worker = Worker(container, consumers=[consumer], clock=FakeClock())

    assert worker.run_once() == 3

    assert sorted(recorder.handled) == [("k0", 0), ("k1", 1), ("k2", 2)]
    d = t.deliveries.c
    with container.engine.connect() as conn:
        rows = conn.execute(select(d.status, d.attempts, d.last_error)).all()
    assert {row.status for row in rows} == {"delivered"}
