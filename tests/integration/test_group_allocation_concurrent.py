"""PostgreSQL: an ingest group plans without holding the stock it reads, and stays exact.

A group of new orders is allocated from reads made once (``allocation.AllocationGroup``).
Locking every level it reads before it plans made the API processes' groups run one after the
other, each holding the levels through its whole transaction. Now a group reads without
locking; its guarded UPDATEs at the end (in key order) are what keep a unit from being
reserved twice, and a guard that fails under reads gone stale undoes the group and allocates
each order again from fresh ones. Where a location has a daily capacity the day counts decide
where an order may go, so the group still locks the levels and day counts before it reads.

Each test lets another ingest run while the group plans (in a thread, so that one waiting for
the group's locks cannot hang the test) and checks what both left behind.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from orderhub.bootstrap import Container
from orderhub.channels import native
from orderhub.domain.allocation import AllocationPlan, AllocationRequest, Planner
from orderhub.domain.locations import Location, LocationAddress, LocationKind, StoreSettings
from orderhub.services import ingest
from orderhub.services.ingest import Incoming, IngestResult, Outcome, ingest_batch
from orderhub.services.inventory_check import find_drift
from orderhub.store import tables as t
from orderhub.store.unit_of_work import UnitOfWork
from tests.conftest import native_order
from tests.integration.inventory_helpers import add_locations, levels, receive, status


@pytest.fixture
def hub(seeded: Container) -> Container:
    if seeded.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer: an ingest group's reads cannot go stale")
    return seeded


def incoming(
    number: int, sku: str, quantity: int, *, customer: str = "", **more: object
) -> Incoming:
    body = native_order(
        f"C-{number}",
        lines=[{"sku": sku, "quantity": quantity, "unit_price": "1.00"}],
        customer={"email": customer or f"buyer-{number}@example.com", "name": "Buyer"},
        **more,
    )
    order = native.NativeOrder.model_validate(body)
    return Incoming(order.to_draft(), native.SOURCE, order.model_dump_json())


class Meanwhile:
    """The first planner ingest asks for: the first time it plans, it ingests ``theirs`` in
    another thread and waits for that up to ``wait`` seconds. The group has read the stock by
    then and holds whatever it has locked. Any later planner (the retry's) is the real one."""

    name = "meanwhile"

    def __init__(self, hub: Container, theirs: list[Incoming], wait: float) -> None:
        self.hub, self.theirs, self.wait = hub, theirs, wait
        self.real: Planner | None = None
        self.results: list[IngestResult] = []
        self.thread: threading.Thread | None = None
        self.finished_meanwhile: bool | None = None

    def planner(self, uow: UnitOfWork) -> Planner:
        if self.real is None:
            self.real = REAL_PLANNER(uow)
            return self
        return REAL_PLANNER(uow)

    def plan(self, request: AllocationRequest) -> AllocationPlan:
        assert self.real is not None
        if self.thread is None:
            self.thread = threading.Thread(target=self._ingest)
            self.thread.start()
            self.thread.join(self.wait)
            self.finished_meanwhile = not self.thread.is_alive()
        return self.real.plan(request)

    def _ingest(self) -> None:
        with self.hub.uow(actor="test") as uow:
            self.results = ingest_batch(uow, self.theirs, allocate=True)


REAL_PLANNER = ingest.default_planner


def side_by_side(
    hub: Container,
    monkeypatch: pytest.MonkeyPatch,
    mine: list[Incoming],
    theirs: list[Incoming],
    *,
    wait: float,
) -> tuple[list[IngestResult], list[IngestResult], bool | None]:
    """Ingest ``mine`` as a group, and ``theirs`` once the group plans: both results, and
    whether ``theirs`` was done within ``wait`` seconds (not kept waiting by the group)."""
    meanwhile = Meanwhile(hub, theirs, wait)
    monkeypatch.setattr(ingest, "default_planner", meanwhile.planner)
    with hub.uow(actor="test") as uow:
        results = ingest_batch(uow, mine, allocate=True)
    assert meanwhile.thread is not None
    meanwhile.thread.join(30)
    assert not meanwhile.thread.is_alive()
    return results, meanwhile.results, meanwhile.finished_meanwhile


def test_a_group_whose_units_are_taken_while_it_plans_backorders_and_oversells_nothing(
    hub: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another ingest takes both units of SKU-1 while the group plans with them: it is not
    kept waiting (nothing is locked yet), the group's guard then fails, and its order is
    allocated again from fresh reads: backordered (the web channel's policy). Two units, two
    reserved, and the ledger sums to the levels."""
    add_locations(hub, ("a", 1))
    receive(hub, "SKU-1", "a", 2)
    mine, theirs, unhindered = side_by_side(
        hub, monkeypatch, [incoming(1, "SKU-1", 2)], [incoming(2, "SKU-1", 2)], wait=2
    )

    assert unhindered, "the other ingest waited for the planning group"
    results = [*mine, *theirs]
    assert [r.outcome for r in results] == [Outcome.CREATED] * 2
    assert [len(r.allocations) for r in results] == [0, 1]
    assert [status(hub, r.order_id or "") for r in results] == ["backordered", "allocated"]
    assert levels(hub)[("SKU-1", "a")] == (2, 2)
    with hub.uow(read_only=True) as uow:
        assert find_drift(uow)[1] == []


def test_a_group_holds_the_day_counts_where_a_location_has_a_daily_capacity(
    hub: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Location a takes one order a day, b any number, a first. Another ingest that starts
    while the group plans its order for a waits for the group's commit (the group locked the
    levels and day counts before reading them), then sees a full and goes to b. Without the
    locks both would have read a's count as 0: two orders on a day of one."""
    add_locations(hub, ("a", 1), ("b", 2), capacities={"a": 1})
    for location in ("a", "b"):
        receive(hub, "SKU-1", location, 5)
    mine, theirs, unhindered = side_by_side(
        hub, monkeypatch, [incoming(1, "SKU-1", 1)], [incoming(2, "SKU-1", 1)], wait=1.5
    )

    with hub.uow(read_only=True) as uow:
        d = t.location_daily_orders.c
        counts = {r.location: r.orders for r in uow.conn.execute(select(d.location, d.orders))}
    assert counts == {"a": 1, "b": 1}
    assert [[a["location"] for a in r.allocations] for r in (*mine, *theirs)] == [["a"], ["b"]]
    assert unhindered is False, "the other ingest did not wait"


def test_a_returning_customer_does_not_keep_another_group_waiting(
    hub: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two orders of one customer, ingested side by side: the second is not kept waiting for
    the first's commit by its customer row (only a new customer's insert would wait), and
    both orders are the one customer's."""
    add_locations(hub, ("a", 1))
    receive(hub, "SKU-1", "a", 5)
    with hub.uow(actor="test") as uow:
        [first] = ingest_batch(uow, [incoming(0, "SKU-1", 1, customer="b@example.com")])
    mine, theirs, unhindered = side_by_side(
        hub,
        monkeypatch,
        [incoming(1, "SKU-1", 1, customer="b@example.com")],
        [incoming(2, "SKU-1", 1, customer="b@example.com")],
        wait=10,
    )

    assert unhindered, "the other ingest waited for the group's customer"
    with hub.uow(read_only=True) as uow:
        ids = [r.order_id or "" for r in (first, *mine, *theirs)]
        customers = {uow.orders.get(order_id).customer.id for order_id in ids}
    assert len(customers) == 1
    assert levels(hub)[("SKU-1", "a")] == (5, 2)


def test_a_group_with_a_pickup_locks_ahead(hub: Container, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pick-up reserves at its store within its own item, before the group's guarded
    UPDATEs: out of their key order, which two groups could deadlock on. A group with one
    locks its levels first, as orders allocated alone do: another ingest of the pick-up's SKU,
    started while the group plans its other order, waits for its commit."""
    with hub.uow(actor="test") as uow:
        store = StoreSettings(opening_hours={})
        uow.locations.add(
            Location("s", "S", LocationKind.STORE, LocationAddress("US"), store=store)
        )
        uow.commit()
    add_locations(hub, ("a", 1))
    receive(hub, "SKU-1", "s", 5)
    receive(hub, "SKU-2", "a", 5)
    pickup = incoming(1, "SKU-1", 1, delivery={"type": "pickup", "location": "s"})
    shipped = incoming(3, "SKU-2", 1)  # planned by routing: the other ingest starts then
    mine, theirs, unhindered = side_by_side(
        hub, monkeypatch, [pickup, shipped], [incoming(2, "SKU-1", 1)], wait=1.5
    )

    placed = [[a["location"] for a in r.allocations] for r in (*mine, *theirs)]
    assert placed == [["s"], ["a"], ["s"]]
    assert levels(hub)[("SKU-1", "s")] == (5, 2)
    assert unhindered is False, "the other ingest did not wait"
