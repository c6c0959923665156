"""The outbox relay on SQLite and PostgreSQL: at least once, backoff, dead letters, leases."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from orderhub.api.app import create_app
from orderhub.bootstrap import Container, bootstrap
from orderhub.config import Settings
from orderhub.domain.access import Role
from orderhub.services.messagebus import Consumer
from orderhub.store import tables
from orderhub.workers.relay import Worker
from tests.conftest import bearer, make_key
from tests.integration.delivery_support import Pinged, Recorder, emit
from tests.support.clock import FakeClock

MakeContainer = Callable[..., Container]


@pytest.fixture
def make_container(database_url: str) -> Iterator[MakeContainer]:
    made: list[Container] = []

    def make(**settings: Any) -> Container:
        settings.setdefault("delivery_backoff_seconds", 10.0)
        made.append(bootstrap(Settings(database_url=database_url, **settings)))
        return made[-1]

    yield make
    for container in made:
        container.close()


def worker(container: Container, *consumers: Any, clock: FakeClock, name: str = "w1") -> Worker:
    return Worker(
        container,
        consumers=[c.consumer() for c in consumers],
        worker_id=name,
        clock=clock,
        rng=random.Random(4),
    )


def statuses(container: Container) -> list[tuple[str, str, int]]:
    d = tables.deliveries.c
    with container.engine.connect() as conn:
        rows = conn.execute(
            select(d.consumer, d.status, d.attempts).order_by(d.event_seq, d.consumer)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def notes(container: Container) -> int:
    o = tables.outbox.c
    with container.engine.connect() as conn:
        return conn.execute(select(func.count()).where(o.type == "test.noted")).scalar_one()


def test_each_event_gets_one_delivery_per_interested_consumer_and_fan_out_is_idempotent(
    make_container: MakeContainer,
) -> None:
    container, clock = make_container(), FakeClock()
    everything, nobody = Recorder("everything"), Recorder("nobody")
    relay = Worker(
        container,
        consumers=[everything.consumer(), nobody.consumer(frozenset({"order.other"}))],
        clock=clock,
    )
    emit(container, Pinged(key="a", n=1), Pinged(key="b", n=1))
    assert relay.run_once() == 2
    assert relay.run_once() == 0
    assert statuses(container) == [("everything", "delivered", 1)] * 2
    assert sorted(everything.handled) == [("a", 1), ("b", 1)]
    assert nobody.handled == []


def test_failures_back_off_exponentially_then_die_and_the_api_redrives_the_dead(
    make_container: MakeContainer,
) -> None:
    container = make_container(delivery_max_attempts=3, delivery_backoff_seconds=10.0)
    clock, flaky = FakeClock(), Recorder(fail=lambda _m: True)
    relay = worker(container, flaky, clock=clock)
    emit(container, Pinged(key="a", n=1))
    waits = []
    for attempt in (1, 2):
        start = clock.now
        assert relay.run_once() == 1
        d = tables.deliveries.c
        with container.engine.connect() as conn:
            due = conn.execute(select(d.next_attempt_at)).scalar_one()
        waits.append((due - start).total_seconds())
        assert statuses(container) == [("recorder", "pending", attempt)]
        assert relay.run_once() == 0, "not due before its backoff has passed"
        clock.advance(waits[-1])
    assert 5 <= waits[0] <= 10
    assert 10 <= waits[1] <= 20
    assert relay.run_once() == 1
    assert statuses(container) == [("recorder", "dead", 3)]

    container.clock = clock  # the API re-drives "now" by the same clock the worker reads
    admin = bearer(make_key(container, Role.OPERATOR))
    with TestClient(create_app(container)) as api:
        dead = api.get("/v1/deliveries", params={"status": "dead"}, headers=admin).json()
        assert [i["consumer"] for i in dead["items"]] == ["recorder"]
        assert "refusing" in dead["items"][0]["last_error"]
        flaky.fail = lambda _m: False
        retried = api.post(f"/v1/deliveries/{dead['items'][0]['id']}/retry", headers=admin)
        assert retried.status_code == 200, retried.text
        assert (retried.json()["status"], retried.json()["attempts"]) == ("pending", 0)
        assert retried.json()["next_attempt_at"] == clock.now.isoformat().replace("+00:00", "Z")
        assert relay.run_once() == 1
        again = api.post(f"/v1/deliveries/{dead['items'][0]['id']}/retry", headers=admin)
        assert again.status_code == 409
        assert api.get("/v1/deliveries?status=dead", headers=admin).json()["items"] == []
    assert statuses(container) == [("recorder", "delivered", 1)]
    assert flaky.handled == [("a", 1)]


def test_deliveries_list_filters_and_pages(make_container: MakeContainer) -> None:
    container, clock = make_container(), FakeClock()
    relay = worker(container, Recorder("r1"), Recorder("r2"), clock=clock)
    emit(container, *[Pinged(key=str(i), n=1) for i in range(3)])
    relay.run_once()
    key = bearer(make_key(container, Role.ADMIN))
    with TestClient(create_app(container)) as api:
        first = api.get("/v1/deliveries?limit=4", headers=key).json()
        rest = api.get(f"/v1/deliveries?limit=4&cursor={first['next_cursor']}", headers=key).json()
        assert len(first["items"]) == 4
        assert len(rest["items"]) == 2
        assert not rest["next_cursor"]
        assert len({i["id"] for i in first["items"] + rest["items"]}) == 6
        r2 = api.get("/v1/deliveries?consumer=r2&status=delivered", headers=key).json()
        assert {i["consumer"] for i in r2["items"]} == {"r2"}
        assert len(r2["items"]) == 3
        support = bearer(make_key(container, Role.SUPPORT))
        assert api.get("/v1/deliveries", headers=support).status_code == 403


def test_a_stream_waits_for_its_earlier_event_while_other_streams_and_consumers_go_on(
    make_container: MakeContainer,
) -> None:
    container, clock = make_container(), FakeClock()
    first_fails = {"left": 1}

    def fail_once(message: Any) -> bool:
        if message.data == {"key": "a", "n": 1} and first_fails["left"]:
            first_fails["left"] -= 1
            return True
        return False

    picky, calm = Recorder("picky", fail=fail_once), Recorder("calm")
    relay = worker(container, picky, calm, clock=clock)
    emit(container, Pinged(key="a", n=1), Pinged(key="a", n=2), Pinged(key="b", n=1))
    while relay.run_once():
        pass
    assert picky.handled == [("b", 1)], "a/2 must wait for a/1 to be delivered"
    assert calm.handled == [("a", 1), ("b", 1), ("a", 2)]
    clock.advance(3600)
    while relay.run_once():
        pass
    assert picky.handled == [("b", 1), ("a", 1), ("a", 2)]


def test_a_dead_delivery_no_longer_holds_up_its_stream(make_container: MakeContainer) -> None:
    container, clock = make_container(delivery_max_attempts=1), FakeClock()
    picky = Recorder(fail=lambda m: m.data["n"] == 1)
    relay = worker(container, picky, clock=clock)
    emit(container, Pinged(key="a", n=1), Pinged(key="a", n=2))
    while relay.run_once():
        pass
    assert [s for _c, s, _a in statuses(container)] == ["dead", "delivered"]
    assert picky.handled == [("a", 2)]


def test_work_of_a_worker_that_died_is_taken_over_when_its_lease_ends_and_done_once(
    make_container: MakeContainer,
) -> None:
    container, clock = make_container(delivery_lease_seconds=30), FakeClock()
    recorder = Recorder()
    dying, survivor = (worker(container, recorder, clock=clock, name=n) for n in ("dying", "ok"))
    emit(container, Pinged(key="a", n=1), Pinged(key="b", n=1))
    for target in (dying.targets(),):
        dying.fan_out(target)
    claimed = dying.claim()  # … and then the process dies without running them
    assert len(claimed) == 2
    assert survivor.run_once() == 0, "leased work is not taken while the lease holds"
    clock.advance(31)
    assert survivor.run_once() == 2
    assert statuses(container) == [("recorder", "delivered", 2)] * 2
    # The first worker was only slow, not dead: it wakes up and runs its stale batch.
    for stale in claimed:
        dying.run_delivery(stale, dying.targets()[stale.consumer])
    assert sorted(recorder.handled) == [("a", 1), ("b", 1)], "nothing is done twice"
    assert notes(container) == 2
    assert statuses(container) == [("recorder", "delivered", 2)] * 2


def test_a_rerun_after_a_crash_does_nothing_twice_for_internal_consumers(
    make_container: MakeContainer,
) -> None:
    container, clock = make_container(), FakeClock()
    recorder = Recorder()
    relay = worker(container, recorder, clock=clock)
    emit(container, Pinged(key="a", n=1))
    relay.run_once()
    d = tables.deliveries.c
    with container.engine.begin() as conn:  # as if the success had never been recorded
        conn.execute(update(tables.deliveries).values(status="pending", next_attempt_at=clock.now))
    assert relay.run_once() == 1
    assert recorder.handled == [("a", 1)]
    assert notes(container) == 1
    with container.engine.connect() as conn:
        assert conn.execute(select(d.status)).scalar_one() == "delivered"


def test_a_delivery_whose_worker_died_on_its_last_attempt_is_dead(
    make_container: MakeContainer,
) -> None:
    container, clock = (
        make_container(
            delivery_max_attempts=1, delivery_lease_seconds=5, webhook_timeout_seconds=2
        ),
        FakeClock(),
    )
    recorder = Recorder()
    relay = worker(container, recorder, clock=clock)
    emit(container, Pinged(key="a", n=1))
    relay.fan_out(relay.targets())
    assert len(relay.claim()) == 1
    clock.advance(timedelta(seconds=6).total_seconds())
    assert relay.run_once() == 0
    assert statuses(container) == [("recorder", "dead", 1)]
    assert recorder.handled == []


def test_a_handler_that_committed_before_failing_is_not_run_again(
    make_container: MakeContainer,
) -> None:
    container, clock = make_container(), FakeClock()
    recorder = Recorder()
    calls = []

    def commit_then_crash(uow: Any, message: Any) -> None:
        calls.append(message.id)
        recorder.handle(uow, message)
        uow.commit()  # services commit their own work …
        if len(calls) == 1:
            raise RuntimeError("… and the process fails right after")

    consumer = Consumer(
        name="committer", event_types=frozenset({"order.pinged"}), handle=commit_then_crash
    )
    relay = Worker(container, consumers=[consumer], clock=clock)
    emit(container, Pinged(key="a", n=1))
    assert relay.run_once() == 1
    assert statuses(container) == [("committer", "pending", 1)]
    clock.advance(3600)
    assert relay.run_once() == 1
    assert statuses(container) == [("committer", "delivered", 2)]
    assert len(calls) == 1, "the receipt committed with the work: no second run"
    assert notes(container) == 1
