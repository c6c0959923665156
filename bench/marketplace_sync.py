"""Throughput of a marketplace sync: N eBay orders from an in-process fake API into SQLite.

Run: ``.venv/bin/python bench/marketplace_sync.py 1000`` (a figure, not a timed test).
"""

from __future__ import annotations

import copy
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from orderhub.bootstrap import bootstrap
from orderhub.channels import ebay
from orderhub.channels._shared import loads
from orderhub.config import Settings
from orderhub.domain.catalog import Product
from orderhub.domain.channels import Channel, ChannelKind
from orderhub.services.marketplace_sync import sync_marketplace
from orderhub.store.migrate import upgrade

FIXTURE = Path(__file__).parents[1] / "tests/fixtures/channels/ebay/getOrders_page2.json"


def main(n: int) -> None:
    base = json.loads(FIXTURE.read_text())["orders"][0]
    orders = []
    for i in range(n):
        order = copy.deepcopy(base)
        order["orderId"] = f"12-{i:05d}-00002"
        orders.append(order)

    def handle(request: httpx.Request) -> httpx.Response:
        if "token" in request.url.path:
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        offset = int(request.url.params["offset"])
        body: dict[str, Any] = {"orders": orders[offset : offset + 200], "total": n}
        if offset + 200 < n:
            body["next"] = "more"
        return httpx.Response(200, json=body)

    container = bootstrap(Settings(database_url=f"sqlite:///{tempfile.mkdtemp()}/bench.db"))
    upgrade(container.engine)
    creds = {"refresh_token": "r", "client_id": "c", "client_secret": "s"}
    with container.uow() as uow:
        uow.channels.add(Channel("ebay", "eBay", ChannelKind.EBAY, credentials=creds))
        uow.catalog.upsert(Product("PIN", "Pin"))
        uow.catalog.map_sku("ebay", "110002000020-410002000021", "PIN")
        uow.commit()
    for label in ("first sync", "re-sync"):
        started = time.perf_counter()
        report = sync_marketplace(
            container.uow,
            channel="ebay",
            transport=httpx.MockTransport(handle),
            sleep=lambda _s: None,
        )
        took = time.perf_counter() - started
        print(f"{label:<11} {report.counts} in {took:.2f}s = {n / took:.0f} orders/s")
    raw = json.dumps(base)
    started = time.perf_counter()
    for _ in range(2000):
        ebay.read_order("ebay", loads(raw))
    rate = 2000 / (time.perf_counter() - started)
    print(f"normalize   {rate:.0f} eBay orders/s (parse and draft, no I/O)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
