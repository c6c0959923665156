"""Where fulfilment meets inventory, routing and the outbox worker: the integrator's seam.

:func:`default_dependencies` builds providers from the ``fulfilment_providers`` table, moves
stock through inventory's ledger and re-routes through routing's planner, never back to the
location that refused.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

import httpx
from sqlalchemy import Engine, RootTransaction

from orderhub.domain.allocation import AllocationPlan, AllocationRequest, Planner
from orderhub.domain.errors import NotFound
from orderhub.domain.fulfilment import FulfilmentOrder, FulfilmentStatus
from orderhub.domain.orders import Order, OrderStatus
from orderhub.fulfilment.base import FulfilmentProvider
from orderhub.fulfilment.registry import WAREHOUSE, build_provider
from orderhub.fulfilment.warehouse import WarehouseProvider
from orderhub.http.outbound import outbound_client
from orderhub.services import allocation, fulfilment, inventory, sla, stores
from orderhub.services.fulfilment import FulfilmentDeps
from orderhub.store.db import is_postgres
from orderhub.store.unit_of_work import UnitOfWork

if TYPE_CHECKING:  # messagebus lists this module's consumer
    from orderhub.services.messagebus import Message

DISPATCH_EVENT = (
    "order.allocated"  # inventory's event: {allocations: [{line_id, sku, location, quantity}]}
)


class InventoryStock:
    """Fulfilment's stock movements, done by inventory's ledger."""

    def consume_for_shipment(
        self, uow: UnitOfWork, *, order_id: str, lines: Mapping[str, int], location: str
    ) -> None:
        inventory.consume_for_shipment(uow, order_id=order_id, lines=lines, location=location)

    def release(
        self, uow: UnitOfWork, *, order_id: str, location: str, line_ids: Sequence[str], reason: str
    ) -> None:
        inventory.release_order(
            uow, order_id=order_id, reason=reason, location=location, line_ids=set(line_ids)
        )


class _Avoiding:
    """A planner that never picks the ``excluded`` locations (those that refused the order)."""

    def __init__(self, planner: Planner, excluded: Collection[str]) -> None:
        self._planner = planner
        self._excluded = frozenset(excluded)
        self.name = planner.name

    def plan(self, request: AllocationRequest) -> AllocationPlan:
        kept = tuple(loc for loc in request.locations if loc.code not in self._excluded)
        return self._planner.plan(replace(request, locations=kept))


class RoutingRerouter:
    """Allocate the order's reopened lines again through routing, avoiding every place that
    refused this order (not only the latest: two refusing places would otherwise hand the
    order back and forth for ever); then what the refusal released wakes the orders waiting
    for it. Stock that arrives later may still send it back to one of them, through the
    waiting orders' allocation, which avoids nobody."""

    def reroute(self, uow: UnitOfWork, *, order_id: str, exclude_location: str) -> bool:
        order = uow.orders.get(order_id)
        if order.pickup_location is not None:  # a pick-up goes nowhere else without a person
            uow.rollback()
            stores.hold_refused_pickup(uow, order_id=order_id, location=exclude_location)
            skus = {line.sku for line in order.lines}
            allocation.allocate_waiting(uow, skus=skus, skip={order_id})
            return True
        refused = {exclude_location} | {
            held.location
            for held in uow.fulfilment.for_order(order_id)
            if held.status == FulfilmentStatus.REJECTED
        }
        uow.rollback()
        planner = _Avoiding(allocation.default_planner(uow), refused)
        outcome = allocation.allocate_order(uow, order_id=order_id, planner=planner)
        skus = {line.sku for line in uow.orders.get(order_id).lines}
        uow.rollback()
        # Not the refused order itself: the units came free where it was just refused.
        allocation.allocate_waiting(uow, skus=skus, skip={order_id})
        return outcome.status == OrderStatus.ALLOCATED


class Lookup:
    """Provider code → adapter, from the providers table (``warehouse`` is built in).

    The HTTP client is made on the first provider that needs one: most dispatches go to the
    built-in warehouse, and making a client loads the CA store (tens of milliseconds, once
    per order allocated when it was made up front).
    """

    def __init__(self, uow: UnitOfWork, client: httpx.Client | None = None) -> None:
        self._uow = uow
        self._client = client  # given: the caller's to close
        self._made: httpx.Client | None = None

    def __call__(self, code: str) -> FulfilmentProvider:
        try:
            config = self._uow.fulfilment.provider(code)
        except NotFound:
            if code == WAREHOUSE:
                return WarehouseProvider()
            raise
        if self._client is None:
            self._client = self._made = outbound_client(
                transport=self._uow.outbound_transport(), timeout=10.0, follow_redirects=False
            )
        return build_provider(config, client=self._client)

    def in_house(self, code: str) -> bool:
        """Whether dispatching to ``code`` stays in the hub: the built-in warehouse (not
        overridden by a configured provider of that code), which never calls out or fails."""
        return code == WAREHOUSE and not self._uow.fulfilment.is_provider(code)

    def close(self) -> None:
        """Close the client this lookup made (if it made one)."""
        if self._made is not None:
            self._made.close()


@contextmanager
def default_dependencies(uow: UnitOfWork) -> Iterator[FulfilmentDeps]:
    with _lookup(uow) as providers:
        yield _deps(providers)


@contextmanager
def _lookup(uow: UnitOfWork) -> Iterator[Lookup]:
    providers = Lookup(uow)
    try:
        yield providers
    finally:
        providers.close()


def _deps(providers: Lookup) -> FulfilmentDeps:
    return FulfilmentDeps(providers=providers, stock=InventoryStock(), rerouter=RoutingRerouter())


def on_order_allocated(uow: UnitOfWork, message: Message) -> None:
    """Outbox consumer: fulfilment orders for the new allocation, then dispatch them.

    Idempotent: a location that already has a live fulfilment order is skipped, and only
    fulfilment orders still in ``created`` are dispatched. The creation commits (with the
    delivery's receipt) before the first provider call, so a provider outage leaves them in
    ``created``; the retry finds the receipt and runs :func:`resume_dispatch` instead.
    Dispatches to the built-in warehouse cannot fail that way: they land with the creation in
    the delivery's transaction (:func:`fulfilment.fulfil_allocation`), the order read once.
    """
    _fulfil(uow, message, allocations=message.data.get("allocations", []))


def resume_dispatch(uow: UnitOfWork, message: Message) -> None:
    """The retry of an allocation whose fulfilment orders were created: dispatch those of the
    order still in ``created`` (a provider was down). Each is dispatched once: one past
    ``created`` is skipped, and each dispatch to a provider that calls out commits its new
    status. Opens the pick-ups too, if the first run stopped before it."""
    _fulfil(uow, message, allocations=())


def _fulfil(uow: UnitOfWork, message: Message, *, allocations: Iterable[Mapping[str, Any]]) -> None:
    order_id = message.stream.removeprefix("order:")
    ahead = _read_ahead.get(uow)
    held = ahead.take(uow, order_id) if ahead is not None else None
    kept = ahead.kept(uow, order_id) if ahead is not None and held is not None else None
    with _lookup(uow) as providers:
        fulfilment.fulfil_allocation(
            uow,
            order_id=order_id,
            allocations=allocations,
            deps=_deps(providers),
            in_house=providers.in_house,
            on_created=stores.open_pickups_of,
            held=held,
            kept=kept,
        )


def writes_at_commit(uow: UnitOfWork, message: Message) -> bool:
    """Whether this delivery, about to run first in a worker transaction of several (no other
    delivery of its order in it), can keep every write for the commit
    (:func:`fulfilment.writes_nothing_before_commit`: an order read ahead, with no
    fulfilment orders yet, no pick-up, every location shipped in house): then it runs with no
    savepoint, its writes made together with the others' (:class:`fulfilment.AtCommit`)."""
    ahead = _read_ahead.get(uow)
    order_id = message.stream.removeprefix("order:")
    held = ahead.peek(uow, order_id) if ahead is not None else None
    if ahead is None or held is None:
        return False
    providers = Lookup(uow)  # makes no client: in_house reads the providers table only
    if not fulfilment.writes_nothing_before_commit(
        *held,
        message.data.get("allocations", []),
        provider_of=lambda location: fulfilment.provider_code(uow, location),
        in_house=providers.in_house,
    ):
        return False
    ahead.keep(order_id)
    return True


def calls_out(uow: UnitOfWork, message: Message) -> bool:
    """Whether this dispatch may call a provider outside the hub: a location of its
    allocation has a configured provider (not the built-in warehouse). The worker then runs
    it alone, where :func:`fulfilment.dispatch` makes the call with no transaction open,
    not inside a transaction of several, which would hold its locks through the call."""
    providers = Lookup(uow)  # makes no client: in_house reads the providers table only
    return not all(
        providers.in_house(fulfilment.provider_code(uow, str(pick["location"])))
        for pick in message.data.get("allocations", [])
    )


class _ReadAhead:
    """The orders of a worker transaction's dispatch deliveries, read together.

    Read one by one, an order costs four statements (order, lines, fulfilment orders, and its
    history chain's head when its events are chained); read together (:data:`READ_AHEAD` at
    most at a time, when the first is wanted), four for them all. Each is handed out once, to
    its delivery's handler, and only in the transaction it was read in (and locked, on
    PostgreSQL, in id order). The claim never hands one worker two
    deliveries of one stream for a consumer at once; should an order still come twice, each
    of its deliveries reads it itself, so the second sees the first's work. A delivery whose
    handler fails has its item undone and is retried later with a fresh read; the order's
    version check at save refuses anything changed meanwhile. A delivery the worker asks
    about first (:func:`writes_at_commit`) has its order read then, before its item.

    Orders :func:`read_early` read before the transaction began (SQLite) are not read again:
    one statement returns the chunk's versions now, and an order whose version moved since
    (an edit or cancel committed in between) is read again here.
    """

    def __init__(
        self, uow: UnitOfWork, order_ids: Sequence[str], early: dict[str, Order] | None = None
    ) -> None:
        self._transaction: RootTransaction | None = uow.conn.get_transaction()
        self._ids = _once(order_ids)
        # Read before the transaction (:func:`read_early`), each taken out when handed out
        # or found changed: what is left stays for the worker's next transaction (:class:`_Spare`).
        self._early = early if early is not None else {}
        self._at = {order_id: index for index, order_id in enumerate(self._ids)}
        self._held: dict[str, tuple[Order, list[FulfilmentOrder]]] = {}
        self._keeping: set[str] = set()  # orders whose delivery keeps its writes (next to run)

    def take(self, uow: UnitOfWork, order_id: str) -> tuple[Order, list[FulfilmentOrder]] | None:
        """The order and its fulfilment orders, read ahead, handed out once."""
        held = self.peek(uow, order_id)
        if held is not None:
            del self._held[order_id]
            self._early.pop(order_id, None)  # changed from here on: no longer spare
        return held

    def keep(self, order_id: str) -> None:
        """The delivery of ``order_id``, next to run, keeps its writes for the commit."""
        self._keeping.add(order_id)

    def kept(self, uow: UnitOfWork, order_id: str) -> fulfilment.AtCommit | None:
        """Where the delivery of ``order_id`` keeps its writes, if it was told to
        (:meth:`keep`): the transaction's :class:`fulfilment.AtCommit`, watching its items."""
        if order_id not in self._keeping:
            return None
        self._keeping.discard(order_id)
        at_commit = _at_commit.get(uow)
        if at_commit is None or at_commit not in uow.watchers:  # the transaction's first
            at_commit = _at_commit[uow] = fulfilment.AtCommit()
            uow.watch(at_commit)
        return at_commit

    def peek(self, uow: UnitOfWork, order_id: str) -> tuple[Order, list[FulfilmentOrder]] | None:
        """What :meth:`take` hands out, not taken (read with the next orders if not yet)."""
        current = uow.conn.get_transaction()
        if self._transaction is None:  # noted before the transaction began (on first use)
            self._transaction = current
        if current is not self._transaction:
            return None
        if order_id not in self._held:
            at = self._at.pop(order_id, None)
            if at is None:  # handed out, read twice in the batch, or not in it
                return None
            chunk = [i for i in self._ids[at : at + READ_AHEAD] if i in self._at or i == order_id]
            for read in chunk:
                self._at.pop(read, None)
            early = {i: self._early[i] for i in chunk if i in self._early}
            versions = uow.fulfilment.lock_orders(chunk, versions=bool(early))
            orders = {i: order for i, order in early.items() if versions.get(i) == order.version}
            for stale in early.keys() - orders.keys():
                del self._early[stale]
            orders |= uow.orders.read_many([i for i in chunk if i not in orders])
            held = uow.fulfilment.for_orders(list(orders))
            uow.read_heads(list(orders))  # their handlers record events: chained at item end
            self._held.update((i, (order, held[i])) for i, order in orders.items())
        return self._held.get(order_id)


READ_AHEAD = 50  # orders per read, at most (the worker's transaction holds about what fits)
_read_ahead: WeakKeyDictionary[UnitOfWork, _ReadAhead] = WeakKeyDictionary()
_early: WeakKeyDictionary[UnitOfWork, dict[str, Order]] = WeakKeyDictionary()
_at_commit: WeakKeyDictionary[UnitOfWork, fulfilment.AtCommit] = WeakKeyDictionary()


def read_ahead(uow: UnitOfWork, messages: list[Message]) -> None:
    """Before a worker transaction of dispatch deliveries: note their orders, to be read (and
    locked) together when the first of them runs (:class:`_ReadAhead`), those
    :func:`read_early` read taken from there if still current."""
    _read_ahead[uow] = _ReadAhead(uow, _order_ids(messages), _early.get(uow))


def read_early(uow: UnitOfWork, messages: list[Message]) -> None:
    """Before the worker's transaction begins: read the dispatch deliveries' orders (of the
    batch it and the next take) on a read-only snapshot (:meth:`UnitOfWork.reader`), not
    while it holds SQLite's one write lock, which the API's writes wait for; those read by
    an earlier transaction and not reached are taken from :class:`_Spare`. Inside,
    :class:`_ReadAhead` hands out those whose version is still the one read (every change to
    an order or its lines moves it) and reads the others again; their fulfilment orders and
    history heads it reads inside. Not on PostgreSQL: there the API does not wait for these
    reads (no single write lock; only these orders' rows are locked), and a snapshot of its
    own only adds a transaction's round trips."""
    assert not uow.conn.in_transaction(), "read early: before the transaction begins"
    if is_postgres(uow.conn):
        return
    order_ids = _once(_order_ids(messages))
    spare = _spare.left(uow)
    early = {order_id: spare[order_id] for order_id in order_ids if order_id in spare}
    unread = [order_id for order_id in order_ids if order_id not in early]
    if unread:
        with uow.reader() as reader:
            early |= reader.orders.read_many(unread)
    _early[uow] = _spare.orders = early


class _Spare(threading.local):
    """The orders a worker thread read early that its last transaction did not reach: one
    that gives way to the API after a few deliveries leaves the rest of its batch to the
    next, which takes them from here instead of reading them again. Only orders read on a
    committed snapshot are kept (one read inside a write transaction could hold work that
    transaction then undid), none once handed out, and the next transaction's version
    check applies to them as to any order read early."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.orders: dict[str, Order] = {}

    def left(self, uow: UnitOfWork) -> dict[str, Order]:
        """What is left for ``uow``'s database (nothing from another engine's)."""
        if self.engine is not uow.conn.engine:
            self.engine, self.orders = uow.conn.engine, {}
        return self.orders


_spare = _Spare()


def _order_ids(messages: list[Message]) -> list[str]:
    return [message.stream.removeprefix("order:") for message in messages]


def _once(order_ids: Sequence[str]) -> list[str]:
    """The orders that come once in ``order_ids`` (one that comes twice is read by each of
    its deliveries itself, so the second sees the first's work)."""
    counts = Counter(order_ids)
    return [order_id for order_id in order_ids if counts[order_id] == 1]


def tick(uow: UnitOfWork, *, now: datetime) -> dict[str, int]:
    """What the worker runs every minute or so: poll providers, the SLA clocks, then expire
    pick-ups not collected in time (``now`` is the scheduler's injectable clock)."""
    with default_dependencies(uow) as deps:
        polled = fulfilment.poll_providers(uow, deps=deps, now=now)
    counts = {"polled": polled, **sla.check_sla(uow, now=now)}
    counts["pickups_closed"] = stores.close_cancelled(uow, now=now)
    counts["pickups_expired"] = stores.expire_due(uow, now=now)
    return counts
