"""The relay at volume: every statement of its hot path is served by an index (its cost does
not grow with the number of pending deliveries), and a failing delivery's successors are not
due while they could not run anyway."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, event, select

from orderhub.bootstrap import Container, bootstrap
from orderhub.config import Settings
from orderhub.services.messagebus import Consumer, Message
from orderhub.store import deliveries, tables
from orderhub.store.unit_of_work import UnitOfWork
from orderhub.workers import relay as relay_module
from orderhub.workers.relay import Worker
from tests.integration.delivery_support import Pinged, Recorder, emit
from tests.integration.test_delivery import notes
from tests.support.clock import FakeClock


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


def commits_during(container: Container, run: Callable[[], object]) -> int:
    """How many transactions ``run`` commits on the container's engine."""
    counted = [0]

    def count(_conn: Any) -> None:
        counted[0] += 1

    event.listen(container.engine, "commit", count)
    try:
        run()
    finally:
        event.remove(container.engine, "commit", count)
    return counted[0]


def test_database_only_deliveries_of_a_batch_share_one_transaction(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(relay_module, "TOGETHER_SECONDS", 60.0)  # however slow the machine
    clock, recorder = FakeClock(), Recorder()
    relay = Worker(container, consumers=[recorder.consumer()], clock=clock)
    emit(container, *[Pinged(key=str(i), n=1) for i in range(20)])
    relay.fan_out(relay.targets())
    assert commits_during(container, relay.run_once) <= 3  # claim, the batch, (fan-out)
    assert len(recorder.handled) == 20
    assert notes(container) == 20


def test_a_batch_commits_whenever_its_time_budget_is_used_so_other_writers_get_in(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(relay_module, "TOGETHER_SECONDS", 0.0)  # every item over budget
    clock, recorder = FakeClock(), Recorder()
    relay = Worker(container, consumers=[recorder.consumer()], clock=clock)
    emit(container, *[Pinged(key=str(i), n=1) for i in range(5)])
    relay.fan_out(relay.targets())
    assert commits_during(container, relay.run_once) >= 1 + 5  # the claim, then one per item
    assert len(recorder.handled) == 5
    assert notes(container) == 5


def test_a_failure_in_a_batch_loses_none_of_the_others_and_is_retried_alone(
    container: Container,
) -> None:
    clock = FakeClock()
    flaky = Recorder(fail=lambda m: m.data["key"] == "3")
    rolled_back = Recorder("undoer")

    def undo_then_note(uow: UnitOfWork, message: Message) -> None:
        uow.rollback()  # as allocate_order does when there is nothing to do
        rolled_back.handle(uow, message)

    relay = Worker(
        container,
        consumers=[
            flaky.consumer(),
            Consumer("undoer", frozenset({"order.pinged"}), undo_then_note),
        ],
        clock=clock,
        rng=random.Random(2),
    )
    emit(container, *[Pinged(key=str(i), n=1) for i in range(6)])
    assert relay.run_once() == 12
    assert sorted(k for k, _ in flaky.handled) == ["0", "1", "2", "4", "5"]
    assert len(rolled_back.handled) == 6
    assert notes(container) == 11, "each effect once, the failed one's none"
    d = tables.deliveries.c
    with container.engine.connect() as conn:
        open_ = conn.execute(
            select(d.consumer, d.stream, d.attempts).where(d.status != "delivered")
        ).all()
    assert [tuple(r) for r in open_] == [("recorder", "order:3", 1)]
    flaky.fail = lambda _m: False
    clock.advance(3600)
    assert relay.run_once() == 1
    assert notes(container) == 12
