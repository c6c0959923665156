"""The worker's dispatch deliveries read their orders before its transaction begins, on a
read-only snapshot (``fulfilment_wiring.read_early``, SQLite): none is read again inside
unless it changed in between, and one that did (an API cancel committed between the early
read and the transaction) is dispatched as if the change had come first — as on PostgreSQL,
which reads them inside, as before."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select

from orderhub.bootstrap import Container
from orderhub.services import fulfilment_wiring
from orderhub.services.messagebus import Message
from orderhub.store import tables
from orderhub.store.db import READ_ONLY, is_postgres
from orderhub.store.unit_of_work import UnitOfWork
from orderhub.workers import relay as relay_module
from orderhub.workers.relay import Worker
from tests.conftest import native_order
from tests.integration.test_worker_batches import (
    ORDERS,
    dispatched,
    drain,
    receipts,
    stocked,
)
from tests.support.clock import FakeClock

ORDER_READ = "SELECT orders.id, orders.channel_code,"  # a whole order row (not its version)
VERSIONS = "SELECT orders.id, orders.version"


@pytest.fixture
def reads(seeded: Container) -> Iterator[Counter[tuple[bool, str]]]:
    """The statements run from here on by (on a read-only connection, first words)."""
    seen: Counter[tuple[bool, str]] = Counter()

    def count(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        read_only = bool(conn.get_execution_options().get(READ_ONLY, False))
        seen[read_only, " ".join(statement.split()[:3]).rstrip("0123456789")] += 1

    event.listen(seeded.engine, "before_cursor_execute", count)
    yield seen
    event.remove(seeded.engine, "before_cursor_execute", count)


def allocated(client: TestClient, admin: dict[str, str], relay: Worker, prefix: str) -> list[str]:
    """Ten new orders numbered ``prefix``…, allocated (their dispatches due next cycle)."""
    ids = []
    for n in range(ORDERS):
        posted = client.post("/v1/orders", json=native_order(f"{prefix}{n}"), headers=admin)
        assert posted.is_success
        ids.append(posted.json()["id"])
    relay.run_once()
    return ids


def cancel(client: TestClient, admin: dict[str, str], order_id: str, *, one_unit: bool) -> None:
    """Cancel the whole order, or one unit of its first line (an edit of its lines)."""
    body: dict[str, Any] = {"reason": "customer_request"}
    if one_unit:
        line = client.get(f"/v1/orders/{order_id}", headers=admin).json()["lines"][0]["id"]
        body["lines"] = [{"line_id": line, "quantity": 1}]
    assert client.post(f"/v1/orders/{order_id}/cancel", json=body, headers=admin).is_success


def test_a_batch_of_dispatches_reads_its_orders_before_the_write_transaction(
    seeded: Container,
    client: TestClient,
    admin: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    reads: Counter[tuple[bool, str]],
) -> None:
    monkeypatch.setattr(relay_module, "TOGETHER_SECONDS", 60.0)  # one transaction
    stocked(client, admin)
    relay = Worker(seeded, clock=FakeClock())
    drain(relay)
    allocated(client, admin, relay, "E-")
    reads.clear()
    assert relay.run_once() == ORDERS
    if is_postgres(seeded.engine):  # read inside, as before: the API does not wait for it
        assert (reads[True, ORDER_READ], reads[False, ORDER_READ]) == (0, 1)
    else:
        assert reads[True, ORDER_READ] == 1, "the ten orders read once, on the snapshot"
        assert reads[False, ORDER_READ] == 0, "… and not again in the write transaction"
    assert reads[False, VERSIONS] == 1, "checked (SQLite) or locked (PostgreSQL) together"
    assert {st for st, _v, _t in dispatched(seeded, "E-")["orders"].values()} == {"in_fulfilment"}


def test_an_order_cancelled_between_the_early_read_and_the_transaction_is_read_again(
    seeded: Container,
    client: TestClient,
    admin: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    reads: Counter[tuple[bool, str]],
) -> None:
    """The same end as when the cancels came before the cycle: the wholly cancelled order is
    not dispatched, the other ships its remaining units, every history chains, no failure."""
    monkeypatch.setattr(relay_module, "TOGETHER_SECONDS", 60.0)
    stocked(client, admin)
    relay = Worker(seeded, clock=FakeClock())
    drain(relay)

    reference = allocated(client, admin, relay, "R-")  # cancelled before the cycle
    cancel(client, admin, reference[3], one_unit=True)
    cancel(client, admin, reference[5], one_unit=False)
    drain(relay)

    ids = allocated(client, admin, relay, "C-")  # cancelled after the early read
    read_early = fulfilment_wiring.read_early
    cancelled: list[str] = []

    def read_then_cancel(uow: UnitOfWork, messages: list[Message]) -> None:
        read_early(uow, messages)
        if not cancelled and any(m.stream == f"order:{ids[3]}" for m in messages):
            cancel(client, admin, ids[3], one_unit=True)  # committed by the API meanwhile
            cancel(client, admin, ids[5], one_unit=False)
            cancelled.extend((ids[3], ids[5]))
            reads.clear()  # what the worker's transaction reads, from here

    monkeypatch.setattr(fulfilment_wiring, "read_early", read_then_cancel)
    relay = Worker(seeded, clock=FakeClock())  # its consumers take the hook above
    assert relay.run_once() == ORDERS  # the ten dispatches (the cancels' deliveries next)
    assert cancelled == [ids[3], ids[5]]
    # SQLite: only the two that changed read again, together (PostgreSQL: all ten, as before)
    assert reads[False, ORDER_READ] == 1
    assert reads[True, ORDER_READ] == 0, "the cancelled orders are not read early again"
    drain(relay)
    with seeded.engine.connect() as conn:
        d = tables.deliveries.c
        failures = conn.execute(select(d.id).where(d.last_error.is_not(None))).all()
    assert failures == [], "handled in the cycle, not failed and retried"
    assert receipts(seeded, "fulfilment.dispatch") == 2 * ORDERS
    assert dispatched(seeded, "C-") == dispatched(seeded, "R-")


def test_orders_read_early_and_not_reached_are_not_read_again_by_the_next_transaction(
    seeded: Container,
    client: TestClient,
    admin: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    reads: Counter[tuple[bool, str]],
) -> None:
    """A transaction that gives way after one delivery leaves the orders it read early for
    the next: the ten read once in all, each still checked current inside its transaction."""
    if is_postgres(seeded.engine):
        pytest.skip("PostgreSQL reads its orders inside the transaction")
    monkeypatch.setattr(relay_module, "TOGETHER_SECONDS", 0.0)  # one delivery per transaction
    stocked(client, admin)
    relay = Worker(seeded, clock=FakeClock())
    drain(relay)
    allocated(client, admin, relay, "S-")
    reads.clear()
    assert relay.run_once() == ORDERS
    assert reads[True, ORDER_READ] == 1, "read once, on the first transaction's snapshot"
    assert reads[False, ORDER_READ] == 0
    assert reads[False, VERSIONS] == ORDERS, "each checked current in its own transaction"
    assert {st for st, _v, _t in dispatched(seeded, "S-")["orders"].values()} == {"in_fulfilment"}
