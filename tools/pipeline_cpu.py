"""CPU per order of each part of the pipeline: ``orderhub serve``, ``orderhub worker`` and the
HTTP clients, on a throwaway SQLite hub, as ``e2e_bench.py`` drives it.

On a shared 2-core machine the wall-clock figures follow the cores each process happens to
get; the CPU each one spent per order (``/proc/<pid>/stat``, all threads; the clients'
``time.process_time``) does not, and says which part to work on. Posts N orders from C
clients with the worker running, then waits until every order is allocated and every delivery
done. Usage:

    PYTHONPATH=$PWD/src:$PWD .venv/bin/python tools/pipeline_cpu.py [--orders 2000] [--clients 8]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import tempfile
import time
from pathlib import Path

from orderhub.bench import load


def settled(database: Path) -> bool:
    """No order left ``received``, no event left to fan out and no delivery open."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30) as conn:
        left = conn.execute(
            "SELECT (SELECT count(*) FROM orders WHERE status = 'received')"
            " + (SELECT count(*) FROM outbox WHERE NOT fanned_out)"
            " + (SELECT count(*) FROM deliveries WHERE status IN ('pending', 'in_flight'))"
        ).fetchone()
    return bool(left[0] == 0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="pipecpu-"))
    env, key = load.fresh_hub(tmp)
    port = load.free_port()
    commands = [(["serve"], {**env, "ORDERHUB_PORT": str(port)}), (["worker"], env)]
    with open(tmp / "procs.log", "w") as log, load.processes(commands, log) as (serve, worker):
        load.wait_healthy(port, key)
        api = load.Client(port, key)
        load.seed(api)
        for n in range(50):  # warm-up, as the reference script
            api.call("POST", "/v1/orders", load.order(10_000_000 + n))
        while not settled(tmp / "hub.db"):
            time.sleep(0.2)
        before = [load.process_cpu_seconds(p.pid) for p in (serve, worker)]
        clients_cpu, started = time.process_time(), time.perf_counter()
        closed = load.closed_loop(
            args.orders, args.clients, lambda n: api.call("POST", "/v1/orders", load.order(n))
        )
        acknowledged = time.perf_counter() - started
        clients_cpu = time.process_time() - clients_cpu
        while not settled(tmp / "hub.db"):
            time.sleep(0.1)
        done = time.perf_counter() - started
        after = [load.process_cpu_seconds(p.pid) for p in (serve, worker)]
    per_order = [(b - a) * 1000 / args.orders for a, b in zip(before, after, strict=True)]
    print(f"load average {os.getloadavg()}; errors {len(closed.errors)} {closed.errors[:2]}")
    print(f"acknowledged {args.orders / acknowledged:.0f} orders/s, all settled after {done:.1f} s")
    print("| process | CPU ms per order |\n|---|---:|")
    print(f"| serve | {per_order[0]:.2f} |\n| worker | {per_order[1]:.2f} |")
    print(f"| clients ({args.clients} threads) | {clients_cpu * 1000 / args.orders:.2f} |")


if __name__ == "__main__":
    main()
