"""The raw-driver floor of one order write, the yardstick every ingest figure is divided by.

The method of ``../shared/bench/db_floor.py``: the rows an order hub must commit per order
(order + 3 lines + 1 event + 1 outbox row + 3 guarded stock updates), one transaction per order,
written with the bare driver and nothing else. Measured in the same run as the hub, so the ratio
survives a noisy shared machine where the absolute figures do not.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg

PAYLOAD = json.dumps(
    {"note": "x" * 600, "lines": [{"sku": f"SKU-{i}", "qty": 1} for i in range(3)]}
)
DDL = (
    "CREATE TABLE orders (id TEXT PRIMARY KEY, channel TEXT, ext_id TEXT, status TEXT,"
    " total NUMERIC, raw TEXT, UNIQUE(channel, ext_id))",
    "CREATE TABLE lines (id TEXT PRIMARY KEY, order_id TEXT, sku TEXT, qty INT, price NUMERIC)",
    "CREATE TABLE events (id TEXT PRIMARY KEY, order_id TEXT, kind TEXT, body TEXT)",
    "CREATE TABLE outbox (id TEXT PRIMARY KEY, topic TEXT, body TEXT, done INT DEFAULT 0)",
    "CREATE TABLE stock (sku TEXT, loc TEXT, on_hand INT, reserved INT, PRIMARY KEY(sku, loc))",
)
_TABLES = ("orders", "lines", "events", "outbox", "stock")


def _write_order(cur: Any, ph: str, i: int) -> None:
    """One order's rows, statement by statement, as the reference script writes them."""
    oid = str(uuid.uuid4())
    cur.execute(
        f"INSERT INTO orders VALUES ({ph},{ph},{ph},{ph},{ph},{ph})",
        (oid, "shop", f"E{i}", "new", 30, PAYLOAD),
    )
    for j in range(3):
        sku = f"SKU-{(i + j) % 100}"
        cur.execute(
            f"INSERT INTO lines VALUES ({ph},{ph},{ph},{ph},{ph})",
            (str(uuid.uuid4()), oid, sku, 1, 10),
        )
        cur.execute(
            "UPDATE stock SET reserved = reserved + 1"
            f" WHERE sku={ph} AND loc='W1' AND on_hand - reserved >= 1",
            (sku,),
        )
    cur.execute(
        f"INSERT INTO events VALUES ({ph},{ph},{ph},{ph})",
        (str(uuid.uuid4()), oid, "order.created", PAYLOAD),
    )
    cur.execute(
        f"INSERT INTO outbox (id, topic, body) VALUES ({ph},{ph},{ph})",
        (str(uuid.uuid4()), "order.created", oid),
    )


def sqlite_floor(path: Path, *, orders: int = 2000, synchronous: str = "NORMAL") -> float:
    """Orders/s on a fresh SQLite file in WAL mode (the hub's own settings)."""
    path.unlink(missing_ok=True)
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("PRAGMA journal_mode=WAL")
        con.execute(f"PRAGMA synchronous={synchronous}")
        for ddl in DDL:
            con.execute(ddl)
        con.executemany(
            "INSERT INTO stock VALUES (?, 'W1', 1000000000, 0)", [(f"SKU-{i}",) for i in range(100)]
        )
        cur = con.cursor()
        started = time.perf_counter()
        for i in range(orders):
            cur.execute("BEGIN IMMEDIATE")
            _write_order(cur, "?", i)
            cur.execute("COMMIT")
        return orders / (time.perf_counter() - started)
    finally:
        con.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def postgres_floor(dsn: str, *, orders: int = 2000) -> float:
    """Orders/s over one psycopg connection to ``dsn`` (plain ``postgresql://`` URL); the
    scratch tables are dropped afterwards."""
    with psycopg.connect(dsn, autocommit=True) as con:
        try:
            for table in _TABLES:
                con.execute(f"DROP TABLE IF EXISTS floor_{table}")
            for ddl in DDL:
                con.execute(_scoped(ddl))
            with con.cursor() as cur:
                cur.executemany(
                    _scoped("INSERT INTO stock VALUES (%s, 'W1', 1000000000, 0)"),
                    [(f"SKU-{i}",) for i in range(100)],
                )
            con.autocommit = False
            scoped = _ScopedCursor(con.cursor())
            started = time.perf_counter()
            for i in range(orders):
                _write_order(scoped, "%s", i)
                con.commit()
            return orders / (time.perf_counter() - started)
        finally:
            con.rollback()
            con.autocommit = True
            for table in _TABLES:
                con.execute(f"DROP TABLE IF EXISTS floor_{table}")


def _scoped(sql: str) -> str:
    """The floor's tables carry a ``floor_`` prefix on PostgreSQL, which may hold a hub."""
    for table in _TABLES:
        sql = sql.replace(f"TABLE {table} ", f"TABLE floor_{table} ")
        sql = sql.replace(f"INTO {table} ", f"INTO floor_{table} ")
        sql = sql.replace(f"UPDATE {table} ", f"UPDATE floor_{table} ")
    return sql


class _ScopedCursor:
    """A cursor that writes to the ``floor_`` tables; the statements stay the reference's."""

    def __init__(self, cur: Any) -> None:
        self._cur = cur

    def execute(self, sql: str, params: Any = None) -> None:
        self._cur.execute(_scoped(sql), params)
