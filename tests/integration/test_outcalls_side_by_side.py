"""A worker runs the deliveries that call out side by side (``worker_outcall_concurrency``),
never two of one stream for one consumer at once, so each stream keeps its order.

One after another, a channel that takes 200 ms to answer would hold a worker to five deliveries
a second: the tests hold each call until as many as expected are in flight together.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from orderhub.bootstrap import Container
from orderhub.services.messagebus import Message, OutboundConsumer, Outcall
from orderhub.store.unit_of_work import UnitOfWork
from orderhub.workers.relay import Worker
from tests.integration.delivery_support import Pinged, emit
from tests.support.clock import FakeClock

WAIT = 5.0  # seconds for the calls expected together to meet


class Meeting:
    """An outbound consumer whose calls wait until ``together`` of them are in flight; it
    notes the most calls of one stream it ever saw in flight, and each stream's order."""

    def __init__(self, together: int) -> None:
        self.met = threading.Barrier(together, timeout=WAIT)
        self.lock = threading.Lock()
        self.in_flight: Counter[str] = Counter()
        self.most_of_one_stream = 0
        self.order: dict[str, list[int]] = {}

    def prepare(self, uow: UnitOfWork, message: Message) -> Outcall[None]:
        key, n = str(message.data["key"]), int(message.data["n"])

        def send() -> None:
            with self.lock:
                self.in_flight[key] += 1
                self.most_of_one_stream = max(self.most_of_one_stream, self.in_flight[key])
                self.order.setdefault(key, []).append(n)
            try:
                self.met.wait()
            finally:
                with self.lock:
                    self.in_flight[key] -= 1

        return Outcall(send)

    def consumer(self) -> OutboundConsumer:
        return OutboundConsumer("meeting", frozenset({"order.pinged"}), self.prepare)


def worker(container: Container, meeting: Meeting, concurrency: int) -> Worker:
    settings = {"worker_outcall_concurrency": concurrency}
    container.settings = container.settings.model_copy(update=settings)
    return Worker(container, consumers=[meeting.consumer()], clock=FakeClock())


def delivered(container: Container) -> int:
    with container.uow(read_only=True) as uow:
        return sum(
            1
            for _ in uow.conn.exec_driver_sql(
                "SELECT 1 FROM deliveries WHERE consumer = 'meeting' AND status = 'delivered'"
            )
        )


def run_once(container: Container, meeting: Meeting, *, concurrency: int, streams: int) -> int:
    """One worker cycle over one event on each of ``streams`` streams; how many it ran."""
    relay = worker(container, meeting, concurrency=concurrency)
    emit(container, *(Pinged(key=f"o{i}", n=1) for i in range(streams)))
    try:
        return relay.run_once()
    finally:
        relay.close()


def test_deliveries_that_call_out_run_side_by_side(container: Container) -> None:
    assert run_once(container, Meeting(together=4), concurrency=4, streams=4) == 4
    assert delivered(container) == 4, "every call met the others in flight"


def test_one_at_a_time_when_told(container: Container) -> None:
    """Two with a concurrency of 1: no call ever meets another (each waits alone,
    gives up and fails): the test above would catch a worker that runs them one by one."""
    meeting = Meeting(together=2)
    meeting.met = threading.Barrier(2, timeout=0.2)
    assert run_once(container, meeting, concurrency=1, streams=2) == 2
    assert delivered(container) == 0


@pytest.mark.parametrize("concurrency", [2, 8])
def test_a_stream_never_has_two_calls_in_flight_and_keeps_its_order(
    container: Container, concurrency: int
) -> None:
    meeting = Meeting(together=2)  # two streams at a time: a and b, event by event
    relay = worker(container, meeting, concurrency=concurrency)
    emit(container, *(Pinged(key=key, n=n) for n in (1, 2, 3) for key in ("a", "b")))
    try:
        while relay.run_once():
            pass
    finally:
        relay.close()
    assert delivered(container) == 6
    assert meeting.most_of_one_stream == 1
    assert meeting.order == {"a": [1, 2, 3], "b": [1, 2, 3]}
