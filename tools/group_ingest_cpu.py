"""CPU per order of ``ingest_batch(allocate=True)`` in groups, in this process, no HTTP.

What a group of ``POST /v1/orders`` costs the server inside its transaction, without the
HTTP server, the clients, the worker or the group sizes that timing makes: seeds a throwaway
SQLite hub as the reference benchmarks do (through the API in-process), then ingests N of
``load.order``'s orders in groups of G and prints this process's CPU per order
(``time.process_time``), best of R rounds, and the wall time of each group's transaction
(from its first statement, which takes SQLite's write lock, to its commit: the time the lock
is held) over all rounds. Usage:

    PYTHONPATH=$PWD/src:$PWD .venv/bin/python tools/group_ingest_cpu.py [--orders 600]
        [--group 4] [--rounds 3]
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=600)
    parser.add_argument("--group", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    env, key = load.fresh_hub(Path(tempfile.mkdtemp(prefix="group-cpu-")))
    os.environ.update(env)
    container = bootstrap()
    with TestClient(create_app(container)) as client:
        for method, path, body in load.seed_requests():
            answer = client.request(
                method, path, json=body, headers={"Authorization": f"Bearer {key}"}
            )
            assert answer.status_code in (200, 201), answer.text
    number = 0
    best = float("inf")
    held: list[float] = []  # wall seconds per transaction
    for _ in range(args.rounds):
        items = []
        for _ in range(args.orders):
            order = native.NativeOrder.model_validate(load.order(number))
            items.append(Incoming(order.to_draft(), native.SOURCE, order.model_dump_json()))
            number += 1
        start = time.process_time()
        for i in range(0, len(items), args.group):
            with container.uow(actor="bench") as uow:
                began = time.perf_counter()
                results = ingest_batch(uow, items[i : i + args.group], allocate=True)
                held.append(time.perf_counter() - began)
            assert all(r.outcome == Outcome.CREATED and r.allocations for r in results)
        best = min(best, (time.process_time() - start) / len(items))
    container.close()
    print(f"groups of {args.group}: {best * 1000:.2f} ms CPU per order (best of {args.rounds})")
    held.sort()
    mean = sum(held) / len(held)
    at = [held[int(len(held) * q)] * 1000 for q in (0.5, 0.9, 0.99)]
    print(
        f"lock held per transaction: mean {mean * 1000:.2f} ms, p50 {at[0]:.2f}, p90 {at[1]:.2f},"
        f" p99 {at[2]:.2f}, max {held[-1] * 1000:.2f} ms"
    )


if __name__ == "__main__":
    main()
