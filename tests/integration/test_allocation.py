"""Reservations per order: all or nothing, backorders first-come-first-served, hold, release."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from orderhub.bootstrap import Container
from orderhub.domain.allocation import AllocationPlan, AllocationRequest, Pick
from orderhub.domain.errors import Conflict
from orderhub.domain.planning_simple import SimplePlanner
from orderhub.services import messagebus
from orderhub.services.allocation import _reserve, allocate_order, allocate_pending
from orderhub.services.inventory import consume_for_shipment
from orderhub.services.inventory_check import find_drift
from orderhub.services.orders import cancel_order
from tests.integration.inventory_helpers import (
    T0,
    add_locations,
    levels,
    outbox_events,
    place,
    receive,
    status,
)


@pytest.fixture
def stocked(seeded: Container) -> Container:
    """Locations a (priority 1) and b (priority 2); SKU-1: 3 at a, 5 at b; SKU-2: 2 at b."""
    add_locations(seeded, ("a", 1), ("b", 2))
    receive(seeded, "SKU-1", "a", 3)
    receive(seeded, "SKU-1", "b", 5)
    receive(seeded, "SKU-2", "b", 2)
    return seeded


def drift(container: Container) -> list[str]:
    with container.uow(read_only=True) as uow:
        return [str(d) for d in find_drift(uow)[1]]


def test_allocates_received_orders_in_receipt_order_from_one_location(
    stocked: Container,
) -> None:
    first = place(stocked, 2, [("SKU-1", 1)])  # received first, though placed later
    second = place(stocked, 1, [("SKU-1", 2), ("SKU-2", 1)])
    outcomes = allocate_pending(stocked.uow)
    assert [o.order_id for o in outcomes] == [first, second]
    assert status(stocked, first) == status(stocked, second) == "allocated"
    # first fits at a (priority 1); second needs SKU-2, only b has it: one location, b.
    assert levels(stocked) == {
        ("SKU-1", "a"): (3, 1),
        ("SKU-1", "b"): (5, 2),
        ("SKU-2", "b"): (2, 1),
    }
    with stocked.uow(read_only=True) as uow:
        views = uow.stock.views(second)
        order = uow.orders.get(second)
    assert {(v["sku"], v["location"], v["quantity"], v["status"]) for v in views} == {
        ("SKU-1", "b", 2, "reserved"),
        ("SKU-2", "b", 1, "reserved"),
    }
    assert views[0]["strategy"] == "routing.exact"
    chosen = views[0]["explanation"]["chosen"]
    assert [shipment["location"] for shipment in chosen["shipments"]] == ["b"]
    assert chosen["split"] is False
    assert {line.status.value for line in order.lines} == {"allocated"}
    assert drift(stocked) == []


def test_short_order_is_backordered_whole_and_allocated_when_stock_arrives(
    stocked: Container,
) -> None:
    short = place(stocked, 1, [("SKU-1", 1), ("SKU-2", 3)])
    with stocked.uow() as uow:
        assert allocate_order(uow, order_id=short).status.value == "backordered"
    assert levels(stocked)[("SKU-1", "a")] == (3, 0)  # nothing reserved: all or nothing
    receive(stocked, "SKU-2", "b", 1)
    assert status(stocked, short) == "allocated"
    assert levels(stocked)[("SKU-2", "b")] == (3, 3)


def test_waiting_orders_are_served_first_come_first_served(stocked: Container) -> None:
    early = place(stocked, 1, [("SKU-2", 3)])
    late = place(stocked, 2, [("SKU-2", 3)])
    allocate_pending(stocked.uow)
    assert (status(stocked, early), status(stocked, late)) == ("backordered", "backordered")
    receive(stocked, "SKU-2", "b", 1)
    assert (status(stocked, early), status(stocked, late)) == ("allocated", "backordered")
    receive(stocked, "SKU-2", "b", 3)
    assert status(stocked, late) == "allocated"


def test_a_waiting_order_that_cannot_be_filled_holds_nothing_back(stocked: Container) -> None:
    early = place(stocked, 1, [("SKU-1", 7), ("SKU-2", 3)])  # short of SKU-2: waits
    late = place(stocked, 2, [("SKU-1", 1)])  # early cannot be filled: it holds no SKU-1
    later = place(stocked, 3, [("SKU-1", 1)])
    allocate_pending(stocked.uow)
    assert [status(stocked, i) for i in (early, late, later)] == [
        "backordered",
        "allocated",
        "allocated",
    ]


def test_channel_that_holds_short_orders_puts_them_on_hold(stocked: Container) -> None:
    with stocked.uow() as uow:
        channel = uow.channels.get("app")
        channel.settings = {"insufficient_stock": "hold"}
        uow.channels.save(channel)
        uow.commit()
    order_id = place(stocked, 1, [("SKU-2", 9)], channel="app")
    allocate_pending(stocked.uow)
    with stocked.uow(read_only=True) as uow:
        order = uow.orders.get(order_id)
    assert (order.status.value, order.hold_reason) == ("on_hold", "insufficient_stock")


def test_cancelling_releases_the_reservation_to_the_next_waiting_order(
    stocked: Container,
) -> None:
    first = place(stocked, 1, [("SKU-2", 2)])
    second = place(stocked, 2, [("SKU-2", 1)])
    allocate_pending(stocked.uow)
    assert (status(stocked, first), status(stocked, second)) == ("allocated", "backordered")
    with stocked.uow() as uow:
        cancel_order(uow, order_id=first, reason="customer_request")
    assert (status(stocked, first), status(stocked, second)) == ("cancelled", "allocated")
    assert levels(stocked)[("SKU-2", "b")] == (2, 1)
    with stocked.uow(read_only=True) as uow:
        assert [v["status"] for v in uow.stock.views(first)] == ["released"]
    assert drift(stocked) == []


def test_cancelling_some_units_releases_only_those_units(stocked: Container) -> None:
    order_id = place(stocked, 1, [("SKU-2", 2)])
    allocate_pending(stocked.uow)
    assert levels(stocked)[("SKU-2", "b")] == (2, 2)
    with stocked.uow() as uow:
        line_id = uow.orders.get(order_id).lines[0].id
        cancel_order(uow, order_id=order_id, reason="short", units={line_id: 1})
    assert status(stocked, order_id) == "allocated"
    assert levels(stocked)[("SKU-2", "b")] == (2, 1)
    assert drift(stocked) == []


def test_shipment_consumes_reserved_units(stocked: Container) -> None:
    order_id = place(stocked, 1, [("SKU-1", 2)])
    allocate_pending(stocked.uow)
    with stocked.uow() as uow:
        line_id = uow.orders.get(order_id).lines[0].id
        with pytest.raises(Conflict):
            consume_for_shipment(uow, order_id=order_id, lines={line_id: 3}, location="a")
        consume_for_shipment(uow, order_id=order_id, lines={line_id: 2}, location="a")
        uow.commit()
    assert levels(stocked)[("SKU-1", "a")] == (1, 0)
    with stocked.uow(read_only=True) as uow:
        assert [v["status"] for v in uow.stock.views(order_id)] == ["shipped"]
    assert drift(stocked) == []


def test_order_received_consumer_allocates_and_is_idempotent(stocked: Container) -> None:
    order_id = place(stocked, 1, [("SKU-1", 1)])
    consumer = next(c for c in messagebus.internal_consumers() if c.wants("order.received"))
    received = outbox_events(stocked, "order.received")[0]
    message = messagebus.Message("m1", "order.received", received["stream"], received, "test", T0)
    for _ in range(2):
        with stocked.uow() as uow:
            consumer.handle(uow, message)
    assert status(stocked, order_id) == "allocated"
    assert levels(stocked)[("SKU-1", "a")] == (3, 1)


def test_available_changed_events_are_one_per_channel_and_sku_per_transaction(
    stocked: Container,
) -> None:
    before = len(outbox_events(stocked, "inventory.available_changed"))
    place(stocked, 1, [("SKU-1", 2), ("SKU-1", 1)])  # two lines, one SKU: one event each
    allocate_pending(stocked.uow)
    changed = outbox_events(stocked, "inventory.available_changed")[before:]
    assert sorted((e["channel"], e["sku"], e["available"]) for e in changed) == [
        ("app", "SKU-1", 5),
        ("web", "SKU-1", 5),
    ]
    assert {e["stream"] for e in changed} == {"inventory:SKU-1"}


def test_stock_ledger_refuses_update_and_delete(stocked: Container) -> None:
    for statement in (
        "UPDATE stock_movements SET on_hand_delta = 99",
        "DELETE FROM stock_movements",
    ):
        with stocked.engine.connect() as conn, pytest.raises(DBAPIError):
            conn.execute(text(statement))


class SpyPlanner(SimplePlanner):
    """The simple planner, remembering what it was asked (a planner only sees the request)."""

    def __init__(self) -> None:
        self.requests: list[AllocationRequest] = []

    def plan(self, request: AllocationRequest) -> AllocationPlan:
        self.requests.append(request)
        return super().plan(request)


def test_planner_sees_availability_and_orders_allocated_today_per_location(
    stocked: Container,
) -> None:
    first = place(stocked, 1, [("SKU-1", 1)])
    second = place(stocked, 2, [("SKU-1", 1), ("SKU-2", 1)])
    spy = SpyPlanner()
    with stocked.uow() as uow:
        allocate_order(uow, order_id=first, planner=spy)
    with stocked.uow() as uow:
        allocate_order(uow, order_id=second, planner=spy)
    before, after = spy.requests
    assert before.orders_today == {}
    assert after.orders_today == {"a": 1}
    assert after.available == {("SKU-1", "a"): 2, ("SKU-1", "b"): 5, ("SKU-2", "b"): 2}
    assert [loc.code for loc in after.locations] == ["a", "b"]


def test_an_inactive_location_is_passed_to_routing_and_explained_never_used(
    stocked: Container,
) -> None:
    with stocked.uow(actor="test") as uow:
        uow.locations.save(replace(uow.locations.get("a"), active=False))
        uow.commit()
    order = place(stocked, 1, [("SKU-1", 2)])
    with stocked.uow() as uow:
        outcome = allocate_order(uow, order_id=order)
    assert outcome.status.value == "allocated"
    assert outcome.plan is not None
    assert outcome.plan.locations == ["b"]  # a holds 3 and would be first, but is inactive
    assert {"location": "a", "reason": "inactive", "detail": "location is inactive"} in (
        outcome.plan.explanation["excluded"]
    )
    assert levels(stocked)[("SKU-1", "a")] == (3, 0)


def test_a_plan_asking_more_than_a_location_has_reserves_nothing(stocked: Container) -> None:
    """All or nothing per plan: when a later guard fails (here the plan wants 3 of SKU-2 at b,
    which has 2) the units the earlier guards held are given back — by a savepoint on
    PostgreSQL, by giving them back on SQLite — and the plan is refused."""
    before = levels(stocked)
    plan = AllocationPlan(
        (Pick("l1", "SKU-1", "a", 2), Pick("l1", "SKU-1", "b", 1), Pick("l2", "SKU-2", "b", 3)),
        {},
        "test",
    )
    with stocked.uow(actor="test") as uow:
        locations = uow.locations.list()
        assert not _reserve(uow, plan, locations)
        uow.commit()
    assert levels(stocked) == before
    enough = AllocationPlan((*plan.picks[:2], Pick("l2", "SKU-2", "b", 2)), {}, "test")
    with stocked.uow(actor="test") as uow:
        assert _reserve(uow, enough, uow.locations.list())
        uow.commit()
    assert levels(stocked)[("SKU-1", "a")] == (3, 2)
    assert levels(stocked)[("SKU-2", "b")] == (2, 2)
