"""Server CPU per request: ``orderhub serve`` on a throwaway SQLite hub, N GETs per path
(and, with ``--orders N``, N single-order ``POST /v1/orders`` on the seeded hub).

Wall-clock throughput on a shared machine follows the cores the server gets; the CPU the
server process spent (``/proc/<pid>/stat``, all its threads) per request does not. Usage:

    PYTHONPATH=$PWD/src:$PWD .venv/bin/python tools/request_cpu.py [--requests 1000]
        [--clients 8] [--orders 0] [PATH ...]
        # paths by default: /v1/health /v1/locations /v1/products?limit=5
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path

from orderhub.bench import load

DEFAULT_PATHS = ["/v1/health", "/v1/locations", "/v1/products?limit=5"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("paths", nargs="*", default=DEFAULT_PATHS)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument(
        "--orders", type=int, default=0, help="also POST this many orders (load.order(n))"
    )
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="reqcpu-"))
    env, key = load.fresh_hub(tmp)
    port = load.free_port()
    with (
        open(tmp / "serve.log", "w") as log,
        load.processes([(["serve"], {**env, "ORDERHUB_PORT": str(port)})], log) as started,
    ):
        load.wait_healthy(port, key)
        api = load.Client(port, key)
        load.seed(api)
        pid = started[0].pid
        print(f"load average {os.getloadavg()}")
        print("| path | requests/s | server CPU ms per request |\n|---|---:|---:|")
        for path in args.paths:
            share = args.requests // args.clients

            def run(path: str = path, share: int = share) -> None:
                for _ in range(share):
                    status, body = api.call("GET", path)
                    assert status == 200, (status, body)

            threads = [threading.Thread(target=run) for _ in range(args.clients)]
            cpu, wall = load.process_cpu_seconds(pid), time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            wall, cpu = time.perf_counter() - wall, load.process_cpu_seconds(pid) - cpu
            done = share * args.clients
            print(f"| `GET {path}` | {done / wall:,.0f} | {cpu * 1000 / done:.2f} |")
        if args.orders:
            cpu, wall = load.process_cpu_seconds(pid), time.perf_counter()
            posted = load.closed_loop(
                args.orders, args.clients, lambda n: api.call("POST", "/v1/orders", load.order(n))
            )
            wall, cpu = time.perf_counter() - wall, load.process_cpu_seconds(pid) - cpu
            assert not posted.errors, posted.errors[:2]
            done = args.orders
            print(f"| `POST /v1/orders` | {done / wall:,.0f} | {cpu * 1000 / done:.2f} |")


if __name__ == "__main__":
    main()
