"""``orderhub bench``: the figures of issue #16 as one Markdown table, measured in one run.

The method of ``../shared/bench`` (e2e_bench.py, drain_bench.py, db_floor.py), through the
hub's public contract only: ``orderhub serve`` and ``orderhub worker`` processes on a throwaway
SQLite database, keep-alive HTTP clients, and the raw-driver floor measured before and after in
the same run. Every throughput is also given as a ratio to that floor, with the load average:
the machines are shared, and only the ratios compare between runs.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from orderhub.bench import floor, load

TARGETS = {"http": 0.10, "batch": 0.50}  # issue #16: shares of the floor on SQLite


@dataclass
class Row:
    """One line of the table: what, how fast, and against the floor."""

    what: str
    per_second: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    per_order_ms: float | None = None
    note: str = ""


@dataclass
class Report:
    floors: list[float] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)

    @property
    def floor(self) -> float:
        return sum(self.floors) / len(self.floors)

    def markdown(self) -> str:
        """The table docs/performance.md holds, with the floor and the load average."""
        lines = [
            "| measurement | orders/s | ratio to floor | p50 ms | p99 ms | ms per order | |",
            "|---|---:|---:|---:|---:|---:|---|",
        ]
        if self.floors:  # none when only the reads were measured (--no-ingest)
            first, second = self.floors[0], self.floors[-1]
            lines.append(
                f"| raw-driver floor (SQLite WAL, 1 connection; before / after) "
                f"| {self.floor:,.0f} | 1 | | | {1000 / self.floor:.2f} "
                f"| {first:,.0f} / {second:,.0f} |"
            )
        for row in self.rows:
            ratio = f"{row.per_second / self.floor:.3f}" if row.per_second and self.floors else ""
            lines.append(
                f"| {row.what} | {_num(row.per_second, '{:,.0f}')} | {ratio} "
                f"| {_num(row.p50_ms, '{:.1f}')} | {_num(row.p99_ms, '{:.1f}')} "
                f"| {_num(row.per_order_ms, '{:.2f}')} | {row.note} |"
            )
        before = " ".join(f"{x:.2f}" for x in self.load_before)
        after = " ".join(f"{x:.2f}" for x in self.load_after)
        lines.append("")
        lines.append(f"Load average (1, 5, 15 min) before: {before}; after: {after}.")
        return "\n".join(lines)


def _num(value: float | None, pattern: str) -> str:
    return "" if value is None else pattern.format(value)


def run(
    *,
    orders: int = 2000,
    clients: int = 8,
    batch: int = 500,
    batch_orders: int = 5000,
    procs: int = 1,
    rate: float = 200,
    rate_seconds: float = 10,
    backlogs: tuple[int, ...] = (300, 1200),
    drain_timeout: float = 600,
    say: Callable[[str], None] = print,
) -> Report:
    """Measure everything; ``say`` reports progress (the run takes minutes)."""
    report = Report(load_before=os.getloadavg())
    tmp = Path(tempfile.mkdtemp(prefix="orderhub-bench-"))
    try:
        say("floor …")
        report.floors.append(floor.sqlite_floor(tmp / "floor.db"))
        say(f"HTTP and batch ingest: serve ({procs} process(es)) + one worker …")
        report.rows += _ingest(
            tmp / "ingest", orders, clients, batch, batch_orders, procs, rate, rate_seconds
        )
        say("batch ingest with the worker off …")
        report.rows.append(_batch_alone(tmp / "batch", batch, batch_orders))
        for backlog in backlogs:
            say(f"drain of a {backlog}-order backlog …")
            report.rows += _drain(tmp / f"drain-{backlog}", backlog, drain_timeout)
        say("floor again …")
        report.floors.append(floor.sqlite_floor(tmp / "floor.db"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report.load_after = os.getloadavg()
    return report


def _ingest(
    directory: Path,
    orders: int,
    clients: int,
    batch: int,
    batch_orders: int,
    procs: int,
    rate: float,
    rate_seconds: float,
) -> list[Row]:
    """e2e_bench's closed loop (one order per request) and open loop (``rate`` per second,
    with how long each order took from creation to allocation), then the batch route."""
    env, key = load.fresh_hub(directory)
    port = load.free_port()
    serve = (["serve", "--workers", str(procs)], env | {"ORDERHUB_PORT": str(port)})
    worker = (["worker", "--id", "bench"], env)
    with (directory / "processes.log").open("w") as log, load.processes([serve, worker], log):
        load.wait_healthy(port, key, seconds=120)
        api = load.Client(port, key)
        load.seed(api)
        for n in range(50):  # warm-up, as the reference does
            api.call("POST", "/v1/orders", load.order(10_000_000 + n))
        single = load.closed_loop(
            orders, clients, lambda n: api.call("POST", "/v1/orders", load.order(n))
        )
        _wait_allocated(directory / "hub.db", seconds=600)
        opened = load.open_loop(
            rate, rate_seconds, lambda n: api.call("POST", "/v1/orders", load.order(OPEN + n))
        )
        _wait_allocated(directory / "hub.db", seconds=600)
        offered = {f"E-{OPEN + n}" for n in range(int(rate * rate_seconds))}
        lags = _allocation_lags(directory / "hub.db", offered)
        # The batches start on a drained pipeline, not behind the open loop's deliveries.
        _wait_drained(directory / "hub.db", time.perf_counter(), 600)
        batches = _post_batches(api, batch, batch_orders)
    note = f"{clients} clients, serve ×{procs} + 1 worker"
    errors = _errors(single)
    return [
        Row(
            "HTTP ingest, `POST /v1/orders`",
            single.per_second,
            load.percentile(single.latencies, 50) * 1000,
            load.percentile(single.latencies, 99) * 1000,
            1000 / single.per_second,
            note=f"{note}{errors}; target ≥ {TARGETS['http']:.2f}",
        ),
        Row(
            f"open loop, {rate:g} orders/s offered for {rate_seconds:g} s",
            opened.per_second,
            load.percentile(opened.latencies, 50) * 1000,
            load.percentile(opened.latencies, 99) * 1000,
            note=f"latency from the due time; the sender was late for {opened.late}"
            f"{_errors(opened)}; target p99 < 50 ms",
        ),
        Row(
            "open loop: acknowledged → allocated",
            p50_ms=load.percentile(lags, 50) * 1000 if lags else None,
            p99_ms=load.percentile(lags, 99) * 1000 if lags else None,
            note=f"{len(lags)} orders, the slowest {max(lags, default=0):.2f} s "
            "(order created → `order.allocated`); target every order within 2 s",
        ),
        Row(
            f"batch ingest, `POST /v1/orders:batch` of {batch}",
            batches.per_second * batch,
            load.percentile(batches.latencies, 50) * 1000,
            load.percentile(batches.latencies, 99) * 1000,
            1000 / (batches.per_second * batch),
            note=f"2 clients, p50/p99 per batch, worker running, started with no delivery "
            f"pending{_errors(batches)}; target ≥ {TARGETS['batch']:.2f}",
        ),
    ]


OPEN = 30_000_000  # the open loop's order numbers
BATCHED = 20_000_000  # the batches' order numbers


def _post_batches(api: load.Client, batch: int, batch_orders: int) -> load.Closed:
    """``batch_orders`` orders in batches of ``batch`` from two clients."""

    def post_batch(n: int) -> tuple[int, Any]:
        body = {"orders": [load.order(BATCHED + n * batch + i) for i in range(batch)]}
        return api.call("POST", "/v1/orders:batch", body)

    return load.closed_loop(max(1, batch_orders // batch), 2, post_batch)


@contextmanager
def _seeded_serve(
    directory: Path,
) -> Iterator[tuple[load.Client, dict[str, str], TextIO, int]]:
    """``orderhub serve`` alone on a fresh, seeded hub: its client, environment and log (for
    a worker started later), and its process id (for the CPU it spends)."""
    env, key = load.fresh_hub(directory)
    port = load.free_port()
    serve = (["serve"], env | {"ORDERHUB_PORT": str(port)})
    with (directory / "processes.log").open("w") as log, load.processes([serve], log) as started:
        load.wait_healthy(port, key, seconds=120)
        api = load.Client(port, key)
        load.seed(api)
        yield api, env, log, started[0].pid


def _batch_alone(directory: Path, batch: int, batch_orders: int) -> Row:
    """The batch route by itself, as an import runs it: ``orderhub serve`` alone, the worker
    to allocate the orders afterwards (the batch's answer says ``received``)."""
    with _seeded_serve(directory) as (api, _env, _log, pid):
        cpu = load.process_cpu_seconds(pid)
        batches = _post_batches(api, batch, batch_orders)
        cpu = load.process_cpu_seconds(pid) - cpu
    sent = max(1, batch_orders // batch) * batch
    return Row(
        f"batch ingest, `POST /v1/orders:batch` of {batch}, worker off",
        batches.per_second * batch,
        load.percentile(batches.latencies, 50) * 1000,
        load.percentile(batches.latencies, 99) * 1000,
        1000 / (batches.per_second * batch),
        note=f"2 clients, p50/p99 per batch; server CPU {cpu * 1000 / sent:.3f} ms per order"
        f"{_errors(batches)}; target ≥ {TARGETS['batch']:.2f}",
    )


def _wait_allocated(database: Path, *, seconds: float) -> None:
    """Until no order is left ``received`` (the pipeline has caught up), at most ``seconds``."""
    con = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if not _count(con, "SELECT count(*) FROM orders WHERE status = 'received'"):
                return
            time.sleep(0.2)
    finally:
        con.close()


def _allocation_lags(database: Path, external_ids: set[str]) -> list[float]:
    """Seconds from each order's creation to its ``order.allocated`` event, for the orders
    with these external ids: an upper bound of acknowledgement → allocation."""
    con = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)
    try:
        rows = con.execute(
            "SELECT o.external_id, o.created_at, min(e.occurred_at) FROM orders o"
            " JOIN order_events e ON e.order_id = o.id AND e.type = 'order.allocated'"
            " GROUP BY o.id"
        ).fetchall()
    finally:
        con.close()
    return [
        (datetime.fromisoformat(allocated) - datetime.fromisoformat(created)).total_seconds()
        for external_id, created, allocated in rows
        if external_id in external_ids
    ]


def _errors(loop: load.Closed | load.Open) -> str:
    """How many requests failed, and the first answer: a table with failures says why."""
    if not loop.errors:
        return ""
    status, body = loop.errors[0]
    return f"; {len(loop.errors)} failed, first: {status} {body[:80]!r}"


def _drain(directory: Path, backlog: int, timeout: float) -> list[Row]:
    """drain_bench's method: ingest ``backlog`` orders with no worker running, then time one
    worker until no order is left 'received' and no delivery is pending."""
    with _seeded_serve(directory) as (api, env, log, _pid):
        ingest = load.closed_loop(
            backlog, 4, lambda n: api.call("POST", "/v1/orders", load.order(n))
        )
        started = time.perf_counter()
        with load.processes([(["worker"], env)], log):
            allocated, drained = _wait_drained(directory / "hub.db", started, timeout)
    rows = [
        Row(
            f"ingest with the worker off ({backlog} orders)",
            ingest.per_second,
            load.percentile(ingest.latencies, 50) * 1000,
            load.percentile(ingest.latencies, 99) * 1000,
            1000 / ingest.per_second,
            note="4 clients, as drain_bench.py",
        )
    ]
    for what, seconds in (("allocated", allocated), ("drained", drained)):
        done = seconds is not None
        rows.append(
            Row(
                f"backlog of {backlog}: all {what}",
                backlog / seconds if done and seconds else None,
                per_order_ms=1000 * seconds / backlog if done and seconds else None,
                note=f"after {seconds:.1f} s, one worker"
                if done and seconds
                else f"not done within {timeout:.0f} s",
            )
        )
    return rows


def _wait_drained(
    database: Path, started: float, timeout: float
) -> tuple[float | None, float | None]:
    """Seconds until no order is 'received', and until no delivery is pending (None: not
    within ``timeout``) — the reference's queries, on a read-only connection."""
    con = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)
    allocated: float | None = None
    try:
        while time.perf_counter() - started < timeout:
            if allocated is None and not _count(
                con, "SELECT count(*) FROM orders WHERE status = 'received'"
            ):
                allocated = time.perf_counter() - started
            if allocated is not None and not (
                _count(
                    con, "SELECT count(*) FROM deliveries WHERE status IN ('pending','in_flight')"
                )
                or _count(con, "SELECT count(*) FROM outbox WHERE fanned_out = 0")
            ):
                return allocated, time.perf_counter() - started
            time.sleep(0.5)
        return allocated, None
    finally:
        con.close()


def _count(con: sqlite3.Connection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    return int(row[0]) if row else 0
