"""Group commit for single-order ingest: concurrent requests share one transaction.

Every ``POST /v1/orders`` pays for its transaction — the write lock, the channel and routing
reads, the commit, the available-to-sell announcement — whatever the order. Requests that
arrive while a transaction is running queue here; when it ends, one of them (the leader) takes
every queued order of the same actor and ingests them with :func:`ingest.ingest_batch`, which
answers each alone (created, existing, quarantined, or its own error) exactly as a request of
its own would. Nothing waits on purpose: a lone request is a group of one, and a group grows
only with the requests that had to wait anyway.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from orderhub.services.ingest import Incoming, IngestResult, ingest_batch
from orderhub.store.unit_of_work import UnitOfWork

UnitOfWorkFor = Callable[[str], UnitOfWork]
"""A fresh unit of work acting as the given actor."""


@dataclass
class _Slot:
    actor: str
    item: Incoming
    wake: threading.Event = field(default_factory=threading.Event)
    answered: bool = False
    result: IngestResult | None = None
    error: BaseException | None = None

    def answer(self, result: IngestResult | None, error: BaseException | None = None) -> None:
        self.result, self.error, self.answered = result, error, True
        self.wake.set()


class GroupIngest:
    """Ingests each submitted order in a transaction shared with the orders queued beside it.

    Leader and followers: a thread that finds no transaction running runs one for everything
    queued (up to ``max_group`` orders of its own actor) and answers each slot; the others
    wait for their answer, or for their turn to lead. Slots are taken only by the leader, and
    answered before it steps down, so a thread that becomes leader finds its own slot either
    answered or still queued.
    """

    def __init__(self, uow_for: UnitOfWorkFor, *, allocate: bool, max_group: int = 64) -> None:
        self._uow_for = uow_for
        self._allocate = allocate
        self._max_group = max_group
        self._queue: list[_Slot] = []
        self._queue_lock = threading.Lock()
        self._leading = threading.Lock()

    def ingest(self, actor: str, item: Incoming) -> IngestResult:
        """The item's result as :func:`ingest.ingest_order` gives it; raises what refuses it."""
        slot = _Slot(actor, item)
        with self._queue_lock:
            self._queue.append(slot)
        while not slot.answered:
            if self._leading.acquire(blocking=False):
                try:
                    if not slot.answered:
                        self._run(self._take(slot.actor))
                finally:
                    self._leading.release()
                    self._wake_next()
            else:
                slot.wake.wait(0.05)  # set when answered or when a leader steps down
                slot.wake.clear()
        if slot.error is not None:
            raise slot.error
        assert slot.result is not None
        if slot.result.error is not None:
            raise slot.result.error
        return slot.result

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

    def _run(self, group: list[_Slot]) -> None:
        try:
            with self._uow_for(group[0].actor) as uow:
                results = ingest_batch(uow, [s.item for s in group], allocate=self._allocate)
        except BaseException as error:  # not committed: nothing of the group stands
            for s in group:
                s.answer(None, error)
            if not isinstance(error, Exception):
                raise
            return
        for s, result in zip(group, results, strict=True):
            s.answer(result)

    def _wake_next(self) -> None:
        """After stepping down: the oldest waiting slot leads next. Called after the release,
        so a slot queued while the lock was held is either seen here or finds it free."""
        with self._queue_lock:
            if self._queue:
                self._queue[0].wake.set()
