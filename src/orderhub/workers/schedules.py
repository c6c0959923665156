"""Periodic jobs the worker runs between deliveries: marketplace polls, Adobe Commerce pulls,
fulfilment provider polls and SLA clocks.

Every worker process runs the same :class:`Scheduler`; the ``scheduled_jobs`` lease
(:mod:`orderhub.store.scheduled_jobs`) makes sure each job runs in one of them per interval.
A job that raises is logged and recorded on its row; the worker goes on with its next cycle.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from orderhub.bootstrap import Container
from orderhub.channels import inbound
from orderhub.channels.base import ChannelOrder
from orderhub.clock import utc_now
from orderhub.domain.channels import Channel
from orderhub.http.outbound import TransportFactory, transports
from orderhub.services import audit, fulfilment_wiring, marketplace_sync
from orderhub.services.channel_sync import DEFAULT_OVERLAP, sync_channel
from orderhub.store import scheduled_jobs

log = logging.getLogger("orderhub.worker.schedules")

JobRun = Callable[[Container, TransportFactory, datetime], Any]


@dataclass(frozen=True)
class Job:
    name: str
    interval: timedelta
    run: JobRun


def poll_marketplaces(container: Container, transport: TransportFactory, now: datetime) -> Any:
    """Every marketplace channel whose own polling interval has come round."""
    return marketplace_sync.poll_due(
        lambda: container.uow(actor="schedule:marketplaces"),
        transport=transport(),
        clock=lambda: now,
    )


def pull_magento(container: Container, transport: TransportFactory, now: datetime) -> Any:
    """Adobe Commerce channels pulled through their REST search on ``updated_at``."""
    with container.uow(read_only=True) as uow:
        channels = [
            c
            for c in uow.channels.list()
            if c.active
            and c.api_base_url
            and inbound.accepts_sync(c)  # unconfigured: nothing to pull
        ]
    results: dict[str, Any] = {}
    for channel in channels:
        overlap = channel.settings.get("sync_overlap_seconds")
        try:
            report = sync_channel(
                lambda: container.uow(actor="schedule:magento"),
                channel=channel.code,
                fetch=_puller(channel, transport),
                updated_at=inbound.updated_at,
                overlap=timedelta(seconds=int(overlap)) if overlap is not None else DEFAULT_OVERLAP,
            )
            results[channel.code] = report.counts
        except Exception as error:  # one channel's failure does not stop the others
            log.warning("pull of %s failed: %r", channel.code, error)
            results[channel.code] = repr(error)
    return results


def _puller(
    channel: Channel, transport: TransportFactory
) -> Callable[[datetime | None], Iterator[ChannelOrder]]:
    return lambda since: inbound.pull_orders(channel, since, transport=transport())


def fulfilment_tick(container: Container, _transport: TransportFactory, now: datetime) -> Any:
    """Provider polls, then the SLA clocks (:func:`fulfilment_wiring.tick`)."""
    with container.uow(actor="schedule:fulfilment") as uow:
        return fulfilment_wiring.tick(uow, now=now)


def checkpoint_history(container: Container, _transport: TransportFactory, now: datetime) -> Any:
    """A digest over every order's chain head, so a chain deleted whole is caught."""
    with container.uow(actor="schedule:history") as uow:
        return audit.checkpoint_history(uow).digest


def default_jobs(container: Container) -> list[Job]:
    s = container.settings
    return [
        Job(
            "marketplaces.poll",
            timedelta(seconds=s.schedule_marketplace_seconds),
            poll_marketplaces,
        ),
        Job("magento.pull", timedelta(seconds=s.schedule_magento_seconds), pull_magento),
        Job("fulfilment.tick", timedelta(seconds=s.schedule_fulfilment_seconds), fulfilment_tick),
        Job(
            "history.checkpoint",
            timedelta(seconds=s.schedule_checkpoint_seconds),
            checkpoint_history,
        ),
    ]


class Scheduler:
    """Runs whichever jobs are due and free; ``run_due`` is called once per worker cycle."""

    def __init__(
        self,
        container: Container,
        *,
        owner: str,
        jobs: list[Job] | None = None,
        transport: TransportFactory | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.container = container
        self.owner = owner
        self.jobs = default_jobs(container) if jobs is None else jobs
        self.transport = transport or transports(
            container.http_transport, container.settings.outbound_allowed_hosts
        )
        self.clock = clock
        self.lease = timedelta(seconds=container.settings.schedule_lease_seconds)

    def run_due(self) -> list[str]:
        """Run every job this worker won for the current interval; returns their names."""
        ran = []
        for job in self.jobs:
            now = self.clock()
            with self.container.engine.begin() as conn:
                won = scheduled_jobs.claim(
                    conn,
                    name=job.name,
                    owner=self.owner,
                    now=now,
                    interval=job.interval,
                    lease=max(self.lease, job.interval),
                )
            if won:
                self._run(job, now)
                ran.append(job.name)
        return ran

    def _run(self, job: Job, now: datetime) -> None:
        error: str | None = None
        try:
            result = job.run(self.container, self.transport, now)
            log.info("job %s: %s", job.name, result)
        except Exception as failure:  # a failing job never stops the worker
            error = f"{type(failure).__name__}: {failure}"
            log.exception("job %s failed", job.name)
        with self.container.engine.begin() as conn:
            scheduled_jobs.release(
                conn, name=job.name, owner=self.owner, now=self.clock(), error=error
            )
