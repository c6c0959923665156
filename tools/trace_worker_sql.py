"""The worker's cost per order: SQL statements, write transactions and CPU (SQLite).

Default: ingests N orders through a real ``orderhub serve`` with no worker running (4 clients,
the reference seed and orders), then drains the backlog with one ``Worker`` in this process.
``--live C``: the worker runs (in a thread of this process) while C clients post the N orders,
as in ``e2e_bench.py``, until every event is delivered. ``--batch B``: the backlog is
ingested through ``POST /v1/orders:batch``, B orders a request (not allocated on ingest: the
worker's ``inventory.allocate`` deliveries allocate them). Every statement of the worker's engine
is counted (``before_cursor_execute``). Prints per order the statements, the write
transactions (``BEGIN IMMEDIATE``), the worker's CPU (the worker thread's CPU clock) and each
distinct statement with how many times an order runs it (``MANY``: an executemany). Usage:

    PYTHONPATH=$PWD/src:$PWD .venv/bin/python tools/trace_worker_sql.py [N] [--live C | --batch B]
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

from orderhub.bench import load


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("orders", type=int, nargs="?", default=600)
    parser.add_argument("--live", type=int, default=0, help="clients posting while it runs")
    parser.add_argument("--batch", type=int, default=0, help="ingest the backlog B a request")
    parser.add_argument("--top", type=int, default=40, help="distinct statements to list")
    parser.add_argument("--profile", help="write a cProfile of the worker to this file")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="trace-worker-"))
    env, key = load.fresh_hub(tmp)
    os.environ.update(env)
    port = load.free_port()
    with (
        open(tmp / "procs.log", "w") as log,
        load.processes([(["serve"], {**env, "ORDERHUB_PORT": str(port)})], log),
    ):
        load.wait_healthy(port, key)
        api = load.Client(port, key)
        load.seed(api)
        if args.live:
            for n in range(50):  # warm-up, as the reference script
                api.call("POST", "/v1/orders", load.order(10_000_000 + n))
        elif args.batch:
            b = args.batch

            def post_batch(i: int) -> tuple[int, Any]:
                chunk = [load.order(n) for n in range(i * b, min(args.orders, (i + 1) * b))]
                return api.call("POST", "/v1/orders:batch", {"orders": chunk})

            load.closed_loop(-(-args.orders // b), 4, post_batch)
        else:
            load.closed_loop(
                args.orders, 4, lambda i: api.call("POST", "/v1/orders", load.order(i))
            )
        result = traced(args, api)
    n = args.orders
    lines, cpu, ran = result
    numbers = re.compile(r"\b\d+\b|(?<=sa_savepoint_)\d+")
    shapes = collections.Counter(numbers.sub("N", line) for line in lines)
    begins = shapes["BEGIN IMMEDIATE"]
    print(f"load average {os.getloadavg()}; {ran} deliveries")
    print(
        f"{len(lines)} statements for {n} orders = {len(lines) / n:.1f} per order;"
        f" {begins / n:.2f} write transactions per order;"
        f" worker CPU {cpu * 1000 / n:.2f} ms per order"
    )
    for shape, count in shapes.most_common(args.top):
        print(f"{count / n:6.2f} {shape[:220]}")


def traced(args: argparse.Namespace, api: load.Client) -> tuple[list[str], float, int]:
    """Run the worker until nothing is left (while ``--live`` clients post); its statements,
    its thread's CPU seconds and the deliveries it ran."""
    from sqlalchemy import event

    from orderhub.bootstrap import bootstrap
    from orderhub.workers.relay import Worker

    container = bootstrap()
    worker = Worker(container)
    worker.run_once()  # the warm-up orders', and the first statements compiled
    lines: list[str] = []
    lock = threading.Lock()

    @event.listens_for(container.engine, "before_cursor_execute")
    def _log(*a: Any) -> None:
        statement, executemany = a[2], a[5]
        with lock:
            lines.append(("MANY " if executemany else "") + " ".join(statement.split())[:300])

    stop, posted = threading.Event(), threading.Event()
    outcome: dict[str, float] = {}

    def run() -> None:
        profile = cProfile.Profile() if args.profile else None
        if profile is not None:
            profile.enable()
        cpu, ran = time.thread_time(), 0
        while True:
            did = worker.run_once()
            ran += did
            if not did:
                if posted.is_set() and not worker.run_once():
                    break
                stop.wait(container.settings.worker_poll_seconds)
        outcome.update(cpu=time.thread_time() - cpu, ran=ran)
        if profile is not None:
            profile.disable()
            profile.dump_stats(args.profile)

    thread = threading.Thread(target=run)
    thread.start()
    if args.live:
        load.closed_loop(
            args.orders, args.live, lambda n: api.call("POST", "/v1/orders", load.order(n))
        )
    posted.set()
    thread.join()
    worker.close()
    return lines, outcome["cpu"], int(outcome["ran"])


if __name__ == "__main__":
    main()
