"""CPU per order of ``ingest_batch(allocate=True)`` in groups, in this process, no HTTP.

What a group of ``POST /v1/orders`` costs the server inside its transaction, without the
HTTP server, the clients, the worker or the group sizes that timing makes: seeds a throwaway
SQLite hub as the reference benchmarks do (through the API in-process), then ingests N of
``load.order``'s orders in groups of G and prints this process's CPU per order
(``time.process_time``), best of R rounds; and how long each transaction held SQLite's
writer gate (entered at BEGIN, left once the commit let the write lock go), over all rounds.
Usage:

    PYTHONPATH=$PWD/src:$PWD .venv/bin/python tools/group_ingest_cpu.py [--orders 600]
        [--group 4] [--rounds 3] [--pg postgresql://postgres@127.0.0.1:5432]

``--pg SERVER``: a fresh PostgreSQL database ``group_ingest_cpu`` there instead; besides this
process's CPU it prints the CPU the database's own backends spent (``/proc``, the backends of
that database only, so another user of the server does not count), and no gate.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

from orderhub.api.app import create_app
from orderhub.bench import load
from orderhub.bootstrap import bootstrap
from orderhub.channels import native
from orderhub.services.ingest import Incoming, Outcome, ingest_batch
from orderhub.store import db


def _time_the_gate(held: list[float]) -> None:
    """Record each stay at the writer gate (seconds) in ``held``."""
    enter, leave = db._WriterGate.enter, db._WriterGate.leave
    entered: list[float] = []

    def timed_enter(self: db._WriterGate, timeout: float) -> bool:
        inside = enter(self, timeout)
        entered.append(time.perf_counter())
        return inside

    def timed_leave(self: db._WriterGate) -> None:
        held.append(time.perf_counter() - entered.pop())
        leave(self)

    db._WriterGate.enter = timed_enter  # type: ignore[method-assign]
    db._WriterGate.leave = timed_leave  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=600)
    parser.add_argument("--group", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pg", default="", help="PostgreSQL server URL (no database)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="group-cpu-"))
    if args.pg:
        env, key, url = load.fresh_pg_hub(tmp, args.pg, "group_ingest_cpu")
    else:
        env, key = load.fresh_hub(tmp)
    os.environ.update(env)
    container = bootstrap()
    with TestClient(create_app(container)) as client:
        for method, path, body in load.seed_requests():
            answer = client.request(
                method, path, json=body, headers={"Authorization": f"Bearer {key}"}
            )
            assert answer.status_code in (200, 201), answer.text
    number = 0
    best = best_backends = float("inf")
    held: list[float] = []
    _time_the_gate(held)
    for _ in range(args.rounds):
        items = []
        for _ in range(args.orders):
            order = native.NativeOrder.model_validate(load.order(number))
            items.append(Incoming(order.to_draft(), native.SOURCE, order.model_dump_json()))
            number += 1
        backends = load.backends_cpu_seconds(url) if args.pg else 0.0
        start = time.process_time()
        for i in range(0, len(items), args.group):
            with container.uow(actor="bench") as uow:
                results = ingest_batch(uow, items[i : i + args.group], allocate=True)
            assert all(r.outcome == Outcome.CREATED and r.allocations for r in results)
        best = min(best, (time.process_time() - start) / len(items))
        if args.pg:
            best_backends = min(
                best_backends, (load.backends_cpu_seconds(url) - backends) / len(items)
            )
    container.close()
    print(f"groups of {args.group}: {best * 1000:.2f} ms CPU per order (best of {args.rounds})")
    if args.pg:
        print(f"PostgreSQL backends: {best_backends * 1000:.2f} ms CPU per order (best)")
        return
    held.sort()
    at = [held[int(len(held) * q)] * 1000 for q in (0.5, 0.9, 0.99)]
    print(
        f"writer gate held per transaction: mean {sum(held) / len(held) * 1000:.2f} ms,"
        f" p50 {at[0]:.2f}, p90 {at[1]:.2f}, p99 {at[2]:.2f}, max {held[-1] * 1000:.2f} ms"
    )


if __name__ == "__main__":
    main()
