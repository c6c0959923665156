"""Shared helpers for the store tests: a hub with a warehouse and a store, and the worker."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from orderhub.bootstrap import Container
from orderhub.services import fulfilment, stores
from orderhub.services.allocation import allocate_order
from orderhub.services.fulfilment_wiring import default_dependencies
from orderhub.workers.relay import Worker
from tests.conftest import native_order
from tests.support.clock import FakeClock

WAREHOUSE = {
    "code": "dc",
    "name": "Distant DC",
    "kind": "warehouse",
    "address": {"country": "US", "region": "CA", "latitude": 34.05, "longitude": -118.24},
}
STORE = {
    "code": "soho",
    "name": "SoHo store",
    "kind": "store",
    "timezone": "America/New_York",
    "daily_capacity": 40,
    "address": {"country": "US", "region": "NY", "latitude": 40.72, "longitude": -74.0},
    "store": {
        "opening_hours": {"mon": ["09:00", "20:00"], "sat": ["10:00", "18:00"]},
        "pickup_enabled": True,
        "ship_from_store": True,
        "safety_stock": 2,
        "pickup_hold_days": 3,
    },
}


def add_locations(api: TestClient, key: dict[str, str], *bodies: dict[str, Any]) -> None:
    for body in bodies or (WAREHOUSE, STORE):
        response = api.post("/v1/locations", json=body, headers=key)
        assert response.status_code == 201, response.text


def receive(api: TestClient, key: dict[str, str], sku: str, location: str, units: int) -> None:
    body = {"sku": sku, "location": location, "delta": units, "reason": "receipt"}
    response = api.post("/v1/inventory/adjustments", json=body, headers=key)
    assert response.status_code in (200, 201), response.text


def pickup_order(external_id: str, store: str = "soho", **lines: int) -> dict[str, object]:
    """A native order collected at ``store``: ``SKU_1=2`` → two units of SKU-1."""
    wanted = lines or {"SKU_1": 1}
    return native_order(
        external_id,
        delivery={"type": "pickup", "location": store},
        lines=[
            {"sku": sku.replace("_", "-"), "quantity": n, "unit_price": "10.00"}
            for sku, n in wanted.items()
        ],
    )


def drain(container: Container, clock: FakeClock) -> None:
    """Run the worker until the outbox is empty (allocation, fulfilment, pick-ups, webhooks)."""
    worker = Worker(container, clock=clock)
    try:
        while worker.run_once():
            pass
    finally:
        worker.close()


def open_pickup(container: Container, order_id: str) -> str:
    """Allocate a pick-up order and open its pick-up as the worker would (without running the
    worker and the rest of the outbox); returns the pick-up's id."""
    with container.uow(actor="test") as uow:
        allocate_order(uow, order_id=order_id)
    with container.uow(actor="test") as uow:
        allocations = [
            {"line_id": a.line_id, "sku": a.sku, "location": a.location, "quantity": a.quantity}
            for a in uow.stock.allocations(order_id)
        ]
        uow.rollback()
        with default_dependencies(uow) as deps:
            fulfilment.create_fulfilments(
                uow, order_id=order_id, allocations=allocations, deps=deps
            )
            stores.open_pickups(uow, order_id=order_id)
        (pickup,) = uow.pickups.for_order(order_id)
        return pickup.fulfilment_id
