"""Periodic jobs in the worker: once per interval across workers, and a failure stops nothing."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from orderhub.bootstrap import Container
from orderhub.store import history, scheduled_jobs
from orderhub.store.tables import orders
from orderhub.store.tables import scheduled_jobs as jobs_table
from orderhub.workers.relay import Worker, make_worker
from orderhub.workers.schedules import Job, Scheduler, default_jobs
from tests.support.channels import seed_channels
from tests.support.fake_magento import FakeMagento

T0 = datetime(2026, 11, 27, 4, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def counting(name: str, runs: list[str], interval: timedelta = MINUTE) -> Job:
    return Job(name, interval, lambda _c, _t, _now: runs.append(name))


def failing(name: str) -> Job:
    def run(_c: Container, _t: Any, _now: datetime) -> None:
        raise RuntimeError("provider down")

    return Job(name, MINUTE, run)


def test_of_two_workers_only_one_runs_a_job_in_each_interval(container: Container) -> None:
    clock, runs = Clock(), []
    first, second = (
        Scheduler(container, owner=o, jobs=[counting("tick", runs)], clock=clock) for o in "ab"
    )
    assert first.run_due() == ["tick"]
    assert second.run_due() == []
    clock.now += MINUTE / 2
    assert first.run_due() == second.run_due() == []
    clock.now += MINUTE / 2
    assert second.run_due() == ["tick"]
    assert first.run_due() == []
    assert runs == ["tick", "tick"]


def test_workers_racing_for_the_same_job_run_it_once(container: Container) -> None:
    runs: list[str] = []
    lock = threading.Lock()

    def run(_c: Container, _t: Any, _now: datetime) -> None:
        with lock:
            runs.append("tick")

    start = threading.Barrier(4)
    won: list[list[str]] = []

    def worker(owner: str) -> None:
        scheduler = Scheduler(
            container, owner=owner, jobs=[Job("tick", MINUTE, run)], clock=lambda: T0
        )
        start.wait()
        result = scheduler.run_due()
        with lock:
            won.append(result)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert runs == ["tick"]
    assert sorted(won) == [[], [], [], ["tick"]]


def test_a_job_still_running_is_not_started_again_until_its_lease_ends(
    container: Container,
) -> None:
    lease = timedelta(minutes=10)

    def claim(owner: str, now: datetime) -> bool:
        with container.engine.begin() as conn:
            return scheduled_jobs.claim(
                conn, name="slow", owner=owner, now=now, interval=MINUTE, lease=lease
            )

    assert claim("a", T0)  # a starts and has not finished
    assert not claim("b", T0 + 5 * MINUTE)  # due again, but a still holds it
    assert claim("b", T0 + lease)  # a died: its lease ran out


def test_a_failing_job_is_recorded_and_the_other_jobs_still_run(container: Container) -> None:
    clock, runs = Clock(), []
    scheduler = Scheduler(
        container,
        owner="a",
        jobs=[failing("broken"), counting("tick", runs)],
        clock=clock,
    )
    assert scheduler.run_due() == ["broken", "tick"]
    with container.engine.connect() as conn:
        row = conn.execute(select(jobs_table).where(jobs_table.c.name == "broken")).one()
    assert row.last_error == "RuntimeError: provider down"
    assert row.lease_owner is None
    clock.now += MINUTE
    assert scheduler.run_due() == ["broken", "tick"]  # tried again next interval
    assert runs == ["tick", "tick"]


def test_a_failing_job_does_not_stop_the_worker(container: Container) -> None:
    runs: list[str] = []
    scheduler = Scheduler(container, owner="w", jobs=[failing("broken"), counting("tick", runs)])
    worker = Worker(container, consumers=[], scheduler=scheduler)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    try:
        for _ in range(100):
            if runs:
                break
            threading.Event().wait(0.05)
    finally:
        stop.set()
        thread.join(timeout=10)
        worker.close()
    assert runs == ["tick"]
    assert not thread.is_alive()


def test_the_worker_from_settings_runs_the_four_schedules(container: Container) -> None:
    worker = make_worker(container, worker_id="w1")
    try:
        assert worker.scheduler is not None
        names = [job.name for job in worker.scheduler.jobs]
        assert names == [
            "marketplaces.poll",
            "magento.pull",
            "fulfilment.tick",
            "history.checkpoint",
        ]
        worker.run_once()
        with container.engine.connect() as conn:
            rows = conn.execute(select(jobs_table).order_by(jobs_table.c.name)).all()
        assert [(r.name, r.runs, r.last_error) for r in rows] == [
            ("fulfilment.tick", 1, None),
            ("history.checkpoint", 1, None),
            ("magento.pull", 1, None),
            ("marketplaces.poll", 1, None),
        ]
        with container.uow(read_only=True) as uow:
            assert history.latest_checkpoint(uow.conn) is not None
    finally:
        worker.close()


def test_the_magento_job_pulls_every_adobe_commerce_channel(seeded: Container) -> None:
    seed_channels(seeded)
    fake = FakeMagento.with_fixtures()
    seeded.http_transport = fake.transport()
    scheduler = Scheduler(
        seeded, owner="w", jobs=[j for j in default_jobs(seeded) if j.name == "magento.pull"]
    )
    assert scheduler.run_due() == ["magento.pull"]
    with seeded.uow(read_only=True) as uow:
        assert uow.sync_cursors.get("mage") is not None
    assert fake.requests, "the fake Adobe Commerce API was never asked"
    with seeded.engine.connect() as conn:
        assert conn.execute(
            select(orders.c.external_id).where(orders.c.channel_code == "mage")
        ).all()
