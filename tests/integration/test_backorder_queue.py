"""The backorder queue: every release wakes the waiting orders, first received first, and an
order that cannot be filled holds nothing back (a channel key cannot block every channel)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from orderhub.bootstrap import Container
from orderhub.domain.access import Role
from orderhub.domain.inventory import Movement, MovementKind
from orderhub.domain.orders import LineStatus, OrderStatus
from orderhub.fulfilment.base import Rejected
from orderhub.services import allocation, fulfilment
from orderhub.services.allocation import AllocationOutcome, allocate_order, allocate_pending
from orderhub.services.fulfilment_wiring import default_dependencies
from orderhub.services.orders import cancel_order, reroute_order
from orderhub.store.unit_of_work import UnitOfWork
from tests.conftest import bearer, make_key, native_order
from tests.integration.after_sale_support import dispatch
from tests.integration.inventory_helpers import add_locations, levels, place, receive, status


@pytest.fixture
def stocked(seeded: Container) -> Container:
    """Locations a (priority 1) and b (priority 2); SKU-1: 3 at a, 5 at b; SKU-2: 2 at b."""
    add_locations(seeded, ("a", 1), ("b", 2))
    receive(seeded, "SKU-1", "a", 3)
    receive(seeded, "SKU-1", "b", 5)
    receive(seeded, "SKU-2", "b", 2)
    return seeded


def allocated(container: Container, number: int, lines: list[tuple[str, int]]) -> str:
    order_id = place(container, number, lines)
    with container.uow(actor="test") as uow:
        assert allocate_order(uow, order_id=order_id).status == OrderStatus.ALLOCATED
    return order_id


def waiting(container: Container, number: int, lines: list[tuple[str, int]], **kw: str) -> str:
    order_id = place(container, number, lines, **kw)
    with container.uow(actor="test") as uow:
        assert allocate_order(uow, order_id=order_id).status == OrderStatus.BACKORDERED
    return order_id


def set_channel(container: Container, code: str, **changes: object) -> None:
    with container.uow(actor="test") as uow:
        uow.channels.save(replace(uow.channels.get(code), **changes))  # type: ignore[arg-type]
        uow.commit()


# -- every release wakes the waiting orders ----------------------------------------------------
def test_cancelling_a_dispatched_order_wakes_the_waiting_orders(stocked: Container) -> None:
    first = allocated(stocked, 1, [("SKU-2", 2)])
    dispatch(stocked, first)  # the provider holds it: the cancellation takes it back first
    second = waiting(stocked, 2, [("SKU-2", 1)])
    with stocked.uow(actor="test") as uow:
        cancel_order(uow, order_id=first, reason="customer_request")
    assert (status(stocked, first), status(stocked, second)) == ("cancelled", "allocated")
    assert levels(stocked)[("SKU-2", "b")] == (2, 1)


def test_cancelling_some_dispatched_units_wakes_the_waiting_orders(stocked: Container) -> None:
    first = allocated(stocked, 1, [("SKU-2", 2)])
    dispatch(stocked, first)
    second = waiting(stocked, 2, [("SKU-2", 1)])
    with stocked.uow(actor="test") as uow:
        line_id = uow.orders.get(first).lines[0].id
        cancel_order(uow, order_id=first, reason="customer_request", units={line_id: 1})
    assert (status(stocked, first), status(stocked, second)) == ("allocated", "allocated")
    assert levels(stocked)[("SKU-2", "b")] == (2, 2)


def reject(container: Container, fulfilment_id: str) -> None:
    with container.uow(actor="test") as uow, default_dependencies(uow) as deps:
        refusal = Rejected(fulfilment_id, "cannot ship today")
        fulfilment.apply_updates(uow, provider_code="warehouse", updates=[refusal], deps=deps)


def test_a_provider_rejection_wakes_the_waiting_orders(stocked: Container) -> None:
    set_channel(stocked, "app", locations_allowed=["a"])
    first = allocated(stocked, 1, [("SKU-1", 3)])  # all of a's SKU-1
    (fulfilment_id,) = dispatch(stocked, first)
    second = waiting(stocked, 2, [("SKU-1", 1)], channel="app")  # app ships from a only
    reject(stocked, fulfilment_id)  # a refuses: the first goes to b, a's units come free
    assert (status(stocked, first), status(stocked, second)) == ("allocated", "allocated")
    assert levels(stocked)[("SKU-1", "a")] == (3, 1)
    assert levels(stocked)[("SKU-1", "b")] == (5, 3)


def test_the_refused_order_is_not_woken_back_to_the_location_that_refused_it(
    stocked: Container,
) -> None:
    first = allocated(stocked, 1, [("SKU-2", 2)])  # only b stocks SKU-2
    (fulfilment_id,) = dispatch(stocked, first)
    reject(stocked, fulfilment_id)
    assert status(stocked, first) == "backordered"
    assert levels(stocked)[("SKU-2", "b")] == (2, 0)


def test_a_re_route_wakes_the_waiting_orders(stocked: Container) -> None:
    set_channel(stocked, "app", locations_allowed=["a"])
    first = allocated(stocked, 1, [("SKU-1", 3)])  # all of a's SKU-1
    second = waiting(stocked, 2, [("SKU-1", 1)], channel="app")  # app ships from a only
    set_channel(stocked, "web", locations_allowed=["b"])
    with stocked.uow(actor="test") as uow:
        reroute_order(uow, order_id=first)
    assert (status(stocked, first), status(stocked, second)) == ("allocated", "allocated")
    assert levels(stocked)[("SKU-1", "a")] == (3, 1)
    assert levels(stocked)[("SKU-1", "b")] == (5, 3)


# -- an order that cannot be filled holds nothing back -----------------------------------------
def test_a_huge_back_dated_channel_order_blocks_no_other_channel(
    stocked: Container, client: TestClient, admin: dict[str, str]
) -> None:
    set_channel(stocked, "web", settings={"insufficient_stock": "hold"})
    app_key = bearer(make_key(stocked, Role.CHANNEL, channel="app"))
    hog = native_order(
        "HOG",
        channel="app",
        placed_at="2000-01-01T00:00:00Z",
        lines=[{"sku": "SKU-1", "quantity": 1_000_000, "unit_price": "0.01"}],
    )
    hog_id = client.post("/v1/orders", json=hog, headers=app_key).json()["id"]
    allocate_pending(stocked.uow)
    assert status(stocked, hog_id) == "backordered"
    later = [place(stocked, 1, [("SKU-1", 2)]), place(stocked, 2, [("SKU-1", 1)], channel="app")]
    allocate_pending(stocked.uow)
    # web holds short orders, app backorders them: neither is short, both are allocated
    assert [status(stocked, i) for i in later] == ["allocated", "allocated"]
    assert status(stocked, hog_id) == "backordered"


def test_a_waiting_order_that_fits_keeps_its_place_ahead_of_later_orders(
    stocked: Container,
) -> None:
    early = waiting(stocked, 1, [("SKU-2", 3)])  # 2 free: cannot be filled yet
    with stocked.uow(actor="test") as uow:  # receipt without the wake-up: a unit arrives
        uow.stock.apply(Movement("SKU-2", "b", MovementKind.RECEIPT, 1, reason="receipt"))
        uow.commit()
    late = place(stocked, 2, [("SKU-2", 1)])
    allocate_pending(stocked.uow)
    assert (status(stocked, early), status(stocked, late)) == ("backordered", "backordered")


def test_the_queue_ranks_by_receipt_not_by_the_client_placed_at(stocked: Container) -> None:
    first_received = place(stocked, 5, [("SKU-2", 2)])
    back_dated = place(stocked, 1, [("SKU-2", 2)], minutes=-60 * 24 * 365 * 20)
    allocate_pending(stocked.uow)
    assert (status(stocked, first_received), status(stocked, back_dated)) == (
        "allocated",
        "backordered",
    )


def test_cancelling_a_waiting_order_releases_the_queue_behind_it(stocked: Container) -> None:
    hog = waiting(stocked, 1, [("SKU-1", 1_000)])
    stuck = place(stocked, 2, [("SKU-1", 1)])
    with stocked.uow(actor="test") as uow:  # left waiting behind the hog (as before the fix)
        order = uow.orders.get(stuck, for_update=True)
        order.set_line_status(order.lines[0].id, LineStatus.BACKORDERED)
        order.transition_to(OrderStatus.BACKORDERED, reason="insufficient_stock")
        uow.commit()
    with stocked.uow(actor="test") as uow:
        cancel_order(uow, order_id=hog, reason="fraud")
    assert status(stocked, stuck) == "allocated"


# -- waking a long queue tries the orders that could fit, not every one -----------------------
@pytest.fixture
def tried(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The orders the wake tries to allocate, in turn (the real allocation runs)."""
    found: list[str] = []

    def counted(uow: UnitOfWork, *, order_id: str, **kwargs: Any) -> AllocationOutcome:
        found.append(order_id)
        return allocate_order(uow, order_id=order_id, **kwargs)

    monkeypatch.setattr(allocation, "allocate_order", counted)
    return found


def test_a_receipt_after_a_stock_out_tries_only_the_orders_it_can_fill(
    seeded: Container, tried: list[str]
) -> None:
    """Thirty orders wait for SKU-2 (none in stock); two units arrive: the first two received
    are allocated, and no other is even tried — each try is a routing and a transaction that
    reads the queue ahead of it, which made a wake take time in the square of the queue."""
    add_locations(seeded, ("a", 1))
    queue = [waiting(seeded, n, [("SKU-2", 1)]) for n in range(30)]
    receive(seeded, "SKU-2", "a", 2)
    assert tried == queue[:2]
    assert [status(seeded, order_id) for order_id in queue[:3]] == [
        "allocated",
        "allocated",
        "backordered",
    ]


def test_an_order_the_receipt_cannot_fill_is_passed_over_not_in_the_way(
    seeded: Container, tried: list[str]
) -> None:
    """First come, first served among the orders that fit: the first waits for three units,
    two arrive; it is not tried (nor does it hold them), the next two take one each."""
    add_locations(seeded, ("a", 1))
    big = waiting(seeded, 1, [("SKU-2", 3)])
    small = [waiting(seeded, n, [("SKU-2", 1)]) for n in (2, 3, 4)]
    receive(seeded, "SKU-2", "a", 2)
    assert tried == small[:2]
    assert status(seeded, big) == "backordered"
    assert [status(seeded, order_id) for order_id in small] == [
        "allocated",
        "allocated",
        "backordered",
    ]
