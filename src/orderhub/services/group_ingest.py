"""Group commit for single-order ingest: concurrent requests share one transaction.

Every ``POST /v1/orders`` pays for its transaction — the write lock, the channel and routing
reads, the commit, the available-to-sell announcement — whatever the order. Requests queue
here; one thread (the drainer) takes every queued order of the oldest one's actor and ingests
them with :func:`ingest.ingest_batch`, which answers each alone (created, existing,
quarantined, or its own error) exactly as a request of its own would, and goes on until the
queue is empty. Nothing waits on purpose: a lone request is a group of one, and a group grows
only with the requests that had to wait anyway.

The drainer outlives an empty queue: it waits to be woken by the next request, and ends only
after ``DRAINER_IDLE_SECONDS`` without one (or at :meth:`GroupIngest.close`). Started afresh
whenever the queue filled from empty, it cost the event loop a ``Thread.start`` — which waits
until the new thread has run, behind every other holder of the GIL — about one order in
three under load (docs/performance.md, eleventh pass).

A request on the event loop awaits its answer (:meth:`GroupIngest.submit`) without a thread
of its own: the trip to the thread pool and back, and one waiting thread per queued request,
cost the API more CPU per order than anything else outside the transaction and delayed each
answer by a hand-over of the GIL (docs/performance.md, sixth pass, HTTP).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass

from orderhub.services.ingest import Incoming, IngestResult, ingest_batch
from orderhub.store.db import aborted_for_another
from orderhub.store.unit_of_work import UnitOfWork

UnitOfWorkFor = Callable[[str], UnitOfWork]
"""A fresh unit of work acting as the given actor."""

Settle = Callable[[IngestResult | None, BaseException | None], None]
"""Hands a slot its answer: the result, or the error that refused the whole group."""

RUNS_AFTER_ABORT = 3
"""How many times a group runs, at most, while PostgreSQL aborts it for another's sake."""

DRAINER_IDLE_SECONDS = 2.0
"""How long the drainer waits for a request before it ends (the next one starts another):
an idle hub, or a test's, keeps no thread."""


@dataclass(slots=True)
class _Slot:
    """A queued order: a request on an event loop awaits ``answer``; a thread's, ``settle``."""

    actor: str
    item: Incoming
    answer: asyncio.Future[IngestResult] | None = None
    settle: Settle | None = None


_Answer = tuple[_Slot, IngestResult | None, BaseException | None]
_Resolution = tuple[asyncio.Future[IngestResult], IngestResult | None, BaseException | None]


class GroupIngest:
    """Ingests each submitted order in a transaction shared with the orders queued beside it.

    One drainer at a time takes the queued slots of one actor (up to ``max_group``), runs
    them in one transaction, answers each, and goes on while anything is queued, then waits
    for the next; the slot that finds no drainer starts one, the slot that finds it waiting
    wakes it. Only the drainer takes slots, so each is answered exactly once.
    """

    def __init__(self, uow_for: UnitOfWorkFor, *, allocate: bool, max_group: int = 64) -> None:
        self._uow_for = uow_for
        self._allocate = allocate
        self._max_group = max_group
        self._queue: list[_Slot] = []
        self._queue_lock = threading.Lock()
        self._wake = threading.Condition(self._queue_lock)
        self._draining = False  # the drainer is at work (woken, or running groups)
        self._drainer: threading.Thread | None = None  # alive, at work or waiting
        self._closing = False

    async def submit(self, actor: str, item: Incoming) -> IngestResult:
        """The item's result as :func:`ingest.ingest_order` gives it; raises what refuses it.
        For the event loop: nothing but the future waits for the answer."""
        answer: asyncio.Future[IngestResult] = asyncio.get_running_loop().create_future()
        self._enqueue(_Slot(actor, item, answer=answer))
        return await answer

    def ingest(self, actor: str, item: Incoming) -> IngestResult:
        """As :meth:`submit`, from a thread, which waits for the answer."""
        answered = threading.Event()
        box: list[tuple[IngestResult | None, BaseException | None]] = []

        def settle(result: IngestResult | None, error: BaseException | None) -> None:
            box.append((result, error))
            answered.set()

        self._enqueue(_Slot(actor, item, settle=settle))
        answered.wait()
        return _outcome(*box[0])

    def close(self, timeout: float = 10.0) -> None:
        """Let the drainer answer what is queued and end (a later request starts another);
        waits for it up to ``timeout`` seconds."""
        with self._queue_lock:
            self._closing = True
            self._wake.notify()
            drainer = self._drainer
        if drainer is not None and drainer is not threading.current_thread():
            drainer.join(timeout)

    def _enqueue(self, slot: _Slot) -> None:
        with self._queue_lock:
            self._queue.append(slot)
            if self._draining:
                return
            self._draining = True
            if self._drainer is not None:
                self._wake.notify()
                return
            self._drainer = threading.Thread(
                target=self._drain, name="orderhub-group-ingest", daemon=True
            )
            self._drainer.start()  # under the lock: close() never finds it unstarted

    def _drain(self) -> None:
        """Groups, one after the other, while anything is queued; then waits to be woken,
        and ends once idle for ``DRAINER_IDLE_SECONDS`` or closing. Whether it ends is
        decided under the queue's lock, so a slot queued meanwhile is either seen here or
        starts the next drainer."""
        while True:
            with self._queue_lock:
                while not self._queue:
                    self._draining = False
                    idle = self._closing or not self._wake.wait(DRAINER_IDLE_SECONDS)
                    if idle and not self._queue:
                        self._drainer = None
                        return
                self._draining = True
                actor = self._queue[0].actor
            self._run(actor)

    def _take(self, actor: str) -> list[_Slot]:
        """The queued slots of ``actor``, oldest first, at most ``max_group``, and one per
        order: a repeat of an order waits for the next group, so that it is answered as a
        request after the first one's commit (a repeat within a batch is answered as its
        first item, and a quarantined payload's attempts would be counted once)."""
        group: list[_Slot] = []
        keys: set[tuple[str, str]] = set()
        with self._queue_lock:
            for s in self._queue:
                key = (s.item.draft.channel, s.item.draft.external_id)
                if s.actor == actor and key not in keys:
                    keys.add(key)
                    group.append(s)
                    if len(group) == self._max_group:
                        break
            taken = {id(s) for s in group}
            self._queue = [s for s in self._queue if id(s) not in taken]
        return group

    def _run(self, actor: str) -> None:
        """One transaction for the orders of ``actor`` queued once it holds the write lock
        (taken before the group, so that what queued while it waited for the lock — for a
        worker's transaction, on SQLite — joins this group instead of the next); each slot
        answered. A group PostgreSQL aborted for another transaction's sake (a deadlock
        victim: nothing of it was written) runs again at once, as the worker's deliveries do,
        up to ``RUNS_AFTER_ABORT`` times. Nothing escapes: the drainer's thread has nobody to
        raise to, so even a ``BaseException`` goes to the requests."""
        group: list[_Slot] = []
        for run in range(1, RUNS_AFTER_ABORT + 1):
            try:
                with self._uow_for(actor) as uow:
                    if not uow.conn.in_transaction():
                        uow.conn.begin()  # on SQLite: the writer gate, then BEGIN IMMEDIATE
                    group = group or self._take(actor)
                    results = ingest_batch(uow, [s.item for s in group], allocate=self._allocate)
                break
            except BaseException as error:  # not committed: nothing of the group stands
                if group and run < RUNS_AFTER_ABORT and aborted_for_another(error):
                    continue
                _answer([(s, None, error) for s in group or self._take(actor)])
                return
        _answer([(s, result, None) for s, result in zip(group, results, strict=True)])


def _answer(answers: list[_Answer]) -> None:
    """Each slot its answer: a thread's settled here, the requests awaiting on an event loop
    handed over in one call per loop — one wake-up of the loop for the group, not one per
    order (each ``call_soon_threadsafe`` writes to the loop's self-pipe)."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Resolution]] = {}
    for slot, result, error in answers:
        if slot.answer is not None:
            by_loop.setdefault(slot.answer.get_loop(), []).append((slot.answer, result, error))
        elif slot.settle is not None:
            slot.settle(result, error)
    for loop, resolutions in by_loop.items():
        # A loop that closed meanwhile has nobody left to answer: the drainer goes on.
        with suppress(RuntimeError):
            loop.call_soon_threadsafe(_resolve_all, resolutions)


def _outcome(result: IngestResult | None, error: BaseException | None) -> IngestResult:
    """The answer a caller gets: the result, or the group's or its own error raised."""
    if error is not None:
        raise error
    assert result is not None
    if result.error is not None:
        raise result.error
    return result


def _resolve_all(resolutions: list[_Resolution]) -> None:
    """On the event loop: each awaiting request's future settled (unless it was cancelled)."""
    for answer, result, error in resolutions:
        if answer.done():
            continue
        try:
            answer.set_result(_outcome(result, error))
        except BaseException as raised:  # the answer is this error: the request raises it
            answer.set_exception(raised)
