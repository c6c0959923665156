"""Allocation on ingest (``allocate_on_ingest``, a real hub's default): ``POST /v1/orders``
reserves, routes and allocates the new order in its own transaction.

Every guarantee of the worker's allocation holds: no oversell among concurrent requests, the
order's history chained received → routed → allocated, its events queued in that order in its
stream, the worker's later ``order.received`` delivery a no-op (nothing reserved twice), and
an allocation that fails leaves the order created and ``received`` for the worker.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from orderhub.api.app import create_app
from orderhub.bootstrap import Container, bootstrap
from orderhub.channels import native
from orderhub.config import Settings
from orderhub.services import allocation
from orderhub.services.ingest import Outcome, ingest_order
from orderhub.services.inventory_check import find_drift
from orderhub.store import history
from orderhub.store import tables as t
from orderhub.workers.relay import Worker
from tests.conftest import native_order
from tests.integration.inventory_helpers import add_locations, levels, receive
from tests.support.clock import FakeClock


@pytest.fixture
def hub(seeded: Container, database_url: str) -> Iterator[Container]:
    """The seeded hub with allocation on ingest on (the tests' default is off)."""
    container = bootstrap(Settings(database_url=database_url, allocate_on_ingest=True))
    yield container
    container.close()


@pytest.fixture
def api(hub: Container) -> Iterator[TestClient]:
    with TestClient(create_app(hub)) as test_client:
        yield test_client


def post(container: Container, number: int, lines: list[tuple[str, int]]) -> tuple[Outcome, str]:
    body = native_order(
        f"I-{number}", lines=[{"sku": s, "quantity": q, "unit_price": "1.00"} for s, q in lines]
    )
    order = native.NativeOrder.model_validate(body)
    with container.uow(actor="test") as uow:
        result = ingest_order(
            uow,
            draft=order.to_draft(),
            source=native.SOURCE,
            payload=order.model_dump_json(),
            allocate=True,
        )
    assert result.order_id
    return result.outcome, result.order_id


def drain(container: Container) -> None:
    worker = Worker(container, clock=FakeClock())
    while worker.run_once():
        pass


def stream_types(container: Container, order_id: str) -> list[str]:
    o = t.outbox.c
    with container.engine.connect() as conn:
        query = select(o.type).where(o.stream == f"order:{order_id}").order_by(o.seq)
        return list(conn.execute(query).scalars())


def test_the_answer_is_the_allocated_order_with_its_history_chained_in_order(
    hub: Container, api: TestClient, admin: dict[str, str]
) -> None:
    add_locations(hub, ("a", 1))
    receive(hub, "SKU-1", "a", 5)
    receive(hub, "SKU-2", "a", 5)

    response = api.post("/v1/orders", json=native_order(), headers=admin)

    assert response.status_code == 201, response.text
    order = response.json()
    assert order["status"] == "allocated"
    assert {(a["sku"], a["location"], a["quantity"]) for a in order["allocations"]} == {
        ("SKU-1", "a", 2),
        ("SKU-2", "a", 1),
    }
    assert levels(hub)[("SKU-1", "a")] == (5, 2)
    with hub.uow(read_only=True) as uow:
        kinds = [event.type for event in history.events_of(uow.conn, order["id"])]
        assert [b for b in history.verify(uow.conn) if isinstance(b, history.ChainBreak)] == []
    assert kinds[0] == "order.received"
    assert kinds.index("order.routed") < kinds.index("order.allocated")
    streamed = stream_types(hub, order["id"])
    assert streamed[0] == "order.received"
    assert "order.allocated" in streamed

    again = api.post("/v1/orders", json=native_order(), headers=admin)  # idempotent
    assert again.status_code == 200
    assert again.json()["id"] == order["id"]
    assert levels(hub)[("SKU-1", "a")] == (5, 2)


def test_an_order_without_stock_is_answered_backordered(
    hub: Container, api: TestClient, admin: dict[str, str]
) -> None:
    add_locations(hub, ("a", 1))

    response = api.post("/v1/orders", json=native_order(), headers=admin)

    assert response.status_code == 201, response.text
    assert response.json()["status"] == "backordered"


def test_an_order_allocated_on_ingest_gets_no_allocate_delivery_and_one_left_to_the_worker_does(
    hub: Container,
) -> None:
    add_locations(hub, ("east", 1))
    receive(hub, "SKU-1", "east", 5)
    drain(hub)
    allocated = [post(hub, n, [("SKU-1", 1)])[1] for n in range(3)]
    with hub.uow(actor="test") as uow:  # one the ingest could not allocate: none in stock
        body = native_order("I-late", lines=[{"sku": "SKU-2", "quantity": 1, "unit_price": "1.00"}])
        draft = native.NativeOrder.model_validate(body).to_draft()
        late = ingest_order(uow, draft=draft, source=native.SOURCE, payload="{}", allocate=False)
    drain(hub)
    d = t.deliveries.c
    with hub.engine.connect() as conn:
        allocate_deliveries = set(
            conn.execute(select(d.stream).where(d.consumer == "inventory.allocate")).scalars()
        )
        dispatches = conn.execute(
            select(func.count()).where(d.consumer == "fulfilment.dispatch")
        ).scalar_one()
    assert allocate_deliveries == {f"order:{late.order_id}"}  # not one per allocated order
    assert dispatches == len(allocated)
    with hub.uow(read_only=True) as uow:
        assert {uow.orders.get(i).status.value for i in allocated} == {"in_fulfilment"}


def test_concurrent_requests_never_oversell_and_the_worker_reserves_nothing_twice(
    hub: Container,
) -> None:
    add_locations(hub, ("a", 1), ("b", 2))
    stock = {("SKU-1", "a"): 3, ("SKU-1", "b"): 4, ("SKU-2", "a"): 5}
    for (sku, location), quantity in stock.items():
        receive(hub, sku, location, quantity)
    clients, per_client = 6, 5
    barrier = threading.Barrier(clients)
    created: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def client(number: int) -> None:
        try:
            barrier.wait()
            for i in range(per_client):
                n = number * per_client + i
                outcome, order_id = post(hub, n, [("SKU-1" if n % 2 else "SKU-2", 1)])
                assert outcome == Outcome.CREATED
                with lock:
                    created.append(order_id)
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []

    def settled() -> tuple[dict[tuple[str, str], tuple[int, int]], Counter[str]]:
        with hub.uow(read_only=True) as uow:
            statuses = Counter(uow.orders.get(i).status.value for i in created)
            assert find_drift(uow)[1] == []
        return levels(hub), statuses

    final, statuses = settled()
    assert final[("SKU-1", "a")][1] + final[("SKU-1", "b")][1] == min(15, 7)
    assert final[("SKU-2", "a")][1] == min(15, 5)
    assert statuses == {"allocated": 12, "backordered": 18}

    drain(hub)  # the worker's order.received deliveries find every order dealt with

    with hub.uow(read_only=True) as uow:
        assert sum(lv.reserved for lv in uow.stock.all_levels()) == 12
        assert find_drift(uow)[1] == []


def test_a_failed_allocation_leaves_the_order_received_for_the_worker(
    hub: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_locations(hub, ("a", 1))
    receive(hub, "SKU-1", "a", 5)
    real = allocation.allocate_order

    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("planner down")

    monkeypatch.setattr("orderhub.services.ingest.allocate_order", broken)
    outcome, order_id = post(hub, 1, [("SKU-1", 2)])
    assert outcome == Outcome.CREATED
    with hub.uow(read_only=True) as uow:
        assert uow.orders.get(order_id).status.value == "received"
    assert levels(hub)[("SKU-1", "a")] == (5, 0)

    monkeypatch.setattr("orderhub.services.ingest.allocate_order", real)
    drain(hub)

    with hub.uow(read_only=True) as uow:
        assert uow.orders.get(order_id).status.value in {"allocated", "in_fulfilment"}
    assert levels(hub)[("SKU-1", "a")] == (5, 2)


@pytest.mark.parametrize("stocked", [True, False], ids=["allocated", "backordered"])
def test_the_answer_built_without_reading_back_is_what_a_get_shows(
    hub: Container, api: TestClient, admin: dict[str, str], stocked: bool
) -> None:
    """The answer to a new order is built from what its transaction wrote, not read back: it
    must still be exactly the order a GET reads (times in UTC, amounts, the allocations with
    their plan's explanation as stored)."""
    add_locations(hub, ("a", 1), ("b", 2))
    if stocked:
        receive(hub, "SKU-1", "a", 1)  # the second unit comes from b: a split plan
        receive(hub, "SKU-1", "b", 5)
        receive(hub, "SKU-2", "b", 5)
    body = native_order(placed_at="2026-11-20T23:30:00.123456+05:30", metadata={"k": [1, "x"]})

    response = api.post("/v1/orders", json=body, headers=admin)

    assert response.status_code == 201, response.text
    created = response.json()
    assert created["status"] == ("allocated" if stocked else "backordered")
    assert created["placed_at"] == "2026-11-20T18:00:00.123456Z"
    assert bool(created["allocations"]) == stocked
    read = api.get(f"/v1/orders/{created['id']}", headers=admin)
    assert read.status_code == 200
    assert created == read.json()


def test_an_order_left_to_the_worker_is_answered_as_read_back(
    seeded: Container, admin: dict[str, str]
) -> None:
    """Allocation on ingest off: the new order's answer, built from memory, is the GET's."""
    with TestClient(create_app(seeded)) as client:
        response = client.post("/v1/orders", json=native_order(), headers=admin)
        assert response.status_code == 201, response.text
        read = client.get(f"/v1/orders/{response.json()['id']}", headers=admin)
    assert response.json()["status"] == "received"
    assert response.json() == read.json()
