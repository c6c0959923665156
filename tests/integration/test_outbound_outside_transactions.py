"""An outbound consumer's channel call runs with no transaction open (SQLite and PostgreSQL).

While a slow channel API keeps the worker waiting, every other writer — order ingest above
all — goes on: on SQLite nobody waits for the write lock ("database is locked"), on
PostgreSQL the worker has no transaction (nor row locks) open across the network call.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from sqlalchemy import func, select, text, update

from orderhub.bootstrap import Container
from orderhub.channels import native
from orderhub.channels.api_client import forget_shared_state
from orderhub.services import outbound
from orderhub.services.ingest import ingest_order
from orderhub.services.messagebus import Message, OutboundConsumer, Outcall
from orderhub.services.outbound.calls import ChannelBusy
from orderhub.store.db import is_postgres
from orderhub.store.tables import deliveries, outbox, processed_events
from orderhub.store.unit_of_work import UnitOfWork
from orderhub.workers.relay import Worker
from tests.conftest import native_order
from tests.integration.delivery_support import Noted, Pinged, emit
from tests.integration.test_outbound_worker import walmart_order
from tests.support.clock import FakeClock

WAIT = 5.0  # seconds: far beyond a free write, far below SQLite's 10 s busy timeout


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    forget_shared_state()
    yield
    forget_shared_state()


class SlowWalmart:
    """Answers the token at once; the acknowledge call waits until ``release`` is set."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.acknowledged: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v3/token":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 900})
        self.entered.set()
        assert self.release.wait(30), "the test never released the call"
        self.acknowledged.append(request.url.path)
        return httpx.Response(200, json={})


def idle_transactions(container: Container) -> int:
    """Sessions on this test's database holding a transaction open while doing nothing."""
    with container.engine.connect() as conn:
        found: int = conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"
            )
        ).scalar_one()
    return found


def another_ingest(seeded: Container) -> tuple[threading.Thread, threading.Event]:
    """A thread, not started, that ingests an order (another writer) and then sets the event."""
    ingested = threading.Event()

    def ingest() -> None:
        body = native.NativeOrder.model_validate(native_order("2002"))
        with seeded.uow(actor="test") as uow:
            ingest_order(uow, draft=body.to_draft(), source="native", payload="{}")
        ingested.set()

    return threading.Thread(target=ingest), ingested


def test_other_writers_commit_while_a_channel_call_is_in_flight(seeded: Container) -> None:
    walmart_order(seeded)
    slow = SlowWalmart()
    transport = httpx.MockTransport(slow)
    consumers = [
        c for c in outbound.consumers(lambda: transport) if c.name == "channels.acknowledge"
    ]
    worker = Worker(seeded, consumers=consumers)
    delivering = threading.Thread(target=worker.run_once)
    delivering.start()
    writer, ingested = another_ingest(seeded)
    try:
        assert slow.entered.wait(WAIT), "the worker never made the channel call"
        if is_postgres(seeded.engine):
            assert idle_transactions(seeded) == 0, "a transaction is held open across the call"
        writer.start()
        assert ingested.wait(WAIT), "an order ingest waited on the worker's channel call"
        assert slow.acknowledged == [], "the ingest went through while the call was in flight"
    finally:
        slow.release.set()
        delivering.join(30)
        if writer.ident is not None:
            writer.join(30)
        worker.close()
    assert slow.acknowledged == ["/v3/orders/1796277083022/acknowledge"]
    with seeded.engine.connect() as conn:
        status = conn.execute(
            select(deliveries.c.status).where(deliveries.c.consumer == "channels.acknowledge")
        ).scalar_one()
    assert status == "delivered"


@dataclass
class Caller:
    """An outbound consumer the tests steer: its call returns a channel id, its record leaves
    a durable note; either fails on demand, and ``during_call`` runs while the call is made."""

    name: str = "caller"
    fail_calls: int = 0
    crash_records: int = 0
    during_call: Callable[[], None] | None = None
    calls: list[str] = field(default_factory=list)
    recorded: list[tuple[str, str]] = field(default_factory=list)

    def prepare(self, uow: UnitOfWork, message: Message) -> Outcall[str]:
        key = f"{message.data['key']}-{message.data['n']}"

        def send() -> str:
            self.calls.append(key)
            if self.during_call is not None:
                during, self.during_call = self.during_call, None
                during()
            if self.fail_calls:
                self.fail_calls -= 1
                raise ChannelBusy(f"channel busy for {key}")
            return f"channel-id-{key}"

        def record(uow: UnitOfWork, channel_id: str) -> None:
            uow.record(Noted(event_id=message.id))
            if self.crash_records:
                self.crash_records -= 1
                raise RuntimeError("the worker dies before its record commits")
            self.recorded.append((key, channel_id))

        return Outcall(send, record)

    def consumer(self) -> OutboundConsumer:
        return OutboundConsumer(self.name, frozenset({"order.pinged"}), self.prepare)


def relay(container: Container, caller: Caller, clock: FakeClock, name: str = "w1") -> Worker:
    return Worker(container, consumers=[caller.consumer()], worker_id=name, clock=clock)


def delivery_state(container: Container) -> tuple[str, int]:
    with container.engine.connect() as conn:
        row = conn.execute(select(deliveries.c.status, deliveries.c.attempts)).one()
    return row.status, row.attempts


def receipts(container: Container) -> int:
    with container.engine.connect() as conn:
        found: int = conn.execute(select(func.count()).select_from(processed_events)).scalar_one()
    return found


def notes(container: Container) -> int:
    o = outbox.c
    with container.engine.connect() as conn:
        found: int = conn.execute(select(func.count()).where(o.type == Noted.type)).scalar_one()
    return found


def test_a_failed_call_records_nothing_and_the_delivery_is_retried(container: Container) -> None:
    caller, clock = Caller(fail_calls=1), FakeClock()
    worker = relay(container, caller, clock)
    emit(container, Pinged(key="a", n=1))
    assert worker.run_once() == 1
    assert delivery_state(container) == ("pending", 1)
    assert (receipts(container), notes(container), caller.recorded) == (0, 0, [])
    clock.advance(3600)
    assert worker.run_once() == 1
    assert delivery_state(container) == ("delivered", 2)
    assert caller.calls == ["a-1", "a-1"]
    assert caller.recorded == [("a-1", "channel-id-a-1")]
    assert (receipts(container), notes(container)) == (1, 1)


def test_a_successful_call_is_recorded_once_and_never_made_again(container: Container) -> None:
    caller, clock = Caller(), FakeClock()
    worker = relay(container, caller, clock)
    emit(container, Pinged(key="a", n=1))
    assert worker.run_once() == 1
    assert delivery_state(container) == ("delivered", 1)
    assert caller.recorded == [("a-1", "channel-id-a-1")]
    with container.engine.begin() as conn:  # as if the delivery's success had been lost
        conn.execute(update(deliveries).values(status="pending", next_attempt_at=clock.now))
    assert worker.run_once() == 1
    assert delivery_state(container) == ("delivered", 2)
    assert caller.calls == ["a-1"], "the receipt is read before the call: no second call"
    assert (len(caller.recorded), receipts(container), notes(container)) == (1, 1, 1)


def test_a_crash_between_call_and_record_repeats_the_call_and_records_once(
    container: Container,
) -> None:
    caller, clock = Caller(crash_records=1), FakeClock()
    worker = relay(container, caller, clock)
    emit(container, Pinged(key="a", n=1))
    assert worker.run_once() == 1
    assert delivery_state(container) == ("pending", 1)
    assert (caller.calls, caller.recorded) == (["a-1"], [])
    assert (receipts(container), notes(container)) == (0, 0), "the record rolled back whole"
    clock.advance(3600)
    assert worker.run_once() == 1
    assert delivery_state(container) == ("delivered", 2)
    assert caller.calls == ["a-1", "a-1"], "at least once to the outside world"
    assert caller.recorded == [("a-1", "channel-id-a-1")]
    assert (receipts(container), notes(container)) == (1, 1)


def test_a_worker_that_outlived_its_lease_calls_again_but_records_once(
    container: Container,
) -> None:
    clock = FakeClock()
    caller = Caller()
    slow = relay(container, caller, clock, name="slow")
    survivor = relay(container, caller, clock, name="survivor")
    emit(container, Pinged(key="a", n=1))
    slow.fan_out(slow.targets())
    [claimed] = slow.claim()

    def lease_runs_out_and_another_worker_takes_over() -> None:
        clock.advance(container.settings.delivery_lease_seconds + 1)
        assert survivor.run_once() == 1

    caller.during_call = lease_runs_out_and_another_worker_takes_over
    slow.run_delivery(claimed, slow.targets()[claimed.consumer])
    assert caller.calls == ["a-1", "a-1"]
    assert caller.recorded == [("a-1", "channel-id-a-1")]
    assert (receipts(container), notes(container)) == (1, 1)
    assert delivery_state(container) == ("delivered", 2)
