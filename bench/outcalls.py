"""Deliveries per second when every delivery calls a slow outside system, one worker.

    .venv/bin/python -m bench.outcalls --events 400 --latency-ms 50 [--pg]

Each run gets a fresh database (SQLite in a temporary folder, or a new PostgreSQL database
with ``--pg``) holding ``--events`` outbox events, one stream each, and one outbound consumer
whose call sleeps ``--latency-ms`` (a channel API or webhook endpoint answering that slowly),
then drains them with one ``Worker`` in this process at each ``--concurrency`` given
(``worker_outcall_concurrency``). Printed per run: deliveries per second, and the ratio to
the bound that latency sets (concurrency / latency: what the calls alone would allow).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

from bench.delivery import seed_events
from bench.scratch import scratch_database
from orderhub.bootstrap import bootstrap
from orderhub.config import Settings
from orderhub.services.messagebus import Message, OutboundConsumer, Outcall
from orderhub.store.migrate import upgrade
from orderhub.store.unit_of_work import UnitOfWork
from orderhub.workers.relay import Worker


def run(url: str, *, events: int, latency: float, concurrency: int) -> float:
    """Seconds one worker takes to deliver ``events`` slow calls at ``concurrency``."""

    def prepare(_uow: UnitOfWork, _message: Message) -> Outcall[None]:
        return Outcall(lambda: time.sleep(latency))

    settings = Settings(database_url=url, worker_outcall_concurrency=concurrency)
    container = bootstrap(settings)
    upgrade(container.engine)
    seed_events(container, events)
    consumer = OutboundConsumer("slow", frozenset({"order.benched"}), prepare)
    worker = Worker(container, consumers=[consumer])
    try:
        started = time.perf_counter()
        while worker.run_once():
            pass
        return time.perf_counter() - started
    finally:
        worker.close()
        container.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=400)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--pg", action="store_true", help="PostgreSQL (ORDERHUB_TEST_PG's server)")
    args = parser.parse_args()
    latency = args.latency_ms / 1000
    print(
        f"load average {os.getloadavg()[0]:.2f}; {args.events} events, {args.latency_ms} ms a call"
    )
    with tempfile.TemporaryDirectory() as folder:
        for concurrency in args.concurrency:
            with scratch_database(folder, pg=args.pg) as url:
                seconds = run(url, events=args.events, latency=latency, concurrency=concurrency)
            rate = args.events / seconds
            bound = concurrency / latency
            print(f"concurrency {concurrency}: {rate:.1f} deliveries/s ({seconds:.1f} s), "
                  f"{rate / bound:.2f} of the bound {bound:.0f}/s")  # fmt: skip


if __name__ == "__main__":
    main()
