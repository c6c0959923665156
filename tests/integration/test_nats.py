"""Order and inventory events are published to NATS JetStream, deduplicated by event id."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from dataclasses import dataclass
from typing import Any, ClassVar

import nats
import pytest
from sqlalchemy import select, update

from orderhub.bootstrap import bootstrap
from orderhub.config import Settings
from orderhub.domain.events import DomainEvent
from orderhub.store import tables
from orderhub.workers.nats import STREAM
from orderhub.workers.relay import Worker, make_worker
from tests.conftest import _unavailable
from tests.integration.delivery_support import emit

NATS_URL = os.environ.get("ORDERHUB_TEST_NATS", "nats://127.0.0.1:4222")
pytestmark = pytest.mark.nats


@dataclass(frozen=True)
class Probe(DomainEvent):
    """An event under ``order.`` whose type is unique to one test run, so subjects don't mix."""

    type: ClassVar[str] = f"order.probe_{uuid.uuid4().hex[:8]}"
    key: str

    @property
    def stream(self) -> str:
        return f"order:{self.key}"


@dataclass(frozen=True)
class Unstreamed(DomainEvent):
    type: ClassVar[str] = "test.unstreamed"

    @property
    def stream(self) -> str:
        return "test"


async def _check() -> None:
    nc = await nats.connect(NATS_URL, connect_timeout=3, max_reconnect_attempts=0)
    await nc.close()


@pytest.fixture(scope="module")
def nats_url() -> str:
    try:
        asyncio.run(_check())
    except Exception as error:
        _unavailable("NATS", error)
    return NATS_URL


async def _messages(subject: str) -> list[Any]:
    nc = await nats.connect(NATS_URL)
    js = nc.jetstream()
    sub = await js.pull_subscribe(subject, stream=STREAM)
    found: list[Any] = []
    try:
        while True:
            batch = await sub.fetch(50, timeout=1)
            for message in batch:
                await message.ack()
            found += batch
    except (TimeoutError, nats.errors.TimeoutError):
        pass
    finally:
        await nc.close()
    return found


def test_order_events_reach_the_stream_once_even_when_published_twice(
    database_url: str, nats_url: str
) -> None:
    container = bootstrap(Settings(database_url=database_url, nats_url=nats_url))
    relay: Worker = make_worker(container)
    try:
        _publish_twice(container, relay)
    finally:
        relay.close()
        container.close()


def _publish_twice(container: Any, relay: Worker) -> None:
    emit(container, Probe(key="a"), Probe(key="b"), Unstreamed())
    while relay.run_once():
        pass
    relay.fan_out(relay.targets())
    with container.engine.begin() as conn:  # a crash after publishing: everything again
        conn.execute(update(tables.deliveries).values(status="pending"))
        ids = list(conn.execute(select(tables.outbox.c.id).order_by(tables.outbox.c.seq)).scalars())
    while relay.run_once():
        pass
    published = asyncio.run(_messages(f"orderhub.{Probe.type}"))
    messages = [m for m in published if m.header["Nats-Msg-Id"] in ids]  # this test's own
    assert [m.header["Nats-Msg-Id"] for m in messages] == ids[:2]
    assert [json.loads(m.data)["stream"] for m in messages] == ["order:a", "order:b"]
    assert all(m.subject == f"orderhub.{Probe.type}" for m in messages)


def test_the_streams_duplicate_window_outlasts_the_workers_lease(
    database_url: str, nats_url: str
) -> None:
    lease = 400.0  # longer than any other test's, so the shared stream's window must grow
    settings = Settings(database_url=database_url, nats_url=nats_url, delivery_lease_seconds=lease)
    container = bootstrap(settings)
    relay: Worker = make_worker(container)
    try:
        emit(container, Probe(key="w"))
        while relay.run_once():
            pass
    finally:
        relay.close()
        container.close()
    assert asyncio.run(_window()) >= 2 * lease


async def _window() -> float:
    nc = await nats.connect(NATS_URL)
    try:
        info = await nc.jetstream().stream_info(STREAM)
        return float(info.config.duplicate_window or 0)
    finally:
        await nc.close()
