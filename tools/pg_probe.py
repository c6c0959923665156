"""CPU per order of every part of the pipeline on PostgreSQL: the API processes, the workers and
PostgreSQL's own backends (``/proc``), from the first order posted until every order is
allocated and every delivery done.

On a 2-core machine the sum says how many orders per second the cores can carry at all; the
parts say where to work. Creates (drops first) the database ``pg_probe`` on the server given,
seeds it as the reference benchmarks do and posts N single orders from C clients, spread over
the API processes. PostgreSQL's figure counts every ``postgres`` process of the machine:
run it with nothing else using the server. Usage:

    PYTHONPATH=$PWD/src:$PWD .venv/bin/python tools/pg_probe.py [--orders 2000] [--clients 8]
        [--procs 1] [--workers 1] [--server postgresql://postgres@127.0.0.1:5432]
        [--spy serve.txt] [--spy-worker worker.txt]

``--spy`` / ``--spy-worker``: py-spy the first API process / the first worker during the closed
loop (raw collapsed stacks of the GIL holder, as ``tools/serve_probe.py``).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

import psycopg

from orderhub.bench import load

sys.path.insert(0, str(Path(__file__).parent))
from serve_probe import spy, summary

DATABASE = "pg_probe"


def postgres_cpu_seconds() -> float:
    """CPU spent so far by every running ``postgres`` process (a backend that exits meanwhile
    takes its share with it: the figure is a floor)."""
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if Path(f"/proc/{entry}/comm").read_text().strip() == "postgres":
                total += load.process_cpu_seconds(int(entry))
        except OSError:  # gone meanwhile
            continue
    return total


def settled(url: str) -> bool:
    """No order left ``received``, no event left to fan out and no delivery open."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM orders WHERE status = 'received')"
            " + (SELECT count(*) FROM outbox WHERE NOT fanned_out)"
            " + (SELECT count(*) FROM deliveries WHERE status IN ('pending', 'in_flight'))"
        ).fetchone()
    return row is not None and row[0] == 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--procs", type=int, default=1, help="orderhub serve processes")
    parser.add_argument("--workers", type=int, default=1, help="orderhub worker processes")
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--spy", default="", help="py-spy the first API process into this file")
    parser.add_argument("--spy-worker", default="", help="py-spy the first worker into this file")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="pg-probe-"))
    env, key, url = load.fresh_pg_hub(tmp, args.server, DATABASE)
    ports = [load.free_port() for _ in range(args.procs)]
    commands = [(["serve"], {**env, "ORDERHUB_PORT": str(port)}) for port in ports]
    commands += [(["worker", "--id", f"w{i}"], env) for i in range(args.workers)]
    with open(tmp / "procs.log", "w") as log, load.processes(commands, log) as started:
        for port in ports:
            load.wait_healthy(port, key)
        apis = [load.Client(port, key) for port in ports]
        load.seed(apis[0])
        for n in range(50):  # warm-up, as the reference script
            apis[n % len(apis)].call("POST", "/v1/orders", load.order(10_000_000 + n))
        while not settled(url):
            time.sleep(0.2)
        targets = [(args.spy, started[0]), (args.spy_worker, started[args.procs])]
        spies = [spy(process.pid, out) for out, process in targets if out]
        time.sleep(1 if spies else 0)  # py-spy attached
        before = [load.process_cpu_seconds(p.pid) for p in started]
        postgres_before = postgres_cpu_seconds()
        backends_before = load.backends_cpu_seconds(url)
        clients_cpu, began = time.process_time(), time.perf_counter()
        closed = load.closed_loop(
            args.orders,
            args.clients,
            lambda n: apis[n % len(apis)].call("POST", "/v1/orders", load.order(n)),
        )
        acknowledged = time.perf_counter() - began
        while not settled(url):
            time.sleep(0.1)
        done = time.perf_counter() - began
        clients_cpu = time.process_time() - clients_cpu
        after = [load.process_cpu_seconds(p.pid) for p in started]
        postgres = postgres_cpu_seconds() - postgres_before
        backends = load.backends_cpu_seconds(url) - backends_before
        for recording in spies:
            recording.send_signal(signal.SIGINT)
            recording.wait()
    per_order = [round((b - a) * 1000 / args.orders, 2) for a, b in zip(before, after, strict=True)]
    print(summary(closed, args.orders, acknowledged, done))
    print(
        f"CPU ms per order: serve {per_order[: args.procs]}, workers {per_order[args.procs :]},"
        f" postgres {postgres * 1000 / args.orders:.2f}"
        f" (its database's backends {backends * 1000 / args.orders:.2f}),"
        f" clients {clients_cpu * 1000 / args.orders:.2f}"
    )


if __name__ == "__main__":
    main()
