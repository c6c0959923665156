"""CPU per order of ``orderhub serve`` (and the worker), with an optional py-spy profile of each.

``tools/pipeline_cpu.py`` without the settling wait when the worker is off, and with py-spy
attached for the closed loop only (``--spy FILE`` for serve, ``--spy-worker FILE`` for the
worker: raw collapsed stacks of the threads holding the GIL, 200 samples/s). On a throwaway
SQLite hub seeded as the reference benchmarks seed it, posts N single orders from C clients.
Usage:

    PYTHONPATH=$PWD/src:$PWD .venv/bin/python tools/serve_probe.py [--orders 3000] [--clients 8]
        [--no-worker] [--spy serve.txt] [--spy-worker worker.txt]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from orderhub.bench import load

sys.path.insert(0, str(Path(__file__).parent))
from pipeline_cpu import settled


def spy(pid: int, out: str) -> subprocess.Popen[bytes]:
    """py-spy recording ``pid``'s GIL-holding stacks to ``out`` until interrupted."""
    command = [
        str(Path(sys.executable).parent / "py-spy"),
        *("record", "-p", str(pid), "-o", out, "-f", "raw", "-r", "200"),
        *("--nonblocking", "--gil"),
    ]
    return subprocess.Popen(  # noqa: S603 - py-spy beside this interpreter, fixed arguments
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def summary(closed: load.Closed, orders: int, acknowledged: float, done: float) -> str:
    """The closed loop in one line: load, errors, throughput, latency, time to settle."""
    p50, p99 = (load.percentile(closed.latencies, p) * 1000 for p in (50, 99))
    return (
        f"load {os.getloadavg()[0]:.2f}; errors {len(closed.errors)}; acknowledged"
        f" {orders / acknowledged:.0f}/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms;"
        f" settled after {done:.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--no-worker", action="store_true")
    parser.add_argument("--spy", default="", help="py-spy serve into this file")
    parser.add_argument("--spy-worker", default="", help="py-spy the worker into this file")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="serve-probe-"))
    env, key = load.fresh_hub(tmp)
    port = load.free_port()
    commands = [(["serve"], {**env, "ORDERHUB_PORT": str(port)})]
    if not args.no_worker:
        commands.append((["worker"], env))
    with open(tmp / "procs.log", "w") as log, load.processes(commands, log) as started:
        load.wait_healthy(port, key)
        api = load.Client(port, key)
        load.seed(api)
        for n in range(50):  # warm-up, as the reference script
            api.call("POST", "/v1/orders", load.order(10_000_000 + n))
        while not args.no_worker and not settled(tmp / "hub.db"):
            time.sleep(0.2)
        targets = [(args.spy, started[0]), (args.spy_worker, started[-1])]
        spies = [spy(process.pid, out) for out, process in targets if out]
        time.sleep(1 if spies else 0)  # py-spy attached
        before = [load.process_cpu_seconds(p.pid) for p in started]
        clients_cpu, began = time.process_time(), time.perf_counter()
        closed = load.closed_loop(
            args.orders, args.clients, lambda n: api.call("POST", "/v1/orders", load.order(n))
        )
        acknowledged = time.perf_counter() - began
        clients_cpu = time.process_time() - clients_cpu
        after = [load.process_cpu_seconds(p.pid) for p in started]
        for recording in spies:
            recording.send_signal(signal.SIGINT)
            recording.wait()
        while not args.no_worker and not settled(tmp / "hub.db"):
            time.sleep(0.1)
        done = time.perf_counter() - began
    per_order = [round((b - a) * 1000 / args.orders, 2) for a, b in zip(before, after, strict=True)]
    print(summary(closed, args.orders, acknowledged, done))
    print(
        f"CPU ms per order: serve {per_order[0]}"
        + ("" if args.no_worker else f", worker {per_order[1]}")
        + f", clients {clients_cpu * 1000 / args.orders:.2f}"
    )


if __name__ == "__main__":
    main()
