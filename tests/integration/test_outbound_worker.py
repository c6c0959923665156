"""Outbound consumers in the real worker: a Walmart order is acknowledged; a 503 is retried
with backoff and then succeeds; a 400 dead-letters at once; a channel's error does not
mark the event processed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from orderhub.bootstrap import Container
from orderhub.channels import native
from orderhub.channels.api_client import forget_shared_state
from orderhub.domain.channels import Channel, ChannelKind
from orderhub.services import outbound
from orderhub.services.ingest import ingest_order
from orderhub.store.repositories import utcnow
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


def walmart_order(container: Container) -> None:
    with container.uow(actor="test") as uow:
        uow.channels.add(WALMART)
        uow.commit()
    body = native.NativeOrder.model_validate(
        native_order("1796277083022", channel="wm", lines=[
            {"sku": "SKU-1", "quantity": 1, "unit_price": "10.00"}])
    )  # fmt: skip
    with container.uow(actor="test") as uow:
        ingest_order(uow, draft=body.to_draft(), source="native", payload="{}")


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

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
