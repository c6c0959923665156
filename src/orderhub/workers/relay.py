"""The outbox relay: fan events out into deliveries, claim due ones, run them, retry or bury.

Any number of these run side by side on PostgreSQL (one on SQLite). Each cycle:

1. fan-out — new outbox events become one delivery per interested target (one worker at a time;
   none for a consumer that calls the channel back when the event's channel is of a kind it has
   no calls for, or has ``sync_back`` false);
2. claim — a batch of due deliveries is leased to this worker (``FOR UPDATE SKIP LOCKED``), in
   the fan-out's transaction;
3. run — the batch's deliveries to database-only consumers run together in as few
   transactions as the time budget allows, their receipts taken with one statement and each
   in a savepoint, or none when it keeps its writes for the commit (one commit per
   transaction; one that fails is undone alone, its receipt dropped, and run again by itself
   after the commit); every other delivery is handed to its
   target one by one. Success is recorded, failure is retried after an exponential backoff
   with jitter, and after ``delivery_max_attempts`` the delivery is dead.

A worker killed mid-batch leaves leased deliveries behind; they are due again when the lease ends.
"""

from __future__ import annotations

import functools
import logging
import os
import random
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent import futures
from datetime import datetime, timedelta

import httpx
from sqlalchemy import Connection, event

from orderhub.bootstrap import Container
from orderhub.clock import utc_now
from orderhub.config import Settings
from orderhub.http.outbound import transports
from orderhub.http.ssrf import guarded_client
from orderhub.services.messagebus import (
    Consumer,
    InternalConsumer,
    Message,
    internal_consumers,
)
from orderhub.store import deliveries
from orderhub.store.db import aborted_for_another, writer_waiting
from orderhub.store.deliveries import Claimed
from orderhub.store.unit_of_work import UnitOfWork
from orderhub.store.webhooks import WebhookRepository
from orderhub.workers.nats import NatsPublisher, duplicate_window
from orderhub.workers.schedules import Scheduler
from orderhub.workers.targets import (
    InternalTarget,
    NatsTarget,
    PermanentFailure,
    Publisher,
    Target,
    WebhookTarget,
    internal_target,
)

log = logging.getLogger("orderhub.worker")

# How long the worker's transaction of database-only deliveries may work before it commits
# (and lets other writers in); the next ones of the batch go on in a fresh transaction.
# SQLite has one writer, which the API's requests wait for: short transactions there, and
# one that commits early whenever another writer waits at the gate (``writer_waiting``).
# ``Settings.worker_transaction_seconds`` overrides the default; a test may override both.
DEFAULT_TOGETHER_SECONDS = {"sqlite": 0.02, "postgresql": 0.25}
TOGETHER_SECONDS: float | None = None
MAX_TOGETHER = 100  # deliveries in one transaction, at most (the claim takes fewer anyway)


def backoff_seconds(
    attempts: int, *, base: float, cap: float, rng: random.Random | None = None
) -> float:
    """Delay before the next attempt: ``base·2^(attempts−1)`` capped, jittered into [½d, d]."""
    delay: float = min(cap, base * 2.0 ** max(0, attempts - 1))
    jitter: float = (rng or random).uniform(0, delay / 2)
    return delay / 2 + jitter


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker:
    """One relay worker; ``run`` loops until stopped, ``run_once`` is one cycle (for tests)."""

    def __init__(
        self,
        container: Container,
        *,
        consumers: Sequence[InternalConsumer] | None = None,
        publisher: Publisher | None = None,
        http: httpx.Client | None = None,
        worker_id: str | None = None,
        clock: Callable[[], datetime] = utc_now,
        rng: random.Random | None = None,
        scheduler: Scheduler | None = None,
    ) -> None:
        self.container = container
        self.settings: Settings = container.settings
        self.id = worker_id or default_worker_id()
        self.clock = clock
        self.rng = rng or random.Random()
        self._uow = functools.partial(container.uow, actor=f"worker:{self.id}")
        self.channel_transport = transports(
            container.http_transport, self.settings.outbound_allowed_hosts
        )
        if consumers is None:
            consumers = internal_consumers(transport=self.channel_transport)
        self._internal = [internal_target(c, self._uow) for c in consumers]
        self._channel_scope = {
            c.name: frozenset(kind.value for kind in c.channel_kinds)
            for c in consumers
            if c.channel_kinds is not None
        }
        self._superseded = {
            c.name: c.superseded_by
            for c in consumers
            if isinstance(c, Consumer) and c.superseded_by
        }
        self.scheduler = scheduler
        self.together_seconds = self.settings.worker_transaction_seconds or (
            DEFAULT_TOGETHER_SECONDS.get(container.engine.dialect.name, 0.25)
        )
        self._lease_ends = clock()  # when the leases of the batch in hand run out
        self._per_delivery = 0.002  # seconds a database-only delivery took lately (moving avg)
        if not event.contains(container.engine, "release_savepoint", _count_release):
            event.listen(container.engine, "release_savepoint", _count_release)
        self._nats = NatsTarget(publisher, self._uow) if publisher is not None else None
        self._pool: futures.ThreadPoolExecutor | None = None  # deliveries side by side
        self._http = http or guarded_client(
            self.settings.outbound_allowed_hosts,
            timeout=self.settings.webhook_timeout_seconds,
            follow_redirects=True,
        )

    def targets(self, conn: Connection | None = None) -> dict[str, Target]:
        """Every target a delivery may be for, webhook subscriptions read fresh (on ``conn``,
        the cycle's transaction, else in a read-only one of their own)."""
        if conn is None:
            with self.container.uow(read_only=True) as uow:
                return self.targets(uow.conn)
        found: list[Target] = list(self._internal)
        subscriptions = WebhookRepository(conn, self.container.secret_box).list()
        found += [WebhookTarget(s, self._http, self._uow) for s in subscriptions]
        if self._nats is not None:
            found.append(self._nats)
        return {target.name: target for target in found}

    def fan_out(self, targets: dict[str, Target], conn: Connection | None = None) -> int:
        """Fan out up to a batch of new outbox events (in ``conn``'s transaction, else in a
        transaction of its own); how many were fanned out."""
        if conn is None:
            with self.container.engine.begin() as own:
                return self.fan_out(targets, own)

        wanting: dict[str, list[str]] = {}  # event type → its consumers, asked once per type

        def consumers_for(event_type: str) -> list[str]:
            found = wanting.get(event_type)
            if found is None:
                found = wanting[event_type] = [
                    name for name, target in targets.items() if target.wants(event_type)
                ]
            return found

        return deliveries.fan_out(
            conn,
            consumers_for=consumers_for,
            now=self.clock(),
            channel_scope=self._channel_scope,
            superseded=self._superseded,
        )

    def claim(self, conn: Connection | None = None) -> list[Claimed]:
        """Lease a batch of due deliveries to this worker (in ``conn``'s transaction, else in
        a transaction of its own, committed before they run)."""
        if conn is None:
            with self.container.engine.begin() as own:
                return self.claim(own)
        s = self.settings
        now = self.clock()
        self._lease_ends = now + timedelta(seconds=s.delivery_lease_seconds)
        return deliveries.claim(
            conn,
            owner=self.id,
            now=now,
            lease_seconds=s.delivery_lease_seconds,
            limit=s.delivery_batch_size,
            max_attempts=s.delivery_max_attempts,
        )

    def run_once(self) -> int:
        """One cycle: fan out, claim a batch, run it, then the due periodic jobs (if this
        worker has a scheduler); returns how many deliveries ran. The fan-out and the claim
        share one short write transaction (SQLite's write lock taken once for both)."""
        with self.container.engine.begin() as conn:
            targets = self.targets(conn)  # not a connection (and unit of work) of their own
            backlog = self.fan_out(targets, conn) == deliveries.FAN_OUT_LIMIT
            batch = [] if backlog else self.claim(conn)
        if backlog:  # the rest of a backlog in transactions of its own, the claim after it
            while self.fan_out(targets):
                pass
            batch = self.claim()
        together = [c for c in batch if isinstance(targets.get(c.consumer), InternalTarget)]
        aside = self.run_together(together, targets)
        ran = {claimed.id for claimed in together} - {claimed.id for claimed in aside}
        self.run_alone([claimed for claimed in batch if claimed.id not in ran], targets)
        if self.scheduler is not None:
            self.scheduler.run_due()
        return len(batch)

    def run_alone(self, batch: Sequence[Claimed], targets: dict[str, Target]) -> None:
        """Deliveries that run by themselves — channel calls, webhooks, 3PL dispatches — up
        to ``worker_outcall_concurrency`` at once, each on a thread of the worker's pool with
        its own transactions: one after another, a channel that takes 200 ms to answer would
        hold a worker to five deliveries a second. The claim never hands one worker two
        deliveries of one stream for one consumer, so running them side by side keeps every
        stream's order. Those to NATS (one event loop, not shared) run here, one by one. The
        batch's leases are renewed while any runs (:meth:`keep_leases`)."""
        side = [c for c in batch if not isinstance(targets.get(c.consumer), NatsTarget)]
        if self.settings.worker_outcall_concurrency < 2 or len(side) < 2:
            side = []
        running = {
            self._outcalls().submit(self.run_delivery, claimed, targets.get(claimed.consumer)): (
                claimed
            )
            for claimed in side
        }
        aside = {claimed.id for claimed in side}
        here = [claimed for claimed in batch if claimed.id not in aside]
        for i, claimed in enumerate(here):
            self.keep_leases([*here[i:], *running.values()])
            self.run_delivery(claimed, targets.get(claimed.consumer))
        pending = set(running)
        while pending:
            self.keep_leases([running[future] for future in pending])
            _done, pending = futures.wait(pending, timeout=self._lease_check_seconds())
        for future in running:
            future.result()  # a failure to record a failure (the database gone) is the cycle's

    def _outcalls(self) -> futures.ThreadPoolExecutor:
        """The worker's threads for deliveries run side by side (made on first use)."""
        if self._pool is None:
            self._pool = futures.ThreadPoolExecutor(
                self.settings.worker_outcall_concurrency, thread_name_prefix="orderhub-outcall"
            )
        return self._pool

    def _lease_check_seconds(self) -> float:
        """How often the leases of deliveries running side by side are looked at: often
        enough that one is renewed well before half of it is gone."""
        return max(0.05, self.settings.delivery_lease_seconds / 8)

    def keep_leases(self, held: Sequence[Claimed]) -> None:
        """Renew the leases of the batch's deliveries still to run, when less than half a
        lease is left: a batch of slow but healthy deliveries is never taken over (the
        settings refuse a lease shorter than twice the longest single delivery)."""
        lease = self.settings.delivery_lease_seconds
        now = self.clock()
        if self._lease_ends - now > timedelta(seconds=lease / 2):
            return
        with self.container.engine.begin() as conn:
            deliveries.renew_leases(
                conn, [c.id for c in held], owner=self.id, now=now, lease_seconds=lease
            )
        self._lease_ends = now + timedelta(seconds=lease)

    def run_together(self, batch: Sequence[Claimed], targets: dict[str, Target]) -> list[Claimed]:
        """Deliveries to database-only consumers, as few transactions as the time budget allows;
        returns those set aside to run alone (:attr:`Consumer.calls_out`: they call out).

        A transaction takes as many as should fit ``TOGETHER_SECONDS`` at their recent cost:
        what their consumers can read before it begins (:attr:`Consumer.read_early`, on a
        snapshot of their own, so the write lock is not held for it), their consumers' locks
        ahead (:attr:`Consumer.lock_ahead`), then their receipts in one statement; each runs
        as a unit-of-work item (a savepoint holding its effects, or none for one whose
        consumer keeps its writes for the commit, :attr:`Consumer.writes_at_commit`, with no
        other delivery of its stream here); the successful ones are marked delivered with
        one statement before the commit. It commits once it has worked ``TOGETHER_SECONDS``
        (counted from when it holds the write lock), so a long batch does not hold SQLite's
        single write lock (or PostgreSQL's row locks) for long: the API's writes wait for
        one short transaction, not a whole batch. On SQLite it also commits, after any
        delivery, as soon as another writer waits at the writer gate
        (:func:`~orderhub.store.db.writer_waiting`): the API's writes wait for the delivery
        running, not the rest of the budget.
        """
        remaining, aside = list(batch), list[Claimed]()
        while remaining:
            remaining = self._run_in_one_transaction(remaining, targets, aside)
        return aside

    def _run_in_one_transaction(
        self, batch: Sequence[Claimed], targets: dict[str, Target], aside: list[Claimed]
    ) -> list[Claimed]:
        """Run deliveries of ``batch`` in one transaction until the time budget is used or
        (SQLite) another writer waits, at least one of them; returns those left for the next.
        One that would call out (:attr:`Consumer.calls_out`) is put ``aside`` instead, its
        receipt dropped again: the caller runs it alone, after the commit.

        One that raises is undone alone and its failure recorded after the commit, exactly as
        if it had run by itself. Should the commit itself fail, each runs again in a
        transaction of its own: nothing was recorded, and receipts keep effects exactly once.
        """
        failed: list[tuple[Claimed, Exception]] = []
        done: list[Claimed] = []
        ran: list[Claimed] = []
        budget = TOGETHER_SECONDS if TOGETHER_SECONDS is not None else self.together_seconds

        def later(_uow: UnitOfWork) -> None:
            """Marked with the others, in one statement before the commit."""

        left = list(batch)
        streams = Counter(claimed.stream for claimed in batch)
        undone: list[tuple[str, str]] = []  # receipts taken by deliveries that failed
        taken: set[tuple[str, str]] = set()  # … and by those not run yet
        started: float | None = None  # when the transaction held its (write) locks
        reached = 0  # of ``batch``: run here or put aside
        try:
            with self._uow() as uow:
                for consumer, messages in _per_consumer(batch, targets):  # not begun yet
                    if consumer.read_early is not None:
                        consumer.read_early(uow, messages)

                def enough() -> bool:
                    """Commit now: the budget is used, or another writer waits (SQLite)."""
                    assert started is not None
                    return time.monotonic() - started > budget or writer_waiting(uow.conn)

                while left:  # as many as should fit what is left of the budget, together
                    if started is not None and enough():
                        break
                    spent = 0.0 if started is None else time.monotonic() - started
                    size = self._fitting(budget - spent)
                    chosen, left = left[:size], left[size:]
                    for consumer, messages in _per_consumer(chosen, targets):
                        if consumer.lock_ahead is not None:
                            consumer.lock_ahead(uow, messages)
                    keys = [(claimed.consumer, claimed.event_id) for claimed in chosen]
                    taken |= deliveries.take_receipts(uow.conn, keys, now=utc_now())
                    started = started or time.monotonic()  # SQLite's lock held (waited for)
                    for claimed, key in zip(chosen, keys, strict=True):
                        if ran and enough():
                            left = []  # the rest of ``chosen`` and ``left``: the next one's
                            break
                        reached += 1
                        target = targets[claimed.consumer]
                        assert isinstance(target, InternalTarget)
                        message = _message(claimed)
                        if _calls_out(target, uow, message):
                            aside.append(claimed)  # its receipt is dropped with those left
                            continue
                        first = key in taken
                        taken.discard(key)
                        ran.append(claimed)
                        alone = first and streams[claimed.stream] == 1
                        released = _released(uow)
                        try:
                            with uow.item(writes=not (alone and _at_commit(target, uow, message))):
                                target.run_in(uow, message, on_done=later, first=first)
                            done.append(claimed)
                        except Exception as problem:  # recorded below, after the commit
                            failed.append((claimed, problem))
                            if first and _released(uow) == released:
                                # Nothing of it stays, so neither does its receipt; a handler
                                # that committed first keeps it with that work (``resume``).
                                undone.append(key)
                each = (time.monotonic() - (started or 0.0)) / max(1, len(ran))
                deliveries.drop_receipts(uow.conn, [*undone, *taken])  # taken, left over
                deliveries.mark_all_delivered(uow.conn, done, owner=self.id, now=self.clock())
                uow.commit()
            self._per_delivery = 0.7 * self._per_delivery + 0.3 * each
        except Exception:
            if not reached:  # (the locks or receipts ahead failed)
                ran, reached = list(batch[:1]), 1
            log.exception("%d deliveries failed to commit together; one by one", len(ran))
            for claimed in ran:
                self.run_delivery(claimed, targets.get(claimed.consumer))
            return list(batch[reached:])
        for claimed, error in failed:
            if aborted_for_another(error):  # a deadlock victim: alone, at once, not after a backoff
                self.run_delivery(claimed, targets.get(claimed.consumer))
            else:
                self._failed(claimed, error)
        return list(batch[reached:])

    def _fitting(self, budget: float) -> int:
        """How many deliveries a transaction should fit in ``budget`` at their recent cost:
        their locks and receipts are taken, and their orders read, together (those left
        over when the budget runs out first are dropped again before the commit)."""
        return max(1, min(MAX_TOGETHER, round(budget / self._per_delivery)))

    def _done(self, claimed: Claimed) -> Callable[[UnitOfWork], None]:
        """What records ``claimed`` as delivered, in the consumer's transaction."""

        def done(uow: UnitOfWork) -> None:
            deliveries.mark_delivered(uow.conn, claimed, owner=self.id, now=self.clock())

        return done

    def run_delivery(self, claimed: Claimed, target: Target | None) -> None:
        message = _message(claimed)
        done = self._done(claimed)
        try:
            if target is None:
                raise PermanentFailure(f"no consumer {claimed.consumer!r} (removed?)")
            target.deliver(message, on_done=done)
        except Exception as error:  # every failure is recorded on the delivery and retried
            self._failed(claimed, error)

    def _failed(self, claimed: Claimed, error: Exception) -> None:
        s = self.settings
        now = self.clock()
        retry_at: datetime | None = None
        if not isinstance(error, PermanentFailure) and claimed.attempts < s.delivery_max_attempts:
            delay = backoff_seconds(
                claimed.attempts,
                base=s.delivery_backoff_seconds,
                cap=s.delivery_backoff_max_seconds,
                rng=self.rng,
            )
            retry_at = now + timedelta(seconds=delay)
        text = f"{type(error).__name__}: {error}"
        log.warning("delivery %s to %s failed: %s", claimed.id, claimed.consumer, text)
        with self.container.engine.begin() as conn:
            deliveries.mark_failed(
                conn, claimed, owner=self.id, now=now, error=text, retry_at=retry_at
            )

    def run(self, stop: threading.Event) -> None:
        """Loop until ``stop`` is set; sleeps ``worker_poll_seconds`` when there is no work."""
        log.info("worker %s started", self.id)
        while not stop.is_set():
            try:
                ran = self.run_once()
            except Exception:
                log.exception("worker cycle failed; retrying")
                ran = 0
            if not ran:
                stop.wait(self.settings.worker_poll_seconds)
        log.info("worker %s stopped", self.id)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        self._http.close()
        if self._nats is not None:
            self._nats.close()


_RELEASES = "orderhub.savepoints_released"


def _count_release(conn: Connection, _name: object, _context: object) -> None:
    conn.info[_RELEASES] = conn.info.get(_RELEASES, 0) + 1


def _released(uow: UnitOfWork) -> int:
    """Savepoints released on ``uow``'s connection so far: a delivery's handler that commits
    inside its item releases one (:meth:`UnitOfWork.commit`), and that work stays."""
    return int(uow.conn.info.get(_RELEASES, 0))


def _at_commit(target: InternalTarget, uow: UnitOfWork, message: Message) -> bool:
    """Whether the delivery keeps every write for the commit, so its item needs no savepoint
    (:attr:`Consumer.writes_at_commit`): undoing it is forgetting what it kept."""
    writes_at_commit = target.consumer.writes_at_commit
    return writes_at_commit is not None and writes_at_commit(uow, message)


def _calls_out(target: InternalTarget, uow: UnitOfWork, message: Message) -> bool:
    """Whether the delivery may call an outside system (:attr:`Consumer.calls_out`): then it
    runs alone, with no transaction of several held open through the call."""
    calls_out = target.consumer.calls_out
    return calls_out is not None and calls_out(uow, message)


def _per_consumer(
    batch: Sequence[Claimed], targets: dict[str, Target]
) -> list[tuple[Consumer, list[Message]]]:
    """The deliveries of ``batch`` per database-only consumer, in the consumers' name order:
    the global order in which each takes the rows its deliveries will lock
    (:attr:`Consumer.lock_ahead`), before any of them runs."""
    by_consumer: dict[str, list[Message]] = {}
    for claimed in batch:
        by_consumer.setdefault(claimed.consumer, []).append(_message(claimed))
    found = []
    for name in sorted(by_consumer):
        target = targets.get(name)
        if isinstance(target, InternalTarget):
            found.append((target.consumer, by_consumer[name]))
    return found


def _message(claimed: Claimed) -> Message:
    """The event a delivery carries, as consumers receive it."""
    return Message(
        id=claimed.event_id,
        type=claimed.event_type,
        stream=claimed.stream,
        data=claimed.data,
        actor=claimed.actor,
        occurred_at=claimed.occurred_at,
    )


def make_worker(container: Container, *, worker_id: str | None = None) -> Worker:
    """A worker wired from settings: NATS publishing on when ``ORDERHUB_NATS_URL`` is set,
    the periodic jobs on unless ``ORDERHUB_SCHEDULES_ENABLED=false``."""
    url = container.settings.nats_url
    lease = container.settings.delivery_lease_seconds
    publisher = NatsPublisher(url, window=duplicate_window(lease)) if url else None
    worker = Worker(container, publisher=publisher, worker_id=worker_id)
    if container.settings.schedules_enabled:
        worker.scheduler = Scheduler(container, owner=worker.id, transport=worker.channel_transport)
    return worker
