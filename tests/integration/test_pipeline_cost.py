"""What one order costs the pipeline, pinned: the events it writes and the deliveries they
fan out to. A consumer that would do nothing gets no delivery, and the available-to-sell
changes of a batch of allocations are announced once per (channel, SKU), not per order."""

from __future__ import annotations

from collections import Counter

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from orderhub.bootstrap import Container
from orderhub.store import tables
from orderhub.workers import relay as relay_module
from orderhub.workers.relay import Worker
from tests.conftest import native_order
from tests.support.clock import FakeClock

ORDERS = 10
NYC = {"code": "nyc", "name": "NYC DC", "kind": "warehouse", "address": {"country": "US"}}


def counted(container: Container, table: str, column: str) -> Counter[str]:
    """Rows of ``table`` per value of ``column``."""
    t = getattr(tables, table)
    with container.engine.connect() as conn:
        rows = conn.execute(select(t.c[column], func.count()).group_by(t.c[column])).all()
    return Counter({str(key): int(n) for key, n in rows})


def test_an_allocated_native_order_costs_two_deliveries_and_its_stock_news_is_coalesced(
    seeded: Container, client: TestClient, admin: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(relay_module, "TOGETHER_SECONDS", 60.0)  # one transaction, however slow
    assert client.post("/v1/locations", json=NYC, headers=admin).status_code == 201
    for sku in ("SKU-1", "SKU-2"):
        stock = {"sku": sku, "location": "nyc", "delta": 1000, "reason": "po", "kind": "receipt"}
        assert client.post("/v1/inventory/adjustments", json=stock, headers=admin).is_success
    relay = Worker(seeded, clock=FakeClock())
    while relay.run_once():  # the set-up's own events out of the way
        pass
    events_before = counted(seeded, "outbox", "type")
    for n in range(ORDERS):
        created = client.post("/v1/orders", json=native_order(f"C-{n}"), headers=admin)
        assert created.status_code == 201, created.text
    while relay.run_once():
        pass

    assert counted(seeded, "orders", "status") == Counter({"in_fulfilment": ORDERS})
    deliveries = counted(seeded, "deliveries", "consumer")
    assert deliveries == Counter({"inventory.allocate": ORDERS, "fulfilment.dispatch": ORDERS}), (
        "no delivery for a consumer with nothing to do for a native channel"
    )
    events = counted(seeded, "outbox", "type") - events_before
    per_order = {
        "order.received": 1,
        "order.routed": 1,
        "order.allocated": 1,
        "order.status_changed": 2,
        "order.line_status_changed": 4,  # 2 lines: allocated, then with the 3PL
        "fulfilment.created": 1,
        "fulfilment.dispatched": 1,
        "fulfilment.accepted": 1,
    }
    assert {t: n for t, n in events.items() if t != "inventory.available_changed"} == {
        t: n * ORDERS for t, n in per_order.items()
    }
    # The 10 allocations run in one transaction: 2 channels × 2 SKUs announced once (was 44: one per
    # order and SKU and channel whose figure moved).
    assert events["inventory.available_changed"] == 2 * 2
