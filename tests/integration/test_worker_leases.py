"""A slow but healthy batch keeps its leases (nothing is delivered twice, concurrently), and a
configuration whose lease a single delivery could outlive is refused at start-up."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from orderhub.bootstrap import Container, bootstrap
from orderhub.config import Settings
from orderhub.services.messagebus import Message, OutboundConsumer, Outcall
from orderhub.store.unit_of_work import UnitOfWork
from orderhub.workers.nats import duplicate_window
from orderhub.workers.relay import Worker
from tests.integration.delivery_support import Pinged, emit
from tests.support.clock import FakeClock


@pytest.fixture
def container(database_url: str) -> Iterator[Container]:
    made = bootstrap(
        Settings(database_url=database_url, delivery_lease_seconds=60, delivery_batch_size=10)
    )
    yield made
    made.close()


def test_a_batch_slower_than_its_lease_keeps_it_and_no_other_worker_takes_its_deliveries(
    container: Container,
) -> None:
    clock = FakeClock()
    sent: list[str] = []
    taken_by_other: list[int] = []

    def prepare(_uow: UnitOfWork, message: Message) -> Outcall[None]:
        def send() -> None:  # a healthy subscriber that takes 25 s per call
            clock.advance(25)
            sent.append(message.data["key"])
            taken_by_other.append(len(other.claim()))

        return Outcall(send)

    slow = OutboundConsumer("slow", frozenset({"order.pinged"}), prepare)
    one_by_one = {"worker_outcall_concurrency": 1}  # the fake clock moves with each call
    container.settings = container.settings.model_copy(update=one_by_one)
    relay = Worker(container, consumers=[slow], clock=clock, worker_id="w1")
    other = Worker(container, consumers=[slow], clock=clock, worker_id="w2")
    emit(container, *[Pinged(key=str(i), n=1) for i in range(6)])
    assert relay.run_once() == 6  # 150 s of calls under a 60 s lease
    assert sent == [str(i) for i in range(6)]
    assert taken_by_other == [0] * 6, "another worker took over deliveries still in hand"


def test_calls_side_by_side_longer_than_their_lease_keep_it(database_url: str) -> None:
    """Four calls at once, each longer than the whole lease (real time: a 2 s lease, 3 s
    calls): the worker renews the leases while they run, so another worker that tries to
    claim during the calls takes none, and each is delivered once."""
    settings = Settings(
        database_url=database_url,
        delivery_lease_seconds=2,
        webhook_timeout_seconds=1,
        worker_outcall_concurrency=4,
    )
    sent: list[str] = []
    taken_by_other: list[int] = []

    def prepare(_uow: UnitOfWork, message: Message) -> Outcall[None]:
        def send() -> None:
            time.sleep(3)
            sent.append(message.data["key"])

        return Outcall(send)

    slow = OutboundConsumer("slow", frozenset({"order.pinged"}), prepare)
    with bootstrap(settings) as container:
        relay = Worker(container, consumers=[slow], worker_id="w1")
        other = Worker(container, consumers=[slow], worker_id="w2")
        emit(container, *[Pinged(key=str(i), n=1) for i in range(4)])
        running = threading.Thread(target=relay.run_once)
        running.start()
        for _ in range(5):  # through the calls, past the first lease's end
            time.sleep(0.5)
            taken_by_other.append(len(other.claim()))
        running.join(30)
        relay.close()
        other.close()
    assert sorted(sent) == ["0", "1", "2", "3"]
    assert taken_by_other == [0] * 5, "another worker took over calls still in flight"


def test_a_lease_a_single_webhook_could_outlive_is_refused_with_the_settings_named() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(delivery_lease_seconds=60, webhook_timeout_seconds=40)
    text = str(refused.value)
    assert "delivery_lease_seconds (60)" in text
    assert "webhook_timeout_seconds (40)" in text
    assert Settings().delivery_lease_seconds >= 2 * Settings().webhook_timeout_seconds


def test_the_nats_duplicate_window_covers_a_crashed_workers_lease() -> None:
    assert duplicate_window(60) == 120
    assert duplicate_window(300) == 600
    assert duplicate_window(5) == 120, "never below JetStream's default"
