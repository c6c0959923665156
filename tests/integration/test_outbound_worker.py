"""Outbound consumers in the real worker: a Walmart order is acknowledged; a 503 is retried
with backoff and then succeeds; a 400 dead-letters at once; a channel's error does not
mark the event processed; a channel without sync back gets no delivery and no call."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from orderhub.bootstrap import Container
from orderhub.channels import native
from orderhub.channels.api_client import forget_shared_state
from orderhub.clock import utc_now
from orderhub.domain.channels import Channel, ChannelKind
from orderhub.services import outbound
from orderhub.services.ingest import ingest_order
from orderhub.store.tables import deliveries
from orderhub.workers.relay import Worker
from tests.conftest import native_order

WALMART = Channel(
    "wm", "Walmart", ChannelKind.WALMART, credentials={"client_id": "c", "client_secret": "s"}
)


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    forget_shared_state()
    yield
    forget_shared_state()


class Walmart:
    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.acknowledged: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v3/token":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 900})
        self.acknowledged.append(request.url.path)
        status = self.statuses.pop(0) if self.statuses else 200
        return httpx.Response(status, json={})


def walmart_order(container: Container, channel: Channel = WALMART) -> str:
    """The Walmart channel and one order on it; the order's id."""
    with container.uow(actor="test") as uow:
        uow.channels.add(channel)
        uow.commit()
    body = native.NativeOrder.model_validate(
        native_order("1796277083022", channel="wm", lines=[
            {"sku": "SKU-1", "quantity": 1, "unit_price": "10.00"}])
    )  # fmt: skip
    with container.uow(actor="test") as uow:
        order_id = ingest_order(uow, draft=body.to_draft(), source="native", payload="{}").order_id
    assert order_id is not None
    return order_id


class Clock:
    def __init__(self) -> None:
        self.now = utc_now()

    def __call__(self) -> datetime:
        return self.now


def worker_for(container: Container, fake: Walmart, clock: Clock) -> Worker:
    transport = httpx.MockTransport(fake)
    consumers = [
        c for c in outbound.consumers(lambda: transport) if c.name == "channels.acknowledge"
    ]
    return Worker(container, consumers=consumers, clock=clock)


def delivery(container: Container) -> tuple[str, int, str | None]:
    with container.engine.connect() as conn:
        row = conn.execute(
            select(deliveries).where(deliveries.c.consumer == "channels.acknowledge")
        ).one()
    return row.status, row.attempts, row.last_error


def test_a_walmart_order_is_acknowledged_after_a_503_is_retried(seeded: Container) -> None:
    walmart_order(seeded)
    fake, clock = Walmart(503), Clock()
    worker = worker_for(seeded, fake, clock)
    try:
        worker.run_once()
        status, attempts, error = delivery(seeded)
        assert (status, attempts) == ("pending", 1)
        assert error is not None
        assert "503" in error
        clock.now += timedelta(hours=1)
        worker.run_once()
    finally:
        worker.close()
    assert delivery(seeded)[:2] == ("delivered", 2)
    assert fake.acknowledged == ["/v3/orders/1796277083022/acknowledge"] * 2


def test_a_refused_acknowledgement_is_dead_at_once(seeded: Container) -> None:
    walmart_order(seeded)
    fake, clock = Walmart(400), Clock()
    worker = worker_for(seeded, fake, clock)
    try:
        worker.run_once()
        clock.now += timedelta(hours=1)
        worker.run_once()
    finally:
        worker.close()
    status, attempts, error = delivery(seeded)
    assert (status, attempts) == ("dead", 1)
    assert error is not None
    assert error.startswith("PermanentFailure")
    assert len(fake.acknowledged) == 1


def walmart_without_keys(container: Container, *, sync_back: bool) -> str:
    """A Walmart channel with no credentials (like the demo's) and one order on it."""
    return walmart_order(
        container, Channel("wm", "Walmart", ChannelKind.WALMART, sync_back=sync_back)
    )


@pytest.mark.parametrize("sync_back", [True, False])
def test_a_channel_without_sync_back_gets_no_delivery_that_would_call_it(
    seeded: Container, sync_back: bool
) -> None:
    order_id = walmart_without_keys(seeded, sync_back=sync_back)
    fake = Walmart()
    seeded.http_transport = httpx.MockTransport(fake)
    worker = Worker(seeded)  # every internal consumer, as `orderhub worker` runs them
    try:
        while worker.run_once():
            pass
    finally:
        worker.close()
    with seeded.engine.connect() as conn:
        rows = conn.execute(
            select(deliveries.c.consumer, deliveries.c.status, deliveries.c.last_error).where(
                deliveries.c.stream == f"order:{order_id}"
            )
        ).all()
    by_consumer = {consumer: (status, error) for consumer, status, error in rows}
    assert by_consumer["inventory.allocate"][0] == "delivered"  # the order still comes in
    if sync_back:  # the demo's dead letter, before its marketplaces took no sync back
        status, error = by_consumer["channels.acknowledge"]
        assert status == "dead"
        assert "credentials are incomplete" in str(error)
    else:
        assert not [c for c in by_consumer if c.startswith("channels.")]
        assert all(status == "delivered" for status, _ in by_consumer.values())
    assert fake.acknowledged == []


def test_an_acknowledgement_waiting_when_sync_back_is_switched_off_is_never_made(
    seeded: Container,
) -> None:
    walmart_order(seeded)
    fake, clock = Walmart(), Clock()
    worker = worker_for(seeded, fake, clock)
    try:
        worker.fan_out(worker.targets())  # the delivery exists, due now
        assert delivery(seeded)[0] == "pending"
        with seeded.uow(actor="test") as uow:
            channel = uow.channels.get("wm")
            channel.sync_back = False
            uow.channels.save(channel)
            uow.commit()
        worker.run_once()
    finally:
        worker.close()
    assert delivery(seeded)[:2] == ("delivered", 1)
    assert fake.acknowledged == []
