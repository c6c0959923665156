"""Group commit of single-order ingest (``services/group_ingest.py``): orders that queue while
a transaction runs share the next one, and each is answered exactly as a request of its own.

The first transaction is held open (its ingest blocks, once it has taken its group, until the
others have queued), so the grouping is certain, not a matter of timing: the queued requests
must then share one transaction, each get its own outcome, keep its own hash-chained history,
and a repeat of an order must still be answered after the first one's commit, as a request of
its own would be.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.exc import IntegrityError, OperationalError

from orderhub.api.routes.orders import created_document, order_out
from orderhub.bootstrap import Container, bootstrap
from orderhub.channels import native
from orderhub.config import Settings
from orderhub.domain.errors import ValidationFailed
from orderhub.domain.locations import Location, LocationAddress, LocationKind
from orderhub.services import group_ingest, ingest
from orderhub.services.group_ingest import GroupIngest
from orderhub.services.ingest import Incoming, IngestResult, Outcome
from orderhub.services.inventory_check import find_drift
from orderhub.store import config_cache, history
from orderhub.store import tables as t
from orderhub.store.unit_of_work import UnitOfWork
from orderhub.workers.relay import Worker
from tests.conftest import native_order
from tests.integration.inventory_helpers import add_locations, levels, receive
from tests.support.clock import FakeClock


@pytest.fixture
def hub(seeded: Container, database_url: str) -> Iterator[Container]:
    container = bootstrap(Settings(database_url=database_url, allocate_on_ingest=True))
    add_locations(container, ("a", 1))
    receive(container, "SKU-1", "a", 3)
    receive(container, "SKU-2", "a", 10)
    yield container
    container.close()


def item(
    external_id: str, *, sku: str = "SKU-1", quantity: int = 1, channel: str = "web"
) -> Incoming:
    body = native_order(
        external_id,
        channel=channel,
        lines=[{"sku": sku, "quantity": quantity, "unit_price": "1.00"}],
    )
    order = native.NativeOrder.model_validate(body)
    return Incoming(order.to_draft(), native.SOURCE, order.model_dump_json())


class Transactions:
    """A ``uow_for`` that counts the transactions and holds the first one open, once it has
    taken its group, until told."""

    def __init__(self, container: Container, monkeypatch: pytest.MonkeyPatch) -> None:
        self.container = container
        self.opened: list[str] = []
        self.release = threading.Event()
        self.fail_commit_of: int | None = None  # this transaction's commit fails (1-based)
        real = group_ingest.ingest_batch
        first = [True]

        def held(uow: UnitOfWork, items: list[Incoming], *, allocate: bool) -> list[IngestResult]:
            if first[0]:
                first[0] = False
                assert self.release.wait(30), "the test never let the first transaction go"
            return real(uow, items, allocate=allocate)

        monkeypatch.setattr(group_ingest, "ingest_batch", held)

    def __call__(self, actor: str) -> UnitOfWork:
        self.opened.append(actor)
        uow = self.container.uow(actor=actor)
        if len(self.opened) == self.fail_commit_of:
            fail_commit(uow, Exception("database is locked"))
        return uow


@contextmanager
def recorded(engine: Engine) -> Iterator[list[str]]:
    """The statements ``engine`` runs inside the block, as sent (whitespace and all)."""
    statements: list[str] = []

    def record(_c: object, _cur: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def fail_commit(uow: UnitOfWork, error: Exception) -> None:
    """The unit of work's own commit (not an item's) fails with ``error`` as the driver's."""
    real = uow.commit

    def failing() -> None:
        if uow._item is None:  # the transaction's own commit, not an item's
            raise OperationalError("COMMIT", {}, error)
        real()

    uow.commit = failing  # type: ignore[method-assign]


def submit_all(
    group: GroupIngest, calls: list[tuple[str, Incoming]]
) -> tuple[list[IngestResult | BaseException], Callable[[], None]]:
    """Start one thread per call, in order, each after the previous one has queued; returns
    the answers (filled in as they come) and a function that waits for all threads."""
    answers: list[IngestResult | BaseException] = [ValueError("no answer")] * len(calls)
    threads = []

    def call(index: int, actor: str, incoming: Incoming) -> None:
        try:
            answers[index] = group.ingest(actor, incoming)
        except BaseException as error:  # the answer under test
            answers[index] = error

    for index, (actor, incoming) in enumerate(calls):
        queued = len(group._queue)
        thread = threading.Thread(target=call, args=(index, actor, incoming))
        thread.start()
        threads.append(thread)
        deadline = time.monotonic() + 10
        while not _queued(group, index, queued):
            assert time.monotonic() < deadline, "the request never queued"
            time.sleep(0.001)

    def join() -> None:
        for thread in threads:
            thread.join(30)
            assert not thread.is_alive()

    return answers, join


def _queued(group: GroupIngest, index: int, before: int) -> bool:
    """Whether call ``index`` has queued: the first one is taken by the drainer at once
    (its transaction is held open), the others stay queued behind it."""
    if index == 0:
        return group._draining and not group._queue
    return len(group._queue) != before


def test_orders_queued_behind_a_transaction_share_the_next_one_each_answered_as_its_own(
    hub: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    transactions = Transactions(hub, monkeypatch)
    group = GroupIngest(transactions, allocate=True)
    answers, join = submit_all(
        group,
        [
            ("api", item("G-0")),  # leads; its transaction is held open
            ("api", item("G-1", quantity=2)),
            ("api", item("G-2", quantity=2)),  # 3 in stock: 2 went to G-1 first
            ("api", item("G-3", sku="SKU-NOPE")),  # quarantined
            ("api", item("G-4", channel="nope")),  # refused: unknown channel
            ("api", item("G-1", quantity=2)),  # a repeat: after G-1's commit, as its own request
            ("other", item("G-5", sku="SKU-2")),  # another actor: a transaction of its own
        ],
    )
    transactions.release.set()
    join()

    first, g1, g2, g3, g4, repeat, g5 = answers
    assert isinstance(first, IngestResult)
    assert first.outcome == Outcome.CREATED
    assert isinstance(g1, IngestResult)
    assert g1.outcome == Outcome.CREATED
    assert isinstance(g2, IngestResult)
    assert g2.outcome == Outcome.CREATED
    assert isinstance(g3, IngestResult)
    assert g3.outcome == Outcome.QUARANTINED
    assert isinstance(g4, ValidationFailed)
    assert isinstance(repeat, IngestResult)
    assert repeat.outcome == Outcome.EXISTING
    assert repeat.order_id == g1.order_id
    assert isinstance(g5, IngestResult)
    assert g5.outcome == Outcome.CREATED
    # G-0 alone, then G-1..G-4 together, then the repeat (same actor) and G-5 (its own actor).
    assert transactions.opened[:2] == ["api", "api"]
    assert sorted(transactions.opened[2:]) == ["api", "other"]

    with hub.uow(read_only=True) as uow:
        statuses = {r.order_id: uow.orders.get(r.order_id).status.value for r in (first, g1, g2)}
        assert statuses == {
            first.order_id: "allocated",
            g1.order_id: "allocated",
            g2.order_id: "backordered",
        }
        for created in (first, g1, g2, g5):  # each answer is what a read shows
            assert created.order is not None
            assert created.order_id
            answer = created_document(created.order, created.allocations)
            assert answer == order_out(uow, created.order_id).model_dump()
            kinds = [e.type for e in history.events_of(uow.conn, created.order_id)]
            assert kinds[0] == "order.received"
        assert [b for b in history.verify(uow.conn) if isinstance(b, history.ChainBreak)] == []
        assert find_drift(uow)[1] == []
        attempts = uow.conn.execute(select(t.quarantine.c.attempts)).scalars().all()
    assert attempts == [1]
    assert levels(hub)[("SKU-1", "a")] == (3, 3)  # G-0 1 + G-1 2; G-2 waits: no oversell
    assert levels(hub)[("SKU-2", "a")] == (10, 1)


def test_a_transaction_that_fails_answers_its_own_orders_with_the_error_and_keeps_none(
    hub: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    transactions = Transactions(hub, monkeypatch)
    transactions.fail_commit_of = 2  # the queued group's commit fails: SQLite busy, say
    group = GroupIngest(transactions, allocate=True)
    answers, join = submit_all(
        group, [("api", item("F-0")), ("api", item("F-1")), ("api", item("F-2", sku="SKU-2"))]
    )
    transactions.release.set()
    join()

    first, *failed = answers
    assert isinstance(first, IngestResult)
    assert first.outcome == Outcome.CREATED
    assert all(isinstance(a, OperationalError) for a in failed), failed
    with hub.uow(read_only=True) as uow:
        ids = set(uow.conn.execute(select(t.orders.c.external_id)).scalars())
        assert find_drift(uow)[1] == []
    assert ids == {"F-0"}
    assert levels(hub)[("SKU-1", "a")] == (3, 1)
    assert levels(hub)[("SKU-2", "a")] == (10, 0)

    again = group.ingest("api", item("F-1"))  # the client's retry is a first request
    assert again.outcome == Outcome.CREATED


def test_requests_awaiting_on_the_event_loop_share_a_transaction_each_answered(
    hub: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``submit``, as ``POST /v1/orders`` awaits it: no thread per request; the orders that
    queue while the first transaction is held open share the next one, and each awaiting
    request gets its own answer — or its own error raised; a group's answers reach the loop
    in one hand-over from the drainer (one wake-up of the loop, not one per request)."""
    transactions = Transactions(hub, monkeypatch)
    group = GroupIngest(transactions, allocate=True)
    handovers: list[int] = []

    async def requests() -> list[IngestResult | BaseException]:
        loop = asyncio.get_running_loop()
        real = loop.call_soon_threadsafe

        def counted(callback: Any, *args: Any, **kwargs: Any) -> asyncio.Handle:
            handovers.append(len(args[0]) if args else 0)
            return real(callback, *args, **kwargs)

        monkeypatch.setattr(loop, "call_soon_threadsafe", counted)
        first = asyncio.ensure_future(group.submit("api", item("A-0")))
        while not _queued(group, 0, 0):
            await asyncio.sleep(0.001)
        rest = [
            asyncio.ensure_future(group.submit("api", one))
            for one in (item("A-1", quantity=2), item("A-2", channel="nope"), item("A-3"))
        ]
        while len(group._queue) < len(rest):
            await asyncio.sleep(0.001)
        transactions.release.set()
        return await asyncio.gather(first, *rest, return_exceptions=True)

    first, a1, refused, a3 = asyncio.run(requests())
    assert isinstance(first, IngestResult)
    assert isinstance(a1, IngestResult)
    assert isinstance(a3, IngestResult)
    assert [first.outcome, a1.outcome, a3.outcome] == [Outcome.CREATED] * 3
    assert isinstance(refused, ValidationFailed)
    assert transactions.opened == ["api", "api"]  # A-0 alone, then A-1..A-3 together
    assert handovers == [1, 3]
    with hub.uow(read_only=True) as uow:
        statuses = [uow.orders.get(r.order_id or "").status.value for r in (first, a1, a3)]
    assert statuses == ["allocated", "allocated", "backordered"]  # 3 in stock: no oversell


def test_orders_that_queue_while_a_group_waits_for_the_write_lock_join_that_group(
    hub: Container,
) -> None:
    """The group is taken once its transaction has begun — on SQLite, once it holds the write
    lock, which it may have waited for while the worker wrote: what queued meanwhile goes in
    this transaction, not the next one."""
    opened: list[str] = []
    began, release = threading.Event(), threading.Event()

    def uow_for(actor: str) -> UnitOfWork:
        opened.append(actor)
        return hub.uow(actor=actor)

    def slow_begin(_conn: object) -> None:  # the drainer's BEGIN waits, as behind a worker
        if threading.current_thread().name == "orderhub-group-ingest" and not began.is_set():
            began.set()
            assert release.wait(30), "the test never let the transaction begin"

    group = GroupIngest(uow_for, allocate=True)
    answers: list[IngestResult | BaseException] = []

    def call(incoming: Incoming) -> None:
        answers.append(group.ingest("api", incoming))

    event.listen(hub.engine, "begin", slow_begin)
    try:
        threads = [threading.Thread(target=call, args=(item("W-0"),))]
        threads[0].start()
        assert began.wait(10)
        for incoming in (item("W-1"), item("W-2", sku="SKU-2")):
            threads.append(threading.Thread(target=call, args=(incoming,)))
            threads[-1].start()
        deadline = time.monotonic() + 10
        while len(group._queue) < 3:
            assert time.monotonic() < deadline, "the orders never queued"
            time.sleep(0.001)
        release.set()
        for thread in threads:
            thread.join(30)
    finally:
        event.remove(hub.engine, "begin", slow_begin)
    assert opened == ["api"]  # one transaction for the three
    assert [a.outcome for a in answers if isinstance(a, IngestResult)] == [Outcome.CREATED] * 3


class _Deadlock(Exception):
    """What psycopg raises for a deadlock victim, as far as the hub looks at it."""

    sqlstate = "40P01"


def _aborted_commits(hub: Container, aborted: int) -> tuple[Callable[[str], UnitOfWork], list[str]]:
    """A ``uow_for`` whose first ``aborted`` transactions do all their work and are then
    aborted at the commit as PostgreSQL aborts a deadlock victim; and the actors it opened."""
    opened: list[str] = []

    def uow_for(actor: str) -> UnitOfWork:
        opened.append(actor)
        uow = hub.uow(actor=actor)
        if len(opened) <= aborted:
            fail_commit(uow, _Deadlock("deadlock detected"))
        return uow

    return uow_for, opened


def test_a_group_aborted_as_a_deadlock_victim_runs_again_and_each_order_is_created_once(
    hub: Container,
) -> None:
    """PostgreSQL aborts one of two deadlocked transactions (two API processes' groups, say):
    nothing of it was written, so the group runs again at once instead of answering its
    requests 503 — and what the aborted run did counts for nothing (stock reserved once)."""
    uow_for, opened = _aborted_commits(hub, aborted=2)
    group = GroupIngest(uow_for, allocate=True)

    answer = group.ingest("api", item("D-0", quantity=2))

    assert answer.outcome == Outcome.CREATED
    assert opened == ["api"] * 3  # aborted twice, then committed
    assert levels(hub)[("SKU-1", "a")] == (3, 2)
    with hub.uow(read_only=True) as uow:
        assert uow.orders.get(answer.order_id or "").status.value == "allocated"
        ids = uow.conn.execute(select(t.orders.c.external_id)).scalars().all()
        assert [b for b in history.verify(uow.conn) if isinstance(b, history.ChainBreak)] == []
        assert find_drift(uow)[1] == []
    assert ids == ["D-0"]


def test_a_group_aborted_every_time_answers_its_requests_with_the_error(hub: Container) -> None:
    uow_for, opened = _aborted_commits(hub, aborted=group_ingest.RUNS_AFTER_ABORT)
    group = GroupIngest(uow_for, allocate=True)

    with pytest.raises(OperationalError, match="deadlock detected"):
        group.ingest("api", item("D-1"))

    assert len(opened) == group_ingest.RUNS_AFTER_ABORT
    assert levels(hub)[("SKU-1", "a")] == (3, 0)
    assert group.ingest("api", item("D-1")).outcome == Outcome.CREATED  # the client's retry


def test_a_batch_allocates_each_new_order_and_one_that_fails_is_left_to_the_worker(
    hub: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``ingest_batch(allocate=True)`` of several orders: each allocated as the transaction
    holds it, with its own history; one whose allocation fails stays ``received`` with its
    ``order.received`` chained and queued, and the worker allocates it later."""
    real = ingest.allocate_order
    refused: list[str] = []

    def flaky(uow: UnitOfWork, *, order_id: str, **kwargs: object) -> object:
        order = kwargs.get("order")
        if order is not None and order.external_id == "B-1":  # type: ignore[attr-defined]
            refused.append(order_id)
            raise RuntimeError("planner down")
        return real(uow, order_id=order_id, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("orderhub.services.ingest.allocate_order", flaky)
    with hub.uow(actor="test") as uow:
        results = ingest.ingest_batch(
            uow, [item("B-0"), item("B-1"), item("B-2", sku="SKU-2", quantity=4)], allocate=True
        )
    assert [r.outcome for r in results] == [Outcome.CREATED] * 3
    assert [len(r.allocations) for r in results] == [1, 0, 1]
    with hub.uow(read_only=True) as uow:
        statuses = [uow.orders.get(r.order_id or "").status.value for r in results]
        streams = {
            r.order_id: [e.type for e in history.events_of(uow.conn, r.order_id or "")]
            for r in results
        }
        assert [b for b in history.verify(uow.conn) if isinstance(b, history.ChainBreak)] == []
    assert statuses == ["allocated", "received", "allocated"]
    assert streams[results[1].order_id] == ["order.received"]
    assert all(kinds[0] == "order.received" for kinds in streams.values())
    assert refused == [results[1].order_id]

    monkeypatch.setattr("orderhub.services.ingest.allocate_order", real)
    worker = Worker(hub, clock=FakeClock())
    while worker.run_once():
        pass
    with hub.uow(read_only=True) as uow:
        assert uow.orders.get(results[1].order_id or "").status.value in {
            "allocated",
            "in_fulfilment",
        }
        assert find_drift(uow)[1] == []
    assert levels(hub)[("SKU-1", "a")] == (3, 2)


def test_a_batch_the_database_refuses_is_ingested_item_by_item_each_still_allocated(
    hub: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Should the database refuse a group's transaction (a row no check foresaw), each order
    is tried again alone: the refused one answers with its error, the others are created and
    allocated as if they had come alone."""
    from orderhub.store.repositories import OrderRepository

    real = OrderRepository.add_new

    def refusing(self: OrderRepository, orders: list[object], **kwargs: object) -> object:
        if any(o.external_id == "R-BAD" for o in orders):  # type: ignore[attr-defined]
            raise IntegrityError("INSERT INTO orders", {}, Exception("refused"))
        return real(self, orders, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(OrderRepository, "add_new", refusing)
    with hub.uow(actor="test") as uow:
        results = ingest.ingest_batch(
            uow, [item("R-0"), item("R-BAD"), item("R-2", sku="SKU-2")], allocate=True
        )
    assert [r.outcome for r in results] == [Outcome.CREATED, Outcome.ERROR, Outcome.CREATED]
    assert isinstance(results[1].error, ValidationFailed)
    assert [len(r.allocations) for r in results] == [1, 0, 1]
    with hub.uow(read_only=True) as uow:
        assert uow.orders.get(results[0].order_id or "").status.value == "allocated"
        assert [b for b in history.verify(uow.conn) if isinstance(b, history.ChainBreak)] == []


def test_an_allocating_ingest_reads_the_channels_once_on_sqlite(hub: Container) -> None:
    """Ingest takes the SLAs and allocation routes with the channels as read once without
    their secrets (``ChannelRepository.unsealed``), and on SQLite the available-to-sell
    announcement of the same transaction reuses that read; PostgreSQL takes them again after
    the figures' locks, from the process's configuration cache at the stamps read then."""
    config_cache.forget(hub.engine)  # read as a process that has not read them yet
    with recorded(hub.engine) as statements, hub.uow() as uow:
        results = ingest.ingest_batch(uow, [item("C-0"), item("C-1", sku="SKU-2")], allocate=True)
    assert [r.outcome for r in results] == [Outcome.CREATED, Outcome.CREATED]
    assert all(r.order is not None and r.order.status == "allocated" for r in results)
    full_reads = [s for s in statements if "channels.credentials" in s and "JOIN channels" in s]
    assert len(full_reads) == 1  # PostgreSQL's read after the figures' locks: the cache's
    assert not [s for s in statements if "channels.sla \nFROM" in s or "channels.sla FROM" in s]
    with hub.uow(read_only=True) as uow:
        announced = uow.conn.execute(
            select(t.outbox.c.data).where(t.outbox.c.type == "inventory.available_changed")
        ).scalars()
        assert {(e["sku"], e["channel"], e["available"]) for e in announced} >= {
            ("SKU-1", "web", 2),
            ("SKU-2", "web", 9),
        }


def test_the_channels_read_without_secrets_are_read_again_after_a_channel_is_saved(
    hub: Container,
) -> None:
    with hub.uow() as uow:
        before = uow.channels.for_routing("web")
        assert before.credentials == {}
        assert before.webhook_secret is None
        uow.channels.save(dataclasses.replace(uow.channels.get("web"), safety_stock=4))
        assert uow.channels.for_routing("web").safety_stock == 4
        assert uow.availability.available_to_sell(["SKU-2"])[("web", "SKU-2")] == 10 - 4
        uow.rollback()


def test_one_new_order_is_allocated_with_a_group_and_inserted_once(hub: Container) -> None:
    """One order alone in its transaction is allocated with a group on both databases (on
    PostgreSQL its rows locked ahead): inserted once as allocated, no savepoint, no UPDATE."""
    with recorded(hub.engine) as sent, hub.uow() as uow:
        [result] = ingest.ingest_batch(uow, [item("ONE-1", sku="SKU-2")], allocate=True)
    statements = [" ".join(statement.split()) for statement in sent]
    assert result.outcome == Outcome.CREATED
    assert result.order is not None
    assert result.order.status == "allocated"
    assert not [s for s in statements if s.startswith(("SAVEPOINT", "UPDATE orders"))]
    assert len([s for s in statements if s.startswith("INSERT INTO orders")]) == 1
    with hub.uow(read_only=True) as uow:
        assert uow.orders.get(result.order.id).status == "allocated"
    assert levels(hub)[("SKU-2", "a")] == (10, 1)


def test_a_groups_levels_and_day_counts_are_read_with_one_statement(hub: Container) -> None:
    """The group's first read takes the levels and its locations' day counts together, and
    routing sees them: a location's daily capacity, reached by an earlier transaction's order
    and the group's first, sends the group's second elsewhere."""
    with hub.uow(actor="test") as uow:
        uow.locations.add(
            Location(
                "c", "C", LocationKind.WAREHOUSE, LocationAddress("US"), priority=0,
                daily_capacity=2,
            )
        )  # fmt: skip
        uow.commit()
    receive(hub, "SKU-2", "c", 10)
    with hub.uow() as uow:
        [first] = ingest.ingest_batch(uow, [item("DAY-1", sku="SKU-2")], allocate=True)
    assert [a["location"] for a in first.allocations] == ["c"]
    with recorded(hub.engine) as sent, hub.uow() as uow:
        results = ingest.ingest_batch(
            uow, [item("DAY-2", sku="SKU-2"), item("DAY-3", sku="SKU-2")], allocate=True
        )
    statements = [" ".join(statement.split()) for statement in sent]
    assert [[a["location"] for a in r.allocations] for r in results] == [["c"], ["a"]]
    reads = [s for s in statements if s.startswith("SELECT") and "location_daily_orders" in s]
    assert len(reads) == 1
    assert "FROM stock_levels" in reads[0]


def _drainers(hub: Container) -> tuple[Callable[[str], UnitOfWork], list[threading.Thread]]:
    """A ``uow_for`` that records the thread that opened each transaction (the drainer)."""
    seen: list[threading.Thread] = []

    def uow_for(actor: str) -> UnitOfWork:
        seen.append(threading.current_thread())
        return hub.uow(actor=actor)

    return uow_for, seen


def test_one_drainer_runs_the_groups_of_requests_that_come_one_at_a_time(
    hub: Container,
) -> None:
    """Each request here finds the queue empty; the drainer that answered the one before
    is woken for it, not a thread started afresh (what cost the event loop a Thread.start)."""
    uow_for, seen = _drainers(hub)
    group = GroupIngest(uow_for, allocate=True)
    try:
        answers = [group.ingest("api", item(f"P-{n}", sku="SKU-2")) for n in range(3)]
    finally:
        group.close()
    assert [a.outcome for a in answers] == [Outcome.CREATED] * 3
    assert len(seen) == 3
    assert len(set(seen)) == 1
    assert seen[0].name == "orderhub-group-ingest"


def test_close_ends_the_drainer_and_a_later_request_is_still_answered(hub: Container) -> None:
    uow_for, seen = _drainers(hub)
    group = GroupIngest(uow_for, allocate=True)
    assert group.ingest("api", item("C-0")).outcome == Outcome.CREATED

    group.close()

    assert not seen[0].is_alive()
    assert group._drainer is None
    assert group.ingest("api", item("C-1")).outcome == Outcome.CREATED
    group.close()
    assert len(seen) == 2
    assert not seen[1].is_alive()


def test_an_idle_drainer_ends_and_the_next_request_starts_another(
    hub: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(group_ingest, "DRAINER_IDLE_SECONDS", 0.01)
    uow_for, seen = _drainers(hub)
    group = GroupIngest(uow_for, allocate=True)
    assert group.ingest("api", item("I-0")).outcome == Outcome.CREATED
    seen[0].join(10)
    assert not seen[0].is_alive()
    assert group._drainer is None

    assert group.ingest("api", item("I-1")).outcome == Outcome.CREATED
    assert seen[1] is not seen[0]
    group.close()
