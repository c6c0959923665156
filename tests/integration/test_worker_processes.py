"""Worker processes on PostgreSQL: several share the work without doubles; a killed one's
leased batch is taken over when its lease ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from orderhub.bootstrap import Container, bootstrap
from orderhub.config import Settings
from orderhub.services.webhooks import create_subscription
from orderhub.store import tables
from tests.conftest import _pg_admin, _pg_url
from tests.integration.delivery_support import Pinged, Receiver, emit, receiver

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg(pg_template: str) -> Iterator[Container]:
    name = f"orderhub_t_{uuid.uuid4().hex[:12]}"
    with _pg_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    container = bootstrap(Settings(database_url=_pg_url(name)))
    yield container
    container.close()
    with _pg_admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def hooks() -> Iterator[Receiver]:
    with receiver() as r:
        yield r


Start = Callable[..., subprocess.Popen[bytes]]


@pytest.fixture
def start_worker(pg: Container, tmp_path: Path) -> Iterator[Start]:
    started: list[subprocess.Popen[bytes]] = []

    def start(name: str, **settings: str) -> subprocess.Popen[bytes]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERHUB_")}
        env |= {
            "ORDERHUB_DATABASE_URL": pg.engine.url.render_as_string(hide_password=False),
            "ORDERHUB_OUTBOUND_ALLOWED_HOSTS": '["127.0.0.1"]',
            "ORDERHUB_SECRET_KEY": os.environ["ORDERHUB_SECRET_KEY"],  # opens subscription secrets
            "ORDERHUB_WORKER_POLL_SECONDS": "0.05",
        }
        env |= {f"ORDERHUB_{k.upper()}": v for k, v in settings.items()}
        with (tmp_path / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    "from orderhub.cli import app; app()",
                    "worker",
                    "--id",
                    name,
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=20)


def delivered_by(container: Container) -> dict[str, str | None]:
    d = tables.deliveries.c
    with container.engine.connect() as conn:
        return dict(conn.execute(select(d.event_id, d.delivered_by)).all())  # type: ignore[arg-type]


def wait_until(condition: Callable[[], bool], *, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def all_delivered(container: Container, expected: int) -> Callable[[], bool]:
    def check() -> bool:
        d = tables.deliveries.c
        with container.engine.connect() as conn:
            done = conn.execute(select(func.count()).where(d.status == "delivered")).scalar_one()
        return bool(done == expected)

    return check


def event_ids(container: Container) -> set[str]:
    with container.engine.connect() as conn:
        return set(conn.execute(select(tables.outbox.c.id)).scalars())


def subscribe(container: Container, url: str) -> None:
    with container.uow(actor="test") as uow:
        create_subscription(uow, url=url, event_types=["order.pinged"], allowed_hosts=["127.0.0.1"])


def test_several_worker_processes_share_the_work_without_double_delivery_or_reordering(
    pg: Container, hooks: Receiver, start_worker: Start, tmp_path: Path
) -> None:
    subscribe(pg, hooks.url)
    streams, per_stream = 60, 4
    for number in range(3):  # small batches: many claims race each other
        start_worker(f"w{number}", delivery_batch_size="2")
    wait_until(lambda: all("started" in log.read_text() for log in tmp_path.glob("w*.log")))
    emit(pg, *[Pinged(key=f"s{s}", n=n) for n in range(per_stream) for s in range(streams)])
    wait_until(all_delivered(pg, streams * per_stream))
    received = hooks.event_ids()
    assert len(received) == len(set(received)) == streams * per_stream, "no event twice"
    assert set(received) == event_ids(pg)
    for s in range(streams):
        ns = [r.json["data"]["n"] for r in hooks.received if r.json["data"]["key"] == f"s{s}"]
        assert ns == list(range(per_stream)), f"stream s{s} out of order: {ns}"
    assert len(set(delivered_by(pg).values())) >= 2, "the workers shared the work"


def test_a_worker_killed_mid_batch_loses_nothing_once_its_lease_ends(
    pg: Container, hooks: Receiver, start_worker: Start
) -> None:
    subscribe(pg, hooks.url)
    events = 40
    emit(pg, *[Pinged(key=f"s{s}", n=0) for s in range(events)])
    hooks.delay = 0.1
    doomed = start_worker(
        "doomed", delivery_batch_size="20", delivery_lease_seconds="3", webhook_timeout_seconds="1"
    )
    wait_until(lambda: len(hooks.received) >= 3)
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=10)
    d = tables.deliveries.c
    with pg.engine.connect() as conn:
        held = conn.execute(
            select(func.count()).where(d.status == "in_flight", d.lease_owner == "doomed")
        ).scalar_one()
    assert held > 0, "the worker died in the middle of a batch"
    hooks.delay = 0.0
    start_worker(
        "heir", delivery_batch_size="20", delivery_lease_seconds="3", webhook_timeout_seconds="1"
    )
    wait_until(all_delivered(pg, events))
    assert set(hooks.event_ids()) == event_ids(pg), "every event delivered"
    assert "heir" in set(delivered_by(pg).values())
