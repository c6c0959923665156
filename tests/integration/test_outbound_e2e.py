"""End to end through the real worker: a Shopify webhook order is allocated by routing,
dispatched to the simulated 3PL, shipped on the provider's tick, and the fake Shopify store
receives the fulfillment with its tracking number and the new available quantity."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from orderhub.api.app import create_app
from orderhub.bootstrap import Container, bootstrap
from orderhub.config import Settings
from orderhub.domain.locations import Location, LocationAddress, LocationKind
from orderhub.services.inventory import StockAdjustment, adjust_stock
from orderhub.store.fulfilment import ProviderConfig
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

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
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


def test_a_shopify_order_is_shipped_back_to_the_store_with_tracking_and_stock(
    hub: tuple[Container, FakeShopify],
) -> None:
    container, store = hub
    body = fixture_text(ORDER).encode()
    with TestClient(create_app(container)) as api:
        response = api.post(
            "/v1/channels/shop/webhooks",
            content=body,
            headers={"X-Shopify-Hmac-Sha256": sign(body), "X-Shopify-Topic": "orders/create"},
        )
    assert response.status_code == 200, response.text
    order_id = response.json()["results"][0]["order_id"]

    worker = make_worker(container, worker_id="e2e")
    try:
        idle = 0
        for _ in range(60):
            idle = idle + 1 if worker.run_once() == 0 else 0
            if idle >= 3 and store.fulfillments:
                break
    finally:
        worker.close()

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
