"""The relay at volume: every statement of its hot path is served by an index (its cost does
not grow with the number of pending deliveries), and a failing delivery's successors are not
due while they could not run anyway."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, event, select

from orderhub.bootstrap import Container, bootstrap
from orderhub.config import Settings
from orderhub.store import deliveries, tables
from orderhub.workers.relay import Worker
from tests.integration.delivery_support import FakeClock, Pinged, Recorder, emit


@pytest.fixture
def container(database_url: str) -> Iterator[Container]:
    made = bootstrap(Settings(database_url=database_url, delivery_backoff_seconds=10.0))
    yield made
    made.close()


@contextmanager
def statements(conn: Connection) -> Iterator[list[tuple[str, Any]]]:
    """The SQL ``conn`` sends (with its parameters) while the block runs."""
    seen: list[tuple[str, Any]] = []

    def record(_c: Any, _cur: Any, statement: str, params: Any, *_rest: Any) -> None:
        seen.append((statement, params))

    event.listen(conn, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(conn, "before_cursor_execute", record)


def plan(conn: Connection, statement: str, params: Any) -> str:
    """The query plan of one statement, as text (PostgreSQL: no sequential scan allowed, so a
    statement no index can serve shows one anyway)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        rows = conn.exec_driver_sql("EXPLAIN " + statement, params).scalars()
        return "\n".join(rows)
    rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all()
    return "\n".join(str(row[-1]) for row in rows)


def full_scans(statement: str, text: str) -> list[str]:
    """Lines of a plan that read a whole table, or sort what a LIMIT walk reads (then the
    walk reads every candidate before it can stop; sorting a batch fetched by id is fine)."""
    markers = ["SCAN d", "SCAN e", "SCAN deliveries", "Seq Scan on deliveries"]
    if "LIMIT" in statement:
        markers += ["TEMP B-TREE", "Sort"]
    return [line for line in text.splitlines() if any(m in line for m in markers)]


def test_claim_and_its_bookkeeping_read_deliveries_by_index_only(container: Container) -> None:
    clock = FakeClock()
    relay = Worker(container, consumers=[Recorder().consumer()], clock=clock)
    emit(container, *[Pinged(key=str(i % 3), n=i) for i in range(6)])
    relay.fan_out(relay.targets())
    with container.engine.connect() as conn, conn.begin():
        with statements(conn) as seen:
            got = deliveries.claim(
                conn, owner="w", now=clock.now, lease_seconds=60, limit=10, max_attempts=5
            )
            assert len(got) == 3, "one per stream: the others wait for their predecessor"
            later = clock.now + timedelta(seconds=10)
            deliveries.mark_failed(
                conn, got[0], owner="w", now=clock.now, error="x", retry_at=later
            )
            deliveries.mark_delivered(conn, got[1], owner="w", now=clock.now)
        touching = [(s, p) for s, p in seen if "deliveries" in s]
        assert len(touching) >= 5
        for statement, params in touching:
            assert full_scans(statement, plan(conn, statement, params)) == [], statement


def test_a_failing_delivery_pushes_its_successors_back_and_releases_them_when_done(
    container: Container,
) -> None:
    clock, flaky = FakeClock(), Recorder(fail=lambda m: m.data["key"] == "a")
    relay = Worker(container, consumers=[flaky.consumer()], clock=clock, rng=random.Random(1))
    emit(container, *[Pinged(key=key, n=n) for n in range(3) for key in ("a", "b")])
    assert relay.run_once() == 2  # a1 fails, b1 runs

    d = tables.deliveries.c

    def due_later_of_a() -> list[bool]:
        with container.engine.connect() as conn:
            rows = conn.execute(
                select(d.next_attempt_at)
                .where(d.stream == "order:a", d.status == "pending")
                .order_by(d.event_seq)
            ).scalars()
            return [at > clock.now for at in rows]

    assert due_later_of_a() == [True, True, True], "a's successors wait with it"
    flaky.fail = lambda _m: False
    clock.advance(30)
    assert relay.run_once() == 2  # a1 at last, b2
    assert due_later_of_a() == [False, False], "due again once their predecessor is done"
    while relay.run_once():
        pass
    assert [n for key, n in flaky.handled if key == "a"] == [0, 1, 2]
    assert [n for key, n in flaky.handled if key == "b"] == [0, 1, 2]
