"""The worker's cost per order on a backlog: SQL statements, transactions and CPU (SQLite).

Ingests N orders through a real ``orderhub serve`` with no worker running (4 clients, the
reference seed and orders), stops it, then drains the backlog with one ``Worker`` in this
process, every statement of its engine counted (``before_cursor_execute``). Prints per order
the statements, the write transactions (``BEGIN`` … commit), the worker's CPU (this process's
``time.process_time`` over the drain) and each distinct statement with how many times an order
runs it (``MANY`` marks an executemany). Usage:

    PYTHONPATH=$PWD/src:$PWD .venv/bin/python tools/trace_worker_sql.py [N] [--top K]
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import os
import re
import tempfile
import threading
import time
from pathlib import Path
from typing import Any


def ingest(tmp: Path, n: int) -> dict[str, str]:
    """A fresh hub holding N orders allocated on ingest and their undelivered events."""
    from orderhub.bench import load

    env, key = load.fresh_hub(tmp)
    port = load.free_port()
    with (
        open(tmp / "procs.log", "w") as log,
        load.processes([(["serve"], {**env, "ORDERHUB_PORT": str(port)})], log),
    ):
        load.wait_healthy(port, key)
        api = load.Client(port, key)
        load.seed(api)
        load.closed_loop(n, 4, lambda i: api.call("POST", "/v1/orders", load.order(i)))
    return env


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("orders", type=int, nargs="?", default=600)
    parser.add_argument("--top", type=int, default=40, help="distinct statements to list")
    parser.add_argument("--profile", help="write a cProfile of the drain to this file")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="trace-worker-"))
    os.environ.update(ingest(tmp, args.orders))

    from sqlalchemy import event

    from orderhub.bootstrap import bootstrap
    from orderhub.workers.relay import Worker

    container = bootstrap()
    lines: list[str] = []
    lock = threading.Lock()

    @event.listens_for(container.engine, "before_cursor_execute")
    def _log(*a: Any) -> None:
        statement, executemany = a[2], a[5]
        with lock:
            lines.append(("MANY " if executemany else "") + " ".join(statement.split())[:300])

    worker = Worker(container)
    profile = cProfile.Profile() if args.profile else None
    cpu, started, ran = time.process_time(), time.perf_counter(), 0
    if profile is not None:
        profile.enable()
    while True:
        did = worker.run_once()
        ran += did
        if not did:
            break
    if profile is not None:
        profile.disable()
        profile.dump_stats(args.profile)
    cpu = time.process_time() - cpu
    wall = time.perf_counter() - started
    worker.close()
    n = args.orders
    numbers = re.compile(r"\b\d+\b|(?<=sa_savepoint_)\d+")
    shapes = collections.Counter(numbers.sub("N", line) for line in lines)
    begins = sum(count for shape, count in shapes.items() if shape.startswith("BEGIN"))
    print(f"load average {os.getloadavg()}; {ran} deliveries")
    print(
        f"{len(lines)} statements for {n} orders = {len(lines) / n:.1f} per order;"
        f" {begins / n:.2f} write transactions per order;"
        f" worker CPU {cpu * 1000 / n:.2f} ms per order (wall {wall:.1f} s)"
    )
    for shape, count in shapes.most_common(args.top):
        print(f"{count / n:6.2f} {shape[:220]}")


if __name__ == "__main__":
    main()
