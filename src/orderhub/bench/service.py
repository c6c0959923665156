"""``orderhub bench``: throughput of the hub's paths against the raw driver, in one run."""

from __future__ import annotations

import json
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from orderhub.bootstrap import bootstrap
from orderhub.channels import native
from orderhub.clock import utc_now
from orderhub.config import Settings
from orderhub.domain.catalog import Product
from orderhub.domain.channels import Channel, ChannelKind
from orderhub.domain.ids import new_id
from orderhub.services.ingest import ingest_order
from orderhub.store.migrate import upgrade


@dataclass(frozen=True)
class Rate:
    name: str
    count: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.count / self.seconds


def _payload(number: int) -> dict[str, object]:
    return {
        "channel": "bench",
        "external_id": f"B-{number}",
        "currency": "USD",
        "placed_at": utc_now().isoformat(),
        "customer": {"email": f"buyer{number % 500}@example.com", "name": "Bench Buyer"},
        "shipping_address": {"country": "US", "postal_code": "10001"},
        "lines": [
            {"sku": "SKU-1", "quantity": 2, "unit_price": "10.00", "tax": "1.60"},
            {"sku": "SKU-2", "quantity": 1, "unit_price": "5.50", "discount": "0.50"},
        ],
        "shipping": {"price": "4.99"},
    }


def hub_ingest_rate(directory: Path, orders: int) -> Rate:
    """Full path below HTTP: validate, normalize, customer, order + lines, history, outbox."""
    container = bootstrap(Settings(database_url=f"sqlite:///{directory / 'hub.db'}"))
    upgrade(container.engine)
    with container.uow() as uow:
        uow.channels.add(Channel(code="bench", name="Bench", kind=ChannelKind.NATIVE))
        uow.catalog.upsert(Product("SKU-1", "One"))
        uow.catalog.upsert(Product("SKU-2", "Two"))
        uow.commit()
    payloads = [native.NativeOrder.model_validate(_payload(n)) for n in range(orders)]
    started = time.perf_counter()
    for payload in payloads:
        with container.uow(actor="bench") as uow:
            ingest_order(
                uow,
                draft=payload.to_draft(),
                source=native.SOURCE,
                payload=payload.model_dump_json(),
            )
    elapsed = time.perf_counter() - started
    container.close()
    return Rate("OrderHub ingest (one transaction per order)", orders, elapsed)


_RAW_SCHEMA = """
CREATE TABLE customers (id TEXT PRIMARY KEY, email TEXT UNIQUE, name TEXT);
CREATE TABLE orders (id TEXT PRIMARY KEY, channel TEXT, external_id TEXT, customer_id TEXT,
                     body TEXT, UNIQUE (channel, external_id));
CREATE TABLE lines (id TEXT PRIMARY KEY, order_id TEXT, sku TEXT, qty INT, price INT);
CREATE TABLE events (id TEXT PRIMARY KEY, order_id TEXT, data TEXT);
CREATE TABLE outbox (id TEXT PRIMARY KEY, data TEXT);
"""


def raw_driver_rate(directory: Path, orders: int) -> Rate:
    """The floor: the same rows and look-ups (duplicate check, customer upsert, order, 2 lines,
    1 history event, 1 outbox row) written with the sqlite3 driver, one transaction per order."""
    conn = sqlite3.connect(directory / "raw.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.executescript(_RAW_SCHEMA)
    payloads = [_payload(n) for n in range(orders)]
    started = time.perf_counter()
    for payload in payloads:
        order_id = new_id()
        customer = payload["customer"]
        assert isinstance(customer, dict)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "SELECT id FROM orders WHERE channel = ? AND external_id = ?",
            ("bench", payload["external_id"]),
        ).fetchone()
        conn.execute(
            "INSERT INTO customers VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (new_id(), customer["email"], customer["name"]),
        )
        (customer_id,) = conn.execute(
            "SELECT id FROM customers WHERE email = ?", (customer["email"],)
        ).fetchone()
        conn.execute(
            "INSERT INTO orders VALUES (?, ?, ?, ?, ?)",
            (order_id, "bench", payload["external_id"], customer_id, json.dumps(payload)),
        )
        for line in ("SKU-1", "SKU-2"):
            conn.execute("INSERT INTO lines VALUES (?, ?, ?, 1, 1000)", (new_id(), order_id, line))
        conn.execute("INSERT INTO events VALUES (?, ?, '{}')", (new_id(), order_id))
        conn.execute("INSERT INTO outbox VALUES (?, '{}')", (new_id(),))
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return Rate("raw sqlite3 driver, same rows", orders, elapsed)


def ingest_benchmark(*, orders: int, console: Console) -> tuple[Rate, Rate]:
    with tempfile.TemporaryDirectory() as tmp:
        raw = raw_driver_rate(Path(tmp), orders)
        hub = hub_ingest_rate(Path(tmp), orders)
    table = Table(title=f"Single-order ingest on SQLite ({orders} orders)")
    for column in ("path", "orders/s", "ms/order", "ratio to raw"):
        table.add_column(column)
    for rate in (raw, hub):
        table.add_row(
            rate.name,
            f"{rate.per_second:,.0f}",
            f"{1000 / rate.per_second:.2f}",
            f"{rate.per_second / raw.per_second:.2f}",
        )
    console.print(table)
    return raw, hub
