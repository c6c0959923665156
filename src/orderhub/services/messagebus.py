"""Internal consumers of domain events, run by the outbox worker (at least once, in order).

Every consumer is named (deliveries are tracked per consumer) and must be idempotent on the
event id: the worker may hand it the same event again after a crash. Two shapes:

- :class:`Consumer` works on the database only: ``handle`` runs in the delivery's transaction,
  after the receipt, so its effects and the receipt land together (exactly once). One whose
  handler commits in steps (fulfilment's: create, then dispatch each to its provider) sets
  ``resume``: a retry that finds the receipt runs it to finish what the failed run left.
- :class:`OutboundConsumer` calls an outside system (a channel's API, a buyer's document
  intake) and never inside a transaction. ``prepare`` reads what to send in a short
  transaction and returns an :class:`Outcall` (or None: nothing to send); the worker makes the
  call with no transaction open; then one short write transaction takes the receipt and runs
  ``Outcall.record`` with what the call returned. A failed call records nothing and is
  retried; a crash between call and record repeats the call (at least once to the outside
  world, as every retry is) but records once.

A consumer that calls the event's channel says for which channel kinds it has calls
(``channel_kinds``): events of a channel of another kind, or of one that takes no sync back
(``Channel.sync_back`` false), get no delivery for it — it would do nothing with them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from orderhub.domain.channels import ChannelKind
from orderhub.http.outbound import TransportFactory, transports
from orderhub.services import after_sale_sync, fulfilment_wiring, outbound
from orderhub.services.allocation import allocate_order, group_ahead, keeps_writes, worker_group
from orderhub.store.unit_of_work import UnitOfWork

T = TypeVar("T")


@dataclass(frozen=True)
class Message:
    """A domain event as read back from the outbox."""

    id: str
    type: str
    stream: str
    data: dict[str, Any]
    actor: str
    occurred_at: datetime


Handler = Callable[[UnitOfWork, Message], None]


@dataclass(frozen=True)
class Consumer:
    """A database-only consumer: ``handle`` runs in the delivery's transaction."""

    name: str
    event_types: frozenset[str]
    handle: Handler
    # Set when it calls the event's channel: the channel kinds it has calls for (other kinds,
    # and channels with sync_back false, get no delivery for it).
    channel_kinds: frozenset[ChannelKind] | None = None
    # Set when ``handle`` commits in steps (the receipt lands with the first): what a retry
    # that finds the receipt runs instead, to finish the steps a failure left undone. It
    # must be idempotent itself (it runs on every later delivery of the event too).
    resume: Handler | None = None
    # Called once per worker transaction with the deliveries it may run, before any runs:
    # to take the row locks they will need in one global order, when two workers could
    # disagree on it (PostgreSQL), or to note what to read for them all at once.
    lock_ahead: Callable[[UnitOfWork, list[Message]], None] | None = None
    # Called with a worker transaction's unit of work before it begins (before ``lock_ahead``),
    # with the batch's deliveries still to run (this transaction's and the next ones'): to
    # read what they will want on a snapshot of its own (``UnitOfWork.reader``), so the
    # transaction holds its locks for less time; what ``lock_ahead`` and the handler use of
    # it they check still current inside the transaction.
    read_early: Callable[[UnitOfWork, list[Message]], None] | None = None
    # Event types that, following on the same stream, make a delivery to it needless: an
    # ``order.received`` already followed by its ``order.allocated`` has nothing to allocate.
    superseded_by: frozenset[str] = frozenset()
    # Set when some deliveries can keep every write for the worker transaction's commit
    # (rows of their own stream only, written by an ``ItemWatcher`` it registers): asked
    # just before one runs first, with no other delivery of its stream in the transaction;
    # True: it runs with no savepoint (``UnitOfWork.item(writes=False)``).
    writes_at_commit: Callable[[UnitOfWork, Message], bool] | None = None
    # Set when some deliveries call an outside system (a 3PL) and can do so with no
    # transaction open when run alone (``deliver``): asked before one runs in a worker
    # transaction of several; True: it is left out and run alone after that transaction, so
    # the call holds none of its locks (SQLite's one write lock above all).
    calls_out: Callable[[UnitOfWork, Message], bool] | None = None

    def wants(self, event_type: str) -> bool:
        return event_type in self.event_types


@dataclass(frozen=True)
class Outcall(Generic[T]):
    """The outside call(s) one delivery makes, built from the database by ``prepare``.

    ``send`` runs with no transaction open and must not touch the database (everything it needs
    was read before); ``record``, if any, writes what ``send`` returned (a channel's id, a sync
    time …) in the transaction that takes the delivery's receipt.
    """

    send: Callable[[], T]
    record: Callable[[UnitOfWork, T], None] | None = None


Prepare = Callable[[UnitOfWork, Message], Outcall[Any] | None]


@dataclass(frozen=True)
class OutboundConsumer:
    """A consumer that calls outside: read (``prepare``), call (no transaction), record.

    ``prepare`` runs in a read-only transaction unless ``prepare_writes``: then its writes
    (e.g. an EDI control number reserved for the event) are committed before the call.
    """

    name: str
    event_types: frozenset[str]
    prepare: Prepare
    prepare_writes: bool = False
    # Set when it calls the event's channel: the channel kinds it has calls for (other kinds,
    # and channels with sync_back false, get no delivery for it).
    channel_kinds: frozenset[ChannelKind] | None = None

    def wants(self, event_type: str) -> bool:
        return event_type in self.event_types


InternalConsumer = Consumer | OutboundConsumer


def _allocate_received(uow: UnitOfWork, message: Message) -> None:
    """A new order: reserve its stock (idempotent: an allocated order is left alone); in a
    worker transaction of several, with their group's reads and writes (its item commits)."""
    allocate_order(uow, order_id=message.data["order_id"], group=worker_group(uow))


def _allocates_at_commit(uow: UnitOfWork, message: Message) -> bool:
    """A new order read ahead with its group, not a pick-up: its allocation writes nothing
    before the commit (:meth:`AllocationGroup.keeps_writes`), so it needs no savepoint."""
    return keeps_writes(uow, message.data["order_id"])


def _group_for_allocating(uow: UnitOfWork, messages: list[Message]) -> None:
    group_ahead(uow, {message.data["order_id"] for message in messages})


def internal_consumers(*, transport: TransportFactory | None = None) -> list[InternalConsumer]:
    """The one list of internal consumers; each capability adds its own here.

    ``transport`` makes the channel calls (the worker passes its SSRF-guarded or injected
    one); without it they go through the SSRF guard with no exceptions allowed.
    """
    channel_transport = transport or transports(None, [])
    return [
        Consumer(
            "inventory.allocate",
            frozenset({"order.received"}),
            _allocate_received,
            lock_ahead=_group_for_allocating,
            superseded_by=frozenset({"order.allocated"}),
            writes_at_commit=_allocates_at_commit,
        ),
        Consumer(
            "fulfilment.dispatch",
            frozenset({fulfilment_wiring.DISPATCH_EVENT}),
            fulfilment_wiring.on_order_allocated,
            resume=fulfilment_wiring.resume_dispatch,
            read_early=fulfilment_wiring.read_early,
            lock_ahead=fulfilment_wiring.read_ahead,
            writes_at_commit=fulfilment_wiring.writes_at_commit,
            calls_out=fulfilment_wiring.calls_out,
        ),
        *outbound.consumers(channel_transport),
        *after_sale_sync.consumers(channel_transport),
    ]
