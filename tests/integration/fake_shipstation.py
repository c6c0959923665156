"""A local fake of the ShipStation V1 API, replaying its documented payload shapes.

It keeps orders created through ``POST /orders/createorder`` (Basic auth checked), lets a test
ship one (``ship``), and serves the ``GET /shipments?batchId=…&includeShipmentItems=True``
page that a SHIP_NOTIFY webhook's ``resource_url`` names. Payloads are built from the JSON
files in ``tests/fixtures/fulfilment`` (copied from the documented models).
"""

from __future__ import annotations

import base64
import copy
import itertools
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import uvicorn
from fastapi import FastAPI, HTTPException, Query, Request

FIXTURES = Path(__file__).parent.parent / "fixtures" / "fulfilment"


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


class FakeShipStation:
    def __init__(self, api_key: str = "ss-key", api_secret: str = "ss-secret") -> None:  # noqa: S107
        self.auth = "Basic " + base64.b64encode(f"{api_key}:{api_secret}".encode()).decode()
        self.orders: dict[int, dict[str, Any]] = {}
        self.batches: dict[str, list[dict[str, Any]]] = {}
        self.requests: list[tuple[str, str]] = []
        self.deleted: list[int] = []
        self._ids = itertools.count(94113592)
        self.base_url = ""
        self.app = self._build()

    def _check(self, request: Request) -> None:
        self.requests.append((request.method, str(request.url)))
        if request.headers.get("authorization") != self.auth:
            raise HTTPException(401, "Unauthorized")

    def _build(self) -> FastAPI:
        app = FastAPI()

        @app.post("/orders/createorder")
        async def create_order(request: Request) -> dict[str, Any]:
            self._check(request)
            body = await request.json()
            existing = next(
                (o for o in self.orders.values() if o["orderKey"] == body["orderKey"]), None
            )
            order = existing or fixture("shipstation_createorder_response.json")
            order.update({k: v for k, v in body.items() if k != "items"})
            order.setdefault("orderId", 0)
            if not existing:
                order["orderId"] = next(self._ids)
            order["items"] = [
                {**item, "orderItemId": next(self._ids)} for item in body.get("items", [])
            ]
            self.orders[order["orderId"]] = order
            return order

        @app.delete("/orders/{order_id}")
        async def delete_order(order_id: int, request: Request) -> dict[str, Any]:
            self._check(request)
            self.deleted.append(order_id)
            return {"success": True, "message": "The requested order has been deleted."}

        @app.get("/shipments")
        async def shipments(
            request: Request, batch_id: Annotated[str, Query(alias="batchId")], page: int = 1
        ) -> dict[str, Any]:
            self._check(request)
            found = self.batches.get(batch_id, [])
            return {"shipments": found, "total": len(found), "page": page, "pages": 1}

        return app

    def ship(
        self,
        order_key: str,
        *,
        tracking: str,
        items: dict[str, int] | None = None,
        voided: bool = False,
    ) -> str:
        """Ship (part of) an order the way ShipStation does; returns the webhook resource_url."""
        order = next(o for o in self.orders.values() if o["orderKey"] == order_key)
        shipment = fixture("shipstation_shipment.json")
        shipment.update(
            shipmentId=next(self._ids),
            orderId=order["orderId"],
            orderKey=order_key,
            orderNumber=order["orderNumber"],
            trackingNumber=tracking,
            voided=voided,
        )
        for item in order["items"]:
            quantity = item["quantity"] if items is None else items.get(item["lineItemKey"], 0)
            if quantity:
                entry = copy.deepcopy(fixture("shipstation_shipment_item.json"))
                entry.update(
                    orderItemId=item["orderItemId"],
                    lineItemKey=item["lineItemKey"],
                    sku=item["sku"],
                    name=item["name"],
                    quantity=quantity,
                )
                shipment["shipmentItems"].append(entry)
        batch = str(next(self._ids))
        self.batches[batch] = [shipment]
        return f"{self.base_url}/shipments?storeID=12345&batchId={batch}&includeShipmentItems=True"


@contextmanager
def running(fake: FakeShipStation) -> Iterator[FakeShipStation]:
    server = uvicorn.Server(uvicorn.Config(fake.app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the fake ShipStation did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    fake.base_url = f"http://127.0.0.1:{port}"
    try:
        yield fake
    finally:
        server.should_exit = True
        thread.join(timeout=10)
