"""Delivered events per second on PostgreSQL: 1 and 2 worker processes vs a raw-driver loop.

    .venv/bin/python bench/delivery.py --events 5000

Each run gets a fresh database with ``--events`` committed outbox events, one stream each. The
hub runs the whole path — fan-out into deliveries, leased claims (``FOR UPDATE SKIP LOCKED``)
with the per-stream ordering check, an internal consumer in its own unit of work with its
idempotency receipt, the success mark — in N ``spawn``-ed processes. The baseline is a raw
psycopg loop over the same pending delivery rows: claim a batch with ``SKIP LOCKED``, mark it in
flight, mark each delivered in its own transaction (no fan-out, no ordering, no receipts).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg
from sqlalchemy import insert

from orderhub.bootstrap import Container, bootstrap
from orderhub.config import Settings
from orderhub.services.messagebus import Consumer, Message
from orderhub.store import deliveries
from orderhub.store.migrate import upgrade
from orderhub.store.tables import outbox
from orderhub.store.unit_of_work import UnitOfWork
from orderhub.workers.relay import Worker

ADMIN_DSN = os.environ.get("ORDERHUB_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
BATCH = 50


def _url(name: str, driver: str = "postgresql+psycopg") -> str:
    return ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql", driver, 1) + f"/{name}"


def _noop(_uow: UnitOfWork, _message: Message) -> None:
    """The consumer: does nothing, so the figure is the relay's own cost."""


CONSUMER = Consumer(name="bench", event_types=frozenset({"order.benched"}), handle=_noop)


def seed_events(container: Container, events: int) -> datetime:
    """``events`` committed ``order.benched`` outbox events, one stream each; when they
    occurred."""
    now = datetime.now(UTC)
    rows = [
        {"id": str(uuid.uuid4()), "stream": f"order:{i}", "type": "order.benched",
         "data": {"n": i}, "actor": "bench", "occurred_at": now}
        for i in range(events)
    ]  # fmt: skip
    with container.engine.begin() as conn:
        conn.execute(insert(outbox), rows)
    return now


def prepare(events: int, *, fan_out: bool) -> str:
    name = f"orderhub_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    container = bootstrap(Settings(database_url=_url(name)))
    upgrade(container.engine)
    now = seed_events(container, events)
    with container.engine.begin() as conn:
        while fan_out and deliveries.fan_out(conn, consumers_for=lambda _t: ["bench"], now=now):
            pass
    with container.engine.connect() as conn:  # a live table has statistics; a fresh one not
        conn.exec_driver_sql("ANALYZE")
    container.close()
    return name


def drop(name: str) -> None:
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def hub_worker(name: str, number: int, go: Any, done: Any) -> None:
    settings = Settings(database_url=_url(name), delivery_batch_size=BATCH)
    container = bootstrap(settings)
    worker = Worker(container, consumers=[CONSUMER], worker_id=f"bench-{number}")
    worker.targets()  # connect before the clock starts
    go.wait()
    idle = 0
    while idle < 3:  # stop after three empty cycles in a row: the queue is drained
        idle = 0 if worker.run_once() else idle + 1
    done.put(time.perf_counter())
    worker.close()
    container.close()


CLAIM = """
UPDATE deliveries SET status = 'in_flight', lease_owner = %(owner)s,
       lease_expires_at = now() + interval '60 seconds', attempts = attempts + 1
WHERE id IN (SELECT id FROM deliveries WHERE status = 'pending'
             ORDER BY event_seq LIMIT %(limit)s FOR UPDATE SKIP LOCKED)
RETURNING id
"""
DONE = "UPDATE deliveries SET status = 'delivered', delivered_at = now() WHERE id = %s"


def raw_worker(name: str, number: int, go: Any, done: Any) -> None:
    with psycopg.connect(_url(name, "postgresql")) as conn:
        go.wait()
        while True:
            with conn.transaction():
                ids = [
                    r[0] for r in conn.execute(CLAIM, {"owner": f"raw-{number}", "limit": BATCH})
                ]
            if not ids:
                break
            for delivery_id in ids:
                with conn.transaction():
                    conn.execute(DONE, (delivery_id,))
    done.put(time.perf_counter())


def measure(target: Any, events: int, workers: int, *, fan_out: bool) -> float:
    name = prepare(events, fan_out=fan_out)
    ctx = mp.get_context("spawn")
    go, done = ctx.Event(), ctx.Queue()
    processes = [ctx.Process(target=target, args=(name, n, go, done)) for n in range(workers)]
    for process in processes:
        process.start()
    time.sleep(3)  # let the spawned interpreters import and connect
    start = time.perf_counter()
    go.set()
    finished = [done.get(timeout=600) for _ in processes]
    for process in processes:
        process.join()
    _check(name, events)
    drop(name)
    return events / (max(finished) - start)


def _check(name: str, events: int) -> None:
    with psycopg.connect(_url(name, "postgresql")) as conn:
        row = conn.execute("SELECT count(*) FROM deliveries WHERE status = 'delivered'").fetchone()
    assert row is not None
    assert row[0] == events, f"{row[0]} of {events} delivered"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    args = parser.parse_args()
    print(f"{args.events} events, PostgreSQL, batch {BATCH}; delivered events/s")
    for workers in (1, 2):
        hub = measure(hub_worker, args.events, workers, fan_out=False)
        raw = measure(raw_worker, args.events, workers, fan_out=True)
        print(
            f"{workers} worker(s): hub {hub:8.0f}/s   raw psycopg {raw:8.0f}/s   ({hub / raw:.0%})"
        )


if __name__ == "__main__":
    main()
