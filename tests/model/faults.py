"""Faults the model injects into the worker, and running the worker until it has nothing to do.

The faults sit where any pipeline design has them — around the consumers' calls and the
fulfilment provider's call — so the model does not depend on how the worker batches or fans out:

- ``kill`` — the worker process dies (``WorkerKilled`` is a BaseException: nothing in the worker
  catches it) just before its n-th consumer call; whatever it had claimed keeps its lease until
  the lease runs out on the injected clock;
- ``fail`` — a consumer's call raises before doing anything (a transient outage);
- ``lose_ack`` — a consumer's call does its work and commits, then raises (the answer was lost):
  the retry must not do the work again;
- ``conflict`` — a consumer's transaction dies of a deadlock / serialization failure
  (PostgreSQL's 40P01 / 40001, as psycopg reports them through SQLAlchemy);
- ``provider_fail`` — the fulfilment provider's dispatch raises a transient ProviderError.

Only :func:`wrap_consumers` and :func:`open_work` know the worker's inside (consumer shapes and
the deliveries table); a pipeline redesign adapts those two and nothing else.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from sqlalchemy import case, func, select
from sqlalchemy.exc import OperationalError

from orderhub.bootstrap import Container
from orderhub.fulfilment.base import DispatchRequest, DispatchResult, ProviderError
from orderhub.fulfilment.warehouse import WarehouseProvider
from orderhub.services.messagebus import (
    Consumer,
    InternalConsumer,
    OutboundConsumer,
    internal_consumers,
)
from orderhub.store import tables as t
from orderhub.store.deliveries import OPEN, DeliveryStatus
from orderhub.workers.relay import Worker
from tests.support.clock import FakeClock


class WorkerKilled(BaseException):
    """The worker process died here (SIGKILL): no handler in the worker runs."""


class ConsumerDown(Exception):
    """A consumer's call failed for a while (a transient outage)."""


@dataclass
class Faults:
    """Pending faults, each spent by the calls it hits (so a retry eventually succeeds)."""

    kill_after: int | None = None  # die before the (n+1)-th consumer call
    fail: int = 0
    lose_ack: int = 0
    conflict: int = 0
    provider_fail: int = 0

    def before(self, name: str) -> None:
        if self.kill_after is not None:
            if self.kill_after <= 0:
                self.kill_after = None
                raise WorkerKilled(name)
            self.kill_after -= 1
        if self.conflict:
            self.conflict -= 1
            raise OperationalError(
                "UPDATE stock_levels …", {}, psycopg.errors.DeadlockDetected("deadlock detected")
            )
        if self.fail:
            self.fail -= 1
            raise ConsumerDown(f"{name} is down")

    def after(self, name: str) -> None:
        if self.lose_ack:
            self.lose_ack -= 1
            raise ConsumerDown(f"{name} answered, the answer was lost")


def wrap_consumers(consumers: Sequence[InternalConsumer], faults: Faults) -> list[InternalConsumer]:
    """The same consumers, each call passing through ``faults`` first (and after)."""
    wrapped: list[InternalConsumer] = []
    for consumer in consumers:
        if isinstance(consumer, Consumer):
            resume = _guard(consumer.resume, consumer.name, faults) if consumer.resume else None
            wrapped.append(
                dataclasses.replace(
                    consumer,
                    handle=_guard(consumer.handle, consumer.name, faults),
                    resume=resume,
                )
            )
        elif isinstance(consumer, OutboundConsumer):
            wrapped.append(
                dataclasses.replace(
                    consumer, prepare=_guard(consumer.prepare, consumer.name, faults)
                )
            )
        else:  # a new consumer shape: the redesign adds it here
            raise TypeError(f"the model cannot wrap {consumer!r}")
    return wrapped


def _guard(call: Callable[..., Any], name: str, faults: Faults) -> Callable[..., Any]:
    def guarded(*args: Any) -> Any:
        faults.before(name)
        result = call(*args)
        faults.after(name)
        return result

    return guarded


@contextmanager
def faulty_provider(faults: Faults) -> Iterator[None]:
    """The own warehouse's dispatch fails (transiently) while ``faults.provider_fail`` lasts."""
    original = WarehouseProvider.dispatch

    def dispatch(self: WarehouseProvider, request: DispatchRequest) -> DispatchResult:
        if faults.provider_fail:
            faults.provider_fail -= 1
            raise ProviderError("the warehouse system is unreachable")
        return original(self, request)

    WarehouseProvider.dispatch = dispatch  # type: ignore[method-assign]
    try:
        yield
    finally:
        WarehouseProvider.dispatch = original  # type: ignore[method-assign]


def new_worker(container: Container, clock: FakeClock, faults: Faults, number: int) -> Worker:
    """A worker on the injected clock, with seeded jitter and the faulty consumers."""
    consumers = wrap_consumers(internal_consumers(), faults)
    return Worker(
        container,
        consumers=consumers,
        worker_id=f"model-worker-{number}",
        clock=clock,
        rng=random.Random(number),
    )


def open_work(container: Container) -> datetime | None:
    """When outstanding work next falls due: the clock's now for events not yet fanned out,
    else the earliest due time still ahead (work due already but not taken is waiting behind an
    earlier delivery of its stream, which is then the one ahead); None when nothing is open."""
    d, ob = t.deliveries.c, t.outbox.c
    due_at = case(
        (d.status == DeliveryStatus.IN_FLIGHT.value, d.lease_expires_at), else_=d.next_attempt_at
    )
    now = container.clock()
    with container.engine.connect() as conn:
        unfanned = conn.execute(
            select(func.count()).select_from(t.outbox).where(ob.fanned_out.is_(False))
        ).scalar_one()
        open_ = conn.execute(
            select(func.count()).select_from(t.deliveries).where(d.status.in_(OPEN))
        ).scalar_one()
        ahead: datetime | None = conn.execute(
            select(func.min(due_at)).where(d.status.in_(OPEN), due_at > now)
        ).scalar_one()
    if unfanned or (open_ and ahead is None):
        return now
    if ahead is not None and ahead.tzinfo is None:
        ahead = ahead.replace(tzinfo=UTC)
    return ahead


def drain(worker: Worker, clock: FakeClock, *, max_cycles: int = 400) -> None:
    """Run the worker until nothing is outstanding, moving the clock to each next due time."""
    for _ in range(max_cycles):
        if worker.run_once():
            continue
        due = open_work(worker.container)
        if due is None:
            return
        clock.now = max(clock.now, due)
        clock.advance(1)
    raise AssertionError(f"the worker did not drain in {max_cycles} cycles")
