"""A long queue of orders waiting for stock costs the orders after it only what first come,
first served needs.

No read binds a parameter per waiting order: SQLite refuses a statement of more than 32,766
(here lowered to ``LIMIT``, fewer than the queue), PostgreSQL more than 65,535. And while a
SKU has nothing free, no order wanting it reads the queue at all: a stock-out's thousands
waiting used to be read, with their lines, by every ingest group after them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, select

from orderhub.bootstrap import Container
from orderhub.channels import native
from orderhub.domain.orders import OrderStatus
from orderhub.services import allocation
from orderhub.services.ingest import Incoming, Outcome, ingest_batch
from orderhub.store import tables as t
from tests.conftest import native_order
from tests.integration.inventory_helpers import add_locations, levels, receive

WAITING = 60
LIMIT = 40  # the parameters a statement may bind in these tests: fewer than the orders waiting
QUEUE_READ = "SELECT order_lines.order_id, orders.created_at, order_lines.sku"


def incoming(number: int, sku: str) -> Incoming:
    body = native_order(f"Q-{number}", lines=[{"sku": sku, "quantity": 1, "unit_price": "1.00"}])
    order = native.NativeOrder.model_validate(body)
    return Incoming(order.to_draft(), native.SOURCE, order.model_dump_json())


@pytest.fixture
def queued(seeded: Container) -> Container:
    """Location ``a``: SKU-2 in stock, SKU-1 out of it with ``WAITING`` orders waiting."""
    add_locations(seeded, ("a", 1))
    receive(seeded, "SKU-2", "a", 100)
    with seeded.uow(actor="test") as uow:
        items = [incoming(n, "SKU-1") for n in range(WAITING)]
        results = ingest_batch(uow, items, allocate=True)
    assert [r.outcome for r in results] == [Outcome.CREATED] * WAITING
    assert len(by_status(seeded)[OrderStatus.BACKORDERED]) == WAITING
    return seeded


@pytest.fixture
def selects(queued: Container) -> Iterator[list[tuple[str, list[Any]]]]:
    """Each SELECT sent from now on, with the parameters it bound; on SQLite the driver
    refuses more than ``LIMIT``, as it would more than 32,766."""
    engine = queued.engine
    sent: list[tuple[str, list[Any]]] = []

    def record(*args: Any) -> None:
        statement, parameters, many = " ".join(args[2].split()), args[3], args[5]
        if statement.startswith("SELECT") and not many:
            values = parameters.values() if isinstance(parameters, dict) else parameters
            sent.append((statement, list(values)))

    def lower(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, LIMIT)

    if engine.dialect.name == "sqlite":
        engine.dispose()  # every connection from now on is a new one, with the lower limit
        event.listen(engine, "connect", lower)
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)
        if engine.dialect.name == "sqlite":
            event.remove(engine, "connect", lower)


def by_status(container: Container) -> dict[OrderStatus, list[str]]:
    """Order ids per status, in the queue's rank (when the hub received them)."""
    o = t.orders.c
    found: dict[OrderStatus, list[str]] = {}
    with container.uow(read_only=True) as uow:
        for row in uow.conn.execute(select(o.id, o.status).order_by(o.created_at, o.id)):
            found.setdefault(OrderStatus(row.status), []).append(row.id)
    return found


def test_orders_keep_coming_after_a_stock_out_without_reading_its_queue(
    queued: Container, selects: list[tuple[str, list[Any]]]
) -> None:
    hot = [incoming(100 + n, "SKU-1") for n in range(4)]
    cold = [incoming(200 + n, "SKU-2") for n in range(4)]
    with queued.uow(actor="test") as uow:
        results = ingest_batch(uow, hot + cold, allocate=True)

    assert [r.outcome for r in results] == [Outcome.CREATED] * 8
    status = by_status(queued)
    assert set(status[OrderStatus.BACKORDERED][-4:]) == {r.order_id for r in results[:4]}
    assert set(status[OrderStatus.ALLOCATED]) == {r.order_id for r in results[4:]}
    # Read for SKU-2 (free: does anyone wait for it?), never for SKU-1 (nothing free).
    queue_reads = [bound for s, bound in selects if s.startswith(QUEUE_READ)]
    assert [[v for v in bound if v in ("SKU-1", "SKU-2")] for bound in queue_reads] == [["SKU-2"]]
    assert max(len(bound) for _, bound in selects) < LIMIT


def test_stock_arriving_for_a_long_queue_wakes_it_first_come_first_served_reading_it_once(
    queued: Container, selects: list[tuple[str, list[Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The wake allocates in transactions of ``WAKE_GROUP`` orders (lowered here below the
    parameter limit, as 200 is far below 32,766): each reads the queue once, not per order."""
    monkeypatch.setattr(allocation, "WAKE_GROUP", 10)
    receive(queued, "SKU-1", "a", 45)

    status = by_status(queued)
    queue = status[OrderStatus.ALLOCATED] + status[OrderStatus.BACKORDERED]
    assert len(status[OrderStatus.ALLOCATED]) == 45
    assert status[OrderStatus.ALLOCATED] == queue[:45]  # the first 45 received
    assert levels(queued)[("SKU-1", "a")] == (45, 45)
    assert max(len(bound) for _, bound in selects) < LIMIT
    # 60 waiting, 10 a transaction: at most 6 reads of the queue for the 45 woken.
    assert len([s for s, _ in selects if s.startswith(QUEUE_READ)]) <= 6
