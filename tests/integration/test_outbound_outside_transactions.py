"""An outbound consumer's channel call runs with no transaction open (SQLite and PostgreSQL).

While a slow channel API keeps the worker waiting, every other writer — order ingest above
all — goes on: on SQLite nobody waits for the write lock ("database is locked"), on
PostgreSQL the worker has no transaction (nor row locks) open across the network call.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select, text

from orderhub.bootstrap import Container
from orderhub.channels import native
from orderhub.channels.api_client import forget_shared_state
from orderhub.services import outbound
from orderhub.services.ingest import ingest_order
from orderhub.store.db import is_postgres
from orderhub.store.tables import deliveries
from orderhub.workers.relay import Worker
from tests.conftest import native_order
from tests.integration.test_outbound_worker import walmart_order

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
    ingested = threading.Event()

    def ingest() -> None:
        body = native.NativeOrder.model_validate(native_order("2002"))
        with seeded.uow(actor="test") as uow:
            ingest_order(uow, draft=body.to_draft(), source="native", payload="{}")
        ingested.set()

    writer = threading.Thread(target=ingest)
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
