"""End to end through the real worker: a Shopify webhook order is allocated by routing,
dispatched to the simulated 3PL, shipped on the provider's tick, and the fake Shopify store
receives the fulfillment with its tracking number and the new available quantity — unless the
channel takes no sync back, when the order still comes in and ships and the store hears
nothing."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from orderhub.api.app import create_app
from orderhub.bootstrap import Container, bootstrap
from orderhub.config import Settings
from orderhub.domain.locations import Location, LocationAddress, LocationKind
from orderhub.services.inventory import StockAdjustment, adjust_stock
from orderhub.store.fulfilment import ProviderConfig
from orderhub.store.tables import deliveries, outbox
from orderhub.workers.relay import make_worker
from tests.support.channels import fixture_text, seed_channels, sign

ORDER = "shopify/orders_create_tax_included_presentment.json"
STOCK = {"SHIRT-RED": 10, "MUG-1": 5, "GIFTCARD-50": 50, "SAMPLE-1": 20}
MUG_ITEM = {"inventory_item_id": 808950810, "location_id": 655441491}


class FakeShopify:
    """The store's admin API: open fulfillment orders for the webhook order's line items."""

    def __init__(self, order: dict[str, Any]) -> None:
        self.order = order
        self.fulfillments: list[dict[str, Any]] = []
        self.levels: list[dict[str, Any]] = []
        self.requests: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(f"{request.method} {request.url.host}{request.url.path}")
        path = request.url.path
        if request.headers.get("X-Shopify-Access-Token") != "shpat_x":
            return httpx.Response(401, json={"errors": "[API] Invalid API key or access token"})
        if path.endswith(f"/orders/{self.order['id']}/fulfillment_orders.json"):
            open_items = [] if self.fulfillments else self.order["line_items"]
            lines = [
                {"id": 9000 + i, "line_item_id": li["id"], "quantity": li["quantity"]}
                for i, li in enumerate(open_items)
            ]
            return httpx.Response(
                200,
                json={"fulfillment_orders": [{"id": 77, "status": "open", "line_items": lines}]},
            )
        if path.endswith("/fulfillments.json"):
            self.fulfillments.append(json.loads(request.content)["fulfillment"])
            return httpx.Response(201, json={"fulfillment": {"id": 1}})
        if path.endswith("/inventory_levels/set.json"):
            self.levels.append(json.loads(request.content))
            return httpx.Response(200, json={"inventory_level": {}})
        return httpx.Response(404, json={"errors": "Not Found"})


@pytest.fixture
def hub(database_url: str) -> Iterator[tuple[Container, FakeShopify]]:
    store = FakeShopify(json.loads(fixture_text(ORDER)))
    settings = Settings(database_url=database_url, schedule_fulfilment_seconds=0.001)
    container = bootstrap(settings)
    container.http_transport = httpx.MockTransport(store)
    seed_channels(container)
    with container.uow(actor="test") as uow:
        uow.locations.add(
            Location("3pl-east", "3PL East", LocationKind.WAREHOUSE, LocationAddress("CA"))
        )
        uow.fulfilment.add_provider(
            ProviderConfig(
                code="sim",
                name="Simulated 3PL",
                kind="simulated",
                settings={"seed": 1, "reject_rate": 0.0, "ship_after_minutes": 0},
                locations=["3pl-east"],
            )
        )
        uow.channel_items.put("shop", "MUG-1", MUG_ITEM)
        uow.commit()
    with container.uow(actor="test") as uow:
        adjust_stock(
            uow,
            items=[
                StockAdjustment(s, "3pl-east", delta=q, reason="receipt") for s, q in STOCK.items()
            ],
        )
    yield container, store
    container.close()


def receive_and_ship(container: Container, *, until: Callable[[str], bool]) -> str:
    """The webhook order in, then worker cycles until ``until(order_id)`` after idle ones."""
    body = fixture_text(ORDER).encode()
    with TestClient(create_app(container)) as api:
        response = api.post(
            "/v1/channels/shop/webhooks",
            content=body,
            headers={"X-Shopify-Hmac-Sha256": sign(body), "X-Shopify-Topic": "orders/create"},
        )
    assert response.status_code == 200, response.text
    order_id: str = response.json()["results"][0]["order_id"]

    worker = make_worker(container, worker_id="e2e")
    try:
        idle = 0
        for _ in range(60):
            idle = idle + 1 if worker.run_once() == 0 else 0
            if idle >= 3 and until(order_id):
                break
    finally:
        worker.close()
    return order_id


def test_a_shopify_order_is_shipped_back_to_the_store_with_tracking_and_stock(
    hub: tuple[Container, FakeShopify],
) -> None:
    container, store = hub
    order_id = receive_and_ship(container, until=lambda _order: bool(store.fulfillments))

    with container.uow(read_only=True) as uow:
        order = uow.orders.get(order_id)
        [shipment] = [s for f in uow.fulfilment.for_order(order_id) for s in f.shipments]
    assert order.status.value in ("shipped", "delivered")
    [fulfillment] = store.fulfillments
    assert fulfillment["tracking_info"] == {
        "company": shipment.carrier,
        "number": shipment.tracking_number,
    }
    shipped = {
        li["id"]: li["quantity"]
        for group in fulfillment["line_items_by_fulfillment_order"]
        for li in group["fulfillment_order_line_items"]
    }
    assert sum(shipped.values()) == sum(s for s in shipment.lines.values())
    assert store.levels, "the MUG-1 available-to-sell never reached the store"
    assert store.levels[-1] == {**MUG_ITEM, "available": STOCK["MUG-1"] - 1}


def shipped(container: Container, order_id: str) -> bool:
    with container.uow(read_only=True) as uow:
        return uow.orders.get(order_id).status.value in ("shipped", "delivered")


def test_a_channel_without_sync_back_takes_the_order_in_and_hears_nothing_back(
    hub: tuple[Container, FakeShopify],
) -> None:
    container, store = hub
    with container.uow(actor="test") as uow:
        channel = uow.channels.get("shop")
        channel.sync_back = False
        uow.channels.save(channel)
        uow.commit()
    order_id = receive_and_ship(container, until=lambda order: shipped(container, order))
    assert shipped(container, order_id)
    to_shop = [r for r in store.requests if "shop.example.test" in r]
    assert to_shop == []  # no fulfillment, no inventory level, not even a read
    with container.engine.connect() as conn:
        rows = conn.execute(
            select(
                deliveries.c.consumer, deliveries.c.status, deliveries.c.stream, outbox.c.data
            ).join_from(deliveries, outbox, outbox.c.id == deliveries.c.event_id)
        ).all()
    assert {row.status for row in rows} == {"delivered"}
    assert not [
        r.consumer
        for r in rows
        if r.stream == f"order:{order_id}" and r.consumer.startswith("channels.")
    ]
    stock_pushes = {r.data["channel"] for r in rows if r.consumer == "channels.stock"}
    assert "shop" not in stock_pushes
    assert "woo" in stock_pushes  # the channels that do sync back still get theirs
