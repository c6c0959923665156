"""No oversell under concurrency: many clients race many orders for scarce stock.

Each client is a thread with its own connection (its own unit of work). On PostgreSQL they
really interleave (READ COMMITTED, row locks); on SQLite the write lock serializes them. Either
way exactly min(demand, stock) must be reserved, never more, and the ledger must still agree.
"""

from __future__ import annotations

import threading
from collections import Counter

from orderhub.bootstrap import Container
from orderhub.services.allocation import AllocationOutcome, allocate_order
from orderhub.services.inventory_check import find_drift
from tests.integration.inventory_helpers import add_locations, levels, place, receive

CLIENTS = 8


def race(container: Container, order_ids: list[str]) -> list[AllocationOutcome]:
    """Every client tries every order (in its own rotation), all starting at once."""
    barrier = threading.Barrier(CLIENTS)
    outcomes: list[AllocationOutcome] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def client(number: int) -> None:
        mine = order_ids[number:] + order_ids[:number]
        try:
            barrier.wait()
            for order_id in mine:
                with container.uow(actor=f"client-{number}") as uow:
                    outcome = allocate_order(uow, order_id=order_id)
                with lock:
                    outcomes.append(outcome)
        except BaseException as error:  # reported below, not swallowed
            errors.append(error)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return outcomes


def test_concurrent_clients_reserve_exactly_min_of_demand_and_stock(seeded: Container) -> None:
    add_locations(seeded, ("a", 1), ("b", 2))
    stock = {("SKU-1", "a"): 3, ("SKU-1", "b"): 4, ("SKU-2", "a"): 5}
    for (sku, location), quantity in stock.items():
        receive(seeded, sku, location, quantity)
    order_ids = [
        place(seeded, n, [("SKU-1" if n % 2 else "SKU-2", 1)], minutes=n) for n in range(30)
    ]  # demand: 15 of each SKU against 7 and 5

    outcomes = race(seeded, order_ids)

    final = levels(seeded)
    assert final[("SKU-1", "a")][1] + final[("SKU-1", "b")][1] == min(15, 7)
    assert final[("SKU-2", "a")][1] == min(15, 5)
    assert all(on_hand - reserved >= 0 for on_hand, reserved in final.values())
    with seeded.uow(read_only=True) as uow:
        statuses = Counter(uow.orders.get(i).status.value for i in order_ids)
        assert find_drift(uow)[1] == []
    assert statuses == {"allocated": 12, "backordered": 18}
    assert not any(o.contended for o in outcomes)


def test_concurrent_multi_line_orders_are_all_or_nothing_and_never_oversell(
    seeded: Container,
) -> None:
    add_locations(seeded, ("a", 1), ("b", 2))
    for (sku, location), quantity in {
        ("SKU-1", "a"): 4, ("SKU-1", "b"): 3, ("SKU-2", "b"): 6, ("SKU-3", "a"): 5,
    }.items():  # fmt: skip
        receive(seeded, sku, location, quantity)
    with seeded.uow() as uow:  # only hold: no first-come-first-served queue between orders
        for code in ("web", "app"):
            channel = uow.channels.get(code)
            channel.settings = {"insufficient_stock": "hold"}
            uow.channels.save(channel)
        uow.commit()
    shapes = [[("SKU-1", 2), ("SKU-2", 1)], [("SKU-2", 2), ("SKU-3", 1)], [("SKU-1", 1)]]
    order_ids = [place(seeded, n, shapes[n % 3], minutes=n) for n in range(24)]

    race(seeded, order_ids)

    final = levels(seeded)
    assert all(0 <= reserved <= on_hand for on_hand, reserved in final.values())
    with seeded.uow(read_only=True) as uow:
        assert find_drift(uow)[1] == []
        reserved_by_orders: Counter[str] = Counter()
        for order_id in order_ids:
            order = uow.orders.get(order_id)
            held = {v["line_id"]: 0 for v in uow.stock.views(order_id)}
            for view in uow.stock.views(order_id):
                held[view["line_id"]] += view["open_quantity"]
            if order.status.value == "allocated":
                assert all(held[line.id] == line.quantity for line in order.lines)
            else:
                assert order.status.value == "on_hold"
                assert held == {}
            for view in uow.stock.views(order_id):
                reserved_by_orders[view["sku"]] += view["open_quantity"]
    for sku in ("SKU-1", "SKU-2", "SKU-3"):
        assert reserved_by_orders[sku] == sum(r for (s, _), (_, r) in final.items() if s == sku)
    # Stock is scarce for every SKU: at least one order of each shape could not be served.
    assert sum(r for _, r in final.values()) > 0
