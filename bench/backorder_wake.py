"""How long a stock receipt takes when many orders wait for the SKU (a stock-out's queue).

    .venv/bin/python -m bench.backorder_wake --orders 500 1000 [--all] [--pg]

For each N: a fresh hub (SQLite in a temporary folder, or a new PostgreSQL database with
``--pg``) with one location and N orders of one unit of one SKU, all backordered (none in
stock); then one receipt of a single unit, timed as ``POST /v1/inventory/adjustments`` runs it
(``adjust_stock``, which wakes the waiting orders). One order can be filled, so the wake's
work should not grow with N. ``--all``: a receipt of N units instead, which fills them all:
the wake's time per order should not grow with N.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Sequence

from bench.scratch import scratch_database
from orderhub.bootstrap import Container, bootstrap
from orderhub.channels import native
from orderhub.config import Settings
from orderhub.domain.catalog import Product
from orderhub.domain.channels import Channel, ChannelKind
from orderhub.domain.locations import Location, LocationAddress, LocationKind
from orderhub.services.ingest import ingest_order
from orderhub.services.inventory import StockAdjustment, adjust_stock
from orderhub.store.migrate import upgrade


def one_line_order(n: int, sku: str = "HOT") -> native.NativeOrder:
    """Order ``W-n`` of one unit of ``sku``."""
    return native.NativeOrder.model_validate(
        {
            "channel": "web",
            "external_id": f"W-{n}",
            "currency": "USD",
            "placed_at": "2026-11-20T14:30:00Z",
            "customer": {"email": f"b{n % 500}@example.com", "name": "Buyer"},
            "shipping_address": {"country": "US", "region": "NY", "postal_code": "10001"},
            "lines": [{"sku": sku, "quantity": 1, "unit_price": "10.00"}],
        }
    )


def one_location_hub(url: str, skus: Sequence[str]) -> Container:
    """A migrated hub: channel ``web``, warehouse ``east``, products ``skus`` (no stock)."""
    container = bootstrap(Settings(database_url=url))
    upgrade(container.engine)
    with container.uow(actor="bench") as uow:
        uow.channels.add(Channel(code="web", name="Web", kind=ChannelKind.NATIVE))
        for sku in skus:
            uow.catalog.upsert(Product(sku, sku.title(), 250))
        uow.locations.add(Location("east", "East", LocationKind.WAREHOUSE, LocationAddress("US")))
        uow.commit()
    return container


def hub(url: str, orders: int) -> Container:
    """A hub whose ``orders`` orders all wait for SKU ``HOT``."""
    container = one_location_hub(url, ["HOT"])
    for n in range(orders):
        with container.uow(actor="bench") as uow:
            draft = one_line_order(n).to_draft()
            ingest_order(uow, draft=draft, source="native", payload="{}", allocate=True)
    return container


def wake_seconds(container: Container, units: int = 1) -> float:
    started = time.perf_counter()
    with container.uow(actor="bench") as uow:
        adjust_stock(uow, items=[StockAdjustment("HOT", "east", delta=units, reason="receipt")])
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, nargs="+", default=[500, 1000])
    parser.add_argument("--all", action="store_true", help="receive N units, not one")
    parser.add_argument("--pg", action="store_true", help="PostgreSQL (ORDERHUB_TEST_PG's server)")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as folder:
        for orders in args.orders:
            with scratch_database(folder, pg=args.pg) as url:
                container = hub(url, orders)
                try:
                    seconds = wake_seconds(container, orders if args.all else 1)
                finally:
                    container.close()
            receipt = f"a receipt of {orders} units" if args.all else "a one-unit receipt"
            print(f"{orders} waiting: {receipt} took {seconds:.2f} s")


if __name__ == "__main__":
    main()
