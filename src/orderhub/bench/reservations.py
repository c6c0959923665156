"""Reservations per second through ``allocate_order`` against the raw driver's guarded UPDATE.

Both run in the same process on the same freshly migrated database kind, one transaction per
reservation. The raw floor is the bare guarded UPDATE + COMMIT the service's reservation boils
down to; the service adds planning, the ledger, allocations, order status, history, outbox and
available-to-sell events.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from rich.console import Console
from rich.table import Table
from sqlalchemy import event

from orderhub.bench.service import Rate
from orderhub.bootstrap import Container, bootstrap
from orderhub.channels import native
from orderhub.config import Settings
from orderhub.domain.catalog import Product
from orderhub.domain.channels import Channel, ChannelKind
from orderhub.domain.locations import Location, LocationAddress, LocationKind
from orderhub.services.allocation import allocate_order
from orderhub.services.ingest import ingest_order
from orderhub.services.inventory import StockAdjustment, adjust_stock
from orderhub.store.migrate import upgrade

PG_ADMIN_DSN = os.environ.get("ORDERHUB_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
GUARDED = (
    "UPDATE stock_levels SET reserved = reserved + 1 "
    "WHERE sku = 'SKU-1' AND location = 'wh' AND on_hand - reserved >= 1"
)


@contextmanager
def database(kind: str) -> Iterator[str]:
    """A fresh, migrated database URL of ``kind`` (sqlite or postgres), removed afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{Path(tmp) / 'bench.db'}"
        return
    name = f"orderhub_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _prepare(container: Container, orders: int) -> list[str]:
    upgrade(container.engine)
    with container.uow(actor="bench") as uow:
        uow.channels.add(Channel(code="bench", name="Bench", kind=ChannelKind.NATIVE))
        uow.catalog.upsert(Product("SKU-1", "One"))
        uow.locations.add(Location("wh", "WH", LocationKind.WAREHOUSE, LocationAddress("US")))
        uow.commit()
        adjust_stock(uow, items=[StockAdjustment("SKU-1", "wh", delta=orders, reason="bench")])
    ids = []
    for n in range(orders):
        payload = native.NativeOrder.model_validate(
            {
                "channel": "bench",
                "external_id": f"R-{n}",
                "currency": "USD",
                "placed_at": "2026-11-27T10:00:00Z",
                "customer": {"email": f"b{n % 100}@example.com"},
                "lines": [{"sku": "SKU-1", "quantity": 1, "unit_price": "1.00"}],
            }
        )
        with container.uow(actor="bench") as uow:
            result = ingest_order(
                uow,
                draft=payload.to_draft(),
                source=native.SOURCE,
                payload=payload.model_dump_json(),
            )
        assert result.order_id
        ids.append(result.order_id)
    return ids


@dataclass(frozen=True)
class Measured:
    """A path's rate, plus what the client spent: its CPU time and SQL statements sent."""

    rate: Rate
    cpu_seconds: float | None = None
    statements: int | None = None

    def cpu_ms_each(self) -> str:
        return (
            "" if self.cpu_seconds is None else f"{1000 * self.cpu_seconds / self.rate.count:.2f}"
        )

    def statements_each(self) -> str:
        return "" if self.statements is None else f"{self.statements / self.rate.count:.1f}"


def service_rate(url: str, orders: int) -> Measured:
    container = bootstrap(Settings(database_url=url))
    ids = _prepare(container, orders)
    sent = [0]

    def count(*_args: Any) -> None:  # every statement the driver is given, BEGIN and all
        sent[0] += 1

    event.listen(container.engine, "before_cursor_execute", count)
    started, cpu = time.perf_counter(), time.process_time()
    for order_id in ids:
        with container.uow(actor="bench") as uow:
            allocate_order(uow, order_id=order_id)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    event.remove(container.engine, "before_cursor_execute", count)
    container.close()
    rate = Rate("OrderHub allocate_order", orders, elapsed)
    return Measured(rate, cpu, sent[0])


def raw_rate(url: str, orders: int) -> Measured:
    """The floor: the same guarded UPDATE with the bare driver, one transaction each."""
    container = bootstrap(Settings(database_url=url))
    upgrade(container.engine)
    with container.uow(actor="bench") as uow:
        uow.catalog.upsert(Product("SKU-1", "One"))
        uow.locations.add(Location("wh", "WH", LocationKind.WAREHOUSE, LocationAddress("US")))
        uow.commit()
        adjust_stock(uow, items=[StockAdjustment("SKU-1", "wh", delta=orders, reason="bench")])
    container.close()
    run = _raw_sqlite if url.startswith("sqlite") else _raw_postgres
    return Measured(Rate("raw guarded UPDATE", orders, run(url, orders)))


def _raw_sqlite(url: str, orders: int) -> float:
    conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    started = time.perf_counter()
    for _ in range(orders):
        conn.execute("BEGIN IMMEDIATE")
        if conn.execute(GUARDED).rowcount != 1:
            raise RuntimeError("the raw floor ran out of stock")
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def _raw_postgres(url: str, orders: int) -> float:
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1)) as conn:
        started = time.perf_counter()
        for _ in range(orders):
            if conn.execute(GUARDED).rowcount != 1:  # psycopg opens the transaction
                raise RuntimeError("the raw floor ran out of stock")
            conn.commit()
        return time.perf_counter() - started


def reservation_benchmark(
    *, orders: int, kinds: tuple[str, ...] = ("sqlite", "postgres"), console: Console
) -> list[tuple[str, Measured, Measured]]:
    """Raw floor, then the service, per database kind; prints and returns both."""
    results = []
    for kind in kinds:
        with database(kind) as url:
            raw = raw_rate(url, orders)
        with database(kind) as url:
            hub = service_rate(url, orders)
        results.append((kind, raw, hub))
    table = Table(title=f"Reservations ({orders} single-line orders, one transaction each)")
    # Per reservation: wall ms, the client's CPU ms, and SQL statements sent (BEGIN included).
    for column in ("db", "path", "per s", "ms", "CPU ms", "SQL", "ratio to raw"):
        table.add_column(column, no_wrap=column == "path")
    for kind, raw, hub in results:
        for measured in (raw, hub):
            rate = measured.rate
            table.add_row(
                kind,
                rate.name,
                f"{rate.per_second:,.0f}",
                f"{1000 / rate.per_second:.2f}",
                measured.cpu_ms_each(),
                measured.statements_each(),
                f"{rate.per_second / raw.rate.per_second:.4f}",
            )
    console.print(table)
    return results
