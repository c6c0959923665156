"""What a queue of backordered orders costs every order ingested after it.

    .venv/bin/python -m bench.backorder_ingest --waiting 0 5000 20000 [--pg]

For each W: a fresh hub (SQLite in a temporary folder, or a new PostgreSQL database with
``--pg``) with one location, SKU ``HOT`` out of stock with W orders waiting for it
(backordered), and SKU ``COLD`` in stock; then 400 new orders, in groups of 8 as
``POST /v1/orders`` groups them (``ingest_batch(allocate=True)``): 200 of ``HOT`` (they
queue behind the others) and 200 of ``COLD`` (allocated). Prints the milliseconds per order
of each kind. First come, first served must not make every later order pay for the queue: the
figures should not grow with W.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Iterator

from sqlalchemy import text

from bench.backorder_wake import one_line_order, one_location_hub
from bench.scratch import scratch_database
from orderhub.bootstrap import Container
from orderhub.services.ingest import Incoming, ingest_batch
from orderhub.services.inventory import StockAdjustment, adjust_stock
from orderhub.store.db import is_postgres

GROUP = 8
MEASURED = 200  # orders of each SKU


def _incoming(n: int, sku: str) -> Incoming:
    return Incoming(one_line_order(n, sku).to_draft(), "native", "{}")


def _groups(numbers: range, sku: str, size: int) -> Iterator[list[Incoming]]:
    items = [_incoming(n, sku) for n in numbers]
    for start in range(0, len(items), size):
        yield items[start : start + size]


def hub(url: str, waiting: int) -> Container:
    """One location; ``waiting`` orders backordered on ``HOT``; ``COLD`` in stock."""
    container = one_location_hub(url, ["HOT", "COLD"])
    with container.uow(actor="bench") as uow:
        adjust_stock(uow, items=[StockAdjustment("COLD", "east", delta=1_000_000, reason="seed")])
    for group in _groups(range(waiting), "HOT", 500):
        with container.uow(actor="bench") as uow:
            ingest_batch(uow, group, allocate=True)
    if is_postgres(container.engine):  # as autovacuum would after the load: fresh statistics
        with container.engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()
    return container


def per_order_ms(container: Container, first: int, sku: str) -> float:
    """Milliseconds per order to ingest ``MEASURED`` orders of ``sku`` in groups of 8."""
    started = time.perf_counter()
    for group in _groups(range(first, first + MEASURED), sku, GROUP):
        with container.uow(actor="bench") as uow:
            ingest_batch(uow, group, allocate=True)
    return (time.perf_counter() - started) / MEASURED * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--waiting", type=int, nargs="+", default=[0, 5000, 20000])
    parser.add_argument("--pg", action="store_true", help="PostgreSQL (ORDERHUB_TEST_PG's server)")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}")
    print("| waiting on HOT | ms per order of HOT | ms per order of COLD |")
    print("|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as folder:
        for waiting in args.waiting:
            with scratch_database(folder, pg=args.pg) as url:
                container = hub(url, waiting)
                try:
                    hot = per_order_ms(container, waiting, "HOT")
                    cold = per_order_ms(container, waiting + MEASURED, "COLD")
                finally:
                    container.close()
            print(f"| {waiting:,} | {hot:.2f} | {cold:.2f} |")


if __name__ == "__main__":
    main()
