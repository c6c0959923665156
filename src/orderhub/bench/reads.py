"""Reads at volume (issue 16): ``GET /v1/orders`` with each filter, its first page and the next
one (keyset cursor), and ``GET /v1/orders/{id}``, p95 against 50 ms, on a PostgreSQL database
that ``orderhub demo seed`` filled (a million orders for the target; fewer for a quick run).

Through the public contract: ``orderhub serve`` (one process) and one keep-alive client, one
request at a time, so the latencies are the server's and not a queue's. Every row gets
``WARM_UP`` untimed requests first, then the rows are timed in turns (request 1 of each row,
then request 2, …), so a shared machine's load swings reach every row alike. The filter values (a
customer's email, an external id, date ranges) come from the seeded data itself.
"""

from __future__ import annotations

import os
import random
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import psycopg
from cryptography.fernet import Fernet

from orderhub.bench import load
from orderhub.bench.report import Row

TARGET_P95_MS = 50.0
WARM_UP = 10  # untimed requests per row first: connections, caches, the planner's statistics
ADMIN_DSN = os.environ.get("ORDERHUB_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@dataclass(frozen=True)
class Timing:
    what: str
    latencies: list[float]
    errors: int

    def ms(self, p: float) -> float:
        return load.percentile(self.latencies, p) * 1000


def run(
    *,
    orders: int,
    database_url: str | None = None,
    requests: int = 100,
    say: Callable[[str], None] = print,
) -> list[Row]:
    """The table's rows. ``database_url``: an already seeded database (kept); otherwise a
    throwaway one is created at ``ORDERHUB_BENCH_PG``, seeded with ``orders`` and dropped."""
    name = None
    if database_url is None:
        name = f"orderhub_bench_reads_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        database_url = _url(name)
    env = {
        "ORDERHUB_DATABASE_URL": database_url,
        # A seeded database's channel secrets are sealed with it: give the one it was seeded
        # with, or make one for the throwaway database.
        "ORDERHUB_SECRET_KEY": os.environ.get("ORDERHUB_SECRET_KEY")
        or Fernet.generate_key().decode(),
        "ORDERHUB_SCHEDULES_ENABLED": "false",
    }
    try:
        if name is not None:
            say(f"seeding {orders:,} orders into {name} …")
            seeded = time.perf_counter()
            load.cli(env, "demo", "seed", "--orders", str(orders))
            say(f"seeded in {time.perf_counter() - seeded:.0f} s")
        key = load.cli(env, "apikey", "create", "--role", "admin").strip().splitlines()[-1]
        timings, count = _measure(env, key, database_url, requests, say)
    finally:
        if name is not None:
            with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return [
        Row(
            f"{t.what} ({count:,} orders, PostgreSQL)",
            p50_ms=t.ms(50),
            p99_ms=t.ms(99),
            note=f"p95 {t.ms(95):.1f} ms, target < {TARGET_P95_MS:.0f}; {len(t.latencies)} "
            f"requests, 1 client, serve ×1" + (f"; {t.errors} failed" if t.errors else ""),
        )
        for t in timings
    ]


def _url(database: str) -> str:
    base = ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{database}"


def _measure(
    env: dict[str, str], key: str, database_url: str, requests: int, say: Callable[[str], None]
) -> tuple[list[Timing], int]:
    count, queries, ids = _samples(database_url, requests)
    port = load.free_port()
    serve = (["serve"], env | {"ORDERHUB_PORT": str(port)})
    log_path = Path(tempfile.gettempdir()) / f"orderhub-reads-{port}.log"
    with log_path.open("w") as log, load.processes([serve], log):
        load.wait_healthy(port, key, seconds=120)
        api = load.Client(port, key)
        # Each row's path: the machine's own floor in this run first (a request that reads no
        # table; on a shared machine every row is best read against it), then each filter's
        # first page and its next page (the cursor from a first request).
        rows: list[tuple[str, list[str]]] = [
            ("floor: `GET /v1/health` (HTTP and `SELECT 1`)", ["/v1/health"])
        ]
        for what, params in queries:
            say(f"GET /v1/orders?{urlencode(params)} …")
            status, body = api.call("GET", _path(params))
            rows.append((f"`GET /v1/orders` {what}, first page", [_path(params)]))
            cursor = body.get("next_cursor") if status == 200 else None
            if cursor:
                following = _path(params | {"cursor": cursor})
                rows.append((f"`GET /v1/orders` {what}, next page", [following]))
        # The order: a different random one each request (3 for each list request).
        detail = [f"/v1/orders/{order_id}" for order_id in ids]
        rows.append(("`GET /v1/orders/{id}`, random orders", detail[WARM_UP:]))
        say(f"warming up: {WARM_UP} requests per row …")
        for _what, paths in rows[:-1]:
            for _ in range(WARM_UP):
                _time(api, paths[0])
        for path in detail[:WARM_UP]:
            _time(api, path)
        say(f"timing {len(rows)} rows, {requests} requests each, taken in turns …")
        # Round-robin: request i of every row, then request i + 1, so that every row sees the
        # same minutes of a shared machine's load rather than each its own.
        runs: list[list[tuple[float, bool]]] = [[] for _ in rows]
        for i in range(requests):
            for runs_of_row, (_what, paths) in zip(runs, rows, strict=True):
                if len(paths) == 1:
                    runs_of_row.append(_time(api, paths[0]))
                else:
                    for path in paths[3 * i : 3 * i + 3]:
                        runs_of_row.append(_time(api, path))
    timings = [
        Timing(what, [d for d, _ in done], sum(1 for _, ok in done if not ok))
        for (what, _paths), done in zip(rows, runs, strict=True)
    ]
    return timings, count


def _path(params: dict[str, str]) -> str:
    return "/v1/orders" + (f"?{urlencode(params)}" if params else "")


def _time(api: load.Client, path: str) -> tuple[float, bool]:
    started = time.perf_counter()
    status, _body = api.call("GET", path)
    return time.perf_counter() - started, status == 200


def _samples(
    database_url: str, requests: int
) -> tuple[int, list[tuple[str, dict[str, str]]], list[str]]:
    """The order count, each filter with values taken from the data, random order ids."""
    dsn = database_url.replace("postgresql+psycopg://", "postgresql://", 1)
    rng = random.Random(16)
    with psycopg.connect(dsn) as conn:
        count = _one(conn, "SELECT count(*) FROM orders")
        newest: datetime = _one(conn, "SELECT max(placed_at) FROM orders")
        picked = conn.execute(
            "SELECT id, customer_email, external_id FROM orders TABLESAMPLE SYSTEM (1) LIMIT %s",
            (requests * 3 + WARM_UP,),
        ).fetchall()
    if not picked:
        raise RuntimeError("no orders to read: seed the database first")
    ids = [row[0] for row in picked]
    rng.shuffle(ids)
    wanted = requests * 3 + WARM_UP
    ids = (ids * (wanted // len(ids) + 1))[:wanted]  # a small database: some come again
    _id, email, external_id = picked[len(picked) // 2]

    def day(n: int) -> str:
        return (newest - timedelta(days=n)).date().isoformat() + "T00:00:00Z"

    queries = [
        ("newest first, no filter", {}),
        ("status=shipped", {"status": "shipped"}),
        ("status=on_hold (rare)", {"status": "on_hold"}),
        ("channel=shopify", {"channel": "shopify"}),
        ("channel=partner&status=cancelled", {"channel": "partner", "status": "cancelled"}),
        ("one day three weeks back", {"placed_from": day(21), "placed_to": day(20)}),
        ("a week, two to three weeks back", {"placed_from": day(21), "placed_to": day(14)}),
        (
            "channel=web, status=delivered, one week",
            {"channel": "web", "status": "delivered", "placed_from": day(21), "placed_to": day(14)},
        ),
        ("email=<a customer>", {"email": email}),
        ("external_id=<an order>", {"external_id": external_id}),
        ("sla=breached", {"sla": "breached"}),
    ]
    return count, queries, ids


def _one(conn: psycopg.Connection[Any], sql: str) -> Any:
    row = conn.execute(sql).fetchone()
    assert row is not None
    return row[0]
