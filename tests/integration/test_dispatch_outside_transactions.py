"""A dispatch to a 3PL calls it with no transaction open (SQLite and PostgreSQL).

While a slow provider keeps the worker waiting, every other writer — order ingest above all —
goes on: on SQLite nobody waits for the one write lock, on PostgreSQL the worker holds no
transaction (nor the order's row lock) across the network call. What changed here during the
call is respected when the answer is recorded: an order cancelled meanwhile is taken back from
the provider, an order edited meanwhile is sent again as it is now.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator

import httpx
import pytest

from orderhub.bootstrap import Container
from orderhub.domain.editing import OrderEdit, ShippingChange
from orderhub.domain.fulfilment import FulfilmentStatus
from orderhub.services.editing import edit_order
from orderhub.services.orders import cancel_order
from orderhub.store import history
from orderhub.store.db import is_postgres
from orderhub.store.fulfilment import ProviderConfig
from orderhub.workers.relay import Worker
from tests.integration.fulfilment_support import allocate, place_order
from tests.integration.test_outbound_outside_transactions import another_ingest, idle_transactions
from tests.support.clock import FakeClock

WAIT = 5.0  # seconds: far beyond a free write, far below SQLite's 10 s busy timeout
SECRET = "acme-callback-secret-0001"


class Slow3PL:
    """The HTTP provider's endpoint: each dispatch waits until ``release`` is set (then
    ``during`` has run, if given); cancels answer at once. Records every call's body."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.calls: list[dict[str, object]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if body["type"] == "fulfilment.dispatch" and not self.release.is_set():
            self.entered.set()
            assert self.release.wait(30), "the test never released the call"
        self.calls.append(body)
        reference = f"ACME-{len(self.calls)}"
        return httpx.Response(200, json={"status": "accepted", "reference": reference})

    def types(self) -> list[object]:
        return [call["type"] for call in self.calls]


@pytest.fixture
def slow(seeded: Container) -> Iterator[Slow3PL]:
    endpoint = Slow3PL()
    seeded.http_transport = httpx.MockTransport(endpoint)
    with seeded.uow(actor="test") as uow:
        uow.fulfilment.add_provider(
            ProviderConfig(
                "acme",
                "Acme 3PL",
                "http",
                {"url": "https://3pl.example.test/orders"},
                secret=SECRET,
                locations=["east"],
            )
        )
        uow.commit()
    yield endpoint
    endpoint.release.set()


def dispatching(seeded: Container, slow: Slow3PL, during: Callable[[str], None]) -> str:
    """An allocated order whose dispatch the worker sends to the slow 3PL; ``during`` runs
    with the order's id while the call is in flight (in this thread), then the call is
    answered and the worker finishes."""
    order_id = place_order(seeded)
    allocate(seeded, order_id)  # order.allocated is in the outbox
    worker = Worker(seeded, clock=FakeClock())
    delivering = threading.Thread(target=lambda: [worker.run_once() for _ in range(3)])
    delivering.start()
    try:
        assert slow.entered.wait(WAIT), "the worker never called the provider"
        during(order_id)
    finally:
        slow.release.set()
        delivering.join(30)
        worker.close()
    return order_id


def fulfilment_of(seeded: Container, order_id: str) -> tuple[FulfilmentStatus, str | None]:
    with seeded.uow(read_only=True) as uow:
        (found,) = uow.fulfilment.for_order(order_id)
    return found.status, found.external_ref


def test_other_writers_commit_while_a_3pl_dispatch_is_in_flight(
    seeded: Container, slow: Slow3PL
) -> None:
    def during(_order_id: str) -> None:
        if is_postgres(seeded.engine):
            assert idle_transactions(seeded) == 0, "a transaction is held open across the call"
        writer, ingested = another_ingest(seeded)
        writer.start()
        assert ingested.wait(WAIT), "an order ingest waited on the worker's 3PL call"
        assert slow.calls == [], "the ingest went through while the call was in flight"
        writer.join(WAIT)

    order_id = dispatching(seeded, slow, during)
    assert slow.types() == ["fulfilment.dispatch"]
    assert fulfilment_of(seeded, order_id) == (FulfilmentStatus.ACCEPTED, "ACME-1")


def test_an_order_cancelled_during_its_dispatch_is_taken_back_from_the_provider(
    seeded: Container, slow: Slow3PL
) -> None:
    def during(order_id: str) -> None:
        with seeded.uow(actor="test") as uow:  # not sent yet, as this transaction sees it
            cancel_order(uow, order_id=order_id, reason="customer")

    order_id = dispatching(seeded, slow, during)
    assert slow.types() == ["fulfilment.dispatch", "fulfilment.cancel"]
    (dispatched, taken_back) = slow.calls
    assert taken_back["fulfilment_id"] == dispatched["fulfilment_id"]
    assert taken_back["reference"] == "ACME-1", "the provider's own reference for it"
    assert fulfilment_of(seeded, order_id) == (FulfilmentStatus.CANCELLED, None)
    with seeded.uow(read_only=True) as uow:
        assert uow.orders.get(order_id).status == "cancelled"
        assert not uow.stock.allocations(order_id, open_only=True)
        assert not uow.fulfilment.exceptions(), "nothing for a person to do"


def test_an_order_edited_during_its_dispatch_is_sent_again_as_it_is_now(
    seeded: Container, slow: Slow3PL
) -> None:
    def during(order_id: str) -> None:
        with seeded.uow(actor="test") as uow:  # not sent yet: the edit only changes the order
            edit_order(uow, order_id=order_id, edit=OrderEdit(shipping=ShippingChange("express")))

    order_id = dispatching(seeded, slow, during)
    assert slow.types() == ["fulfilment.dispatch", "fulfilment.dispatch"]
    first, again = slow.calls
    assert (first["shipping_method"], again["shipping_method"]) == ("ground", "express")
    assert again["fulfilment_id"] == first["fulfilment_id"], "the same one, replaced"
    assert fulfilment_of(seeded, order_id) == (FulfilmentStatus.ACCEPTED, "ACME-2")
    with seeded.uow(read_only=True) as uow:
        types = [e.type for e in history.events_of(uow.conn, order_id)]
    assert types.count("fulfilment.dispatched") == 1, "recorded once, with the last answer"
