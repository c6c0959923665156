"""Rough throughput of channel inbound: pure normalization, and signed webhooks end to end.

Run from the worktree: ``PYTHONPATH=. .venv/bin/python -W ignore bench/channel_inbound.py``.
Not a timed test: numbers depend on the machine (the SQLite file is fsynced on each commit).
"""

from __future__ import annotations

import json
import tempfile
import time

from fastapi.testclient import TestClient
from tests.support.channels import fixture_text, seed_channels, sign

from orderhub.api.app import create_app
from orderhub.bootstrap import bootstrap
from orderhub.channels import shopify
from orderhub.config import Settings
from orderhub.store.migrate import upgrade

RAW = fixture_text("shopify/orders_create_tax_included_presentment.json")


def normalize(n: int = 2000) -> None:
    start = time.perf_counter()
    for _ in range(n):
        shopify.read_webhook("shop", RAW.encode(), {"x-shopify-topic": "orders/create"})
    took = time.perf_counter() - start
    print(f"normalize: {n / took:.0f} Shopify payloads/s ({took / n * 1e3:.2f} ms each)")


def webhooks(n: int = 300) -> None:
    container = bootstrap(Settings(database_url=f"sqlite:///{tempfile.mkdtemp()}/bench.db"))
    upgrade(container.engine)
    seed_channels(container)
    client = TestClient(create_app(container))
    data = json.loads(RAW)
    bodies = []
    for i in range(n):
        data["id"] = 9_000_000 + i
        bodies.append(json.dumps(data).encode())

    def post(body: bytes) -> str:
        headers = {"X-Shopify-Hmac-Sha256": sign(body), "X-Shopify-Topic": "orders/create"}
        response = client.post("/v1/channels/shop/webhooks", content=body, headers=headers)
        return str(response.json()["results"][0]["outcome"])

    for label, expected in (("new order", "created"), ("duplicate delivery", "unchanged")):
        start = time.perf_counter()
        outcomes = {post(body) for body in bodies}
        took = time.perf_counter() - start
        assert outcomes == {expected}, outcomes
        print(f"webhook, {label} (SQLite, in-process client): {took / n * 1e3:.1f} ms each")
    container.close()


if __name__ == "__main__":
    normalize()
    webhooks()
